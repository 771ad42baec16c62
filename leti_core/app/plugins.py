"""Loading plugins from the ``leti`` entry-point group into a registry."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

import pluggy

from .. import hookspecs
from ..models import IterationSummary, ScoredSample
from ..registry import Register, Registry
from ..run_folder import RunFolder
from .run_config import RunConfig

ENTRY_POINT_GROUP = "leti"
PLUGINS_ENV = "LETI_PLUGINS"
"""Comma-separated entry-point names to load; unset loads every installed plugin."""

REGISTRATION_HOOKS = {
    "task": "leti_register_tasks",
    "environment": "leti_register_environments",
    "sandbox": "leti_register_sandboxes",
    "feedback": "leti_register_feedback_formatters",
    "sampler": "leti_register_samplers",
    "trainer": "leti_register_trainers",
}

OBSERVER_HOOKS = ("leti_run_start", "leti_samples_scored", "leti_iteration_end", "leti_run_end")


class PluginWarning(UserWarning):
    """A plugin could not be loaded; the others still work."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None


@dataclass
class Engine:
    """The plugin manager, the registry it fills, and typed calls of the observer hooks."""

    manager: pluggy.PluginManager = field(default_factory=lambda: _new_manager())
    registry: Registry = field(default_factory=Registry)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)

    def add_plugin(
        self, plugin: ModuleType | object, name: str, distribution: str | None = None, version: str | None = None
    ) -> None:
        """Register a plugin object (a module or an instance with hook implementations)."""
        self.manager.register(plugin, name=name)
        self.plugins[name] = PluginInfo(name, distribution, version)
        try:
            self.manager.check_pending()
            self._collect(name)
        except BaseException:
            self.manager.unregister(name=name)
            del self.plugins[name]
            raise

    def _collect(self, plugin_name: str) -> None:
        """Run the plugin's registration hooks; its components land all together or not at all."""
        plugin = self.manager.get_plugin(plugin_name)
        info = self.plugins[plugin_name]
        staged = Registry()
        for kind, hook_name in REGISTRATION_HOOKS.items():
            for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
                if impl.plugin is plugin:
                    register = Register(staged, kind, plugin_name, info.distribution, info.version)
                    impl.function(**{"register": register} if impl.argnames else {})
        self.registry.add_all(list(staged))

    def observers(self) -> list[PluginInfo]:
        """Plugins that implement at least one observer hook (loggers and the like)."""
        names = {
            impl.plugin_name for hook in OBSERVER_HOOKS for impl in getattr(self.manager.hook, hook).get_hookimpls()
        }
        return [info for name, info in sorted(self.plugins.items()) if name in names]

    # Observer hooks, typed.
    def run_start(self, run: RunFolder, config: RunConfig) -> None:
        self.manager.hook.leti_run_start(run_dir=run.path, run=run, config=config.model_dump())

    def samples_scored(self, run: RunFolder, iteration: int, stage: str, scored: Sequence[ScoredSample]) -> None:
        self.manager.hook.leti_samples_scored(
            run_dir=run.path, run=run, iteration=iteration, stage=stage, scored=scored
        )

    def iteration_end(self, run: RunFolder, summary: IterationSummary, summaries: Sequence[IterationSummary]) -> None:
        self.manager.hook.leti_iteration_end(run_dir=run.path, run=run, summary=summary, summaries=summaries)

    def run_end(self, run: RunFolder, summaries: Sequence[IterationSummary]) -> None:
        self.manager.hook.leti_run_end(run_dir=run.path, run=run, summaries=summaries)


def _new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def _selected(entry_point: EntryPoint) -> bool:
    wanted = os.environ.get(PLUGINS_ENV)
    if wanted is None:
        return True
    return entry_point.name in {name.strip() for name in wanted.split(",") if name.strip()}


def load_engine() -> Engine:
    """A fresh engine with every installed plugin; broken plugins are skipped with a warning."""
    engine = Engine()
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        if not _selected(entry_point) or entry_point.name in engine.plugins:
            continue
        dist = entry_point.dist
        try:
            plugin = entry_point.load()
            engine.add_plugin(
                plugin,
                entry_point.name,
                distribution=dist.name if dist else None,
                version=dist.version if dist else None,
            )
        except Exception as error:  # a broken plugin must not take the others down
            warnings.warn(
                f"plugin {entry_point.name!r} ({entry_point.value}) failed to load and is skipped: "
                f"{type(error).__name__}: {error}",
                PluginWarning,
                stacklevel=2,
            )
    return engine


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine, loaded on first use."""
    return load_engine()


def get_registry() -> Registry:
    """The registry of the process-wide engine."""
    return get_engine().registry
