"""Resuming inside a stage: sampling continues after its last saved chunk, training from its last
saved state, and either ends as an uninterrupted run would."""

from __future__ import annotations

import json

import pytest

from leti_core import LetiError, Problem, RunFolder, Sample, SamplingParams, ScoredSample
from leti_core.app import get_engine, get_registry, prepare_run
from leti_core.app.resumable import chunks, sample_in_chunks, saved
from leti_core.models import ExecutionResult, Feedback
from leti_core.testing import FakeSampler, FakeTrainer

PROBLEMS = [Problem(task_id=str(i), prompt=f"# problem {i}\n") for i in range(7)]


def _scored(problem: Problem, text: str) -> ScoredSample:
    return ScoredSample(
        sample=Sample(task_id=problem.task_id, completion=text),
        result=ExecutionResult(status="passed"),
        feedback=Feedback(reward="good"),
    )


class Killed(Exception):
    """Stands for kill -9 in the middle of a chunk."""


def test_chunks_hold_about_the_programs_asked_for():
    assert [len(part) for part in chunks(PROBLEMS, 2, 6)] == [3, 3, 1]
    assert [len(part) for part in chunks(PROBLEMS, 8, 6)] == [1] * 7  # at least one problem a chunk


def test_a_chunk_cut_by_a_crash_is_dropped_and_the_file_cut_back(tmp_path):
    parts = chunks(PROBLEMS, 1, 3)
    path = tmp_path / "samples.partial.jsonl"
    whole = [_scored(problem, "x") for problem in PROBLEMS[:3]]
    half = [_scored(problem, "y") for problem in PROBLEMS[3:5]]
    path.write_text("".join(row.model_dump_json() + "\n" for row in whole + half) + '{"sample": {"task_')
    assert saved(path, parts, 1) == [whole]
    assert path.read_text().count("\n") == 3 and path.read_text().endswith("\n")
    assert saved(tmp_path / "missing.jsonl", parts, 1) == []


def test_a_killed_stage_resumes_after_its_last_saved_chunk_and_never_samples_a_saved_problem(tmp_path):
    path, asked = tmp_path / "samples.partial.jsonl", []

    def sample(part, stream):
        asked.append([problem.task_id for problem in part])
        if len(asked) == 3:
            raise Killed
        return [_scored(problem, f"{problem.task_id}@{stream}") for problem in part for _ in range(2)]

    with pytest.raises(Killed):
        sample_in_chunks(PROBLEMS, 2, 4, path, (1, "train"), sample)
    asked.clear()
    told = []
    resumed = sample_in_chunks(
        PROBLEMS,
        2,
        4,
        path,
        (1, "train"),
        lambda part, stream: (
            asked.append([p.task_id for p in part])
            or [_scored(p, f"{p.task_id}@{stream}") for p in part for _ in range(2)]
        ),
        told.append,
    )
    assert told == [8] and asked == [["4", "5"], ["6"]]  # chunks 0 and 1 (problems 0-3) were saved
    uninterrupted = sample_in_chunks(
        PROBLEMS,
        2,
        4,
        tmp_path / "other.jsonl",
        (1, "train"),
        lambda part, stream: [_scored(p, f"{p.task_id}@{stream}") for p in part for _ in range(2)],
    )
    assert resumed == uninterrupted  # the same random stream for each chunk, however the stage was split


def test_resumed_sampling_with_a_real_model_draws_what_an_uninterrupted_one_draws(tiny_base, tmp_path):
    from leti_core.app import sample_problems

    sampler = get_registry().sampler("hf", batch_size=4)

    def sample(part, stream):
        params = SamplingParams(n=2, temperature=1.0, max_tokens=40, seed=3, stream=stream)
        return [
            ScoredSample(sample=sample, result=ExecutionResult(status="failed"), feedback=Feedback(reward="bad"))
            for group in sample_problems(sampler, str(tiny_base), part, params, None)
            for sample in group
        ]

    whole = sample_in_chunks(PROBLEMS, 2, 4, tmp_path / "a.jsonl", (1, "train"), sample)
    calls = []

    def killed_at_the_third_chunk(part, stream):
        calls.append(part)
        if len(calls) == 3:
            raise Killed
        return sample(part, stream)

    with pytest.raises(Killed):
        sample_in_chunks(PROBLEMS, 2, 4, tmp_path / "b.jsonl", (1, "train"), killed_at_the_third_chunk)
    resumed = sample_in_chunks(PROBLEMS, 2, 4, tmp_path / "b.jsonl", (1, "train"), sample)
    assert [row.sample.completion for row in resumed] == [row.sample.completion for row in whole]
    assert len({row.sample.completion for row in whole}) > 7  # real random samples, not one answer repeated


def test_a_run_killed_while_sampling_resumes_the_stage(tmp_path, mbpp_dir):
    class DiesAtTheSecondChunk(FakeSampler):
        def sample(self, model, prompts, params, progress=None):
            if len(self.calls) == 1:
                raise Killed
            return super().sample(model, prompts, params, progress)

    values = {
        "data": str(mbpp_dir),
        "model": "m",
        "problems": 5,
        "samples": 1,
        "save_every": 2,
        "eval_problems": 1,
        "eval_samples": 1,
    }
    run = prepare_run(
        get_engine(),
        tmp_path / "run",
        values,
        components={"sampler": DiesAtTheSecondChunk(), "trainer": FakeTrainer()},
        log=lambda _: None,
    )
    with run.components, pytest.raises(Killed):
        run.run()
    folder = RunFolder(tmp_path / "run").iteration(1)
    assert not folder.samples.exists() and len(RunFolder.in_progress(folder.samples).read_text().splitlines()) == 2
    sampler, lines = FakeSampler(), []
    run = prepare_run(
        get_engine(),
        tmp_path / "run",
        {},
        resume=True,
        components={"sampler": sampler, "trainer": FakeTrainer()},
        log=lines.append,
    )
    with run.components:
        run.run()
    train_calls = [call for call in sampler.calls if call["n"] == 1 and len(call["prompts"]) > 0][:2]
    assert [len(call["prompts"]) for call in train_calls] == [2, 1]  # problems 3-4, then 5: none of 1-2 again
    assert any("resumes after 2 saved samples" in line for line in lines)
    rows = [json.loads(line) for line in folder.samples.read_text().splitlines()]
    assert [row["sample"]["task_id"] for row in rows] == ["601", "602", "603", "604", "605"]
    assert not RunFolder.in_progress(folder.samples).exists()


def test_training_killed_after_a_saved_state_continues_from_it_to_the_same_weights(tiny_base, tmp_path):
    import torch
    from safetensors.torch import load_file

    texts = [f"<|bad|>def f{i}(x):\n    return x + {i}\n" for i in range(12)]
    options = {
        "epochs": 2,
        "batch_size": 4,
        "micro_batch_size": 2,
        "learning_rate": 1e-3,
        "pretrain_mix": False,
        "save_steps": 2,
        "precision": "fp32",
    }
    registry = get_registry()
    registry.trainer("hf", **options).train(str(tiny_base), texts, tmp_path / "whole")
    micro_batches = []

    def dies_in_step_four(n=0, total=None):  # progress: the total once, then each micro-batch's tokens
        micro_batches.extend([n] if total is None else [])
        if len(micro_batches) == 7:  # steps of 2 micro-batches: the first of step 4
            raise Killed

    with pytest.raises(Killed):
        registry.trainer("hf", **options).train(str(tiny_base), texts, tmp_path / "killed", dies_in_step_four)
    assert (tmp_path / "killed.resume" / "checkpoint-2").is_dir() and not (tmp_path / "killed").exists()
    cut = tmp_path / "killed.resume" / "checkpoint-4"  # a kill during the next save: no trainer_state.json
    cut.mkdir()
    (cut / "model.safetensors").write_bytes(b"half written")
    progress = []
    registry.trainer("hf", **options).train(
        str(tiny_base), texts, tmp_path / "killed", lambda n=0, total=None: progress.append((n, total))
    )
    (before, total), *rest = progress  # tokens done before the kill, of all; then each micro-batch's
    assert abs(before / total - 2 / 6) < 0.1  # resumed from checkpoint-2: 2 of 6 steps done
    assert len(rest) == 4 * 2 and before + sum(n for n, _ in rest) == total
    assert not (tmp_path / "killed.resume").exists()
    whole, resumed = (
        load_file(tmp_path / "whole" / "model.safetensors"),
        load_file(tmp_path / "killed" / "model.safetensors"),
    )
    assert whole.keys() == resumed.keys()
    worst = max((whole[name].float() - resumed[name].float()).abs().max().item() for name in whole)
    assert worst <= 1e-6
    assert any(not torch.equal(whole[name], load_file(tiny_base / "model.safetensors")[name]) for name in whole)


def test_the_trainer_refuses_to_be_told_how_to_save_or_resume():
    with pytest.raises(LetiError, match="save_total_limit.*LeTI keeps the last resumable state"):
        get_registry().trainer("hf", save_total_limit=3)
