"""The tasks `humaneval-js` and `humaneval-cpp`: HumanEval-X's 164 problems in each language.

HumanEval is an evaluation set; so that the LeTI loop can run on it, `train` holds problems 0-81
and `test` problems 82-163 (by task number). `all` is the whole set, the figure to compare with
published HumanEval-X results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from leti_core import LetiError, Problem, Task, TaskOptions
from pydantic import Field

from .data import DATA_ENV, Record, read_records

SPLITS: dict[str, range] = {"train": range(0, 82), "test": range(82, 164), "all": range(0, 164)}


class HumanEvalXTask(Task):
    """HumanEval-X in one language: the prompt (declaration and docstring) the model continues,
    checked by the problem's test code."""

    splits = tuple(SPLITS)
    train_split = "train"
    eval_split = "test"
    #: HumanEval-X's name for the language (its file is humaneval_<language>.jsonl.gz).
    language: ClassVar[str] = ""
    #: How a chat-format request names the language.
    language_name: ClassVar[str] = ""

    class Options(TaskOptions):
        data: Path | None = Field(
            default=None, description=f"humaneval_<language>.jsonl.gz or its folder (env {DATA_ENV})"
        )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._records: list[Record] | None = None

    def records(self) -> list[Record]:
        if self._records is None:
            self._records = read_records(self.options.data, self.language)
        return self._records

    def load(self, split: str) -> list[Problem]:
        if split not in SPLITS:
            raise LetiError(f"unknown {self.name} split {split!r}; splits: {', '.join(SPLITS)}")
        numbers = SPLITS[split]
        return [
            Problem(
                task_id=record.task_id,
                prompt=record.prompt,
                tests=[record.test],
                reference=record.canonical_solution,
                metadata={"language": self.language},
            )
            for record in self.records()
            if int(record.task_id.rsplit("/", 1)[1]) in numbers
        ]

    def chat_request(self, problem: Problem) -> tuple[str, str]:
        """Asked to complete the function; the answer's program starts with the prompt."""
        return (
            f"Complete this {self.language_name} function:\n```{self.code_language}\n{problem.prompt}```",
            problem.prompt,
        )


class HumanEvalJS(HumanEvalXTask):
    name = "humaneval-js"
    language = "js"
    language_name = "JavaScript"
    code_language = "javascript"
    problem_kind = "javascript"
    default_environment = "javascript"
    stop_words = ("\nconst ", "\nfunction ", "\n/*", "\n//", "\nconsole.", "\nmodule.exports")


class HumanEvalCpp(HumanEvalXTask):
    name = "humaneval-cpp"
    language = "cpp"
    language_name = "C++"
    code_language = "cpp"
    problem_kind = "cpp"
    default_environment = "cpp"
    stop_words = ("\nint main", "\n/*", "\n//", "\n#include", "\nusing namespace")
