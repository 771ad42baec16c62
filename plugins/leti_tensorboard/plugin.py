"""Observer hooks that log each iteration's metrics; the libraries are imported inside the hooks.

TensorBoard scalars go to ``RUN_DIR/tensorboard`` whenever TensorBoard is installed (turn off with
``LETI_TENSORBOARD=0``). wandb logs when it is installed and enabled (``LETI_WANDB=1``, or
``WANDB_PROJECT`` set). A missing or failing library never stops a run: one warning, then silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leti_core import IterationSummary, hookimpl

from . import loggers


@hookimpl
def leti_run_start(run_dir: Path, config: dict[str, Any]) -> None:
    loggers.run_start(Path(run_dir), config)


@hookimpl
def leti_iteration_end(run_dir: Path, summary: IterationSummary) -> None:
    loggers.log_iteration(Path(run_dir), summary)


@hookimpl
def leti_run_end(run_dir: Path, summaries: Sequence[IterationSummary]) -> None:
    loggers.run_end(Path(run_dir))
