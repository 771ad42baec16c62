"""The `leti` command group."""

from __future__ import annotations

import os

import click

from . import doctor, evaluate, export, plugins, report, run, sandbox, train
from . import eval as eval_command
from .errors import run_cli
from .progress import plain_progress_in_logs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leti")
def cli() -> None:
    """LeTI: teach language models from textual feedback."""


cli.add_command(plugins.command)
cli.add_command(evaluate.command)
cli.add_command(eval_command.command)
cli.add_command(run.command)
cli.add_command(run.finetune_command)
cli.add_command(train.command)
cli.add_command(sandbox.group)
cli.add_command(report.command)
cli.add_command(export.command)
cli.add_command(doctor.command)


#: Library chatter the command line keeps quiet (a user's own setting wins); the Python API leaves it alone.
QUIET = {
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    for name, value in QUIET.items():
        os.environ.setdefault(name, value)
    plain_progress_in_logs()
    run_cli(cli, args)
