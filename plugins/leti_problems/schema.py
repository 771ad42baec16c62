"""The `problems` task's schema: which columns hold what (its options), and a row as a `Problem`.

Every error names where the row is (file and line, or row), the field and its column.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from pydantic import Field, field_validator

from leti_core import DataError, IOTest, LetiError, OutputMatch, Problem, TaskOptions

ALL = "all"
_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)")


class ProblemsOptions(TaskOptions):
    """Where the problems are and which column holds each field (``leti plugins --options problems``)."""

    data: Path | None = Field(
        default=None, description="the problems file: .jsonl, .json (an array of objects), .csv or .parquet; .gz too"
    )
    format: Literal["auto", "jsonl", "json", "csv", "parquet"] = Field(
        default="auto", description="the file's format [auto: its extension]"
    )
    hub: str | None = Field(
        default=None,
        description="a Hugging Face hub dataset (or dataset folder) instead of a file; its splits are kept",
    )
    hub_config: str | None = Field(default=None, description="the hub dataset's configuration (subset)")
    revision: str | None = Field(default=None, description="the hub dataset's revision (a tag, branch or commit)")
    data_dir: str | None = Field(default=None, description="the folder of the hub dataset to read")
    id_column: str = Field(default="task_id", description="column: each problem's id (text or integer, unique)")
    prompt_column: str | None = Field(
        default=None,
        description="column: the raw prompt, what the model continues and the program starts with "
        "[prompt; optional with a chat request]",
    )
    prompt_template: str | None = Field(
        default=None,
        description="the raw prompt built from columns instead: '{text}', '{test_list[0]}' ({{ and }} for braces)",
    )
    chat_column: str | None = Field(
        default=None, description="column: the request a chat model is asked (chat prompt format)"
    )
    chat_template: str | None = Field(default=None, description="the chat request built from columns instead")
    chat_program_start: Literal["empty", "prompt"] = Field(
        default="empty",
        description="with a chat request: what the answer's program starts with (empty, or the raw prompt)",
    )
    tests_column: str | None = Field(
        default=None,
        description="column: a list of assert statements, or one test program "
        "[tests, unless standard-input tests are given]",
    )
    entry_point_column: str | None = Field(
        default=None, description="column: the function the test program checks; check(ENTRY_POINT) is appended"
    )
    test_setup_column: str | None = Field(default=None, description="column: code run before the tests")
    io_column: str | None = Field(
        default=None,
        description='column: standard-input tests, a list of {"input", "output"} objects '
        '(or {"inputs": [...], "outputs": [...]}, or either as JSON text)',
    )
    stdin_column: str | None = Field(default=None, description="column: standard inputs (a list; with stdout_column)")
    stdout_column: str | None = Field(
        default=None, description="column: the outputs expected for stdin_column's inputs, in the same order"
    )
    output_match: OutputMatch = Field(
        default="whitespace", description="how printed output is compared: exact, or whitespace runs as one space"
    )
    output_match_column: str | None = Field(
        default=None, description="column: a problem's own output_match, exact or whitespace [output_match]"
    )
    reference_column: str | None = Field(
        default=None, description="column: a reference solution, the completion after the prompt (gold baseline)"
    )
    split_column: str | None = Field(default=None, description="column: the split each problem belongs to")
    splits: dict[str, str] = Field(
        default_factory=dict,
        description="splits by id ranges instead, e.g. {test = '11-510', train = '601-974'}; an id's number "
        "is the id or its digits after the last '/' [none: split_column, the hub's splits, or only 'all']",
    )
    train_split: str = Field(default="train", description="the split `leti run` trains on")
    eval_split: str = Field(default="test", description="the split `leti run` evaluates on")
    language: str = Field(
        default="python",
        min_length=1,
        description="the programs' language, named as the environment that checks them "
        "(python; javascript and cpp with leti-humaneval-x)",
    )
    stop_words: list[str] = Field(
        default_factory=list, description="where evaluation's post-processing cuts a completion [none]"
    )

    @field_validator("prompt_template", "chat_template")
    @classmethod
    def _template(cls, template: str | None) -> str | None:
        if template is not None:
            template_columns(template)
        return template

    @field_validator("splits")
    @classmethod
    def _ranges(cls, splits: dict[str, str]) -> dict[str, str]:
        for name, ranges in splits.items():
            if name == ALL:
                raise ValueError(f"split {ALL!r} is every problem: name another")
            IdRanges.parse(ranges)
        return splits


def check_options(options: ProblemsOptions) -> None:
    """The options' rules across fields: one line naming the options that clash."""
    pairs = [
        ("data", "hub"),
        ("prompt_column", "prompt_template"),
        ("chat_column", "chat_template"),
        ("split_column", "splits"),
        ("io_column", "stdin_column"),
        ("tests_column", "io_column"),  # a problem has asserts or standard-input tests, not both
        ("tests_column", "stdin_column"),
    ]
    for first, second in pairs:
        if getattr(options, first) and getattr(options, second):
            raise LetiError(f"task 'problems': options {first} and {second}: give one of them")
    if bool(options.stdin_column) != bool(options.stdout_column):
        raise LetiError("task 'problems': options stdin_column and stdout_column: give both")
    if options.data is None and options.hub is None:
        raise LetiError("task 'problems': give the problems file (--data FILE) or a hub dataset (option hub)")


def template_columns(template: str) -> list[str]:
    """The columns a template names ('{test_list[0]}' names test_list); ValueError when it is malformed."""
    names = []
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None:
            continue
        name = re.split(r"[.\[]", field, maxsplit=1)[0]
        if not name or name.isdigit():
            raise ValueError(f"template field {{{field}}}: name a column, as in {{text}}")
        names.append(name)
    return names


@dataclass(frozen=True)
class IdRanges:
    """Ids by number ranges ('11-510, 601-974') or as they are ('HumanEval/3')."""

    ranges: tuple[tuple[int, int], ...]
    ids: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> IdRanges:
        ranges, ids = [], set()
        for part in (part.strip() for part in text.split(",")):
            matched = _RANGE.fullmatch(part)
            if matched:
                low, high = int(matched[1]), int(matched[2])
                if low > high:
                    raise ValueError(f"id range {part!r} runs backwards")
                ranges.append((low, high))
            elif part:
                ids.add(part)
            else:
                raise ValueError(f"id ranges {text!r}: an empty item")
        return cls(tuple(ranges), frozenset(ids))

    def __contains__(self, task_id: object) -> bool:
        if not isinstance(task_id, str):
            return False
        if task_id in self.ids:
            return True
        tail = task_id.rsplit("/", 1)[-1]
        return tail.isdigit() and any(low <= int(tail) <= high for low, high in self.ranges)


@dataclass(frozen=True)
class Schema:
    """The columns the options map each field to, and a row of them as a Problem."""

    options: ProblemsOptions

    @property
    def tests_column(self) -> str | None:
        given = self.options
        return given.tests_column or (None if given.io_column or given.stdin_column else "tests")

    @property
    def prompt_column(self) -> str | None:
        given = self.options
        return given.prompt_column or (None if given.prompt_template else "prompt")

    @property
    def prompt_optional(self) -> bool:
        """With a chat request and no prompt option, a row without a raw prompt has an empty one."""
        given = self.options
        return not given.prompt_column and bool(given.chat_column or given.chat_template)

    def column_options(self) -> list[tuple[str, str]]:
        """(option, column) for every column the schema reads, templates' columns included."""
        given = self.options
        named = {
            "id_column": given.id_column,
            "prompt_column": None if self.prompt_optional else self.prompt_column,
            "chat_column": given.chat_column,
            "tests_column": self.tests_column,
            "entry_point_column": given.entry_point_column,
            "test_setup_column": given.test_setup_column,
            "io_column": given.io_column,
            "stdin_column": given.stdin_column,
            "stdout_column": given.stdout_column,
            "output_match_column": given.output_match_column,
            "reference_column": given.reference_column,
            "split_column": given.split_column,
        }
        pairs = [(option, column) for option, column in named.items() if column]
        for option in ("prompt_template", "chat_template"):
            template = getattr(given, option)
            pairs += [(option, column) for column in template_columns(template)] if template else []
        return pairs

    def check_columns(self, rows: list[tuple[str, Mapping[str, Any]]]) -> None:
        """An option naming a column no row has is an error naming the first row and the option."""
        present: dict[str, None] = {}
        for _, row in rows:
            present.update(dict.fromkeys(row))
        for option, column in self.column_options():
            if column not in present:
                raise DataError(
                    f"{rows[0][0]}: {option} {column!r}: no such column (the columns: {', '.join(present) or 'none'})"
                )

    def problem(self, where: str, row: Mapping[str, Any]) -> Problem:
        """The row as a Problem; a DataError names ``where``, the field and its column."""
        given = self.options
        values = _Values(where, row)
        prompt = ""
        if given.prompt_template:
            prompt = values.render("prompt", given.prompt_template)
        elif self.prompt_column and not (self.prompt_optional and row.get(self.prompt_column) in (None, "")):
            prompt = values.filled_text("prompt", self.prompt_column)
        chat = values.filled_text("chat", given.chat_column) if given.chat_column else None
        if given.chat_template:
            chat = values.render("chat", given.chat_template)
        tests = values.tests(self.tests_column) if self.tests_column else []
        metadata: dict[str, Any] = {} if chat is None else {"chat": chat}
        if given.entry_point_column:
            entry_point = values.filled_text("entry_point", given.entry_point_column)
            tests.append(f"check({entry_point})")
            metadata["entry_point"] = entry_point
        io_tests = values.io_tests(given.io_column, given.stdin_column, given.stdout_column)
        if not tests and not io_tests:
            column = self.tests_column or given.io_column or given.stdin_column
            raise DataError(f"{where}: tests (column {column!r}): no tests")
        return Problem(
            task_id=values.task_id(given.id_column),
            prompt=prompt,
            tests=tests,
            test_setup=values.optional_text("test_setup", given.test_setup_column) or "",
            io_tests=io_tests,
            output_match=values.output_match(given.output_match_column, given.output_match),
            reference=values.optional_text("reference", given.reference_column),
            metadata=metadata,
        )

    def split(self, where: str, row: Mapping[str, Any]) -> str | None:
        """The split ``split_column`` names for the row (None: no such column)."""
        column = self.options.split_column
        return _Values(where, row).task_id(column, "split") if column else None


@dataclass(frozen=True)
class _Values:
    """One row's values, each read as its field needs it; errors name the row, field and column."""

    where: str
    row: Mapping[str, Any]

    def fail(self, field: str, column: str, problem: str) -> DataError:
        return DataError(f"{self.where}: {field} (column {column!r}): {problem}")

    def get(self, field: str, column: str, required: bool = True) -> Any:
        value = self.row.get(column)
        if value is None and required:
            raise self.fail(field, column, "missing")
        return value

    def text(self, field: str, column: str) -> str:
        value = self.get(field, column)
        if not isinstance(value, str):
            raise self.fail(field, column, f"must be text, not {_kind(value)}")
        return value

    def filled_text(self, field: str, column: str) -> str:
        value = self.text(field, column)
        if not value.strip():
            raise self.fail(field, column, "missing (empty)")
        return value

    def optional_text(self, field: str, column: str | None) -> str | None:
        """The column's text; None for no column, no value or an empty one (a CSV cell)."""
        if not column or self.row.get(column) is None:
            return None
        return self.text(field, column) or None

    def output_match(self, column: str | None, default: OutputMatch) -> OutputMatch:
        """The row's own way of comparing output, or ``default`` (no column, or an empty cell)."""
        value = self.optional_text("output_match", column)
        if value is None or column is None:
            return default
        if value not in get_args(OutputMatch):
            raise self.fail("output_match", column, f"{value!r} is neither exact nor whitespace")
        return cast(OutputMatch, value)

    def task_id(self, column: str, field: str = "id") -> str:
        value = self.get(field, column)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self.fail(field, column, f"must be text or an integer, not {_kind(value)}")
        if not value.strip():
            raise self.fail(field, column, "missing")
        return value

    def render(self, field: str, template: str) -> str:
        for column in template_columns(template):
            self.get(field, column)
        try:
            return template.format_map(self.row)
        except (IndexError, KeyError, AttributeError, TypeError, ValueError) as error:
            raise DataError(f"{self.where}: {field} ({field}_template): {type(error).__name__}: {error}") from None

    def tests(self, column: str) -> list[str]:
        value = _decoded(self.get("tests", column))
        if isinstance(value, str):
            return [value] if value.strip() else []
        if isinstance(value, list | tuple) and all(isinstance(test, str) for test in value):
            return [test for test in value if test.strip()]
        raise self.fail("tests", column, f"must be a list of assert statements or a test program, not {_kind(value)}")

    def io_tests(self, column: str | None, stdin: str | None, stdout: str | None) -> list[IOTest]:
        if column:
            value = _decoded(self.get("io_tests", column))
            if isinstance(value, dict) and set(value) == {"inputs", "outputs"}:
                return self._pairs("io_tests", column, value["inputs"], value["outputs"])
            if not isinstance(value, list | tuple) or not all(isinstance(item, dict) for item in value):
                raise self.fail(
                    "io_tests", column, f'must be a list of {{"input", "output"}} objects, not {_kind(value)}'
                )
            pairs = [_io_pair(item) for item in value]
            if not all(pairs):
                raise self.fail("io_tests", column, 'each test is an object with "input" and "output"')
            return self._pairs("io_tests", column, [pair[0] for pair in pairs], [pair[1] for pair in pairs])
        if stdin and stdout:
            inputs, outputs = _decoded(self.get("stdin", stdin)), _decoded(self.get("stdout", stdout))
            return self._pairs("stdin", stdin, inputs, outputs, stdout)
        return []

    def _pairs(self, field: str, column: str, inputs: Any, outputs: Any, second: str | None = None) -> list[IOTest]:
        for values, name in ((inputs, column), (outputs, second or column)):
            if not isinstance(values, list | tuple) or not all(isinstance(value, str) for value in values):
                raise self.fail(field, name, f"inputs and outputs must be lists of text, not {_kind(values)}")
        if len(inputs) != len(outputs):
            where = column if second is None else f"{column}, {second}"
            raise self.fail(field, where, f"{len(inputs)} inputs but {len(outputs)} outputs")
        return [IOTest(stdin=stdin, stdout=stdout) for stdin, stdout in zip(inputs, outputs, strict=True)]


def _io_pair(item: dict[str, Any]) -> tuple[Any, ...]:
    """A test's input and output ({"input", "output"} or {"stdin", "stdout"}); empty when it has neither."""
    for stdin, stdout in (("input", "output"), ("stdin", "stdout")):
        if stdin in item and stdout in item:
            return item[stdin], item[stdout]
    return ()


def _decoded(value: Any) -> Any:
    """A list or object written as JSON text (as in a CSV cell) decoded; anything else as it is."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
