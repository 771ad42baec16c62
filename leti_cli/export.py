"""`leti export`: a run's checkpoint as a plain model folder with a model card, published on the hub on request."""

from __future__ import annotations

from pathlib import Path

import click

from leti_core.app import get_engine
from leti_core.app.export import export_run


@click.command("export")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--iteration",
    type=click.IntRange(min=0),
    default=None,
    help="The iteration whose checkpoint to export (0: the base model) [the last finished].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder to write [the run's export folder of the iteration, under RUN/export].",
)
@click.option("--push-to-hub", "repo", metavar="REPO", default=None, help="Publish the folder as this hub model repo.")
@click.option("--private", is_flag=True, help="With --push-to-hub: create the repository private.")
def command(run_dir: Path, iteration: int | None, out: Path | None, repo: str | None, private: bool) -> None:
    """Write RUN's checkpoint as a plain transformers model (LoRA adapters merged), with a model
    card: the run's recipe and figures, and how to prompt it (the reward token)."""
    if private and repo is None:
        raise click.UsageError("--private goes with --push-to-hub")
    done = export_run(
        get_engine(),
        run_dir,
        iteration,
        out,
        push_to_hub=repo,
        private=private,
        log=lambda line: click.echo(line, err=True),
    )
    click.echo(f"exported iteration {done.iteration} to {done.folder}")
    if done.url:
        click.echo(f"published: {done.url}")
