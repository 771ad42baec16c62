"""Arms that share their start: a run that reuses another run's starting model, its evaluation of
that model (iteration 0) and its first-iteration samples, so that the two differ only in the
feedback they train on (with the same model, seed and settings they would draw the same programs
anyway: this saves drawing them twice)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ..components import FeedbackFormatter
from ..errors import LetiError
from ..jsonl import read_models, write_json, write_jsonl
from ..models import ScoredSample
from ..run_folder import RunFolder, is_checkpoint
from .run_config import RunConfig
from .saved_config import read_saved_config

#: What may differ between runs sharing their start: what they train on and how, and how long.
MAY_DIFFER = frozenset(
    {"feedback", "feedback_options", "trainer", "trainer_options", "iterations", "eval_base", "start_from"}
)


def share_start(
    source: RunFolder, target: RunFolder, config: RunConfig, formatter: FeedbackFormatter, log: Callable[[str], None]
) -> None:
    """Copy into ``target`` what it does not have yet of ``source``'s start; the samples get their
    feedback anew from ``formatter``. Refuses, naming the field, when the two runs would not have
    drawn the same samples."""
    if source.path.resolve() == target.path.resolve():
        raise LetiError(f"start_from {source.path}: is this run's own folder")
    theirs = read_saved_config(source)
    for field in RunConfig.model_fields:
        if field not in MAY_DIFFER and getattr(theirs, field) != getattr(config, field):
            raise LetiError(
                f"start_from {source.path}: its {field} is {getattr(theirs, field)!r}, this run's "
                f"{getattr(config, field)!r}; only {', '.join(sorted(MAY_DIFFER - {'start_from'}))} may differ"
            )
    if not is_checkpoint(target.base):
        if not is_checkpoint(source.base):
            raise LetiError(f"start_from {source.path}: has no starting model (base/) yet")
        _copy_tree(source.base, target.base)
    first, mine = source.iteration(1), target.iteration(1)
    if not mine.samples.is_file():
        if not first.samples.is_file():
            raise LetiError(f"start_from {source.path}: has no first-iteration samples ({first.samples}) yet")
        scored = [row for _, row in read_models(first.samples, ScoredSample)]
        mine.path.mkdir(parents=True, exist_ok=True)
        write_jsonl(mine.samples, [row.model_copy(update={"feedback": formatter.format(row.result)}) for row in scored])
    zero, my_zero = source.iteration(0), target.iteration(0)
    if config.eval_base and zero.finished and not my_zero.finished:
        my_zero.path.mkdir(parents=True, exist_ok=True)
        for path in (zero.held_out.scored, zero.held_out.postprocessed):
            if path.is_file():
                shutil.copy2(path, my_zero.path / path.name)
        write_json(my_zero.summary_file, zero.summary())
    log(f"started from {source.path}: its starting model, first-iteration samples and its evaluation (iteration 0)")


def _copy_tree(source: Path, target: Path) -> None:
    """A model folder, its files linked where the filesystem allows (no second copy of the weights)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, copy_function=link)
    partial.rename(target)
