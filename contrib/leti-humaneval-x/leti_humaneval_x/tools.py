"""Finding the language tools an environment runs."""

from __future__ import annotations

import shutil

from leti_core import LetiError


def find_tool(given: str | None, command: str, environment: str, option: str, package: str) -> str:
    """``given``, else ``command`` on PATH; a one-line error saying how to get one otherwise."""
    found = given or shutil.which(command)
    if found is None:
        raise LetiError(f"environment {environment!r} needs {command}: install it (apt install {package}), or pass "
                        f"--env-option {option}=/path/to/{command}")
    return found
