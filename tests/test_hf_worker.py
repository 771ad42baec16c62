"""The hf plugin's process of its own: sampling and preparing there give what they give here, its
errors come back as one line, and the calling process never loads torch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from safetensors.numpy import load_file

from leti_core import SPECIAL_TOKENS, LetiError, SamplingParams

PROMPTS = ["def add(a, b):", "import re\n", "class Stack:"]
PARAMS = SamplingParams(n=2, temperature=1.0, top_p=0.95, max_tokens=48, seed=7)


def _sampled_here(model: str, prompts: list[str] = PROMPTS) -> tuple[list[list[str]], dict[str, int]]:
    from leti_hf.sampler import HFSampler

    with HFSampler(process="this") as sampler:
        return list(sampler.sample(model, prompts, PARAMS)), sampler.stats


def test_sampling_in_its_own_process_gives_the_same_completions_and_leaves_torch_out(tiny_base):
    script = textwrap.dedent(
        f"""
        import json, sys
        from leti_core import SamplingParams
        from leti_hf.sampler import HFSampler

        params = SamplingParams.model_validate_json({PARAMS.model_dump_json()!r})
        ticks = []
        sampler = HFSampler(process="own")
        chat = sampler.render_chat({str(tiny_base)!r}, ["say hi"])
        groups = list(sampler.sample({str(tiny_base)!r}, {PROMPTS!r}, params, progress=ticks.append))
        again = list(sampler.sample({str(tiny_base)!r}, {PROMPTS[:1]!r}, params))
        sampler.close()
        print(json.dumps({{"groups": groups, "again": again, "stats": sampler.stats, "ticks": ticks,
                          "chat": chat, "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    from leti_hf.sampler import HFSampler

    groups, stats = _sampled_here(str(tiny_base))
    first_groups, first = _sampled_here(str(tiny_base), PROMPTS[:1])
    assert got["groups"] == groups and got["again"] == first_groups
    assert not got["torch"] and not got["transformers"]
    assert sum(got["ticks"]) == len(PROMPTS) * PARAMS.n  # a progress call per finished sequence
    # the counters of both calls, added up in the calling process
    assert got["stats"] == {key: stats[key] + first[key] for key in stats}
    assert got["stats"]["sequences"] == (len(PROMPTS) + 1) * PARAMS.n
    with HFSampler(process="this") as sampler:
        assert got["chat"] == sampler.render_chat(str(tiny_base), ["say hi"])


def test_an_error_in_the_process_is_the_same_one_line_error_here(tmp_path):
    from leti_hf.sampler import HFSampler

    folder = tmp_path / "not-a-checkpoint"
    folder.mkdir()
    with HFSampler(process="own") as sampler:
        with pytest.raises(LetiError, match=rf"^model folder {folder} has no config\.json") as raised:
            list(sampler.sample(str(folder), PROMPTS, PARAMS))
        assert "\n" not in str(raised.value)


def test_a_sampling_process_killed_between_calls_is_replaced_by_the_next_call(tiny_base):
    from leti_hf.sampler import HFSampler

    groups, _ = _sampled_here(str(tiny_base))
    with HFSampler(process="own") as sampler:
        sampler.render_chat(str(tiny_base), ["hi"])
        process = sampler._worker._process
        os.kill(process.pid, signal.SIGKILL)  # what the out-of-memory killer does, between calls
        process.wait()
        assert list(sampler.sample(str(tiny_base), PROMPTS, PARAMS)) == groups
        assert sampler._worker._process is not process


def test_a_stream_left_unfinished_ends_the_process_and_the_next_call_starts_clean(tiny_base):
    from leti_hf.sampler import HFSampler

    groups, _ = _sampled_here(str(tiny_base))
    with HFSampler(process="own") as sampler:
        stream = sampler.sample(str(tiny_base), PROMPTS, PARAMS)
        next(stream)
        process = sampler._worker._process
        stream.close()
        assert process.poll() is not None
        assert list(sampler.sample(str(tiny_base), PROMPTS, PARAMS)) == groups


def test_close_ends_the_process(tiny_base):
    from leti_hf.sampler import HFSampler

    sampler = HFSampler(process="own")
    sampler.render_chat(str(tiny_base), ["hi"])
    process = sampler._worker._process
    assert process.poll() is None
    sampler.close()
    assert process.poll() == 0


def test_preparing_in_its_own_process_writes_the_checkpoint_this_process_writes(tiny_model, tmp_path, monkeypatch):
    from leti_hf import placement

    from leti_core import worker
    from leti_core.app import get_registry

    trainer = get_registry().trainer("hf")
    trainer.prepare(str(tiny_model), SPECIAL_TOKENS, tmp_path / "here")
    monkeypatch.setattr(placement, "MIN_WEIGHT_BYTES", 0)  # the tiny model now counts as large
    started = []
    monkeypatch.setattr(worker, "Worker", _recording(worker.Worker, started))
    trainer.prepare(str(tiny_model), SPECIAL_TOKENS, tmp_path / "there")
    assert started == ["the hf trainer's preparing process"]
    here, there = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("here", "there"))
    assert here.keys() == there.keys() and all((here[key] == there[key]).all() for key in here)
    assert (tmp_path / "here" / "tokenizer.json").read_text() == (tmp_path / "there" / "tokenizer.json").read_text()


def _recording(worker_class, started):
    class Recording(worker_class):
        def __init__(self, name, *args):
            started.append(name)
            super().__init__(name, *args)

    return Recording


@pytest.mark.parametrize(
    ("choice", "size", "expected"),
    [
        ("auto", None, True),
        ("auto", 60 * 2**20, True),
        ("auto", 2**20, False),
        ("own", 2**20, True),
        ("this", None, False),
    ],
)
def test_which_models_get_a_process_of_their_own(tmp_path, choice, size, expected):
    from leti_hf.placement import in_own_process

    model = tmp_path / "model"
    if size is None:
        model = tmp_path / "model.gguf"  # a file: its size is not a checkpoint's weights
    else:
        model.mkdir()
        with (model / "model.safetensors").open("wb") as file:
            file.truncate(size)
    assert in_own_process(choice, str(model)) is expected


def test_the_training_device_is_asked_without_loading_torch_here():
    script = (
        "import json, sys\n"
        "from leti_hf.trainer import _on_cpu\n"
        "on_cpu = _on_cpu()\n"
        "loaded = 'torch' in sys.modules\n"
        "import torch\n"
        "print(json.dumps([on_cpu, loaded, not torch.cuda.is_available()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    on_cpu, loaded, no_cuda = json.loads(done.stdout.strip().splitlines()[-1])
    assert on_cpu == no_cuda and not loaded
