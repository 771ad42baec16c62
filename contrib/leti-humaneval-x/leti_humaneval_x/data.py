"""HumanEval-X records: from a local file or folder, an environment variable, or the hub."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from leti_core import DataError, LetiError
from pydantic import BaseModel, ValidationError

DATA_ENV = "LETI_HUMANEVAL_X_DATA"
HUB_ID = "THUDM/humaneval-x"


class Record(BaseModel):
    """One line of humaneval_<language>.jsonl.gz."""

    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    declaration: str = ""


def data_file(given: Path | None, language: str) -> Path | None:
    """The file to read: the given file or folder, else $LETI_HUMANEVAL_X_DATA; None: the hub."""
    path = given or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    if path is None:
        return None
    if path.is_dir():
        path = path / f"humaneval_{language}.jsonl.gz"
    if not path.is_file():
        raise DataError(
            f"{path}: HumanEval-X data file not found; pass --data PATH (or set {DATA_ENV}) to the folder "
            f"holding humaneval_{language}.jsonl.gz, or omit both to download {HUB_ID}"
        )
    return path


def read_file(path: Path) -> list[Record]:
    opener = gzip.open if path.suffix == ".gz" else open
    records = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    records.append(Record.model_validate_json(line))
                except ValidationError as error:
                    detail = error.errors()[0]
                    where = ".".join(str(part) for part in detail["loc"]) or "line"
                    raise DataError(f"{path}:{number}: {where}: {detail['msg']}") from None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    return records


def read_hub(language: str) -> list[Record]:
    try:
        import datasets

        rows = datasets.load_dataset(HUB_ID, language, split="test")
        return [Record.model_validate(row) for row in rows]
    except Exception as error:
        raise LetiError(
            f"cannot load {HUB_ID} ({language}) from the Hugging Face hub ({type(error).__name__}); "
            f"pass --data PATH (or set {DATA_ENV}) to a folder with humaneval_{language}.jsonl.gz"
        ) from None


def read_records(given: Path | None, language: str) -> list[Record]:
    path = data_file(given, language)
    return read_file(path) if path is not None else read_hub(language)
