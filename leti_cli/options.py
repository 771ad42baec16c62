"""Options shared by several commands, and building components from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from leti_core import Environment, FeedbackFormatter, Registry, Task, ensure_compatible


def parse_ks(value: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None
    if not ks or min(ks) < 1:
        raise click.BadParameter(f"{value!r}: each k must be a positive integer")
    return ks


def task_options(data: Path | None) -> dict[str, Any]:
    return {"data": data} if data is not None else {}


def environment_options(timeout: float | None, sandbox: str | None, workers: int | None) -> dict[str, Any]:
    """Options for the environment, only those the user gave (so other environments still fit)."""
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = timeout
    if sandbox is not None:
        options["sandbox"] = sandbox
    if workers is not None:
        options["sandbox_options"] = {"workers": workers}
    return options


def build_scoring(
    registry: Registry,
    task_name: str,
    env_name: str | None,
    feedback_name: str,
    task_opts: dict[str, Any],
    env_opts: dict[str, Any],
) -> tuple[Task, Environment, FeedbackFormatter]:
    """Resolve and check the task, environment and formatter before any work starts."""
    task = registry.task(task_name, **task_opts)
    environment = registry.environment(env_name or task.default_environment, **env_opts)
    ensure_compatible(task, environment)
    formatter = registry.feedback(feedback_name)
    return task, environment, formatter


def execution_options(function: Any) -> Any:
    """--env, --feedback, --timeout, --sandbox, --workers."""
    decorators = [
        click.option("--env", "env_name", default=None, help="Environment (default: the task's)."),
        click.option("--feedback", "feedback_name", default="traceback", show_default=True,
                     help="Feedback formatter."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Seconds per program (default: the environment's; python 5, eae 30)."),
        click.option("--sandbox", default=None, help="Sandbox backend (python default: local)."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Programs run at once (default: CPU count)."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function
