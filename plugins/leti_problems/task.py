"""The `problems` task: problems from a data file or hub dataset, columns mapped by its options.

The whole file is read and checked at the first ``load``, before any model loads, so a bad row
stops a command with one line naming the file, the row and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leti_core import DataError, LetiError, Problem, Task

from .schema import ALL, IdRanges, ProblemsOptions, Schema, check_options
from .sources import Row, read_file, read_hub


class ProblemsTask(Task):
    """Your own problems: an id, a prompt (raw, a chat request or both), tests (asserts, a test
    program, or standard-input pairs), splits and an optional reference, from the columns of a
    JSONL, JSON, CSV or Parquet file or a hub dataset; checked by the environment of its language."""

    name = "problems"
    Options = ProblemsOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        given: ProblemsOptions = self.options
        # what a task class declares, this task takes from its options
        self.problem_kind = self.default_environment = self.code_language = given.language  # type: ignore[misc]
        self.stop_words = tuple(given.stop_words)  # type: ignore[misc]
        self.train_split, self.eval_split = given.train_split, given.eval_split  # type: ignore[misc]
        self._splits: dict[str, list[Problem]] | None = None

    @classmethod
    def parse_options(cls, options: Mapping[str, Any]) -> Any:
        parsed = super().parse_options(options)
        check_options(parsed)
        return parsed

    @classmethod
    def environment_for(cls, options: Mapping[str, Any], installed: Sequence[str]) -> str:
        """The environment named by the option ``language``, which must be installed."""
        language = options.get("language", "python")
        if isinstance(language, str) and language and language not in installed:
            raise LetiError(
                f"task 'problems': option language: no installed environment checks {language!r} programs "
                f"(installed: {', '.join(installed) or 'none'}; javascript and cpp come with leti-humaneval-x)"
            )
        return language if isinstance(language, str) and language else "python"

    def load(self, split: str) -> list[Problem]:
        splits = self.problems()
        if split not in splits:
            raise LetiError(f"unknown problems split {split!r}; splits: {', '.join(splits)}")
        return splits[split]

    def chat_request(self, problem: Problem) -> tuple[str, str]:
        """The row's chat request, if it has one, and the program's start the options choose."""
        request = problem.metadata.get("chat")
        if request is None:
            return super().chat_request(problem)
        return request, problem.prompt if self.options.chat_program_start == "prompt" else ""

    def problems(self) -> dict[str, list[Problem]]:
        """Every split's problems (``all`` last), read and checked whole on first use."""
        if self._splits is None:
            self._splits = self._read()
            self.splits = tuple(self._splits)  # type: ignore[misc]
        return self._splits

    def _read(self) -> dict[str, list[Problem]]:
        given: ProblemsOptions = self.options
        rows: list[tuple[str | None, Row]]  # (the hub's split, row)
        if given.hub:
            by_split = read_hub(given.hub, given.hub_config, given.revision, given.data_dir)
            rows = [(split, row) for split, split_rows in by_split.items() for row in split_rows]
            source = given.hub
        else:
            assert given.data is not None  # check_options
            rows = [(None, row) for row in read_file(given.data, given.format)]
            source = str(given.data)
        if not rows:
            raise DataError(f"{source}: no problems")
        schema = Schema(given)
        schema.check_columns([row for _, row in rows])
        ranges = {name: IdRanges.parse(text) for name, text in given.splits.items()}
        splits: dict[str, list[Problem]] = {}
        seen: dict[str, str] = {}
        everything = []
        for source_split, (where, values) in rows:
            problem = schema.problem(where, values)
            if problem.task_id in seen:
                raise DataError(f"{where}: id {problem.task_id!r} repeats the one at {seen[problem.task_id]}")
            seen[problem.task_id] = where
            everything.append(problem)
            for split in self._splits_of(schema, (where, values), problem, source_split, ranges):
                splits.setdefault(split, []).append(problem)
        if given.splits:
            splits = {name: splits.get(name, []) for name in given.splits}
        return {**splits, ALL: everything}

    def _splits_of(
        self, schema: Schema, row: Row, problem: Problem, source_split: str | None, ranges: dict[str, IdRanges]
    ) -> list[str]:
        given: ProblemsOptions = self.options
        if given.split_column:
            split = schema.split(*row)
            if split == ALL:
                raise DataError(f"{row[0]}: split (column {given.split_column!r}): {ALL!r} is every problem")
            return [split] if split else []
        if ranges:
            return [name for name, ids in ranges.items() if problem.task_id in ids]
        return [source_split] if source_split else []
