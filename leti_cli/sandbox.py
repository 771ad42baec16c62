"""`leti sandbox check`: what isolation this machine gives, layer by layer, and why."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import click

from leti_core import LetiError
from leti_core.app import Resolver, RunConfig, get_registry


@click.group("sandbox")
def group() -> None:
    """Inspect the sandbox backends that run model-written programs."""


def _docker_engine() -> dict[str, Any]:
    """Whether a Docker engine answers (asked through the client binary: no docker import)."""
    client = shutil.which("docker")
    if client is None:
        return {"on": False, "detail": "no docker client on PATH"}
    try:
        done = subprocess.run(
            [client, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=15
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"on": False, "detail": f"docker info failed: {error}"}
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return {"on": False, "detail": f"no engine answers ({lines[-1] if lines else 'exit ' + str(done.returncode)})"}
    return {"on": True, "detail": f"engine {done.stdout.strip()} answers: the docker sandbox can run"}


def inspect(name: str) -> dict[str, Any]:
    """Start the backend once, with one worker and no minimum level, and read what it applied."""
    registry = get_registry()
    fields = registry.load("sandbox", name).Options.model_fields
    options = {key: value for key, value in (("workers", 1), ("min_level", "basic")) if key in fields}
    report: dict[str, Any] = {"sandbox": name}
    try:
        with registry.sandbox(name, **options) as sandbox:
            report["isolation"] = sandbox.isolation()
            report["layers"] = sandbox.layers()
            report["verdicts"] = sandbox.verdicts()
    except LetiError as error:
        report["error"] = str(error)
    return report


@group.command("check")
@click.option("--sandbox", "name", default=None, help="Backend to check [the default environment's].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def check(name: str | None, as_json: bool) -> None:
    """Print the isolation level this machine gives and why, each layer on or off with its reason."""
    name = name or Resolver(get_registry()).name("sandbox", RunConfig()) or "local"
    report = inspect(name)
    report["docker-engine"] = _docker_engine()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    if "error" in report:
        click.echo(f"{name}: cannot run here: {report['error']}")
    else:
        click.echo(f"{name}: {report['isolation']}")
        width = max((len(layer) for layer in report["layers"]), default=0)
        for layer, state in report["layers"].items():
            click.echo(f"  [{'on ' if state.get('on') else 'off'}] {layer.ljust(width)}  {state.get('detail', '')}")
        if report["layers"]:
            click.echo(
                "  levels: basic < confined < full; backends refuse to run below `full` unless the "
                "sandbox option min_level (or LETI_SANDBOX_MIN_LEVEL) says otherwise"
            )
    for kind, how in report.get("verdicts", {}).items():
        click.echo(f"  verdicts ({kind}): {how}")
    engine = report["docker-engine"]
    click.echo(f"docker: {'available' if engine['on'] else 'unavailable'}: {engine['detail']}")
