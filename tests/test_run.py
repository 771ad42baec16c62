"""`leti run` end to end with a tiny model, resume after a kill, and the Python API."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leti_core import Feedback, FeedbackFormatter
from leti_core.app import RunConfig, load_engine, prepare_run
from leti_core.testing import FakeSampler, FakeTrainer

from .conftest import TINY_RUN, assert_one_line_error, leti

ITERATION_FILES = [
    "samples.jsonl",
    "training.jsonl",
    "train_metrics.json",
    "checkpoint/config.json",
    "checkpoint/model.safetensors",
    "eval.jsonl",
    "summary.json",
]


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_two_iterations_leave_every_artifact(tiny_model, mbpp_dir, tmp_path):
    run_dir = tmp_path / "run"
    done = leti(
        "run",
        "--env",
        "python",
        "--task",
        "mbpp",
        "--data",
        mbpp_dir,
        "--model",
        tiny_model,
        "--iterations",
        "2",
        *TINY_RUN,
        "--out",
        run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run_dir / "config.json").is_file() and (run_dir / "base" / "config.json").is_file()
    for iteration in (1, 2):
        for name in ITERATION_FILES:
            assert (run_dir / f"iteration-{iteration}" / name).is_file(), (iteration, name)
        summary = json.loads((run_dir / f"iteration-{iteration}" / "summary.json").read_text())
        assert summary["samples"] == 6 and summary["held_out"]["postprocessed"]["problems"] == 2
        assert summary["held_out"]["raw"] is None  # held-out samples stopped at the stop words: no raw pass@k
        assert sum(summary["exception_histogram"].values()) == round(6 * (1 - summary["success_rate"]))
        assert summary["training_steps"] == 4  # 6 texts -> batch 4 -> 2 feedback + 2 code batches
        rows = [
            json.loads(line) for line in (run_dir / f"iteration-{iteration}" / "samples.jsonl").read_text().splitlines()
        ]
        assert len(rows) == 6 and all(row["result"]["status"] in {"passed", "failed", "timed out"} for row in rows)
        texts = [
            json.loads(line)
            for line in (run_dir / f"iteration-{iteration}" / "training.jsonl").read_text().splitlines()
        ]
        assert all(t["reward_token"] in {"<|good|>", "<|bad|>"} for t in texts)
        assert all(t["feedback_block"].startswith("<|lang_feedback|>") for t in texts if t["reward_token"] == "<|bad|>")
    assert "iteration 2:" in done.stderr
    # outside a terminal (here: a pipe, like `> log 2>&1`), each stage writes plain progress lines
    for stage in (
        "iteration 1: train sampling: 6/6",
        "iteration 2: eval sampling: 4/4",
    ):
        assert stage in done.stderr, done.stderr[-2000:]
    # training counts tokens (every one of them by the end)
    assert re.search(r"^iteration 1: training[^:\n]*: (\d+)/\1 tokens \(", done.stderr, re.M), done.stderr[-2000:]


@pytest.mark.slow
def test_a_run_killed_in_iteration_two_resumes_without_redoing_iteration_one(tiny_model, mbpp_dir, tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leti_cli",
            "run",
            "--data",
            str(mbpp_dir),
            "--model",
            str(tiny_model),
            "--iterations",
            "2",
            *TINY_RUN,
            "--out",
            str(run_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not (run_dir / "iteration-2" / "samples.jsonl").exists():
        assert process.poll() is None, "the run ended before iteration 2"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (run_dir / "iteration-2" / "summary.json").exists()
    first = _snapshot(run_dir / "iteration-1")
    sampled = (run_dir / "iteration-2" / "samples.jsonl").stat().st_mtime_ns

    done = leti("run", "--resume", run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "iteration 1: done before, skipped" in done.stderr
    assert _snapshot(run_dir / "iteration-1") == first
    assert (run_dir / "iteration-2" / "samples.jsonl").stat().st_mtime_ns == sampled
    for name in ITERATION_FILES:
        assert (run_dir / "iteration-2" / name).is_file()


def test_resume_with_another_config_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(RunConfig(samples=4).model_dump_json())
    assert_one_line_error(leti("run", "--resume", run_dir, "--samples", "8"), "another config", "samples", "4", "8")


def test_a_model_that_cannot_be_found(tmp_path, mbpp_dir):
    assert_one_line_error(
        leti("run", "--data", mbpp_dir, "--model", tmp_path / "missing.gguf", "--out", tmp_path / "r"),
        "missing.gguf",
        "does not exist",
    )
    assert_one_line_error(
        leti(
            "run",
            "--data",
            mbpp_dir,
            "--model",
            "no-such-org/no-such-model",
            "--out",
            tmp_path / "r2",
            env={"HF_HUB_OFFLINE": "1"},
        ),
        "no-such-org/no-such-model",
        "cannot be found or loaded",
    )


def test_config_file_values_and_errors(tmp_path, mbpp_dir):
    bad = tmp_path / "leti.toml"
    bad.write_text("samples = 'many'\n")
    assert_one_line_error(leti("run", "--config", bad, "--out", tmp_path / "r"), "leti.toml", "samples")
    unknown = tmp_path / "leti.yaml"
    unknown.write_text("colour: red\n")
    assert_one_line_error(leti("run", "--config", unknown, "--out", tmp_path / "r"), "leti.yaml", "colour")


def test_python_api_composes_a_run_and_conditions_prompts_from_iteration_two(tmp_path, mbpp_dir):
    sampler, trainer = FakeSampler(completions=["x = undefined_name\n"]), FakeTrainer()
    run = prepare_run(
        load_engine(),
        tmp_path / "run",
        {
            "data": str(mbpp_dir),
            "model": "base-model",
            "iterations": 2,
            "problems": 2,
            "samples": 3,
            "eval_problems": 2,
            "eval_samples": 1,
            "eval_condition": "bad",
        },
        components={"sampler": sampler, "trainer": trainer},
        log=lambda _: None,
    )
    with run.components:
        summaries = run.run()
    train_calls = [call for call in sampler.calls if call["temperature"] == 1.0]
    eval_calls = [call for call in sampler.calls if call["temperature"] == 0.1]
    assert [len(call["prompts"]) for call in train_calls] == [2, 2]
    assert not any(p.startswith("<|") for p in train_calls[0]["prompts"])
    assert all(p.startswith("<|good|>") for p in train_calls[1]["prompts"])
    assert all(p.startswith("<|bad|>") for call in eval_calls for p in call["prompts"])
    assert train_calls[0]["model"].endswith("base") and train_calls[1]["model"].endswith("iteration-1/checkpoint")
    assert [s.exception_histogram for s in summaries] == [{"NameError": 6}, {"NameError": 6}]
    assert all(
        text.startswith("<|bad|><|lang_feedback|> Traceback") and "NameError" in text for text in trainer.texts[0]
    )
    assert len(trainer.texts[0]) == 6
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["sampler"] == "fake" and saved["task_options"] == {"data": str(mbpp_dir)}
    assert "epochs" not in json.dumps(saved)  # only what was set


def test_an_inline_feedback_formatter_needs_no_entry_point(tmp_path, mbpp_dir):
    class Shouting(FeedbackFormatter):
        name = "shouting"

        def format(self, result):
            return Feedback(reward="good" if result.passed else "bad", text=None if result.passed else "WRONG")

    trainer = FakeTrainer()
    run = prepare_run(
        load_engine(),
        tmp_path / "run",
        {"data": str(mbpp_dir), "model": "m", "problems": 1, "samples": 2, "eval_problems": 1, "eval_samples": 1},
        components={"feedback": Shouting, "sampler": FakeSampler(), "trainer": trainer},
        log=lambda _: None,
    )
    with run.components:
        run.run()
    assert trainer.texts[0] and all("WRONG" in text for text in trainer.texts[0])
    assert json.loads((tmp_path / "run" / "config.json").read_text())["feedback"] == "shouting"


@pytest.mark.slow
def test_one_iteration_on_event_argument_extraction(tiny_model, tmp_path):
    run_dir = tmp_path / "eae-run"
    done = leti(
        "run",
        "--env",
        "eae",
        "--task",
        "eae-sample",
        "--model",
        tiny_model,
        "--iterations",
        "1",
        "--problems",
        "3",
        "--samples",
        "2",
        "--max-tokens",
        "400",
        "--eval-problems",
        "2",
        "--eval-samples",
        "2",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--out",
        run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run_dir / "iteration-1" / "summary.json").read_text())
    assert summary["samples"] == 6
    assert {"arg_i_f1", "arg_c_f1"} <= set(summary["held_out"]["metrics"])
    texts = [json.loads(line) for line in (run_dir / "iteration-1" / "training.jsonl").read_text().splitlines()]
    assert all("(" in t["prompt"] and t["prompt"].rstrip().endswith("(") for t in texts)


def test_an_environment_that_does_not_fit_the_task(tmp_path, mbpp_dir):
    assert_one_line_error(
        leti("run", "--env", "eae", "--task", "mbpp", "--data", mbpp_dir, "--out", tmp_path / "r"),
        "environment 'eae' cannot check task 'mbpp'",
    )


@pytest.mark.slow
def test_finetune_baseline_trains_on_gold_solutions(tiny_model, mbpp_dir, tmp_path, mbpp_records):
    run_dir = tmp_path / "ft"
    done = leti(
        "finetune",
        "--data",
        mbpp_dir,
        "--model",
        tiny_model,
        "--problems",
        "4",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--max-tokens",
        "96",
        "--eval-problems",
        "1",
        "--eval-samples",
        "1",
        "--out",
        run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["training_data"], config["trainer_options"]["learning_rate"]) == ("gold", 1e-4)
    texts = [json.loads(line) for line in (run_dir / "iteration-1" / "training.jsonl").read_text().splitlines()]
    gold = {str(r["task_id"]): r["code"] for r in mbpp_records}
    assert len(texts) == 4 and all(
        t["reward_token"] == "" and t["completion"] == "\n" + gold[t["task_id"]] for t in texts
    )
    assert not (run_dir / "iteration-1" / "samples.jsonl").exists()


def test_binary_feedback_variant_trains_without_feedback_text(tmp_path, mbpp_dir):
    engine = load_engine()
    trainer = FakeTrainer()
    run = prepare_run(
        engine,
        tmp_path / "run",
        {
            "data": str(mbpp_dir),
            "model": "m",
            "feedback": "binary",
            "problems": 1,
            "samples": 2,
            "eval_problems": 1,
            "eval_samples": 1,
        },
        components={"sampler": FakeSampler(completions=["x = undefined_name\n"]), "trainer": trainer},
        log=lambda _: None,
    )
    with run.components:
        run.run()
    prompt = engine.registry.task("mbpp", data=mbpp_dir).load("train")[0].prompt
    assert trainer.texts[0] == ["<|bad|>" + prompt + "x = undefined_name\n"] * 2


@pytest.mark.parametrize("eval_stop", [True, False])
def test_held_out_samples_stop_at_the_stop_words_unless_told(tmp_path, mbpp_dir, eval_stop):
    completion = "    return None\nprint('beyond the stop word')\n"
    run = prepare_run(
        load_engine(),
        tmp_path / "run",
        {
            "data": str(mbpp_dir),
            "model": "m",
            "problems": 1,
            "samples": 1,
            "eval_problems": 2,
            "eval_samples": 2,
            "eval_stop": eval_stop,
        },
        components={"sampler": FakeSampler(completions=[completion]), "trainer": FakeTrainer()},
        log=lambda _: None,
    )
    with run.components:
        summary = run.run()[0]
    held_out = [
        json.loads(line)["sample"]["completion"]
        for line in (tmp_path / "run" / "iteration-1" / "eval.jsonl").read_text().splitlines()
    ]
    training = json.loads((tmp_path / "run" / "iteration-1" / "samples.jsonl").read_text().splitlines()[0])
    assert training["sample"]["completion"] == completion  # training samples are never cut
    assert held_out == (["    return None"] * 4 if eval_stop else [completion] * 4)
    assert summary.held_out.postprocessed.problems == 2
    assert (summary.held_out.raw is None) == eval_stop
    cut = tmp_path / "run" / "iteration-1" / "eval_postprocessed.jsonl"
    assert cut.is_file() != eval_stop  # cut and scored again only when the samples were not stopped
