"""A third-party sampler that declares only its engine settings gets each call's SamplingParams,
installed (an entry point on the path) and run by `leti run` with the tiny model."""

import json
import os

import pytest

from .conftest import assert_one_line_error, leti

PLUGIN = '''
"""A sampler outside LeTI: transformers' generate, one prompt at a time, logging what it is asked."""
from pydantic import Field

from leti_core import LetiError, Sampler, SamplerOptions, hookimpl


class RecordingSampler(Sampler):
    name = "recording"

    class Options(SamplerOptions):
        log: str = Field(description="file each call's SamplingParams are appended to")

    def check(self, params):
        if params.top_p < 1:
            raise LetiError("sampler 'recording' cannot sample a nucleus (top_p): leave --top-p at 1")

    def sample(self, model, prompts, params, progress=None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        with open(self.options.log, "a", encoding="utf-8") as log:
            log.write(params.model_dump_json() + "\\n")
        tokenizer = AutoTokenizer.from_pretrained(model)
        network = AutoModelForCausalLM.from_pretrained(model)
        torch.manual_seed(params.random_seed)
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
            budget = params.max_tokens - ids["input_ids"].shape[1]
            texts = []
            for _ in range(params.n):
                if budget <= 0:
                    texts.append("")
                    continue
                out = network.generate(**ids, max_new_tokens=budget, do_sample=params.temperature > 0,
                                       temperature=params.temperature or None, top_k=0,
                                       pad_token_id=tokenizer.pad_token_id)
                texts.append(tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=False))
            if progress is not None:
                progress(params.n)
            yield texts


@hookimpl
def leti_register_samplers(register):
    register("recording", RecordingSampler, "transformers' generate, logging each call's parameters")
'''


@pytest.fixture
def installed(tmp_path):
    """The plugin as pip would leave it: its module, and a distribution naming its entry point."""
    site = tmp_path / "site"
    (site / "leti_recording-0.1.dist-info").mkdir(parents=True)
    (site / "leti_recording.py").write_text(PLUGIN)
    (site / "leti_recording-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: leti-recording\nVersion: 0.1\n"
    )
    (site / "leti_recording-0.1.dist-info" / "entry_points.txt").write_text("[leti]\nrecording = leti_recording\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow
def test_a_third_party_sampler_gets_the_runs_sampling_params(installed, tiny_model, mbpp_dir, tmp_path):
    log = tmp_path / "calls.jsonl"
    done = leti(
        "run",
        "--data",
        mbpp_dir,
        "--model",
        tiny_model,
        "--sampler",
        "recording",
        "--sampler-option",
        f"log={log}",
        "--problems",
        "2",
        "--samples",
        "2",
        "--temperature",
        "0.7",
        "--max-tokens",
        "80",
        "--seed",
        "5",
        "--eval-problems",
        "1",
        "--eval-samples",
        "1",
        "--eval-temperature",
        "0",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--out",
        tmp_path / "run",
        env=installed,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    train, held_out = (json.loads(line) for line in log.read_text().splitlines())
    assert (train["n"], train["temperature"], train["max_tokens"], train["seed"]) == (2, 0.7, 80, 5)
    assert (held_out["n"], held_out["temperature"], held_out["max_tokens"]) == (1, 0.0, 80)
    assert train["stream"] is not None and "\nassert" in held_out["stop"]  # held-out samples end at MBPP's stop words
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["sampler_options"] == {"log": str(log)} and config["max_tokens"] == 80
    summary = json.loads((tmp_path / "run" / "iteration-1" / "summary.json").read_text())
    assert summary["samples"] == 4


def test_a_parameter_the_sampler_cannot_honour_stops_the_run_before_any_work(installed, tiny_model, mbpp_dir, tmp_path):
    done = leti(
        "run",
        "--data",
        mbpp_dir,
        "--model",
        tiny_model,
        "--sampler",
        "recording",
        "--sampler-option",
        f"log={tmp_path / 'calls.jsonl'}",
        "--top-p",
        "0.9",
        "--out",
        tmp_path / "run",
        env=installed,
    )
    assert_one_line_error(done, "sampler 'recording' cannot sample a nucleus (top_p)")
    assert not (tmp_path / "calls.jsonl").exists() and not (tmp_path / "run").exists()
