"""The `leti` command line as a user runs it, for a plugin's end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys


def leti(
    *args: str | os.PathLike[str], env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `leti ARGS` in a fresh interpreter, as a user would; its output is captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "leti_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A failed command: non-zero exit, no traceback, exactly one `Error:` line holding ``fragments``."""
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, done.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
