"""`leti run` end to end with a tiny model, resume after a kill, and the Python API."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from leti_core import Sampler, Trainer

from leti_core.app import Components, LetiRun, RunConfig, load_engine

from .conftest import assert_one_line_error, leti

FAST = ["--problems", "3", "--samples", "2", "--max-tokens", "96", "--eval-problems", "2", "--eval-samples", "2",
        "--batch-size", "4", "--epochs", "1", "--timeout", "10"]
ITERATION_FILES = ["samples.jsonl", "training.jsonl", "train_metrics.json", "checkpoint/config.json",
                   "checkpoint/model.safetensors", "eval.jsonl", "summary.json"]


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_two_iterations_leave_every_artifact(tiny_model, mbpp_dir, tmp_path):
    run_dir = tmp_path / "run"
    done = leti("run", "--env", "python", "--task", "mbpp", "--data", mbpp_dir, "--model", tiny_model,
                "--iterations", "2", *FAST, "--out", run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run_dir / "config.json").is_file() and (run_dir / "base" / "config.json").is_file()
    for iteration in (1, 2):
        for name in ITERATION_FILES:
            assert (run_dir / f"iteration-{iteration}" / name).is_file(), (iteration, name)
        summary = json.loads((run_dir / f"iteration-{iteration}" / "summary.json").read_text())
        assert summary["samples"] == 6 and summary["evaluation"]["problems"] == 2
        assert sum(summary["exception_histogram"].values()) == round(6 * (1 - summary["success_rate"]))
        assert summary["training_steps"] == 4  # 6 texts -> batch 4 -> 2 feedback + 2 code batches
        rows = [json.loads(line) for line in (run_dir / f"iteration-{iteration}" / "samples.jsonl").read_text().splitlines()]
        assert len(rows) == 6 and all(row["result"]["status"] in {"passed", "failed", "timed out"} for row in rows)
        texts = [json.loads(line) for line in (run_dir / f"iteration-{iteration}" / "training.jsonl").read_text().splitlines()]
        assert all(t["reward_token"] in {"<|good|>", "<|bad|>"} for t in texts)
        assert all(t["feedback_block"].startswith("<|lang_feedback|>") for t in texts if t["reward_token"] == "<|bad|>")
    assert "iteration 2:" in done.stderr


@pytest.mark.slow
def test_a_run_killed_in_iteration_two_resumes_without_redoing_iteration_one(tiny_model, mbpp_dir, tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "leti_cli", "run", "--data", str(mbpp_dir), "--model", str(tiny_model),
         "--iterations", "2", *FAST, "--out", str(run_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
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
    assert_one_line_error(leti("run", "--data", mbpp_dir, "--model", tmp_path / "missing.gguf", "--out", tmp_path / "r"),
                    "missing.gguf", "does not exist")
    assert_one_line_error(leti("run", "--data", mbpp_dir, "--model", "no-such-org/no-such-model", "--out", tmp_path / "r2",
                         env={"HF_HUB_OFFLINE": "1"}), "no-such-org/no-such-model", "cannot be found or loaded")


def test_config_file_values_and_errors(tmp_path, mbpp_dir):
    bad = tmp_path / "leti.toml"
    bad.write_text("samples = 'many'\n")
    assert_one_line_error(leti("run", "--config", bad, "--out", tmp_path / "r"), "leti.toml", "samples")
    unknown = tmp_path / "leti.yaml"
    unknown.write_text("colour: red\n")
    assert_one_line_error(leti("run", "--config", unknown, "--out", tmp_path / "r"), "leti.yaml", "colour")


class RecordingSampler(Sampler):
    """Returns a fixed completion and remembers every prompt it was given."""

    name = "recording"

    def __init__(self, **options):
        super().__init__(**options)
        self.calls: list[tuple[str, list[str], float | None]] = []

    def sample(self, model: str, prompts: Sequence[str], n: int, temperature=None, progress=None) -> Iterator[list[str]]:
        self.calls.append((model, list(prompts), temperature))
        for prompt in prompts:
            yield ["x = undefined_name\n"] * n


class CopyTrainer(Trainer):
    """Writes a stand-in checkpoint and remembers the texts it was given."""

    name = "copy"

    def __init__(self, **options):
        super().__init__(**options)
        self.texts: list[list[str]] = []

    def prepare(self, model, special_tokens, output_dir):
        output_dir.mkdir(parents=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model, "tokens": list(special_tokens)}))

    def train(self, model, texts, output_dir, progress=None):
        self.texts.append(list(texts))
        output_dir.mkdir(parents=True)
        (output_dir / "config.json").write_text(json.dumps({"from": model}))
        return {"steps": 1.0, "tokens": float(sum(map(len, texts)))}


def test_python_api_composes_a_run_and_conditions_prompts_from_iteration_two(tmp_path, mbpp_dir):
    engine = load_engine()
    config = RunConfig(data=str(mbpp_dir), model="base-model", iterations=2, problems=2, samples=3,
                       eval_problems=2, eval_samples=1, eval_condition="bad")
    sampler, trainer = RecordingSampler(), CopyTrainer()
    components = Components(
        task=engine.registry.task("mbpp", data=mbpp_dir),
        environment=engine.registry.environment("python"),
        formatter=engine.registry.feedback("traceback"),
        sampler=sampler,
        trainer=trainer,
    )
    with components.environment:
        summaries = LetiRun(tmp_path / "run", config, components, engine, log=lambda _: None).run()
    train_calls = [call for call in sampler.calls if call[2] == 1.0]
    eval_calls = [call for call in sampler.calls if call[2] == 0.1]
    assert [len(call[1]) for call in train_calls] == [2, 2]
    assert not any(p.startswith("<|") for p in train_calls[0][1])
    assert all(p.startswith("<|good|>") for p in train_calls[1][1])
    assert all(p.startswith("<|bad|>") for call in eval_calls for p in call[1])
    assert train_calls[0][0].endswith("base") and train_calls[1][0].endswith("iteration-1/checkpoint")
    assert [s.exception_histogram for s in summaries] == [{"NameError": 6}, {"NameError": 6}]
    assert all(text.startswith("<|bad|><|lang_feedback|> Traceback") and "NameError" in text for text in trainer.texts[0])
    assert len(trainer.texts[0]) == 6


@pytest.mark.slow
def test_one_iteration_on_event_argument_extraction(tiny_model, tmp_path):
    run_dir = tmp_path / "eae-run"
    done = leti("run", "--env", "eae", "--task", "eae-sample", "--model", tiny_model, "--iterations", "1",
                "--problems", "3", "--samples", "2", "--max-tokens", "400", "--eval-problems", "2", "--eval-samples", "2",
                "--batch-size", "4", "--epochs", "1", "--out", run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run_dir / "iteration-1" / "summary.json").read_text())
    assert summary["samples"] == 6
    assert {"arg_i_f1", "arg_c_f1"} <= set(summary["extra_metrics"])
    texts = [json.loads(line) for line in (run_dir / "iteration-1" / "training.jsonl").read_text().splitlines()]
    assert all("(" in t["prompt"] and t["prompt"].rstrip().endswith("(") for t in texts)


def test_an_environment_that_does_not_fit_the_task(tmp_path, mbpp_dir):
    assert_one_line_error(leti("run", "--env", "eae", "--task", "mbpp", "--data", mbpp_dir, "--out", tmp_path / "r"),
                    "environment 'eae' cannot check task 'mbpp'")


@pytest.mark.slow
def test_finetune_baseline_trains_on_gold_solutions(tiny_model, mbpp_dir, tmp_path, mbpp_records):
    run_dir = tmp_path / "ft"
    done = leti("finetune", "--data", mbpp_dir, "--model", tiny_model, "--problems", "4", "--epochs", "1",
                "--batch-size", "4", "--max-tokens", "96", "--eval-problems", "1", "--eval-samples", "1", "--out", run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["training_data"], config["learning_rate"]) == ("gold", 1e-4)
    texts = [json.loads(line) for line in (run_dir / "iteration-1" / "training.jsonl").read_text().splitlines()]
    gold = {str(r["task_id"]): r["code"] for r in mbpp_records}
    assert len(texts) == 4 and all(t["reward_token"] == "" and t["completion"] == "\n" + gold[t["task_id"]] for t in texts)
    assert not (run_dir / "iteration-1" / "samples.jsonl").exists()


def test_binary_feedback_variant_trains_without_feedback_text(tmp_path, mbpp_dir):
    engine = load_engine()
    config = RunConfig(data=str(mbpp_dir), model="m", feedback="binary", problems=1, samples=2, eval_problems=1, eval_samples=1)
    trainer = CopyTrainer()
    components = Components(task=engine.registry.task("mbpp", data=mbpp_dir), environment=engine.registry.environment("python"),
                            formatter=engine.registry.feedback("binary"), sampler=RecordingSampler(), trainer=trainer)
    with components.environment:
        LetiRun(tmp_path / "run", config, components, engine, log=lambda _: None).run()
    prompt = engine.registry.task("mbpp", data=mbpp_dir).load("train")[0].prompt
    assert trainer.texts[0] == ["<|bad|>" + prompt + "x = undefined_name\n"] * 2
