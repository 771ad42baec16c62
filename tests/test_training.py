"""The `hf` trainer the way trl and accelerate users expect: the trainer loads and saves the model,
SFTConfig is reachable, per-step logs reach TensorBoard, and DDP, FSDP and DeepSpeed ZeRO-3 on two
CPU processes write the checkpoint a single process writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from leti_core import LetiError
from leti_core.app import Resolver, build_config, get_registry, load_engine

from .conftest import assert_one_line_error, leti

ROOT = Path(__file__).resolve().parents[1]
TRAIN = {
    "epochs": 1,
    "batch_size": 4,
    "micro_batch_size": 1,
    "pretrain_mix": False,
    "learning_rate": 1e-3,
    "precision": "fp32",
}


def _texts(path: Path) -> Path:
    path.write_text("".join(json.dumps({"text": f"<|bad|>def f(x):\n    return x + {i}\n"}) + "\n" for i in range(8)))
    return path


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _launched(
    tiny_base: Path, texts: Path, out: Path, *launcher: str, **options: object
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        *launcher,
        "-m",
        "leti_hf.launched",
        "--model",
        str(tiny_base),
        "--texts",
        str(texts),
        "--out",
        str(out),
        "--options",
        json.dumps({**TRAIN, **options}),
        "--metrics",
        str(out.with_suffix(".json")),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)


ACCELERATE = [
    "-m",
    "accelerate.commands.launch",
    "--num_processes",
    "2",
    "--num_machines",
    "1",
    "--mixed_precision",
    "no",
    "--dynamo_backend",
    "no",
]


# The shipped ZeRO-3 config as it is, on two processes (DeepSpeed takes its CPU accelerator, over
# gloo, where there is no GPU).
ZERO3 = [
    *ACCELERATE[:2],
    "--config_file",
    str(ROOT / "configs/accelerate/deepspeed-zero3.yaml"),
    "--num_processes",
    "2",
]


def _skip_zero3_on_cpu_below_trl_1_10() -> None:
    """trl before 1.10 loads the model with device_map="auto" on CPU (on GPUs it passes None under
    DeepSpeed), which ZeRO-3 refuses ("DeepSpeed Zero-3 is not compatible with passing a `device_map`")."""
    import torch
    import trl
    from packaging.version import Version

    if Version(trl.__version__) < Version("1.10") and not torch.cuda.is_available():
        pytest.skip(f"ZeRO-3 on CPU needs trl >= 1.10 (device_map='auto' on CPU before it); trl {trl.__version__}")


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ddp", "fsdp", "zero3"])
def test_two_processes_write_the_checkpoint_one_process_writes(tiny_base, tmp_path, strategy):
    if strategy == "zero3":
        pytest.importorskip("deepspeed", reason="ZeRO-3 needs deepspeed: pip install 'leti[deepspeed]'")
        _skip_zero3_on_cpu_below_trl_1_10()
    texts = _texts(tmp_path / "texts.jsonl")
    # several processes take the model's own loss over whole logits; so does their reference
    whole_logits = {"loss_chunk_tokens": 0}
    single = _launched(tiny_base, texts, tmp_path / "single", **whole_logits)
    assert single.returncode == 0, single.stderr[-3000:]
    launcher = {
        "ddp": [*ACCELERATE, "--cpu"],
        "fsdp": [
            *ACCELERATE,
            "--use_fsdp",
            "--fsdp_version",
            "2",
            "--fsdp_state_dict_type",
            "FULL_STATE_DICT",
            "--fsdp_auto_wrap_policy",
            "NO_WRAP",
        ],
        "zero3": ZERO3,
    }[strategy]
    multi = _launched(tiny_base, texts, tmp_path / strategy, *launcher)
    assert multi.returncode == 0, multi.stderr[-3000:]
    one, two = _weights(tmp_path / "single"), _weights(tmp_path / strategy)
    assert set(one) == set(two)
    base = _weights(tiny_base)
    moved = max(float((one[name] - base[name]).abs().max()) for name in one if name in base)
    worst = max(float((one[name] - two[name]).abs().max()) for name in one)
    assert moved > 1e-4  # training changed the weights ...
    assert worst < 1e-5  # ... and both ran the same steps on the same data in the same order
    metrics = json.loads((tmp_path / f"{strategy}.json").read_text())
    assert metrics["steps"] == 2 and metrics["global_batch"] == 4


def test_sftconfig_fields_are_options_and_leti_owned_ones_are_refused():
    resolver = Resolver(load_engine().registry)
    config = build_config(
        resolver, {"trainer": "hf", "trainer_options": {"lr_scheduler_type": "cosine", "max_grad_norm": "0.5"}}
    )
    assert config.trainer_options == {"lr_scheduler_type": "cosine", "max_grad_norm": 0.5}
    assert get_registry().trainer("hf", **config.trainer_options).options.sft_options() == config.trainer_options
    with pytest.raises(LetiError, match="per_device_train_batch_size.*LeTI's to set.*micro_batch_size"):
        build_config(resolver, {"trainer": "hf", "trainer_options": {"per_device_train_batch_size": 8}})
    with pytest.raises(LetiError, match="takes no option .max_grad_norms."):
        build_config(resolver, {"trainer": "hf", "trainer_options": {"max_grad_norms": 0.1}})


def test_trainer_option_errors_come_before_any_model_is_loaded(tmp_path, mbpp_dir):
    out = tmp_path / "run"
    done = leti(
        "run",
        "--data",
        mbpp_dir,
        "--model",
        tmp_path / "missing.gguf",
        "--trainer-option",
        "num_train_epochs=2",
        "--out",
        out,
    )
    assert_one_line_error(done, "num_train_epochs", "LeTI's to set", "epochs")
    assert not out.exists()


@pytest.mark.slow
def test_each_steps_loss_reaches_tensorboard_and_the_summary_line(tiny_runs):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tiny_runs["textual"]
    summary = json.loads((run / "iteration-1" / "summary.json").read_text())
    events = EventAccumulator(str(run / "tensorboard" / "train-1"))
    events.Reload()
    losses = events.Scalars("train/loss")
    assert len(losses) == summary["training_steps"] and all(e.value > 0 for e in losses)
    assert "train/learning_rate" in events.Tags()["scalars"] and "train/tokens_per_second" in events.Tags()["scalars"]
    assert summary["training_loss"] == pytest.approx(sum(e.value for e in losses) / len(losses), rel=1e-3)


@pytest.mark.parametrize("checkpoint", ["merged", "adapter"])
def test_lora_through_trl_saves_merged_or_adapter_checkpoints(tiny_base, tmp_path, checkpoint):
    pytest.importorskip("peft")
    texts = [json.loads(line)["text"] for line in _texts(tmp_path / "t.jsonl").read_text().splitlines()]
    trainer = get_registry().trainer("hf", **{**TRAIN, "lora": True, "lora_rank": 4, "lora_checkpoint": checkpoint})
    metrics = trainer.train(str(tiny_base), texts, tmp_path / "ck")
    assert metrics["steps"] == 2 and metrics["tokens_per_second_after_first_step"] > 0
    files = {path.name for path in (tmp_path / "ck").iterdir()}
    if checkpoint == "merged":
        assert "config.json" in files and "adapter_config.json" not in files
        weights, base = _weights(tmp_path / "ck"), _weights(tiny_base)
        assert max(float((weights[name] - base[name]).abs().max()) for name in base) > 0
    else:
        assert "adapter_config.json" in files and "model.safetensors" not in files


def test_gradients_are_there_before_each_steps_activations_and_change_no_weight(tiny_base, tmp_path, monkeypatch):
    import torch
    from leti_hf import training
    from transformers import TrainerCallback

    present: list[bool] = []

    class AtStepBegin(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, **kwargs):
            present.append(all(p.grad is not None for p in model.parameters() if p.requires_grad))

    build = training.build_trainer

    def spied(*args, **kwargs):
        trainer = build(*args, **kwargs)
        trainer.add_callback(AtStepBegin())
        return trainer

    monkeypatch.setattr(training, "build_trainer", spied)
    texts = [json.loads(line)["text"] for line in _texts(tmp_path / "t.jsonl").read_text().splitlines()]
    weights = {}
    for first in (True, False):
        present.clear()
        trainer = get_registry().trainer("hf", **{**TRAIN, "gradients_first": first})
        metrics = trainer.train(str(tiny_base), texts, tmp_path / f"ck-{first}")
        assert present == [first] * int(metrics["steps"]) and len(present) >= 2
        weights[first] = _weights(tmp_path / f"ck-{first}")
    assert all(torch.equal(weights[True][name], weights[False][name]) for name in weights[False])
    assert any(not torch.equal(weights[True][name], _weights(tiny_base)[name]) for name in weights[True])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_chunked_loss_and_recomputed_activations_train_the_weights_the_models_own_loss_trains(
    tiny_base, tmp_path, monkeypatch, precision
):
    """The CPU defaults (the loss in chunks, norms and gated MLPs recomputed) change what a step keeps,
    not one bit of the trained weights."""
    import torch
    from leti_hf import training
    from leti_hf.recomputed_activations import recompute_activations

    recomputed: list[dict[str, int]] = []
    monkeypatch.setattr(
        training, "recompute_activations", lambda model: recomputed.append(recompute_activations(model))
    )
    texts = [json.loads(line)["text"] for line in _texts(tmp_path / "t.jsonl").read_text().splitlines()]
    weights = {}
    for name, options in {"defaults": {}, "own": {"loss_chunk_tokens": 0, "recompute_activations": False}}.items():
        trainer = get_registry().trainer("hf", **{**TRAIN, "precision": precision, "micro_batch_size": 2, **options})
        trainer.train(str(tiny_base), texts, tmp_path / name)
        weights[name] = _weights(tmp_path / name)
    assert len(recomputed) == 1  # in the defaults' training only
    assert recomputed[0]["norms"] > 0 and recomputed[0]["gated MLPs"] > 0
    assert all(torch.equal(weights["defaults"][name], weights["own"][name]) for name in weights["own"])
    assert any(not torch.equal(weights["own"][name], _weights(tiny_base)[name]) for name in weights["own"])


def test_the_rate_after_the_first_step_counts_only_the_later_steps(monkeypatch):
    from types import SimpleNamespace

    from leti_hf import training

    meter = training._TokensPerSecond([1000, 20, 30])
    clock = iter([5.0, 9.0, 10.0])
    monkeypatch.setattr(training.time, "monotonic", lambda: next(clock))
    for step in (1, 2):
        meter.on_step_end(None, SimpleNamespace(global_step=step), None)
    assert meter.after_first_step() == pytest.approx(20 / 4.0)
    meter.on_step_end(None, SimpleNamespace(global_step=3), None)
    assert meter.after_first_step() == pytest.approx((20 + 30) / 5.0)


def test_the_shipped_configs_are_valid_run_configs():
    from leti_core.app import read_config_file

    resolver = Resolver(load_engine().registry)
    configs = sorted((ROOT / "configs").glob("*.toml"))
    assert len(configs) >= 3
    for path in configs:
        build_config(resolver, read_config_file(path), source=path)
    for name in ("ddp", "fsdp", "deepspeed-zero3"):
        assert (ROOT / "configs" / "accelerate" / f"{name}.yaml").is_file()
