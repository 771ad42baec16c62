"""The hooks a LeTI plugin can implement.

Registration hooks add components by name; the engine decides when to use them. A target is the
component class or a ``"module:Class"`` string, imported only when the component is chosen, so
registering a torch-based component costs nothing until it is used. Observer hooks only watch.
Implementations may accept fewer arguments than a spec lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .models import IterationSummary, ScoredSample
    from .registry import Register
    from .run_folder import RunFolder

PROJECT = "leti"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def leti_register_tasks(register: Register) -> None:
    """Register tasks (sets of problems): ``register("mbpp", MBPPTask)``."""


@hookspec
def leti_register_environments(register: Register) -> None:
    """Register environments that check completions and produce feedback."""


@hookspec
def leti_register_sandboxes(register: Register) -> None:
    """Register sandbox backends that run untrusted programs."""


@hookspec
def leti_register_feedback_formatters(register: Register) -> None:
    """Register feedback formatters that turn execution results into feedback."""


@hookspec
def leti_register_samplers(register: Register) -> None:
    """Register samplers that generate completions with a model."""


@hookspec
def leti_register_trainers(register: Register) -> None:
    """Register trainers that fine-tune a model on training texts."""


@hookspec
def leti_run_start(run_dir: Path, run: RunFolder, config: dict[str, Any]) -> None:
    """Called once when ``leti run`` starts or resumes, with the run's config (the options set)."""


@hookspec
def leti_samples_scored(
    run_dir: Path, run: RunFolder, iteration: int, stage: str, scored: Sequence[ScoredSample]
) -> None:
    """Called after a batch of samples got results and feedback (stage: "train" or "eval")."""


@hookspec
def leti_iteration_end(
    run_dir: Path, run: RunFolder, summary: IterationSummary, summaries: Sequence[IterationSummary]
) -> None:
    """Called after each iteration has trained, evaluated and saved its checkpoint; ``summaries``
    holds every finished iteration so far, this one last."""


@hookspec
def leti_run_end(run_dir: Path, run: RunFolder, summaries: Sequence[IterationSummary]) -> None:
    """Called once when a run finishes all its iterations."""
