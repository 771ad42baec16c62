"""Turning every expected failure into one `Error: ...` line and a non-zero exit."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import click

from leti_core import LetiError


def _one_line_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> str:
    return f"Warning: {message}\n"


def run_cli(command: click.Command, args: list[str] | None = None) -> None:
    """Run ``command``; user errors print one line to stderr and exit 1 (usage errors 2)."""
    warnings.formatwarning = _one_line_warning
    try:
        command.main(args=args, standalone_mode=False)
    except LetiError as error:
        _fail(str(error), 1)
    except click.UsageError as error:
        _fail(error.format_message(), 2)
    except click.ClickException as error:
        _fail(error.format_message(), error.exit_code)
    except click.exceptions.Exit as error:
        sys.exit(error.exit_code)
    except click.Abort:
        _fail("aborted", 130)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except OSError as error:  # a path the system refuses (too long, unreadable) that no check caught first
        _fail(_os_message(error), 1)


def _os_message(error: OSError) -> str:
    name = str(error.filename) if error.filename is not None else ""
    if len(name) > 200:
        name = name[:200] + "..."
    return f"{name}: {error.strerror}" if name and error.strerror else str(error)


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {' '.join(message.split())}", err=True)
    sys.exit(code)
