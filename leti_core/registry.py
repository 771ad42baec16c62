"""Components by kind and name, imported lazily when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .components import (
    KINDS,
    Component,
    Environment,
    FeedbackFormatter,
    Sampler,
    Sandbox,
    Task,
    Trainer,
)
from .errors import DuplicateComponentError, LetiError, UnknownComponentError

C = TypeVar("C", bound=Component)


@dataclass(frozen=True)
class ComponentInfo:
    """One registered component and where it came from."""

    kind: str
    name: str
    target: type[Component] | str
    plugin: str
    distribution: str | None = None
    version: str | None = None
    description: str = ""

    @property
    def target_path(self) -> str:
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"

    def load(self) -> type[Component]:
        """Import and return the component class."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            value = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise LetiError(
                f"{self.kind} {self.name!r} from plugin {self.plugin!r} cannot be loaded from {self.target}: {error}"
            ) from None
        if not (isinstance(value, type) and issubclass(value, KINDS[self.kind])):
            raise LetiError(f"{self.target} is not a {KINDS[self.kind].__name__} subclass")
        return value


class Register:
    """The object handed to ``leti_register_*`` hooks: ``register(name, target)``."""

    def __init__(self, registry: Registry, kind: str, plugin: str, distribution: str | None, version: str | None):
        self._registry = registry
        self._kind = kind
        self._plugin = plugin
        self._distribution = distribution
        self._version = version

    def __call__(self, name: str, target: type[Component] | str, description: str = "") -> None:
        """Register ``target`` (a class or a ``"module:Class"`` string) under ``name``."""
        if not description and not isinstance(target, str):
            description = (target.__doc__ or "").strip().splitlines()[0] if target.__doc__ else ""
        self._registry.add(
            ComponentInfo(
                kind=self._kind,
                name=name,
                target=target,
                plugin=self._plugin,
                distribution=self._distribution,
                version=self._version,
                description=description,
            )
        )


class Registry:
    """Every registered component, with typed constructors per kind."""

    def __init__(self) -> None:
        self._components: dict[str, dict[str, ComponentInfo]] = {kind: {} for kind in KINDS}

    def add(self, info: ComponentInfo) -> None:
        self.add_all([info])

    def add_all(self, infos: list[ComponentInfo]) -> None:
        """Add components all together, or none if any name is taken or repeated."""
        seen: dict[tuple[str, str], ComponentInfo] = {}
        for info in infos:
            if info.kind not in self._components:
                raise LetiError(f"unknown component kind {info.kind!r}")
            existing = self._components[info.kind].get(info.name) or seen.get((info.kind, info.name))
            if existing is not None:
                raise DuplicateComponentError(
                    f"{info.kind} {info.name!r} is registered twice: by plugin {existing.plugin!r} "
                    f"({existing.target_path}) and by plugin {info.plugin!r} ({info.target_path})"
                )
            seen[(info.kind, info.name)] = info
        for (kind, name), info in seen.items():
            self._components[kind][name] = info

    def __iter__(self) -> Iterator[ComponentInfo]:
        for kind in self._components.values():
            yield from sorted(kind.values(), key=lambda info: info.name)

    def names(self, kind: str) -> list[str]:
        return sorted(self._components[kind])

    def info(self, kind: str, name: str) -> ComponentInfo:
        try:
            return self._components[kind][name]
        except KeyError:
            installed = ", ".join(self.names(kind)) or "none"
            raise UnknownComponentError(
                f"unknown {kind} {name!r}; installed {kind}s: {installed} "
                f"(a plugin that provides it may need `pip install`)"
            ) from None

    def load(self, kind: str, name: str) -> type[Component]:
        return self.info(kind, name).load()

    def create(self, kind: str, name: str, options: Mapping[str, Any] | None = None) -> Component:
        """Construct the component ``name`` of ``kind`` from validated options."""
        cls = self.load(kind, name)
        return cls(**dict(options or {}))

    def _typed(self, kind: str, expected: type[C], name: str, options: Mapping[str, Any]) -> C:
        """The component, checked to be of the kind's interface (``expected`` is abstract)."""
        component = self.create(kind, name, options)
        assert isinstance(component, expected)
        return component

    def task(self, name: str, **options: Any) -> Task:
        return self._typed("task", Task, name, options)  # type: ignore[type-abstract]

    def environment(self, name: str, sandbox_options: Mapping[str, Any] | None = None, **options: Any) -> Environment:
        """The environment ``name``; a sandboxed one gets its sandbox from this registry when first used."""
        from .sandboxed import SandboxedEnvironment, with_read_paths

        cls = self.load("environment", name)
        if issubclass(cls, SandboxedEnvironment) and "sandbox_instance" not in options:
            options["sandbox_factory"] = lambda backend, read_paths=(): self.sandbox(
                backend, **with_read_paths(self.load("sandbox", backend), dict(sandbox_options or {}), read_paths)
            )
        elif sandbox_options:
            raise LetiError(f"environment {name!r} runs no sandbox: it takes no sandbox options")
        return self._typed("environment", Environment, name, options)  # type: ignore[type-abstract]

    def sandbox(self, name: str, **options: Any) -> Sandbox:
        return self._typed("sandbox", Sandbox, name, options)  # type: ignore[type-abstract]

    def feedback(self, name: str, **options: Any) -> FeedbackFormatter:
        return self._typed("feedback", FeedbackFormatter, name, options)  # type: ignore[type-abstract]

    def sampler(self, name: str, **options: Any) -> Sampler:
        return self._typed("sampler", Sampler, name, options)  # type: ignore[type-abstract]

    def trainer(self, name: str, **options: Any) -> Trainer:
        return self._typed("trainer", Trainer, name, options)  # type: ignore[type-abstract]
