"""The `leti` command group."""

from __future__ import annotations

import click

from . import eval as eval_command
from . import evaluate, plugins, report, run, sandbox, train
from .errors import run_cli


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


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    run_cli(cli, args)
