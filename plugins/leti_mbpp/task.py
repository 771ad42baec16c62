"""The `mbpp` task: MBPP from a local file or the Hugging Face hub, split by task id."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from leti_core import DataError, LetiError, Problem, Task, TaskOptions, read_models

DATA_ENV = "LETI_MBPP_DATA"
HUB_ID = "google-research-datasets/mbpp"
SPLITS: dict[str, range] = {
    "prompt": range(1, 11),
    "test": range(11, 511),
    "validation": range(511, 601),
    "train": range(601, 975),
    "all": range(1, 975),
}


class MBPPRecord(BaseModel):
    """One line of mbpp.jsonl."""

    task_id: int
    text: str
    code: str
    test_list: list[str] = Field(min_length=1)
    test_setup_code: str = ""
    challenge_test_list: list[str] = Field(default_factory=list)


def prompt_for(record: MBPPRecord) -> str:
    """The paper's prompt: a docstring with the problem text and the first test."""
    return f'"""\n{record.text}\n{record.test_list[0]}\n"""\n'


def to_problem(record: MBPPRecord) -> Problem:
    return Problem(
        task_id=str(record.task_id),
        prompt=prompt_for(record),
        tests=record.test_list,
        test_setup=record.test_setup_code,
        reference=record.code,
        metadata={"text": record.text},
    )


def _resolve_file(path: Path) -> Path:
    if path.is_dir():
        path = path / "mbpp.jsonl"
    if not path.is_file():
        raise DataError(
            f"{path}: MBPP data file not found; pass --data PATH (or set {DATA_ENV}) to "
            f"mbpp.jsonl, or omit both to download {HUB_ID} from the Hugging Face hub"
        )
    return path


def read_file(path: Path) -> list[MBPPRecord]:
    return [record for _, record in read_models(_resolve_file(path), MBPPRecord)]


def read_hub() -> list[MBPPRecord]:
    try:
        import datasets

        rows = datasets.load_dataset(HUB_ID, "full")
        return [MBPPRecord.model_validate(row) for split in rows.values() for row in split]
    except Exception as error:
        raise LetiError(
            f"cannot load {HUB_ID} from the Hugging Face hub ({type(error).__name__}); pass "
            f"--data PATH (or set {DATA_ENV}) to a local mbpp.jsonl"
        ) from None


class MBPPTask(Task):
    """MBPP (Austin et al., 2021) with LeTI's prompt: the problem text and first test in a docstring."""

    name = "mbpp"
    problem_kind = "python"
    default_environment = "python"
    splits = tuple(SPLITS)
    train_split = "train"
    eval_split = "test"
    stop_words = ("\nclass", "\nassert", '\n"""', "\nprint", "\nif", "\n<|/")

    class Options(TaskOptions):
        data: Path | None = Field(default=None, description=f"mbpp.jsonl or its folder (env {DATA_ENV})")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._records: list[MBPPRecord] | None = None

    def records(self) -> list[MBPPRecord]:
        if self._records is None:
            path = self.options.data or os.environ.get(DATA_ENV)
            self._records = read_file(Path(path)) if path else read_hub()
        return self._records

    def chat_request(self, problem: Problem) -> tuple[str, str]:
        """The problem text and its first test as the request; the program starts empty."""
        return f"{problem.metadata['text']}\nYour code should pass this test:\n{problem.tests[0]}", ""

    def gold_completion(self, problem: Problem) -> str | None:
        """The paper's baseline text is ``prompt + "\\n" + code``."""
        return None if problem.reference is None else "\n" + problem.reference

    def load(self, split: str) -> list[Problem]:
        if split not in SPLITS:
            raise LetiError(f"unknown mbpp split {split!r}; splits: {', '.join(SPLITS)}")
        ids = SPLITS[split]
        return [to_problem(record) for record in self.records() if record.task_id in ids]
