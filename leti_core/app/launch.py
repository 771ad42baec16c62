"""From what a user gave (config file, options, Python objects) to a checked config and a run.

Everything here happens before any model is loaded or any folder is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..components import Component
from ..errors import LetiError
from ..run_folder import RunFolder
from .pipeline import ProgressFactory, no_progress
from .plugins import Engine
from .provenance import build_provenance, check_changes, read_provenance
from .resolve import KINDS, Resolver
from .run import LetiRun
from .run_config import (
    OPTION_FIELDS,
    RunConfig,
    merge_values,
    moved_keys,
    read_config_file,
    split_shortcuts,
    validate_config,
)
from .saved_config import saved_fields, saved_values

logger = logging.getLogger(__name__)


def build_config(
    resolver: Resolver, *layers: Mapping[str, Any], source: Path | None = None, kinds: tuple[str, ...] = KINDS
) -> RunConfig:
    """A checked config from layers of values, later ones winning. Each layer's shortcuts
    (``epochs``) set the options of the components finally chosen, under that layer's own tables."""
    split = [
        split_shortcuts(moved_keys(merge_values(dict(layer)), str(source or "options"), logger.warning))
        for layer in layers
    ]
    chosen = validate_config(merge_values(*(fields for fields, _ in split)), source)
    backend = [shortcuts["sandbox"] for _, shortcuts in split if shortcuts.get("sandbox")]
    if backend:  # the sandbox backend decides which options `workers` and the like reach
        chosen = chosen.model_copy(update={"env_options": {**chosen.env_options, "sandbox": backend[-1]}})
    routed = [merge_values(resolver.route(chosen, shortcuts, kinds), fields) for fields, shortcuts in split]
    return resolver.configure(validate_config(merge_values(*routed), source), kinds)


def read_run_config(folder: RunFolder, resolver: Resolver, kinds: tuple[str, ...] = KINDS) -> RunConfig:
    """A run folder's config, checked against the installed components (for resuming or sampling it).

    A config written before options moved to the components has every recipe number at the top
    level; each goes to the chosen components that take it, and the rest is dropped."""
    fields, shortcuts = split_shortcuts(saved_values(folder))
    config = saved_fields(folder, fields)
    try:
        routed = resolver.route(config, shortcuts, kinds, strict=False)
        return resolver.configure(
            config.model_copy(
                update=merge_values({field: config.options(kind) for kind, field in OPTION_FIELDS.items()}, routed)
            ),
            kinds,
        )
    except LetiError as error:
        raise LetiError(f"{folder.config_file}: cannot be used with the installed components: {error}") from None


def prepare_run(
    engine: Engine,
    out: str | Path,
    values: Mapping[str, Any] | RunConfig | None = None,
    *,
    config_file: Path | None = None,
    resume: bool = False,
    accept_changes: bool = False,
    defaults: Mapping[str, Any] | None = None,
    components: Mapping[str, Component | type[Component]] | None = None,
    progress: ProgressFactory = no_progress,
    log: Callable[[str], None] = print,
) -> LetiRun:
    """A run ready to ``run()``: config checked, folder checked, components built; nothing written yet.

    ``values`` are RunConfig fields and shortcuts (``{"epochs": 1}``) or a RunConfig; ``components``
    maps kinds to objects or classes used instead of registered names (no entry point needed).
    With ``resume``, the saved config is the base and only what a resume may change may differ;
    what it resolves to (defaults, the components ``auto`` chooses, package versions: the run's
    ``provenance.json``) may differ only with ``accept_changes``.
    """
    folder = RunFolder(out)
    resolver = Resolver(engine.registry, dict(components or {}))
    if isinstance(values, RunConfig):
        values = values.user_values()
    given = dict(values or {})
    for kind in components or {}:
        if kind in ("task", "feedback", "sampler", "trainer"):
            given.setdefault(kind, resolver.name(kind, RunConfig()))
        elif kind == "environment":
            given.setdefault("env", resolver.name(kind, RunConfig()))
    file_values = read_config_file(config_file) if config_file else {}
    if resume:
        saved = read_run_config(folder, resolver)
        config = build_config(resolver, saved.user_values(), file_values, given, source=config_file)
        changed = config.differences(saved)
        if changed:
            key, now, before = changed[0]
            raise LetiError(
                f"--resume {folder.path}: the run was made with another config ({key}: {before!r} there, {now!r} now)"
            )
        recorded = read_provenance(folder)
        provenance = build_provenance(resolver, config)
        check_changes(folder, recorded, provenance, accept_changes)
    else:
        if folder.exists():
            raise LetiError(f"{folder.path} already holds a run: use --resume {folder.path}, or another --out")
        config = build_config(resolver, dict(defaults or {}), file_values, given, source=config_file)
        recorded, provenance = None, build_provenance(resolver, config)
    built = resolver.build(config)
    return LetiRun(
        folder,
        config,
        built,
        engine,
        progress=progress,
        log=log,
        provenance=provenance,
        recorded_provenance=recorded,
        accept_changes=accept_changes,
    )
