"""Compiling once per machine: the decision from the tokens to train and the CPU kind, the cache folder,
the marker, and the decoder compiled layer by layer, alone and in a training."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
import torch._inductor.config as inductor_config  # imported (it looks for its cache) before the test sets one
from leti_hf.compiling import (
    CACHE_VARIABLE,
    CompileCosts,
    cache_dir,
    cache_key,
    compile_decoder,
    decide,
    is_warm,
    mark_warm,
    measured_costs,
)
from torch._dynamo.utils import counters
from torch._inductor.runtime.cache_dir_utils import cache_dir as inductor_cache_dir
from transformers import LlamaConfig

from leti_core.app import get_registry

from .test_hf_chunked_loss import _model
from .test_training import TRAIN, _texts

COSTS = CompileCosts(eager_tokens_per_second=100.0, speedup=2.0, cold_seconds=300.0, warm_seconds=30.0)


def test_compiling_pays_only_for_enough_tokens_and_sooner_with_a_warm_cache() -> None:
    parameters = int(COSTS.parameters)
    # 100 tok/s eager, 200 compiled: compiling saves tokens / 200 seconds against its cost
    assert decide(59_000, parameters, warm=False, costs=COSTS)[0] is False  # saves 295 s < 300
    assert decide(61_000, parameters, warm=False, costs=COSTS)[0] is True
    assert decide(5_000, parameters, warm=True, costs=COSTS)[0] is False  # saves 25 s < 30
    assert decide(7_000, parameters, warm=True, costs=COSTS)[0] is True
    chosen, eager, compiled = decide(100_000, parameters, warm=True, costs=COSTS)
    assert (chosen, eager, compiled) == (True, 1000.0, 530.0)


def test_a_model_ten_times_smaller_trains_ten_times_faster_so_compiling_pays_later() -> None:
    small = int(COSTS.parameters / 10)
    assert decide(61_000, small, warm=False, costs=COSTS)[0] is False
    assert decide(610_000, small, warm=False, costs=COSTS)[0] is True


def test_compiling_pays_for_a_main_command_with_amx_and_never_without() -> None:
    main_command = 319_602  # the README's main command's training tokens
    assert decide(main_command, 134_515_008, warm=False, costs=measured_costs(amx=True))[0] is True
    for tokens in (50_000, main_command, 10**9):
        for warm in (False, True):
            assert decide(tokens, 134_515_008, warm, costs=measured_costs(amx=False))[0] is False


def test_inductor_caches_into_letis_cache_folder_unless_the_user_chose_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, "")  # restored afterwards, as cache_dir() sets it
    monkeypatch.setenv("LETI_CACHE", str(tmp_path / "leti"))
    folder = cache_dir()
    assert folder == tmp_path / "leti" / "torch-compile"
    assert Path(inductor_cache_dir()) == folder
    assert inductor_config.fx_graph_cache
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_the_cache_is_warm_after_a_compiled_training_of_the_same_graph(tmp_path: Path) -> None:
    config = LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, vocab_size=100)
    key = cache_key(config, {"bf16": True})
    assert key == cache_key(LlamaConfig(**config.to_dict()), {"bf16": True})
    assert key != cache_key(config, {"bf16": False})
    assert key != cache_key(LlamaConfig(**(config.to_dict() | {"num_hidden_layers": 3})), {"bf16": True})
    assert not is_warm(tmp_path, key)
    mark_warm(tmp_path, key)
    assert is_warm(tmp_path, key)


def test_a_decoder_is_compiled_layer_by_layer_into_one_shared_code_that_computes_as_eager(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "inductor"))
    eager = _model()  # two layers of one class
    compiled = copy.deepcopy(eager)
    torch._dynamo.reset()
    counters.clear()
    compile_decoder(compiled.model)
    # nn.Module.compile keeps the compiled call on the module: on each layer, not on the whole decoder
    assert all(layer._compiled_call_impl is not None for layer in compiled.model.layers)
    assert compiled.model._compiled_call_impl is None
    assert list(compiled.state_dict()) == list(eager.state_dict())  # checkpoints keep their names

    ids = torch.randint(0, 300, (2, 9))
    losses = [model(input_ids=ids, labels=ids, use_cache=False).loss for model in (eager, compiled)]
    for loss in losses:
        loss.backward()
    compiled(input_ids=ids[:, :5], use_cache=False)  # another length, as micro-batches have
    assert counters["stats"]["unique_graphs"] == 1  # two layers and two lengths, one traced graph
    assert torch.allclose(losses[0], losses[1], atol=1e-5)
    for (name, mine), theirs in zip(compiled.named_parameters(), eager.parameters(), strict=True):
        assert torch.allclose(mine.grad, theirs.grad, atol=1e-5), name


def test_a_compiled_training_trains_as_an_eager_one_and_leaves_its_cache_warm(
    tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, "")  # restored afterwards, as cache_dir() sets it
    monkeypatch.setenv("LETI_CACHE", str(tmp_path / "leti"))
    texts = [json.loads(line)["text"] for line in _texts(tmp_path / "t.jsonl").read_text().splitlines()]
    metrics = {}
    for compiled in (False, True):
        trainer = get_registry().trainer("hf", **TRAIN, allocator="system", compile=compiled)
        metrics[compiled] = trainer.train(str(tiny_base), texts, tmp_path / f"compiled-{compiled}")
    assert "training: compiling (compile=true)" in capfd.readouterr().err
    assert (metrics[False]["compiled"], metrics[True]["compiled"]) == (0.0, 1.0)
    assert metrics[True]["train_loss"] == pytest.approx(metrics[False]["train_loss"], abs=1e-4)
    # the compiled training, not the eager one, marked its graph's cache warm for the next training
    assert len(list((tmp_path / "leti" / "torch-compile" / "leti-compiled").iterdir())) == 1
