"""`leti plugins`: list every installed component."""

from __future__ import annotations

import json

import click

from leti_core import get_engine


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def command(as_json: bool) -> None:
    """List installed components (and observer plugins): kind, name, plugin, distribution and version."""
    engine = get_engine()
    rows = [
        {
            "kind": info.kind,
            "name": info.name,
            "plugin": info.plugin,
            "distribution": info.distribution,
            "version": info.version,
            "description": info.description,
        }
        for info in engine.registry
    ]
    rows += [
        {"kind": "observer", "name": info.name, "plugin": info.name, "distribution": info.distribution,
         "version": info.version, "description": "watches runs through the observer hooks"}
        for info in engine.observers()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    columns = ("kind", "name", "plugin", "distribution", "version")
    table = [columns] + [tuple(str(row[c] or "-") for c in columns) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
