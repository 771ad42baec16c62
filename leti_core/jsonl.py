"""Reading and writing JSON Lines with errors that name the file and line."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import DataError, LetiError

M = TypeVar("M", bound=BaseModel)


def _first_error(error: ValidationError) -> str:
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail["loc"])
    return f"{where}: {detail['msg']}" if where else detail["msg"]


def iter_json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for each non-blank line; raise DataError on bad JSON."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{path}:{number}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            except RecursionError:
                raise DataError(f"{path}:{number}: JSON nested too deeply") from None
            except ValueError as error:  # e.g. an integer with more digits than Python converts
                raise DataError(f"{path}:{number}: not valid JSON ({' '.join(str(error).split())[:120]})") from None


def read_models(path: str | os.PathLike[str], model: type[M]) -> list[tuple[int, M]]:
    """Read a JSONL file as ``(line_number, model)`` pairs, validating every line."""
    rows = []
    for number, value in iter_json_lines(path):
        try:
            rows.append((number, model.model_validate(value)))
        except ValidationError as error:
            raise DataError(f"{path}:{number}: {_first_error(error)}") from None
    return rows


def _replace_atomically(path: Path, write: Callable[[TextIO], None]) -> None:
    """Write a sibling temporary file (created under the umask, like any new file) and rename
    it over ``path``: readers see the old file or the complete new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("x", encoding="utf-8") as handle:
            write(handle)
        os.replace(temporary, path)
    except OSError as error:
        _unlink(temporary)
        raise LetiError(f"{path}: cannot write ({error.strerror or error}); what was there is unchanged") from None
    except BaseException:
        _unlink(temporary)
        raise


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _plain(value: BaseModel | dict[str, Any]) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[BaseModel | dict[str, Any]]) -> None:
    """Write rows as JSON Lines atomically: the file is either the old one or the complete new one."""

    def write(handle: TextIO) -> None:
        for row in rows:
            handle.write(json.dumps(_plain(row), ensure_ascii=False) + "\n")

    _replace_atomically(Path(path), write)


def write_json(path: str | os.PathLike[str], value: BaseModel | dict[str, Any]) -> None:
    """Write one JSON document atomically."""

    def write(handle: TextIO) -> None:
        handle.write(json.dumps(_plain(value), indent=2, ensure_ascii=False) + "\n")

    _replace_atomically(Path(path), write)


def append_jsonl(path: str | os.PathLike[str], rows: Iterable[BaseModel | dict[str, Any]]) -> None:
    """Append rows with one write, flushed to disk: after a crash the file holds whole lines and at
    most one cut line at its end."""
    path = Path(path)
    text = "".join(json.dumps(_plain(row), ensure_ascii=False) + "\n" for row in rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise LetiError(f"{path}: cannot write ({error.strerror or error})") from None
