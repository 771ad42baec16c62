"""Observer hooks that log each iteration's metrics; the libraries are imported inside the hooks.

TensorBoard scalars go to ``RUN_DIR/tensorboard`` whenever TensorBoard is installed (turn off with
``LETI_TENSORBOARD=0``). wandb logs when it is installed and enabled (``LETI_WANDB=1``, or
``WANDB_PROJECT`` set). A missing or failing library never stops a run: one warning, then silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leti_core import IterationSummary, RunFolder, hookimpl

from . import loggers


@hookimpl
def leti_run_start(run: RunFolder, config: dict[str, Any]) -> None:
    loggers.run_start(run, config)


@hookimpl
def leti_iteration_end(run: RunFolder, summary: IterationSummary, summaries: Sequence[IterationSummary]) -> None:
    loggers.log_iteration(run, summary, sum(item.training_steps for item in summaries))


@hookimpl
def leti_run_end(run: RunFolder) -> None:
    loggers.run_end(run)
