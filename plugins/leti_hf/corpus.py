"""The pretraining-style code corpus mixed into training (the paper: The Stack; offline: the stdlib)."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from pathlib import Path

from leti_core import LetiError


def iter_code(spec: str) -> Iterator[str]:
    """Python source texts from ``stdlib``, a folder of ``.py`` files, or a hub dataset id."""
    if spec == "stdlib":
        yield from _files(Path(sysconfig.get_paths()["stdlib"]), skip={"site-packages", "test", "tests"})
        return
    path = Path(spec).expanduser()
    if path.is_dir():
        yield from _files(path, skip=set())
        return
    if path.exists():
        raise LetiError(f"pretraining corpus {path} is not a folder of .py files")
    yield from _hub(spec)


def _files(root: Path, skip: set[str]) -> Iterator[str]:
    found = False
    for file in sorted(root.rglob("*.py")):
        if skip.intersection(file.relative_to(root).parts):
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if text.strip():
            found = True
            yield text
    if not found:
        raise LetiError(f"pretraining corpus {root} holds no readable .py files")


def _hub(dataset_id: str) -> Iterator[str]:
    try:
        import datasets

        rows = datasets.load_dataset(dataset_id, split="train", streaming=True)
    except Exception as error:
        raise LetiError(
            f"pretraining corpus {dataset_id!r} is not a folder and cannot be loaded from the hub "
            f"({type(error).__name__}); use --pretrain-corpus stdlib or a folder of .py files"
        ) from None
    for row in rows:
        text = row.get("content") or row.get("text") or ""
        if text.strip():
            yield text


def chunks(texts: Iterator[str], tokenize, eos_id: int, length: int, count: int) -> list[list[int]]:
    """The first ``count`` chunks of ``length`` tokens of the concatenated texts (EOS between)."""
    out: list[list[int]] = []
    buffer: list[int] = []
    for text in texts:
        buffer += tokenize(text) + [eos_id]
        while len(buffer) >= length and len(out) < count:
            out.append(buffer[:length])
            buffer = buffer[length:]
        if len(out) >= count:
            break
    if len(out) < count and buffer:
        out.append(buffer)
    return out
