"""The rows of a problems file or hub dataset, each with where it came from.

JSONL, JSON and CSV (plain or gzipped) are read here, so that an error names the line; Parquet is
read with pyarrow and a hub dataset with `datasets` (both imported only when used).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from leti_core import DataError, LetiError

Row = tuple[str, dict[str, Any]]
"""Where a row is ("mbpp.jsonl:12", "data.parquet row 3") and its values by column."""

FORMATS = ("jsonl", "json", "csv", "parquet")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_CSV_FIELD_LIMIT = 1 << 26  # a test program or long prompt in one cell


def file_format(path: Path, given: str) -> str:
    """The format ``given``, or the one ``path``'s extension names (before a .gz)."""
    if given != "auto":
        return given
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    found = EXTENSIONS.get(suffixes[-1] if suffixes else "")
    if found is None:
        raise DataError(
            f"{path}: cannot tell the format from the file's extension: name it with the task option "
            f"format ({', '.join(FORMATS)})"
        )
    return found


def read_file(path: Path, given_format: str = "auto") -> list[Row]:
    """Every row of the file at ``path``, in order; a DataError names the file and line (or row)."""
    if path.is_dir():
        raise DataError(f"{path}: a folder; give the problems file itself (or a hub dataset with the option hub)")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    kind = file_format(path, given_format)
    if kind == "parquet":
        return _parquet(path)
    try:
        with _open(path) as handle:
            if kind == "jsonl":
                return list(_json_lines(path, handle))
            text = _text(path, handle.read())
            return _json(path, text) if kind == "json" else list(_csv(path, text))
    except (OSError, EOFError) as error:  # unreadable, or a damaged gzip stream
        raise DataError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")  # type: ignore[return-value]


def _text(path: Path, raw: bytes, where: str | None = None) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{where or path}: not UTF-8 text") from None


def _object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{where}: a problem is an object of columns, not {type(value).__name__}")
    return value


def _json_lines(path: Path, handle: BinaryIO) -> Iterator[Row]:
    for number, raw in enumerate(handle, start=1):
        where = f"{path}:{number}"
        line = _text(path, raw, where)
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{where}: not valid JSON ({error.msg})") from None
        except (ValueError, RecursionError) as error:  # too many digits, nested too deeply
            raise DataError(f"{where}: not valid JSON ({' '.join(str(error).split())[:120]})") from None
        yield where, _object(where, value)


def _json(path: Path, text: str) -> list[Row]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    except (ValueError, RecursionError) as error:
        raise DataError(f"{path}: not valid JSON ({' '.join(str(error).split())[:120]})") from None
    if not isinstance(value, list):
        raise DataError(f"{path}: a JSON file of problems holds an array of objects, not {type(value).__name__}")
    return [(f"{path} row {number}", _object(f"{path} row {number}", item)) for number, item in enumerate(value, 1)]


def _csv(path: Path, text: str) -> Iterator[Row]:
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return
        start = reader.line_num + 1
        for values in reader:
            where = f"{path}:{start}"
            start = reader.line_num + 1
            if not any(values):
                continue
            if len(values) != len(header):
                raise DataError(f"{where}: {len(values)} values, the header has {len(header)}")
            yield where, dict(zip(header, values, strict=True))
    except csv.Error as error:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV ({error})") from None


def _parquet(path: Path) -> list[Row]:
    import pyarrow
    import pyarrow.parquet

    try:
        rows = pyarrow.parquet.read_table(path).to_pylist()
    except (OSError, pyarrow.ArrowException) as error:
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(error)})") from None
    return [(f"{path} row {number}", row) for number, row in enumerate(rows, start=1)]


def read_hub(name: str, config: str | None, revision: str | None, data_dir: str | None) -> dict[str, list[Row]]:
    """The rows of each split of the hub dataset ``name`` (or a local dataset folder), with `datasets`."""
    label = name + (f" ({config})" if config else "")
    try:
        import datasets

        loaded = datasets.load_dataset(name, config, revision=revision, data_dir=data_dir)
        splits = {str(split): [dict(row) for row in rows] for split, rows in loaded.items()}
    except Exception as error:  # the library's own errors, network and file errors alike
        raise LetiError(f"cannot load the hub dataset {label}: {type(error).__name__}: {_first_line(error)}") from None
    return {
        split: [(f"{label} {split} row {number}", row) for number, row in enumerate(rows, start=1)]
        for split, rows in splits.items()
    }


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__
