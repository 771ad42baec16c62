"""The run folder: the one place that knows where a run keeps what.

::

    RUN/config.json                  the options the user set (RunConfig)
    RUN/provenance.json              what the run was made with: every option resolved (defaults
                                     included), the components chosen, package versions; and the
                                     records that resumes replaced (Provenance)
    RUN/wandb_run_id                 the wandb run this run logs to, so a resume continues it
    RUN/base/                        the starting model with LeTI's special tokens
    RUN/iteration-K/samples.jsonl    training samples with results and feedback
    RUN/iteration-K/training.jsonl   the training texts, in their parts
    RUN/iteration-K/train_metrics.json
    RUN/iteration-K/checkpoint/      the fine-tuned model
    RUN/iteration-K/checkpoint.*/    the trainer's own while it trains (hf: .resume, resumable states)
    RUN/iteration-K/eval.jsonl       held-out samples with results and feedback
    RUN/iteration-K/eval_postprocessed.jsonl  the same cut at the task's stop words and scored,
                                     when the held-out samples were not stopped at them
    RUN/iteration-K/summary.json     IterationSummary: the iteration is finished
    RUN/iteration-K/STAGE.partial.jsonl  a sampling stage's saved chunks while it runs
    RUN/iteration-0/                 eval.jsonl and summary.json of the starting model (eval_base)
    RUN/eval/LABEL/                  `leti eval` outputs (EvalFolder: eval.jsonl and
                                     eval_postprocessed.jsonl as above, samples.jsonl, summary.json;
                                     with --repair-rounds, repair.json and repair-TOLD-R.jsonl)
    RUN/report/                      `leti report` outputs
    RUN/export/iteration-K/          `leti export`: iteration K's checkpoint as a plain model, with a model card
    RUN/tensorboard/                 observer logs
    RUN/tensorboard/train-K/         the trainer's per-step logs of iteration K

Every file is written whole or not at all (a temporary file renamed into place).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .errors import LetiError
from .jsonl import read_models, write_json
from .models import EvalSummary, IterationSummary, ScoredSample

M = TypeVar("M", bound=BaseModel)
_ITERATION = re.compile(r"iteration-(\d+)")


@dataclass(frozen=True)
class EvalFiles:
    """Where a held-out evaluation keeps its scored samples."""

    scored: Path
    postprocessed: Path

    @classmethod
    def in_folder(cls, path: Path) -> EvalFiles:
        return cls(path / "eval.jsonl", path / "eval_postprocessed.jsonl")


@dataclass(frozen=True)
class EvalFolder:
    """The folder of one `leti eval`: its scored samples, the completions alone and the summary."""

    path: Path

    @property
    def files(self) -> EvalFiles:
        return EvalFiles.in_folder(self.path)

    @property
    def samples(self) -> Path:
        """The completions as ``{"task_id", "completion"}`` lines: what `leti evaluate` reads."""
        return self.path / "samples.jsonl"

    @property
    def summary_file(self) -> Path:
        return self.path / "summary.json"

    @property
    def repair_file(self) -> Path:
        """`--repair-rounds`: every round's figures and the paired comparisons (RepairReport)."""
        return self.path / "repair.json"

    def repair_round(self, told: str, number: int) -> Path:
        """The answers of repair round ``number`` with ``told`` feedback."""
        return self.path / f"repair-{told}-{number}.jsonl"

    def outputs(self) -> list[Path]:
        """Every file an evaluation writes here, in-progress files included."""
        files = self.files
        rounds = sorted(self.path.glob("repair-*.jsonl")) if self.path.is_dir() else []
        return [
            files.scored,
            RunFolder.in_progress(files.scored),
            files.postprocessed,
            self.samples,
            self.summary_file,
            self.repair_file,
            *rounds,
        ]

    def summary(self) -> EvalSummary:
        return read_json(self.summary_file, EvalSummary)


@dataclass(frozen=True)
class IterationFolder:
    """One iteration's files."""

    number: int
    path: Path

    @property
    def samples(self) -> Path:
        return self.path / "samples.jsonl"

    @property
    def training(self) -> Path:
        return self.path / "training.jsonl"

    @property
    def train_metrics(self) -> Path:
        return self.path / "train_metrics.json"

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint"

    @property
    def held_out(self) -> EvalFiles:
        return EvalFiles.in_folder(self.path)

    @property
    def summary_file(self) -> Path:
        return self.path / "summary.json"

    @property
    def finished(self) -> bool:
        return self.summary_file.is_file()

    @property
    def trained(self) -> bool:
        """Training wrote its metrics and a whole checkpoint."""
        return self.train_metrics.is_file() and is_checkpoint(self.checkpoint)

    def summary(self) -> IterationSummary:
        """The iteration's summary; LetiError when it is missing or malformed."""
        summary = read_json(self.summary_file, IterationSummary)
        if summary.iteration != self.number:
            raise LetiError(
                f"{self.summary_file}: says iteration {summary.iteration}, the folder is iteration {self.number}"
            )
        return summary

    def scored_samples(self) -> list[ScoredSample]:
        return [row for _, row in read_models(self.samples, ScoredSample)]

    def metrics(self) -> dict[str, float]:
        return json.loads(self.train_metrics.read_text(encoding="utf-8"))


def is_checkpoint(folder: Path) -> bool:
    """A model folder that a trainer finished writing: a model (config.json) or adapters on one
    (adapter_config.json)."""
    return (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file()


def read_json(path: Path, model: type[M]) -> M:
    """A JSON file validated as ``model``; one-line LetiError naming the file otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LetiError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LetiError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    try:
        return model.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise LetiError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(part) for part in detail["loc"])
        raise LetiError(
            f"{path}: not a LeTI {model.__name__} ({where + ': ' if where else ''}{detail['msg']})"
        ) from None


class RunFolder:
    """A run's folder on disk: paths, reads and atomic writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def provenance_file(self) -> Path:
        """What the run was made with (``leti_core.app.provenance.Provenance``)."""
        return self.path / "provenance.json"

    @property
    def wandb_run_id_file(self) -> Path:
        """The id of the wandb run this run logs to."""
        return self.path / "wandb_run_id"

    @property
    def base(self) -> Path:
        return self.path / "base"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def report(self) -> Path:
        return self.path / "report"

    def training_logs(self, iteration: int) -> Path:
        """Where the trainer of ``iteration`` writes its per-step logs (TensorBoard event files)."""
        return self.tensorboard / f"train-{iteration}"

    def export_folder(self, iteration: int) -> Path:
        """Where `leti export` writes iteration ``iteration``'s model (0: the base model) by default."""
        return self.path / "export" / ("base" if iteration == 0 else f"iteration-{iteration}")

    def eval_folder(self, label: str) -> EvalFolder:
        """Where `leti eval` of this run's checkpoint with settings ``label`` writes."""
        return EvalFolder(self.path / "eval" / label)

    def exists(self) -> bool:
        """The folder holds a run (it has a config)."""
        return self.config_file.is_file()

    def iteration(self, number: int) -> IterationFolder:
        return IterationFolder(number, self.path / f"iteration-{number}")

    def iterations(self) -> Iterator[IterationFolder]:
        """Iteration folders that exist, in order."""
        if not self.path.is_dir():
            return
        numbers = sorted(
            int(match.group(1))
            for entry in self.path.iterdir()
            if entry.is_dir() and (match := _ITERATION.fullmatch(entry.name))
        )
        for number in numbers:
            yield self.iteration(number)

    def summaries(self) -> list[IterationSummary]:
        """The summaries of the finished iterations, in order."""
        return [folder.summary() for folder in self.iterations() if folder.finished]

    def last_finished(self) -> int:
        """The number of the last finished iteration; LetiError when there is none."""
        finished = [folder.number for folder in self.iterations() if folder.finished]
        if not finished:
            raise LetiError(
                f"{self.path} has no finished iteration (no iteration-K/summary.json); "
                "pass --iteration 0 for its base model"
            )
        return finished[-1]

    def checkpoint(self, iteration: int) -> tuple[Path, str]:
        """The model of ``iteration`` (0: the base model), which must exist, and a label."""
        folder, label = self.checkpoint_path(iteration), ("base" if iteration == 0 else f"iteration-{iteration}")
        if not is_checkpoint(folder):
            raise LetiError(f"{folder}: no checkpoint (no config.json); is iteration {iteration} finished?")
        return folder, label

    @staticmethod
    def in_progress(stage_file: Path) -> Path:
        """Where a stage writing ``stage_file`` keeps what it has saved so far."""
        return stage_file.with_name(stage_file.stem + ".partial.jsonl")

    def checkpoint_path(self, iteration: int) -> Path:
        """Where the model of ``iteration`` is (0: the base model), written or not."""
        return self.base if iteration == 0 else self.iteration(iteration).checkpoint

    def model_for(self, iteration: int) -> Path:
        """The model iteration ``iteration`` starts from: the base, or the previous checkpoint."""
        return self.checkpoint_path(iteration - 1)

    # writes -------------------------------------------------------------------------------
    def write_summary(self, summary: IterationSummary) -> None:
        write_json(self.iteration(summary.iteration).summary_file, summary)
