"""Choosing components: a config's names (or objects given in Python) -> checked components.

The one place where shortcuts are routed to the chosen components, options are checked against
their ``Options`` models, and components are constructed; every command goes through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..components import (
    Component,
    Environment,
    FeedbackFormatter,
    Sampler,
    Task,
    Trainer,
    ensure_compatible,
)
from ..errors import LetiError
from ..registry import Registry
from ..sandboxed import SandboxedEnvironment, with_read_paths
from .run_config import OPTION_FIELDS, SHORTCUTS, RunConfig, shortcut_key

KINDS = ("task", "environment", "sandbox", "feedback", "sampler", "trainer")
SCORING = ("task", "environment", "sandbox", "feedback")


@dataclass
class Components:
    """The components a command uses, built and checked together; ``close()`` releases them."""

    task: Task
    environment: Environment
    formatter: FeedbackFormatter
    sampler: Sampler | None = None
    trainer: Trainer | None = None

    def close(self) -> None:
        for component in (self.sampler, self.environment, self.trainer):
            if component is not None:
                component.close()

    def __enter__(self) -> Components:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def describe_options(cls: type[Component]) -> list[dict[str, Any]]:
    """A component's options: name, type, default and description."""
    rows = []
    for name, info in cls.Options.model_fields.items():
        default = info.get_default(call_default_factory=True)
        rows.append(
            {
                "name": name,
                "type": _type_name(info.annotation),
                "default": default,
                "description": info.description or "",
            }
        )
    return rows


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    return text or str(annotation).replace("typing.", "")


@dataclass
class Resolver:
    """Resolves a config against a registry; ``given`` holds components passed as objects or classes."""

    registry: Registry
    given: Mapping[str, Component | type[Component]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.given) - set(KINDS)
        if unknown:
            raise LetiError(f"unknown component kind {sorted(unknown)[0]!r}; kinds: {', '.join(KINDS)}")

    # --- names and classes -----------------------------------------------------------------
    def component_class(self, kind: str, config: RunConfig) -> type[Component] | None:
        """The class of the component ``config`` chooses for ``kind`` (None: no sandbox is used)."""
        given = self.given.get(kind)
        if given is not None:
            return given if isinstance(given, type) else type(given)
        name = self.name(kind, config)
        return None if name is None else self.registry.load(kind, name)

    def name(self, kind: str, config: RunConfig) -> str | None:
        given = self.given.get(kind)
        if given is not None:
            return getattr(given, "name", "") or (given if isinstance(given, type) else type(given)).__name__
        if kind == "environment":
            task = self.given.get("task")
            if config.env or isinstance(task, Task):
                return config.env or getattr(task, "default_environment", "python")
            task_cls = self.component_class("task", config)
            if task_cls is None or not issubclass(task_cls, Task):
                return "python"
            return task_cls.environment_for(config.task_options, self.registry.names("environment"))
        if kind == "sandbox":
            env_cls = self.component_class("environment", config)
            if env_cls is None or not issubclass(env_cls, SandboxedEnvironment):
                return None
            return config.env_options.get("sandbox") or env_cls.Options.model_fields["sandbox"].get_default()
        if kind == "sampler" and config.sampler is None:
            return self.preferred_sampler()
        return {"task": config.task, "feedback": config.feedback, "sampler": config.sampler, "trainer": config.trainer}[
            kind
        ]

    def preferred_sampler(self) -> str:
        """The installed sampler that suits this machine best (``Sampler.preference``)."""
        ranked = []
        for name in self.registry.names("sampler"):
            try:
                cls = self.registry.load("sampler", name)
            except LetiError:
                continue
            if issubclass(cls, Sampler):
                ranked.append((cls.preference(), name))
        best = max(ranked, default=(0, ""))
        if best[0] <= 0:
            raise LetiError(
                "no sampler suits this machine: choose one with --sampler "
                f"(installed: {', '.join(self.registry.names('sampler')) or 'none'})"
            )
        return best[1]

    # --- checking --------------------------------------------------------------------------
    def route(
        self, config: RunConfig, shortcuts: Mapping[str, Any], kinds: Iterable[str] = KINDS, strict: bool = True
    ) -> dict[str, Any]:
        """Shortcut values as option tables ({"trainer_options": {"epochs": 1}}) of the components
        ``config`` chooses; a shortcut that none of them takes is a LetiError (``strict``) or dropped."""
        kinds = tuple(kinds)
        tables: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        for key, value in shortcuts.items():
            if value is None:
                continue
            targets = [(kind, option) for kind, option in SHORTCUTS[key] if kind in kinds]
            if not targets and strict:
                raise LetiError(f"option {key!r} does not apply to this command")
            placed = False
            for kind in kinds:
                cls = self.component_class(kind, config)
                for option in self._shortcut_options(cls, key, [name for target, name in targets if target == kind]):
                    tables[kind][option] = value
                    placed = True
            if not placed and strict:
                kind, option = targets[0]
                raise self._unknown(kind, self.component_class(kind, config), option, key)
        return {OPTION_FIELDS[kind]: table for kind, table in tables.items() if table}

    @staticmethod
    def _shortcut_options(cls: type[Component] | None, key: str, shared: Sequence[str]) -> list[str]:
        """The options of ``cls`` that the shortcut ``key`` sets: the shared ones it has, and any it
        marks with that key itself."""
        if cls is None:
            return []
        fields = cls.Options.model_fields
        return [name for name, info in fields.items() if name in shared or shortcut_key(name, info) == key]

    def configure(self, config: RunConfig, kinds: Iterable[str] = KINDS) -> RunConfig:
        """``config`` with every option of the chosen components checked and typed.

        An option a chosen component does not take is a LetiError listing the ones it takes.
        Nothing is constructed and no model is loaded.
        """
        update = {}
        for kind in kinds:
            table = dict(config.options(kind))
            cls = self.component_class(kind, config)
            if cls is None:
                if table:
                    raise LetiError(
                        f"{kind} options {sorted(table)} given, but environment "
                        f"{self.name('environment', config)!r} runs no sandbox"
                    )
                continue
            if table and not isinstance(self.given.get(kind, cls), type):
                raise LetiError(f"{kind} {cls.name!r} was given as an object: set its options when you create it")
            for option, value in table.items():
                info = cls.Options.model_fields.get(option)
                annotation = info.annotation if info is not None else cls.Options.extra_option(option)
                if annotation is None:
                    raise self._unknown(kind, cls, option)
                table[option] = _coerce(annotation, value)
            cls.parse_options(table)  # bounds and types; one-line LetiError
            if table != config.options(kind):
                update[OPTION_FIELDS[kind]] = table
        return config.model_copy(update=update) if update else config

    @staticmethod
    def _unknown(kind: str, cls: type[Component] | None, option: str, key: str | None = None) -> LetiError:
        name = getattr(cls, "name", None) or getattr(cls, "__name__", "?")
        takes = ", ".join(cls.Options.model_fields) if cls is not None else ""
        via = f" (from {key!r})" if key and key != option else ""
        return LetiError(f"{kind} {name!r} takes no option {option!r}{via}; its options: {takes or 'none'}")

    # --- building --------------------------------------------------------------------------
    def build(self, config: RunConfig, kinds: Iterable[str] = KINDS) -> Components:
        """Construct the components of ``kinds`` (task, environment and feedback always)."""
        kinds = set(kinds) | {"task", "environment", "feedback"}
        task = self.create("task", config)
        environment = self._environment(config)
        ensure_compatible(task, environment)
        return Components(
            task=task,
            environment=environment,
            formatter=self.create("feedback", config),
            sampler=self.create("sampler", config) if "sampler" in kinds else None,
            trainer=self.create("trainer", config) if "trainer" in kinds else None,
        )

    def create(self, kind: str, config: RunConfig) -> Any:
        """The component of ``kind`` that ``config`` chooses, constructed with its options."""
        given = self.given.get(kind)
        if given is not None and not isinstance(given, type):
            return given
        cls = self.component_class(kind, config)
        assert cls is not None
        options = config.options(kind)
        if kind == "trainer":  # the run's length and seed, where the trainer takes them and was not told
            defaults = {
                key: value for key, value in config.trainer_defaults().items() if key in cls.Options.model_fields
            }
            options = {**defaults, **options}
        return cls(**options)

    def _environment(self, config: RunConfig) -> Environment:
        given = self.given.get("environment")
        if given is not None and not isinstance(given, type):
            assert isinstance(given, Environment)
            return given
        cls = self.component_class("environment", config)
        assert cls is not None and issubclass(cls, Environment)
        options = dict(config.env_options)
        if issubclass(cls, SandboxedEnvironment):
            sandbox = self.given.get("sandbox")
            if sandbox is not None and not isinstance(sandbox, type):
                options["sandbox_instance"] = sandbox
            else:
                options["sandbox_factory"] = self._sandbox_factory(config)
        return cls(**options)

    def _sandbox_factory(self, config: RunConfig) -> Any:
        given = self.given.get("sandbox")

        def create(name: str, read_paths: Sequence[str] = ()) -> Any:
            cls = given if isinstance(given, type) else self.registry.load("sandbox", name)
            return cls(**with_read_paths(cls, dict(config.sandbox_options), read_paths))

        return create


def _coerce(annotation: Any, value: Any) -> Any:
    """A command-line string as the option's type ("3" -> 3, "[1, 2]" -> [1, 2]); other values as given."""
    if not isinstance(value, str):
        return value
    adapter = TypeAdapter(annotation)
    candidates: list[Any] = [value]
    try:
        candidates.append(json.loads(value))
    except (ValueError, RecursionError):  # not JSON, or nested past what Python parses
        pass
    for candidate in candidates:
        try:
            return adapter.dump_python(adapter.validate_python(candidate), mode="json")
        except (ValidationError, TypeError, ValueError, RecursionError):
            continue
    return value
