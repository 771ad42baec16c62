"""`leti report`: pages and plots from real tiny runs, numbers from hand-made run folders, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leti_core import IterationSummary, PassAtK
from leti_core.app import RunConfig
from leti_core.app.statistics import UNEXECUTABLE

from .conftest import assert_one_line_error, leti

PNGS = ["pass_at_k.png", "success_rate.png", "exceptions.png", "executable.png"]


def _png_is_a_real_plot(path: Path) -> None:
    from matplotlib.image import imread

    image = imread(path)
    height, width = image.shape[:2]
    assert width >= 500 and height >= 300, (path, width, height)
    assert path.stat().st_size > 10_000, path
    # Not a blank canvas: many pixels differ from the background, in more than one colour.
    flat = image[..., :3].reshape(-1, 3)
    assert (flat.std(axis=0) > 0.05).any(), path
    assert ((flat < 0.9).any(axis=1)).mean() > 0.01, path


@pytest.mark.slow
def test_report_of_two_real_runs(tiny_runs, tmp_path):
    out = tmp_path / "report"
    done = leti("report", tiny_runs["textual"], tiny_runs["binary"], "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in [*PNGS, "comparison.png"]:
        _png_is_a_real_plot(out / name)
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for name in [*PNGS, "comparison.png"]:
        assert f"]({name})" in md and f'<img src="{name}"' in page
    summaries = [json.loads((tiny_runs["textual"] / f"iteration-{i}" / "summary.json").read_text()) for i in (1, 2)]
    steps = [s["training_steps"] for s in summaries]
    rows = [line for line in md.splitlines() if line.startswith(("| 1 |", "| 2 |")) and "pass@1" in line]
    # Run textual's two iterations, then binary's one: samples, success, steps and cumulative steps.
    assert rows[0].split(" | ")[1:3] == ["6", f"{100 * summaries[0]['success_rate']:.1f}%"]
    unexecutable = sum(summaries[0]["exception_histogram"].get(name, 0) for name in UNEXECUTABLE) / 6
    assert rows[0].split(" | ")[3] == f"{100 * (1 - unexecutable):.1f}%"  # the share that reached its tests
    assert rows[1].split(" | ")[6:8] == [str(steps[1]), str(steps[0] + steps[1])]
    assert len(rows) == 3 and rows[2].split(" | ")[6:8] == ["6", "6"]  # binary: batch 2 -> 3 + 3 steps
    assert f"| textual | {tiny_runs['textual']} | mbpp | traceback |" in md
    assert f"| binary | {tiny_runs['binary']} | mbpp | binary |" in md


@pytest.mark.slow
def test_default_out_is_inside_the_first_run(tiny_runs, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(tiny_runs["textual"], run, ignore=shutil.ignore_patterns("checkpoint", "base", "tensorboard"))
    done = leti("report", run)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (run / "report").iterdir()) == sorted(["report.md", "report.html", *PNGS])
    # An iteration still in progress is shown from its samples.jsonl.
    (run / "iteration-2" / "summary.json").unlink()
    assert leti("report", run).returncode == 0
    md = (run / "report" / "report.md").read_text()
    assert "| 2 (in progress) | 6 |" in md


def _write_run(folder: Path, feedback: str, iterations: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(RunConfig(feedback=feedback, iterations=len(iterations)).model_dump_json())
    for number, values in enumerate(iterations, start=1):
        summary = IterationSummary(
            iteration=number, evaluation=PassAtK(problems=10, samples=160, pass_at=values.pop("pass_at")), **values
        )
        (folder / f"iteration-{number}").mkdir()
        (folder / f"iteration-{number}" / "summary.json").write_text(summary.model_dump_json())
    return folder


def test_exception_shares_and_comparison_from_known_numbers(tmp_path):
    """The paper's headline analysis, with made-up but known numbers: NameError 10% -> 1%."""
    textual = _write_run(
        tmp_path / "textual",
        "traceback",
        [
            {
                "samples": 1000,
                "success_rate": 0.2,
                "exception_histogram": {"AssertionError": 600, "NameError": 100, "SyntaxError": 100},
                "training_steps": 30,
                "pass_at": {"pass@1": 0.1, "pass@10": 0.3},
                "extra_metrics": {"pass@1 (post-processed)": 0.2},
            },
            {
                "samples": 1000,
                "success_rate": 0.4,
                "exception_histogram": {"AssertionError": 560, "NameError": 10, "SyntaxError": 30},
                "training_steps": 30,
                "pass_at": {"pass@1": 0.2, "pass@10": 0.4},
            },
        ],
    )
    binary = _write_run(
        tmp_path / "binary",
        "binary",
        [
            {
                "samples": 1000,
                "success_rate": 0.2,
                "exception_histogram": {"AssertionError": 700, "NameError": 100},
                "training_steps": 70,
                "pass_at": {"pass@1": 0.1},
            },
        ],
    )
    out = tmp_path / "report"
    done = leti("report", textual, binary, "--out", out)
    assert done.returncode == 0, done.stderr
    md = (out / "report.md").read_text()
    # Columns by total count over the run: SyntaxError (130) before NameError (110).
    assert "| iteration | AssertionError | SyntaxError | NameError |" in md
    assert "| 1 | 60.0% | 10.0% | 10.0% |" in md and "| 2 | 56.0% | 3.0% | 1.0% |" in md
    assert "| 2 | 1000 | 40.0% | 96.0% | pass@1 0.200, pass@10 0.400 | - | 30 | 60 |" in md  # 4% Syntax+NameError
    assert "| pass@1 0.100, pass@10 0.300 | pass@1 0.200 |" in md  # raw, then post-processed
    for name in [*PNGS, "comparison.png"]:
        _png_is_a_real_plot(out / name)


def test_missing_and_malformed_files_name_the_file(tmp_path):
    run = _write_run(
        tmp_path / "run",
        "traceback",
        [{"samples": 4, "success_rate": 0.5, "exception_histogram": {"NameError": 2}, "pass_at": {"pass@1": 0.5}}],
    )
    assert_one_line_error(leti("report", tmp_path / "nowhere"), "nowhere", "no such run folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(leti("report", empty), str(empty / "config.json"), "missing")
    summary = run / "iteration-1" / "summary.json"
    summary.write_text('{"iteration": 1, "samples": ')
    assert_one_line_error(leti("report", run), str(summary), "not valid JSON")
    summary.write_text('{"iteration": 1, "samples": "four"}')
    assert_one_line_error(leti("report", run), str(summary), "samples")
    summary.unlink()
    (run / "iteration-1" / "samples.jsonl").write_text('{"sample": {"task_id": 1, "completion": ""}}\n')
    assert_one_line_error(leti("report", run), f"{run / 'iteration-1' / 'samples.jsonl'}:1", "result")
    (run / "iteration-1" / "samples.jsonl").unlink()
    assert_one_line_error(leti("report", run), "no iteration has samples")
    (run / "config.json").write_text("[]")
    assert_one_line_error(leti("report", run), str(run / "config.json"))


def test_pass_at_k_axes_zoom_in_when_every_value_is_small():
    from leti_cli.reporting.plots import _pass_ylim

    assert _pass_ylim([0.7, 0.2]) == (-0.02, 1.02)
    assert _pass_ylim([0.017, 0.058]) == (-0.005, 0.1)  # 0.017 against 0.058 would be flat on 0..1
    assert _pass_ylim([0.2, 0.3]) == (-0.005, 0.4)


@pytest.mark.slow
def test_report_gives_intervals_and_pairs_runs_on_the_same_problems(tiny_runs, tmp_path):
    out = tmp_path / "report"
    done = leti("report", tiny_runs["textual"], tiny_runs["binary"], "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    md = (out / "report.md").read_text()
    assert "## Paired comparisons" in md
    # pass@1 of textual's iteration 1 held out, computed here from eval.jsonl: each problem's share, averaged
    rows = [json.loads(line) for line in (tiny_runs["textual"] / "iteration-1" / "eval.jsonl").read_text().splitlines()]
    by_problem: dict[str, list[bool]] = {}
    for row in rows:
        by_problem.setdefault(str(row["sample"]["task_id"]), []).append(row["result"]["status"] == "passed")
    expected = sum(sum(v) / len(v) for v in by_problem.values()) / len(by_problem)
    interval_rows = [line for line in md.splitlines() if line.startswith("| 1 | ") and "% (" in line]
    assert interval_rows and interval_rows[0].split(" | ")[1].startswith(f"{100 * expected:.1f} (95% CI ")
    paired = [line for line in md.splitlines() if line.startswith("| pass@1 | 1 |")]
    assert len(paired) == 1  # binary against textual at iteration 1 (the one both evaluated)
    cells = paired[0].split(" | ")
    assert cells[3].startswith("paired permutation: p = ")  # two samples per problem
    assert "no difference we can detect" in cells[4] or "the interval excludes zero" in cells[4]
