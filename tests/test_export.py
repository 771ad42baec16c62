"""`leti export`: a run's checkpoint as a plain transformers folder with a model card, published
with a test double of huggingface_hub's upload API (the hub is not reachable from the tests)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from leti_core import GOOD, RunFolder
from leti_core.app import get_registry

from .conftest import assert_one_line_error, leti


@pytest.fixture(scope="module")
def exported(tiny_runs):
    run = tiny_runs["binary"]
    done = leti("export", run)
    assert done.returncode == 0, done.stderr[-3000:]
    return run, RunFolder(run).export_folder(1)


def test_an_exported_tiny_run_loads_and_samples_with_transformers_alone(exported):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run, folder = exported
    assert folder == run / "export" / "iteration-1"
    assert (folder / "config.json").is_file() and not (folder / "training_args.bin").exists()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert GOOD in tokenizer.get_added_vocab()
    inputs = tokenizer(GOOD + "def add(a, b):\n", return_tensors="pt", add_special_tokens=False)
    torch.manual_seed(0)
    output = model.generate(**inputs, max_new_tokens=8, do_sample=True, pad_token_id=tokenizer.pad_token_id)
    assert output.shape[1] > inputs["input_ids"].shape[1]
    trained = AutoModelForCausalLM.from_pretrained(run / "iteration-1" / "checkpoint")
    for name, weight in trained.state_dict().items():
        assert torch.equal(weight, model.state_dict()[name]), name


def test_the_model_card_has_the_recipe_the_figures_and_the_reward_token(exported):
    run, folder = exported
    card = (folder / "README.md").read_text()
    summary = json.loads((run / "iteration-1" / "summary.json").read_text())
    assert card.startswith("---\nlibrary_name: transformers\n")
    assert f"`{GOOD}`" in card and "begin every prompt with" in card
    assert "| feedback | `binary` (feedback) |" in card and "| iterations | 1 of the run's 1 |" in card
    raw = summary["held_out"]["raw"]["pass_at"]["pass@1"]
    assert f"pass@1 {raw:.3f}" in card and "**1** (this model)" in card
    marker = json.loads((folder / "leti_export.json").read_text())
    assert marker["iteration"] == 1 and marker["provenance"]["components"]["feedback"] == "binary"
    snippet = card.split("```python\n", 1)[1].split("\n```", 1)[0]
    assert f"model_id = {str(folder)!r}" in snippet
    exec(compile(snippet, "README.md", "exec"), {})  # the card's own way to prompt the model runs


def test_push_to_hub_creates_the_repo_and_uploads_the_folder(exported, monkeypatch, tmp_path):
    import huggingface_hub

    from leti_cli.main import cli

    calls = []

    class Commit:
        commit_url = "https://huggingface.co/someone/tiny-leti/commit/abc"

    def create_repo(repo_id, **kwargs):
        calls.append(("create", repo_id, kwargs))

    def upload_folder(**kwargs):
        calls.append(("upload", kwargs["repo_id"], sorted(p.name for p in tmp_path.joinpath("out").iterdir())))
        return Commit()

    monkeypatch.setattr(huggingface_hub, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub, "upload_folder", upload_folder)
    run, _ = exported
    result = CliRunner().invoke(
        cli, ["export", str(run), "--out", str(tmp_path / "out"), "--push-to-hub", "someone/tiny-leti", "--private"]
    )
    assert result.exit_code == 0, result.output
    assert calls[0] == ("create", "someone/tiny-leti", {"repo_type": "model", "private": True, "exist_ok": True})
    assert calls[1][:2] == ("upload", "someone/tiny-leti") and {"README.md", "config.json"} <= set(calls[1][2])
    assert "published: https://huggingface.co/someone/tiny-leti/commit/abc" in result.output
    assert "`someone/tiny-leti`" in (tmp_path / "out" / "README.md").read_text()


def test_export_refuses_a_folder_it_did_not_write_and_push_to_hub_as_a_trainer_option(tiny_runs, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    done = leti("export", tiny_runs["binary"], "--out", tmp_path / "mine")
    assert_one_line_error(done, "holds files that no `leti export` wrote")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    done = leti("train", "--model", "m", "--texts", tmp_path / "t.jsonl", "--out", tmp_path / "ck",
                "--trainer-option", "push_to_hub=true")  # fmt: skip
    assert_one_line_error(done, "'push_to_hub'", "leti export RUN --push-to-hub REPO")


def test_lora_adapters_are_merged_into_a_plain_model(tiny_base, tmp_path):
    pytest.importorskip("peft")
    import torch
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    trainer = get_registry().trainer(
        "hf", epochs=1, batch_size=2, micro_batch_size=2, pretrain_mix=False, max_length=64, precision="fp32",
        lora=True, lora_rank=4, lora_checkpoint="adapter", save_steps=0,
    )  # fmt: skip
    trainer.train(str(tiny_base), ["def f(x):\n    return x\n"] * 2, tmp_path / "ck")
    assert (tmp_path / "ck" / "adapter_config.json").is_file()
    trainer.export(tmp_path / "ck", tmp_path / "plain")
    assert (tmp_path / "plain" / "config.json").is_file() and not (tmp_path / "plain" / "adapter_config.json").exists()
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "plain")
    merged = AutoPeftModelForCausalLM.from_pretrained(tmp_path / "ck").merge_and_unload()
    ids = torch.tensor([[1, 2, 3, 4]])
    assert torch.allclose(plain(ids).logits, merged(ids).logits, atol=1e-5)
