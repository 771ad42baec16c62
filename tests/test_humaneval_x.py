"""The separately installed HumanEval-X plugin (contrib/leti-humaneval-x) in the LeTI loop: found
through the entry-point group, run with the tiny model, scored by `leti eval` and `leti evaluate`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leti_core.app import get_registry

from .conftest import leti

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "humaneval-x"
TOOLS = {"humaneval-js": "node", "humaneval-cpp": "g++"}
pytestmark = pytest.mark.skipif(not (DATA / "humaneval_js.jsonl.gz").is_file(), reason=f"no HumanEval-X at {DATA}")


def test_the_plugin_is_found_through_the_entry_point_group_alone():
    registry = get_registry()
    for kind, name in (
        ("task", "humaneval-js"),
        ("task", "humaneval-cpp"),
        ("environment", "javascript"),
        ("environment", "cpp"),
    ):
        info = registry.info(kind, name)
        assert info.distribution == "leti-humaneval-x", info
    engine_modules = (ROOT / "pyproject.toml").read_text()
    assert "leti_humaneval_x" not in engine_modules  # not a first-party plugin: its own distribution


@pytest.mark.slow
@pytest.mark.parametrize("task", ["humaneval-js", "humaneval-cpp"])
def test_the_loop_runs_in_another_language(task, tiny_model, tmp_path):
    if shutil.which(TOOLS[task]) is None:
        pytest.skip(f"{TOOLS[task]} is not installed")
    run_dir = tmp_path / "run"
    done = leti(
        "run",
        "--task",
        task,
        "--data",
        DATA,
        "--model",
        tiny_model,
        "--problems",
        "2",
        "--samples",
        "2",
        "--max-tokens",
        "64",
        "--eval-problems",
        "2",
        "--eval-samples",
        "2",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--timeout",
        "5",
        "--out",
        run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (run_dir / "iteration-1" / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(row["result"]["status"] in {"passed", "failed", "timed out"} for row in rows)
    assert all(row["result"]["step"] in {"compile", "run"} for row in rows)
    texts = [json.loads(line) for line in (run_dir / "iteration-1" / "training.jsonl").read_text().splitlines()]
    bad = [text for text in texts if text["reward_token"] == "<|bad|>"]
    assert bad and all("/dev/shm" not in text["feedback_block"] for text in bad)
    evaluated = leti("eval", "--run", run_dir, "--split", "test", "--problems", "2", "--samples", "2", "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    report = json.loads(evaluated.stdout)
    assert report["task"] == task and report["postprocessed"]["samples"] == 4


@pytest.mark.parametrize("task, prefix", [("humaneval-js", "JavaScript"), ("humaneval-cpp", "CPP")])
def test_evaluate_scores_canonical_solutions_with_pass_at_k(task, prefix, tmp_path):
    if shutil.which(TOOLS[task]) is None:
        pytest.skip(f"{TOOLS[task]} is not installed")
    problems = get_registry().task(task, data=DATA).load("test")[:6]
    rows = [{"task_id": p.task_id, "completion": p.reference} for p in problems]
    rows += [{"task_id": p.task_id, "completion": "}\n"} for p in problems]  # one broken sample each
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = leti("evaluate", "--task", task, "--split", "test", "--data", DATA, "--json", samples)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["problems"] == 6 and summary["samples"] == 12 and summary["pass@1"] == pytest.approx(0.5)
    results = [json.loads(line) for line in Path(summary["results"]).read_text().splitlines()]
    assert [row["passed"] for row in results] == [True] * 6 + [False] * 6
    assert all(row["task_id"].startswith(prefix) and row["feedback"] for row in results[6:])


@pytest.mark.slow
def test_uninstalling_the_distribution_removes_its_components_and_nothing_else(tmp_path):
    import subprocess
    import sys

    def components(listing: str) -> set[str]:
        return {line.split()[1] for line in listing.splitlines()[1:] if len(line.split()) > 1}

    before = leti("plugins")
    assert before.returncode == 0 and "humaneval-js" in before.stdout
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "uninstall", "-y", "leti-humaneval-x"], check=True, capture_output=True)
    try:
        after = leti("plugins")
        assert after.returncode == 0, after.stderr
        assert components(before.stdout) - components(after.stdout) == {
            "humaneval-js",
            "humaneval-cpp",
            "javascript",
            "cpp",
        }
        assert components(after.stdout) <= components(before.stdout) and "Warning" not in after.stderr
        gone = leti("run", "--task", "humaneval-js", "--out", tmp_path / "run")
        assert gone.returncode != 0 and "humaneval-js" in gone.stderr and "Traceback" not in gone.stderr
        assert not (tmp_path / "run").exists()
    finally:
        subprocess.run(
            [*pip, "install", "--no-deps", "-e", str(ROOT / "contrib" / "leti-humaneval-x")],
            check=True,
            capture_output=True,
        )
    assert "humaneval-js" in leti("plugins").stdout
