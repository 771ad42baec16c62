"""Shared fixtures: the MBPP data beside the checkout, the CLI as a user runs it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from leti_core.testing.cli import assert_one_line_error, leti

__all__ = ["assert_one_line_error", "leti", "write_lines"]
ROOT = Path(__file__).resolve().parents[1]
MBPP_DIR = Path(os.environ.get("LETI_MBPP_DATA", ROOT.parent / "shared" / "data" / "mbpp"))


#: Where to get MBPP outside this repository (said by the skip when the file is missing).
MBPP_SOURCE = (
    "mbpp.jsonl from https://github.com/google-research/google-research/tree/master/mbpp "
    "(or the hub dataset google-research-datasets/mbpp, 'full', exported as JSONL)"
)


@pytest.fixture(scope="session")
def mbpp_dir() -> Path:
    """MBPP's folder: $LETI_MBPP_DATA, else ../shared/data/mbpp beside the checkout. Missing, the tests
    that need it skip and say how to get it, unless LETI_REQUIRE_DATA=1 (CI) makes that a failure."""
    path = MBPP_DIR if MBPP_DIR.is_dir() else MBPP_DIR.parent
    if not (path / "mbpp.jsonl").is_file():
        message = f"MBPP data not found at {MBPP_DIR}: set LETI_MBPP_DATA to a folder holding {MBPP_SOURCE}"
        if os.environ.get("LETI_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def mbpp_records(mbpp_dir: Path) -> list[dict]:
    with (mbpp_dir / "mbpp.jsonl").open() as handle:
        return [json.loads(line) for line in handle]


def write_lines(path: Path, rows: Iterable[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, mbpp_records) -> Path:
    """A tiny random Llama with a tokenizer trained here on MBPP text."""
    from .tiny_model import build_tiny_model

    corpus = [record["text"] + "\n" + record["code"] for record in mbpp_records[:300]]
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", corpus)


@pytest.fixture(scope="session")
def tiny_base(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with LeTI's special tokens added."""
    from leti_core import SPECIAL_TOKENS
    from leti_core.app import get_registry

    base = tmp_path_factory.mktemp("base") / "model"
    get_registry().trainer("hf").prepare(str(tiny_model), SPECIAL_TOKENS, base)
    return base


TINY_RUN = [
    "--problems",
    "3",
    "--samples",
    "2",
    "--max-tokens",
    "96",
    "--eval-problems",
    "2",
    "--eval-samples",
    "2",
    "--batch-size",
    "4",
    "--epochs",
    "1",
    "--timeout",
    "10",
]


@pytest.fixture(scope="session")
def tiny_runs(tiny_model, mbpp_dir, tmp_path_factory) -> dict[str, Path]:
    """Two real runs of the tiny model: `textual` (2 iterations) and `binary` feedback (1 iteration)."""
    folder = tmp_path_factory.mktemp("runs")
    runs = {
        "textual": (folder / "textual", ["--iterations", "2"]),
        "binary": (
            folder / "binary",
            ["--iterations", "1", "--feedback", "binary", "--batch-size", "2", "--no-eval-stop"],
        ),
    }
    for run_dir, extra in runs.values():
        done = leti(
            "run",
            "--data",
            mbpp_dir,
            "--model",
            tiny_model,
            *TINY_RUN,
            *extra,
            "--out",
            run_dir,
            env={"LETI_TENSORBOARD": "1"},
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return {name: run_dir for name, (run_dir, _) in runs.items()}
