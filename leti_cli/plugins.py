"""`leti plugins`: list every installed component, or one component's options."""

from __future__ import annotations

import json
from typing import Any

import click

from leti_core import LetiError
from leti_core.app import (
    COMPONENT_KINDS,
    OPTION_FIELDS,
    Engine,
    describe_options,
    get_engine,
)

from .options import KIND_FLAGS


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    table = [columns] + [tuple("-" if row[c] in (None, "") else str(row[c]) for c in columns) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _component_rows(engine: Engine) -> list[dict[str, Any]]:
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
        {
            "kind": "observer",
            "name": info.name,
            "plugin": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "description": "watches runs through the observer hooks",
        }
        for info in engine.observers()
    ]
    return rows


def _options_rows(engine: Engine, name: str, kind: str | None) -> tuple[str, list[dict[str, Any]]]:
    matches = [info for info in engine.registry if info.name == name and (kind is None or info.kind == kind)]
    if not matches:
        where = f"{kind} " if kind else ""
        raise LetiError(f"no {where}component named {name!r}; `leti plugins` lists them")
    if len(matches) > 1:
        kinds = ", ".join(info.kind for info in matches)
        raise LetiError(f"{name!r} names a {kinds}: add --kind to choose")
    info = matches[0]
    rows = describe_options(info.load())
    for row in rows:
        row["default"] = json.dumps(row["default"]) if not isinstance(row["default"], str) else row["default"]
    title = (
        f"{info.kind} {info.name!r} ({info.target_path}); set with {KIND_FLAGS[info.kind]} KEY=VALUE "
        f"or under {OPTION_FIELDS[info.kind]} in a config file"
    )
    return title, rows


@click.command("plugins")
@click.option(
    "--options",
    "options_of",
    metavar="NAME",
    default=None,
    help="Print the options of the component NAME (types, defaults, descriptions).",
)
@click.option(
    "--kind",
    type=click.Choice(sorted(COMPONENT_KINDS)),
    default=None,
    help="With --options: the kind, where several kinds share NAME.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def command(options_of: str | None, kind: str | None, as_json: bool) -> None:
    """List installed components (and observer plugins): kind, name, plugin, distribution and version."""
    engine = get_engine()
    if options_of is not None:
        title, rows = _options_rows(engine, options_of, kind)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        click.echo(title)
        _table(rows, ("name", "type", "default", "description"))
        return
    rows = _component_rows(engine)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _table(rows, ("kind", "name", "plugin", "distribution", "version"))
