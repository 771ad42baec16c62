"""benchmarks/learning.py with the tiny model: two seeds, two arms sharing their start, a results
file with intervals per seed and pooled, and a second call that resumes instead of redoing, pooling
from the results file alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leti_core import RunFolder
from leti_core.app.statistics import MEASURES

from .conftest import TINY_RUN

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_two_seeds_two_arms_and_a_results_file(tiny_model, mbpp_dir, tmp_path):
    config = tmp_path / "recipe.toml"
    config.write_text('task = "mbpp"\niterations = 1\neval_base = true\n')
    results = tmp_path / "results.json"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "learning.py"),
        "--data",
        str(mbpp_dir),
        "--seeds",
        "0",
        "1",
        "--config",
        str(config),
        "--model",
        str(tiny_model),
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(results),
        "--",
        *TINY_RUN,
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(results.read_text())
    assert set(found["seeds"]) == {"0", "1"} and found["compute seconds"] > 0
    for seed in ("0", "1"):
        textual, binary = (RunFolder(tmp_path / "runs" / f"seed-{seed}" / arm) for arm in ("textual", "binary"))
        # the arms share their start: the same programs and verdicts, each with its own feedback
        assert [(r.sample, r.result) for r in binary.iteration(1).scored_samples()] == [
            (r.sample, r.result) for r in textual.iteration(1).scored_samples()
        ]
        row = found["seeds"][seed]["iterations"]["1"]
        for arm in ("textual", "binary"):
            for interval in row[arm]["held_out"].values():
                assert 0 <= interval["low"] <= interval["estimate"] <= interval["high"] <= 1
                assert interval["problems"] == 2 and interval["samples"] == 4
        assert {"pass@1", found["design"]["primary measure"].removeprefix("held-out share ")} <= set(
            row["textual against binary"]
        )
    assert found["seeds"]["0"]["iterations"]["0"]["textual"] == found["seeds"]["0"]["iterations"]["0"]["binary"]
    pooled = found["pooled"]["1"]["textual"]["held_out"]["pass@1"]
    assert pooled["problems"] == 2 and pooled["samples"] == 8  # two problems, 2 samples x 2 seeds each

    table = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "learning.py"), "--markdown", "--results", str(results)],
        capture_output=True,
        text=True,
    )
    assert table.returncode == 0, table.stderr
    pass_at_1 = table.stdout.split("Held-out pass@1")[1]
    pooled_row = next(line for line in pass_at_1.splitlines() if line.startswith("| pooled | 1 |"))
    assert f"{pooled['estimate'] * 100:.1f} ({pooled['low'] * 100:.1f} to {pooled['high'] * 100:.1f})" in pooled_row
    assert pooled_row.count("p = ") == 3  # textual - binary, and each arm against its seeds' starts
    against_start = found["pooled"]["1"]["binary"]["against start"]["pass@1"]["difference"]
    assert against_start["problems"] == 2 and against_start["low"] <= against_start["estimate"] <= against_start["high"]
    # over seeds: the mean of the two seeds' own differences, with a t interval
    over = found["over seeds"]["1"]["textual against binary"]["pass@1"]
    per_seed = [found["seeds"][seed]["iterations"]["1"]["textual against binary"]["pass@1"] for seed in ("0", "1")]
    assert over["seeds"] == 2 and over["estimate"] == pytest.approx(
        sum(seed["difference"]["estimate"] for seed in per_seed) / 2
    )
    assert any(line.startswith("| mean of seeds (t) | 1 |") for line in pass_at_1.splitlines())
    seed_rows = sum(line.startswith("| seed ") for line in table.stdout.splitlines())
    assert seed_rows == 2 * 2 * len(MEASURES)  # seeds x iterations x measures
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")
    refused = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "learning.py"), "--markdown", "--results", str(broken)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and str(broken) in refused.stderr and len(refused.stderr.splitlines()) == 1

    # a measure added after a seed was written: --rescore recomputes it from the run folders
    partial = json.loads(results.read_text())
    del partial["seeds"]["0"]["iterations"]["1"]["textual"]["held_out"]["stopped by NameError"]
    results.write_text(json.dumps(partial))
    assert (
        "stopped by NameError"
        not in subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "learning.py"), "--markdown", "--results", str(results)],
            capture_output=True,
            text=True,
        ).stdout
    )  # tables only for the measures every seed has
    rescored = subprocess.run([*command[:2], "--rescore", *command[2:]], capture_output=True, text=True, cwd=ROOT)
    assert rescored.returncode == 0, rescored.stderr[-3000:]
    assert "seed 0: rescored" in rescored.stdout and "+ leti run" not in rescored.stdout
    again_found = json.loads(results.read_text())
    assert again_found["seeds"]["0"] == found["seeds"]["0"]  # the same figures, the wall time kept
    assert "Held-out stopped by NameError" in rescored.stdout

    # a later session on a fresh machine: no run folders, and the pooled figures come from the file
    shutil.rmtree(tmp_path / "runs")
    results.write_text(json.dumps({key: value for key, value in found.items() if key != "pooled"}))
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "+ leti run" not in again.stdout and "in " + str(results) + " already" in again.stdout
    assert json.loads(results.read_text())["pooled"] == found["pooled"]
