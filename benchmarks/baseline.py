"""An earlier commit beside this tree, for benchmarks that compare the two in one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def checked_out(commit: str) -> Iterator[Path]:
    """``commit`` in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="leti-baseline-") as folder:
        tree = Path(folder) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit], check=True, capture_output=True
        )
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


def python_path(tree: Path) -> str:
    """What imports a tree's engine, first-party plugins and contrib plugin ahead of the installed ones."""
    return os.pathsep.join(str(path) for path in (tree, tree / "plugins", tree / "contrib" / "leti-humaneval-x"))


def run_worker(tree: Path, code: str) -> dict:
    """Run ``code`` with ``tree`` on the path in a fresh interpreter; it prints ``RESULT {json}``."""
    env = dict(os.environ, PYTHONPATH=python_path(tree))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tempfile.gettempdir()
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{tree}: {done.stderr.strip()[-1500:]}")
    return json.loads(line[len("RESULT ") :])
