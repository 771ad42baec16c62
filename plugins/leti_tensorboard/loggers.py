"""TensorBoard and wandb writers behind a guard: a missing or broken library warns once."""

from __future__ import annotations

import os
import re
import secrets
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from leti_core import IterationSummary, RunFolder

TENSORBOARD_ENV = "LETI_TENSORBOARD"
WANDB_ENV = "LETI_WANDB"
#: What the iteration scalars are called in wandb: under a section of their own, so that the
#: trainer's per-step scalars, logged to the same wandb run (``train/loss``, ...), never meet them.
WANDB_PREFIX = "leti/"
#: Their x-axis in wandb (the trainer's is ``train/global_step``).
WANDB_STEP = WANDB_PREFIX + "iteration"

_writers: dict[Path, Any] = {}
_wandb_runs: dict[Path, Any] = {}
_disabled: set[str] = set()


class LoggerWarning(UserWarning):
    """A logger could not write; the run goes on without it."""


def _off(value: str | None) -> bool:
    return (value or "").strip().lower() in {"0", "false", "no", "off"}


def tensorboard_enabled() -> bool:
    return "tensorboard" not in _disabled and not _off(os.environ.get(TENSORBOARD_ENV))


def wandb_enabled() -> bool:
    if "wandb" in _disabled or _off(os.environ.get(WANDB_ENV)):
        return False
    return bool(os.environ.get(WANDB_ENV)) or bool(os.environ.get("WANDB_PROJECT"))


def _guard(name: str, action: Callable[[], None]) -> None:
    """Run ``action``; on any failure warn once in one line and stop using that logger."""
    try:
        action()
    except Exception as error:  # a logger must never break a run
        _disabled.add(name)
        detail = " ".join(str(error).split())[:200]
        warnings.warn(
            f"{name} logging is off for this run: {type(error).__name__}: {detail}", LoggerWarning, stacklevel=3
        )


def scalars(summary: IterationSummary, cumulative_steps: int) -> dict[str, float]:
    """The numbers logged for one iteration, by tag."""
    values: dict[str, float] = {
        "train/success_rate": summary.success_rate,
        "train/samples": summary.samples,
        "train/gradient_steps": summary.training_steps,
        "train/gradient_steps_total": cumulative_steps,
        "train/tokens": summary.training_tokens,
    }
    if summary.training_loss is not None:
        values["train/loss"] = summary.training_loss
    failures = sum(summary.exception_histogram.values())
    for name, count in summary.exception_histogram.items():
        values[f"exceptions/{name}"] = count / max(1, summary.samples)
    values["exceptions/any"] = failures / max(1, summary.samples)
    held_out = summary.held_out
    if held_out is not None and held_out.raw is not None:
        values.update({f"eval/{key}": value for key, value in held_out.raw.pass_at.items()})
    if held_out is not None and held_out.postprocessed is not None:
        values.update({f"eval/{key}_postprocessed": value for key, value in held_out.postprocessed.pass_at.items()})
    if held_out is not None:
        values.update({f"eval/{key}": value for key, value in held_out.metrics.items()})
    values.update({f"seconds/{key}": value for key, value in summary.seconds.items()})
    return {tag_name(tag): value for tag, value in values.items()}


def tag_name(tag: str) -> str:
    """A tag without spaces or punctuation TensorBoard does not like."""
    return re.sub(r"[^\w@./-]+", "_", tag).strip("_")


def run_start(run: RunFolder, config: dict[str, Any]) -> None:
    if wandb_enabled():
        _guard("wandb", lambda: _wandb_start(run, config))


def log_iteration(run: RunFolder, summary: IterationSummary, cumulative_steps: int) -> None:
    values = scalars(summary, cumulative_steps)
    if tensorboard_enabled():
        _guard("tensorboard", lambda: _tensorboard_write(run, summary.iteration, values))
    if wandb_enabled():
        _guard("wandb", lambda: _wandb_log(run, summary.iteration, values))


def run_end(run: RunFolder) -> None:
    writer = _writers.pop(run.path, None)
    if writer is not None:
        _guard("tensorboard", writer.close)
    wandb_run = _wandb_runs.pop(run.path, None)
    if wandb_run is not None:
        _guard("wandb", wandb_run.finish)


def _tensorboard_write(run: RunFolder, step: int, values: dict[str, float]) -> None:
    """One event of scalars, with tensorboard's own writer (torch's SummaryWriter wraps the same
    one, and would load torch into the `leti` process for it)."""
    try:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError("tensorboard is not installed (pip install 'leti[tensorboard]')") from None
    writer = _writers.get(run.path)
    if writer is None:
        writer = _writers[run.path] = EventFileWriter(str(run.tensorboard))
    entries = [Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()]
    writer.add_event(Event(wall_time=time.time(), step=step, summary=Summary(value=entries)))
    writer.flush()


def wandb_run_id(run: RunFolder) -> str:
    """The id of the wandb run that ``run`` logs to: the one kept in the run folder, so that a resumed
    run continues it, or a new one (``WANDB_RUN_ID`` where set), kept there."""
    path = run.wandb_run_id_file
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    new = os.environ.get("WANDB_RUN_ID") or secrets.token_hex(6)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new + "\n", encoding="utf-8")
    return new


def _wandb_start(run: RunFolder, config: dict[str, Any]) -> None:
    try:
        import wandb
    except ImportError:
        raise ImportError(
            "wandb is not installed (pip install 'leti[wandb]'), or unset LETI_WANDB/WANDB_PROJECT"
        ) from None
    _wandb_runs[run.path] = wandb.init(
        project=os.environ.get("WANDB_PROJECT", "leti"),
        name=run.name,
        id=wandb_run_id(run),
        dir=str(run.path),
        config=config,
        resume="allow",
    )
    _wandb_runs[run.path].define_metric(WANDB_STEP)


def _wandb_log(run: RunFolder, step: int, values: dict[str, float]) -> None:
    wandb_run = _wandb_runs.get(run.path)
    if wandb_run is None:
        _wandb_start(run, {})
        wandb_run = _wandb_runs[run.path]
    named = {WANDB_PREFIX + tag: value for tag, value in values.items()}
    for tag in named:  # each by name: the trainer's callback sets a glob ("*") on its own step
        wandb_run.define_metric(tag, step_metric=WANDB_STEP)
    # no step=: wandb's own step is the trainer's, which has moved on; the iteration is the x-axis
    wandb_run.log({**named, WANDB_STEP: step})
