"""Isolation levels: what the layers an executor reports add up to, and the minimum check.

``basic``    own process, rlimits, clean environment, wall-clock kill of the process group.
``confined`` + the filesystem (Landlock, or a read-only namespace/container) and the network
             (the seccomp socket filter, or an empty network namespace) are closed.
``full``     + processes are contained: an unprivileged uid of its own per worker (bounded
             fork bombs, no signals to the caller, leftovers killed by uid) or a container
             with a pids limit. Every attack in the conformance suite is stopped.
"""

from __future__ import annotations

import os
from typing import Any, Literal, cast

from leti_core import LetiError

Level = Literal["basic", "confined", "full"]
LEVELS: tuple[str, ...] = ("basic", "confined", "full")
MIN_LEVEL_ENV = "LETI_SANDBOX_MIN_LEVEL"
Layers = dict[str, dict[str, Any]]


def default_min_level() -> Level:
    """``full`` unless the user set LETI_SANDBOX_MIN_LEVEL (an explicit opt-in)."""
    value = os.environ.get(MIN_LEVEL_ENV, "full")
    if value not in LEVELS:
        raise LetiError(f"{MIN_LEVEL_ENV}={value!r} is not one of {', '.join(LEVELS)}")
    return cast(Level, value)


def _on(layers: Layers, *names: str) -> bool:
    return any(layers.get(name, {}).get("on") for name in names)


def requirements(layers: Layers) -> dict[str, tuple[str, bool]]:
    """Each property a level needs -> (the layers that give it, whether one is on)."""
    return {
        "filesystem": ("landlock-fs, bwrap or a container", _on(layers, "landlock-fs", "bwrap", "container")),
        "network": ("seccomp, bwrap or a container", _on(layers, "seccomp", "bwrap", "container")),
        "processes": ("uid (run as root) or a container", _on(layers, "uid", "container")),
    }


def level_of(layers: Layers) -> str:
    needs = requirements(layers)
    if not (needs["filesystem"][1] and needs["network"][1]):
        return "basic"
    return "full" if needs["processes"][1] else "confined"


def missing_for(layers: Layers, level: str) -> list[str]:
    """What is missing to reach ``level``, each with the layers that would give it."""
    wanted = {"basic": (), "confined": ("filesystem", "network"), "full": ("filesystem", "network", "processes")}
    needs = requirements(layers)
    return [f"{name} ({needs[name][0]})" for name in wanted[level] if not needs[name][1]]


def describe(layers: Layers) -> str:
    """The ExecutionResult.isolation text: the level, then the layers that are on."""
    on = [name for name, layer in layers.items() if layer.get("on")]
    return f"{level_of(layers)}: {', '.join(on) or 'process only'}"


def check_minimum(backend: str, layers: Layers, minimum: str) -> None:
    """Raise LetiError naming what is missing when ``layers`` fall below ``minimum``."""
    level = level_of(layers)
    if LEVELS.index(level) >= LEVELS.index(minimum):
        return
    reasons = "; ".join(f"{name}: {layer['detail']}" for name, layer in layers.items() if not layer.get("on"))
    raise LetiError(
        f"sandbox {backend!r} gives isolation level {level!r} here, below the minimum {minimum!r}: "
        f"missing {', '.join(missing_for(layers, minimum))} [{reasons}]. Run as root, install "
        f"bubblewrap or use the docker sandbox; or accept it explicitly with sandbox option "
        f"min_level={level!r} (or {MIN_LEVEL_ENV}={level})"
    )
