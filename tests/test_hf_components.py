"""The hf sampler and trainer on a tiny random model built here."""

import json

import pytest

from leti_core import SPECIAL_TOKENS, LetiError, SamplingParams
from leti_core.app import get_registry


def test_prepare_adds_the_four_special_tokens_as_single_tokens(tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    for token in SPECIAL_TOKENS:
        assert tokenizer.tokenize(token) == [token]
    model = AutoModelForCausalLM.from_pretrained(tiny_base)
    assert model.get_input_embeddings().weight.shape[0] >= len(tokenizer)


def test_prepare_draws_the_new_embeddings_from_the_trainer_seed(tiny_model, tmp_path):
    """A run's start model is reproducible: the special tokens' rows depend on the seed alone, not
    on the process's random state (torch seeds each process at random)."""
    import torch
    from transformers import AutoModelForCausalLM

    def new_rows(seed: int, name: str) -> torch.Tensor:
        torch.manual_seed(len(name))  # a different global state for each call
        get_registry().trainer("hf", seed=seed).prepare(str(tiny_model), SPECIAL_TOKENS, tmp_path / name)
        model = AutoModelForCausalLM.from_pretrained(tmp_path / name)
        return model.get_input_embeddings().weight[-len(SPECIAL_TOKENS) :].detach()

    first, again, other = new_rows(3, "a"), new_rows(3, "bb"), new_rows(4, "ccc")
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_sampler_returns_n_raw_samples_per_prompt_in_order(tiny_base):
    sampler = get_registry().sampler("hf", batch_size=3)
    params = SamplingParams(n=2, temperature=1.0, max_tokens=48, seed=1)
    prompts = ['"""\nAdd.\n"""\n', "def f(x):", "# a comment\n"]
    groups = list(sampler.sample(str(tiny_base), prompts, params))
    assert [len(group) for group in groups] == [2, 2, 2]
    assert all(isinstance(text, str) for group in groups for text in group)
    # The budget counts the prompt: a prompt that fills it leaves nothing to generate.
    long_prompt = "x = 1\n" * 40
    assert list(sampler.sample(str(tiny_base), [long_prompt], params)) == [["", ""]]
    greedy = get_registry().sampler("hf")
    first, second = (
        list(greedy.sample(str(tiny_base), prompts[:1], SamplingParams(n=2, temperature=0, max_tokens=48)))[0]
        for _ in range(2)
    )
    assert first[0] == first[1] == second[0]


def test_trainer_reduces_loss_and_writes_a_reloadable_checkpoint(tiny_base, tmp_path):
    texts = ["<|good|>def add(a, b):\n    return a + b\n"] * 8
    trainer = get_registry().trainer(
        "hf", epochs=4, batch_size=4, micro_batch_size=2, learning_rate=3e-3, pretrain_mix=False
    )
    metrics = trainer.train(str(tiny_base), texts, tmp_path / "ck")
    assert metrics["feedback_steps"] == 8 and metrics["pretraining_steps"] == 0
    assert metrics["last_loss"] < metrics["first_loss"]
    assert (tmp_path / "ck" / "config.json").is_file() and not (tmp_path / "ck.partial").exists()
    mixed = get_registry().trainer("hf", epochs=1, batch_size=4, micro_batch_size=2, max_length=64)
    metrics = mixed.train(str(tmp_path / "ck"), texts, tmp_path / "ck2")
    assert metrics["feedback_steps"] == metrics["pretraining_steps"] == 2


def test_training_loss_sums_token_losses_over_the_global_token_count_without_recomputation(tiny_base, tmp_path):
    import torch
    from leti_hf.models import load_model, load_tokenizer
    from leti_hf.training import build_trainer

    options = get_registry().trainer("hf").options
    assert options.gradient_checkpointing is False
    sequences = [[5, 6, 7, 8, 9], [10, 11]]
    trainer = build_trainer(
        options,
        load_model(str(tiny_base)),
        load_tokenizer(str(tiny_base)),
        sequences,
        steps=1,
        micro=2,
        accumulation=1,
        state=tmp_path,
    )
    assert not trainer.args.gradient_checkpointing  # trl's default would recompute every layer
    assert not getattr(trainer.args, "activation_checkpointing", False)  # its newer name
    from trl import SFTConfig

    default_optimizer = SFTConfig.__dataclass_fields__["optim"].default  # fused AdamW from torch 2.8 on
    assert trainer.args.optim == default_optimizer
    assert trainer.create_optimizer().defaults.get("fused", False) == ("fused" in str(default_optimizer))
    batch = trainer.data_collator([{"input_ids": row} for row in sequences])
    model = trainer.model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=torch.tensor(9))
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    shifted = batch["labels"][:, 1:]
    summed = torch.nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), shifted.flatten(), ignore_index=-100, reduction="sum"
    )
    assert loss.item() == pytest.approx(summed.item() / 9, rel=1e-4)  # 9: the accumulated batch's token count


def test_every_global_batch_is_sorted_by_length_and_keeps_its_sequences():
    from leti_hf.batches import ordered_sequences

    feedback = [[1] * length for length in (5, 1, 4, 2, 3, 6)]
    code = [[2] * 8 for _ in range(6)]
    sequences, sources = ordered_sequences(feedback, code, global_batch=3, epochs=1, seed=0)
    assert sources == ["feedback", "pretraining"] * 2
    batches = [sequences[i : i + 3] for i in range(0, len(sequences), 3)]
    assert all([len(seq) for seq in batch] == sorted(len(seq) for seq in batch) for batch in batches)
    assert sorted(map(len, batches[0] + batches[2])) == [1, 2, 3, 4, 5, 6]


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(LetiError, match="model folder .* has no config.json"):
        get_registry().trainer("hf").prepare(str(tmp_path), SPECIAL_TOKENS, tmp_path / "out")
    with pytest.raises(LetiError, match="does not exist"):
        get_registry().trainer("hf").prepare(str(tmp_path / "m.gguf"), SPECIAL_TOKENS, tmp_path / "out")


def test_accelerate_launch_trains_on_two_cpu_processes(tiny_base, tmp_path):
    """The documented multi-GPU path, run on CPU: `accelerate launch -m leti_cli train ...`."""
    import subprocess
    import sys

    texts = tmp_path / "training.jsonl"
    texts.write_text("".join(json.dumps({"text": f"<|good|>x = {i}\n"}) + "\n" for i in range(8)))
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--cpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "leti_cli",
        "train",
        "--model",
        str(tiny_base),
        "--texts",
        str(texts),
        "--out",
        str(tmp_path / "ck"),
        "--metrics",
        str(tmp_path / "metrics.json"),
        "--trainer-options",
        json.dumps({"epochs": 1, "batch_size": 4, "micro_batch_size": 1, "pretrain_mix": False}),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["global_batch"] == 4 and metrics["steps"] == 2  # 2 processes x 1 x 2 accumulation
    assert (tmp_path / "ck" / "model.safetensors").is_file()
