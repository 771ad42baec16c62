"""The `ct2` sampler against the real CTranslate2 engine, with the tiny model."""

from __future__ import annotations

import shutil

import pytest

from leti_core import LetiError, SamplingParams
from leti_core.app import Resolver, RunConfig, get_registry, postprocess

pytest.importorskip("ctranslate2", reason="CTranslate2 is not installed (pip install 'leti[ct2]')")

PROMPTS = ['"""\nAdd.\n"""\n', "def f(x):", "# a comment\n"]


@pytest.fixture
def base(tiny_base, tmp_path):
    """A private copy of the tiny checkpoint, so each test sees its own conversion cache."""
    copy = tmp_path / "base"
    shutil.copytree(tiny_base, copy, ignore=shutil.ignore_patterns("ctranslate2"))
    return copy


def test_conversion_is_cached_inside_the_checkpoint_and_reused(base):
    sampler = get_registry().sampler("ct2", batch_size=4)
    groups = list(sampler.sample(str(base), PROMPTS, SamplingParams(n=3, max_tokens=48)))
    assert [len(group) for group in groups] == [3, 3, 3]
    model_bin = base / "ctranslate2" / "model.bin"
    stamp = model_bin.stat().st_mtime_ns
    again = get_registry().sampler("ct2")
    list(again.sample(str(base), PROMPTS[:1], SamplingParams(max_tokens=48)))
    assert model_bin.stat().st_mtime_ns == stamp


def test_a_conversion_killed_halfway_is_done_again(base, monkeypatch):
    from leti_ct2 import convert

    real = convert._convert

    def killed(model, output, *hub):
        output.mkdir()
        (output / "config.json").write_text("{}")  # a partial conversion
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "_convert", killed)
    with pytest.raises(KeyboardInterrupt):
        convert.converted(str(base))
    assert not (base / "ctranslate2").exists()
    (base / ".ctranslate2.leftover").mkdir()  # what a SIGKILL leaves: a scratch folder, never the target
    monkeypatch.setattr(convert, "_convert", real)
    assert (convert.converted(str(base)) / "model.bin").is_file()


def test_greedy_float32_writes_what_hf_writes_in_fp32(base):
    ct2 = get_registry().sampler("ct2", compute_type="float32")
    hf = get_registry().sampler("hf", precision="fp32")
    greedy = SamplingParams(temperature=0, max_tokens=64)
    # one prompt a call: hf's budget counts the batch's padded prompt length, ct2's each prompt's own
    ours = [next(ct2.sample(str(base), [prompt], greedy))[0] for prompt in PROMPTS]
    theirs = [next(hf.sample(str(base), [prompt], greedy))[0] for prompt in PROMPTS]
    assert ours == theirs
    assert any(ours)  # something was generated


def test_the_budget_counts_the_prompt_per_sequence(base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    sampler = get_registry().sampler("ct2")
    prompts = ["x = 1\n" * 10, "y"]  # one prompt leaves a small budget, the other a large one
    budgets = [60 - len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) for prompt in prompts]
    assert 0 < budgets[0] < budgets[1]
    list(sampler.sample(str(base), prompts, SamplingParams(n=2, max_tokens=60)))
    # each sequence stops at its own budget: the long prompt's does not cap the short one's
    assert 2 * budgets[0] + budgets[1] < sampler.stats["generated_tokens"] <= 2 * sum(budgets)
    assert list(sampler.sample(str(base), ["x = 1\n" * 60], SamplingParams(max_tokens=60))) == [[""]]


def test_stop_words_end_each_sample_on_its_own(base):
    sampler = get_registry().sampler("ct2")
    full = [group for group in sampler.sample(str(base), PROMPTS, SamplingParams(n=4, max_tokens=200))]
    stop = ["\n", "e"]
    stopped = [
        group
        for group in get_registry()
        .sampler("ct2")
        .sample(str(base), PROMPTS, SamplingParams(n=4, max_tokens=200, stop=tuple(stop)))
    ]
    generated = lambda groups: sum(len(text) for group in groups for text in group)  # noqa: E731
    assert generated(stopped) < generated(full)
    for group in stopped:
        for text in group:  # nothing generated beyond the first stop word (plus its token)
            cut = postprocess(text, stop)
            assert len(text) - len(cut) <= 8


def test_not_chosen_by_default_and_a_gguf_file_is_refused(tmp_path):
    # measured slower than hf in bf16 on CPUs with AMX (benchmarks/sampler_throughput.py)
    assert Resolver(get_registry()).name("sampler", RunConfig()) == "hf"
    from leti_ct2.convert import converted

    with pytest.raises(LetiError, match="GGUF"):
        converted(str(tmp_path / "model.gguf"))
