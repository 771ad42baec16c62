"""The pretraining-style code corpus mixed into training (the paper: The Stack; offline: the stdlib)."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from pathlib import Path

from leti_core import CorpusSource, LetiError


def iter_code(spec: str | CorpusSource) -> Iterator[str]:
    """Python source texts from ``stdlib``, a folder of ``.py`` files, or a hub dataset (its id, or
    a ``CorpusSource`` naming its folder, revision and column)."""
    if isinstance(spec, CorpusSource):
        yield from _hub(spec)
        return
    if spec == "stdlib":
        yield from _files(Path(sysconfig.get_paths()["stdlib"]), skip={"site-packages", "test", "tests"})
        return
    path = Path(spec).expanduser()
    if path.is_dir():
        yield from _files(path, skip=set())
        return
    if path.exists():
        raise LetiError(f"pretraining corpus {path} is not a folder of .py files")
    yield from _hub(CorpusSource(name=spec))


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


def _hub(source: CorpusSource) -> Iterator[str]:
    try:
        import datasets

        rows = datasets.load_dataset(
            source.name,
            source.config,
            data_dir=source.data_dir,
            revision=source.revision,
            split=source.split,
            streaming=True,
        )
    except Exception as error:  # noqa: BLE001 (datasets raises many kinds for a name it cannot load)
        raise LetiError(
            f"pretraining corpus {source.name!r} is not a folder and cannot be loaded from the hub "
            f"({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}); "
            "use --pretrain-corpus stdlib or a folder of .py files"
        ) from None
    for number, row in enumerate(rows, 1):
        if source.column is not None and source.column not in row:
            raise LetiError(
                f"pretraining corpus {source.name!r}: row {number} has no column {source.column!r} "
                f"(it has {', '.join(sorted(row))})"
            )
        text = row[source.column] if source.column is not None else row.get("content") or row.get("text") or ""
        if isinstance(text, str) and text.strip():
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
