"""Training in a process of its own with tcmalloc preloaded: the same weights as in this process,
progress relayed to the caller, and the choice made (and refused) as the options say."""

from __future__ import annotations

import json
import resource
import threading
import time

import pytest
from leti_hf.allocator import find_tcmalloc

from leti_core import LetiError
from leti_core.app import get_registry

from .test_training import TRAIN, _texts, _weights

TCMALLOC = pytest.mark.skipif(
    find_tcmalloc() is None,
    reason="tcmalloc is not installed (scripts/setup installs it where it may use apt)",
)


def _train(tiny_base, tmp_path, name: str, calls: list, **options):
    texts = [json.loads(line)["text"] for line in _texts(tmp_path / "t.jsonl").read_text().splitlines()]
    trainer = get_registry().trainer("hf", **{**TRAIN, **options})
    return trainer.train(str(tiny_base), texts, tmp_path / name, progress=lambda n, **extra: calls.append((n, extra)))


@TCMALLOC
def test_a_training_with_tcmalloc_in_its_own_process_writes_the_weights_of_one_in_process(tiny_base, tmp_path, capfd):
    import torch

    here: list = []
    apart: list = []
    in_process = _train(tiny_base, tmp_path, "here", here, allocator="system")
    capfd.readouterr()
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    own_process = _train(tiny_base, tmp_path, "apart", apart, allocator="tcmalloc")
    printed = capfd.readouterr()
    assert "training: in a process of its own with libtcmalloc" in printed.err
    # what the training process's libraries print on their stdout (DeepSpeed's "Setting
    # accelerator to CPU", where installed) comes through this process's stderr: stdout carries
    # the command's results
    assert printed.out == ""
    # the training ran in a child: its CPU time is a child's (importing torch alone takes seconds)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - children_cpu > 1.0

    weights, reference = _weights(tmp_path / "apart"), _weights(tmp_path / "here")
    assert weights.keys() == reference.keys()
    assert all(torch.equal(weights[name], reference[name]) for name in reference)
    assert own_process["tokens"] == in_process["tokens"] and own_process["steps"] == in_process["steps"]
    assert own_process["train_loss"] == pytest.approx(in_process["train_loss"], abs=1e-6)
    # the same progress reached the caller: the total first, in tokens, then every micro-batch's tokens
    assert apart == here
    assert apart[0] == (0, {"total": in_process["tokens"], "unit": "tokens"})
    assert sum(n for n, _ in apart[1:]) == in_process["tokens"] and len(apart) > 2


def test_auto_trains_a_small_model_in_this_process(tiny_base, tmp_path, capfd):
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    metrics = _train(tiny_base, tmp_path, "ck", [], allocator="auto")
    assert metrics["steps"] >= 1
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - children_cpu < 0.5
    assert "training: in" not in capfd.readouterr().err


def test_choosing_tcmalloc_where_it_is_missing_is_a_one_line_error(tiny_base, tmp_path, monkeypatch):
    from leti_hf import allocator

    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: None)
    with pytest.raises(LetiError, match=r"allocator=tcmalloc, but no tcmalloc library is installed .*libtcmalloc"):
        _train(tiny_base, tmp_path, "ck", [], allocator="tcmalloc")
    assert not (tmp_path / "ck").exists()


def test_auto_preloads_tcmalloc_on_cpu_for_large_weights_only(tmp_path, monkeypatch):
    from leti_hf import allocator, placement

    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: "libtcmalloc_minimal.so.4")
    large, small = tmp_path / "large", tmp_path / "small"
    for folder, size in ((large, placement.MIN_WEIGHT_BYTES), (small, placement.MIN_WEIGHT_BYTES - 1)):
        folder.mkdir()
        with (folder / "model.safetensors").open("wb") as file:
            file.truncate(size)  # sparse: the size is what counts
    assert allocator.training_preload("auto", str(large), on_cpu=lambda: True)[0] == "libtcmalloc_minimal.so.4"

    def never() -> bool:  # small weights decide without asking the device (which imports torch)
        raise AssertionError("the device was asked")

    assert allocator.training_preload("auto", str(small), on_cpu=never) == (None, None)
    assert allocator.training_preload("system", str(large), on_cpu=never) == (None, None)
    assert allocator.training_preload("auto", str(large), on_cpu=lambda: False) == (None, None)
    assert allocator.training_preload("system", str(large), on_cpu=lambda: True) == (None, None)
    monkeypatch.setenv("LD_PRELOAD", "/opt/lib/libjemalloc.so.2")  # the user's own allocator is kept
    assert allocator.training_preload("auto", str(large), on_cpu=lambda: True) == (None, None)
    monkeypatch.delenv("LD_PRELOAD")
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: None)
    library, why = allocator.training_preload("auto", str(large), on_cpu=lambda: True)
    assert library is None and "apt install libtcmalloc-minimal4" in why


def test_progress_lines_reach_a_callback_that_only_counts_while_the_writer_writes(tmp_path):
    from leti_hf.progress_relay import ProgressFollower, ProgressWriter

    counted: list[int] = []
    follower = ProgressFollower(tmp_path / "progress.jsonl", counted.append)  # takes no keywords
    writer = ProgressWriter(follower.path)

    def write() -> None:
        writer(0, total=30, unit="tokens")
        for n in (10, 12, 8):
            time.sleep(0.05)
            writer(n)

    thread = threading.Thread(target=write)
    thread.start()
    deadline = time.monotonic() + 10
    while len(counted) < 2 and time.monotonic() < deadline:  # lines arrive while the writer goes on
        time.sleep(0.01)
    thread.join()
    follower.close()
    assert counted == [0, 10, 12, 8]


def test_a_training_process_stopped_by_ctrl_c_exits_130_without_a_traceback(tmp_path, monkeypatch, capsys):
    from leti_hf import launched
    from leti_hf.trainer import HFTrainer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(HFTrainer, "train", interrupted)
    texts = tmp_path / "t.jsonl"
    texts.write_text('{"text": "x"}\n')
    assert launched.main(["--model", "m", "--texts", str(texts), "--out", str(tmp_path / "ck")]) == 130
    assert capsys.readouterr().err == ""  # the leti process says it was interrupted, once
