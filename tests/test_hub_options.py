"""Hub options (revision, trust_remote_code, attn_implementation) reach every place a model loads:
a model whose repository carries its own code loads only when trust_remote_code is given, in the
hf sampler, in the trainer's preparation and through `leti eval`'s flag."""

from __future__ import annotations

import json
import shutil

import pytest

from leti_core import LetiError, SamplingParams
from leti_core.app import get_registry

from .conftest import assert_one_line_error, leti

CONFIGURATION = """from transformers import LlamaConfig


class RemoteConfig(LlamaConfig):
    model_type = "leti-remote"
"""
MODELING = """from transformers import LlamaForCausalLM

from .configuration_remote import RemoteConfig


class RemoteForCausalLM(LlamaForCausalLM):
    config_class = RemoteConfig
"""


@pytest.fixture
def remote_code_model(tiny_model, tmp_path):
    """The tiny model as a repository with code of its own (an auto_map to its files)."""
    folder = tmp_path / "remote"
    shutil.copytree(tiny_model, folder)
    (folder / "configuration_remote.py").write_text(CONFIGURATION)
    (folder / "modeling_remote.py").write_text(MODELING)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "leti-remote"
    config["auto_map"] = {
        "AutoConfig": "configuration_remote.RemoteConfig",
        "AutoModelForCausalLM": "modeling_remote.RemoteForCausalLM",
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.slow
def test_trust_remote_code_reaches_the_sampler_and_the_trainer(remote_code_model, tmp_path):
    registry = get_registry()
    params = SamplingParams(n=1, temperature=0, max_tokens=24)
    with pytest.raises(LetiError, match="trust_remote_code"):
        list(registry.sampler("hf", precision="fp32").sample(str(remote_code_model), ["def f("], params))
    sampler = registry.sampler("hf", precision="fp32", trust_remote_code=True)
    assert len(next(iter(sampler.sample(str(remote_code_model), ["def f("], params)))) == 1
    trainer = registry.trainer("hf", trust_remote_code=True, attn_implementation="eager")
    trainer.prepare(str(remote_code_model), ["<|good|>"], tmp_path / "base")
    assert json.loads((tmp_path / "base" / "config.json").read_text())["model_type"] == "leti-remote"


@pytest.mark.slow
def test_leti_eval_takes_the_flag(remote_code_model, mbpp_dir, tmp_path):
    common = ("eval", "--model", remote_code_model, "--data", mbpp_dir, "--problems", "1", "--samples", "1")
    refused = leti(*common, "--max-tokens", "64", "--out", tmp_path / "a")
    assert_one_line_error(refused, "trust_remote_code")
    done = leti(*common, "--max-tokens", "64", "--trust-remote-code", "--out", tmp_path / "b", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["postprocessed"]["samples"] == 1
