"""`leti report`: Markdown and HTML pages with plots from one or more run folders."""

from __future__ import annotations

from pathlib import Path

import click

from leti_core import RunFolder


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for report.md, report.html and the PNGs [RUN_DIR/report of the first run].",
)
def command(run_dirs: tuple[Path, ...], out: Path | None) -> None:
    """Plot pass@k, training success rate and exception types per iteration; compare runs by gradient steps."""
    from .reporting import build_report, read_run

    runs = [read_run(run_dir) for run_dir in run_dirs]
    out = out or RunFolder(run_dirs[0]).report
    written = build_report(runs, out)
    for path in written:
        click.echo(str(path))
