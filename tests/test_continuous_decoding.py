"""Continuous batching in the hf sampler, against transformers' generate on a tiny random model."""

import pytest
import torch

from leti_core import SamplingParams
from leti_core.app import get_registry

PROMPTS = [
    '"""\nAdd two numbers.\n"""\n',
    "def f(x):",
    "# a longer prompt, so that it arrives wider than the batch it joins\n" * 2,
    "import re\n",
    "class Stack:\n    def push(self, item):",
]


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    tokenizer.padding_side = "left"
    return AutoModelForCausalLM.from_pretrained(tiny_base).eval(), tokenizer


def generated_alone(model, tokenizer, prompt: str, max_tokens: int) -> list[int]:
    """Greedy tokens of ``prompt`` on its own (no padding, no neighbours), up to EOS."""
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    output = model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        max_new_tokens=max_tokens - ids.shape[1],
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )[0, ids.shape[1] :].tolist()
    return output[: output.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in output else output


def test_refilled_slots_decode_what_each_prompt_decodes_alone(model_and_tokenizer, monkeypatch):
    from leti_hf import continuous
    from leti_hf.slot_cache import SlotCache, WindowLayer

    model, tokenizer = model_and_tokenizer
    calls = {"pad_left": 0, "trim_left": 0}
    for name in calls:
        original = getattr(SlotCache, name)

        def counted(self, columns, original=original, name=name):
            calls[name] += 1
            return original(self, columns)

        monkeypatch.setattr(SlotCache, name, counted)
    monkeypatch.setattr(continuous, "TRIM_COLUMNS", 2)
    layers, moves = [], []
    original_init, original_move = WindowLayer.__init__, WindowLayer._move

    def recorded_init(self, *args):
        original_init(self, *args)
        layers.append((self, [buffer.data_ptr() for buffer in self._buffers]))

    def recorded_move(self, start):
        moves.append(start)
        original_move(self, start)

    monkeypatch.setattr(WindowLayer, "__init__", recorded_init)
    monkeypatch.setattr(WindowLayer, "_move", recorded_move)
    alone = [generated_alone(model, tokenizer, prompt, 120) for prompt in PROMPTS]
    for stop in ((), ("e",)):  # long sequences; short ones, so that a wider prompt joins a narrower batch
        decoder = continuous.ContinuousDecoder(
            model, tokenizer, slots=2, max_tokens=120, choose=continuous.chooser(0.0, 1.0), stop=stop
        )
        with torch.inference_mode():
            finished = list(decoder.decode(PROMPTS * 2))
        assert sorted(index for index, _ in finished) == list(range(2 * len(PROMPTS)))
        for index, tokens in finished:
            expected = alone[index % len(PROMPTS)]
            assert tokens == (expected[: len(tokens)] if stop else expected), (stop, index)
    # The runs went through every way a slot changes: a wider prompt joining, unused columns dropped, the
    # window moved back to the start of its buffer.
    assert calls["pad_left"] > 0 and calls["trim_left"] > 0 and moves
    # ... and no layer's buffers were ever allocated again: one cache per decode, as wide as it will ever need.
    assert len(layers) == 2 * model.config.num_hidden_layers
    assert all([buffer.data_ptr() for buffer in layer._buffers] == pointers for layer, pointers in layers)


def test_a_stop_word_ends_its_sequence_at_the_token_that_completes_it(model_and_tokenizer):
    from leti_hf.continuous import ContinuousDecoder, chooser

    model, tokenizer = model_and_tokenizer
    full = generated_alone(model, tokenizer, PROMPTS[1], 120)
    text = tokenizer.decode(full)
    word = text[len(text) // 2 : len(text) // 2 + 2]
    decoder = ContinuousDecoder(model, tokenizer, slots=3, max_tokens=120, choose=chooser(0.0, 1.0), stop=[word])
    with torch.inference_mode():
        ((_, tokens),) = decoder.decode(PROMPTS[1:2])
    assert tokens == full[: len(tokens)]
    assert word in tokenizer.decode(tokens) and word not in tokenizer.decode(tokens[:-1])


def test_draw_follows_the_probabilities_and_never_picks_an_impossible_token():
    from leti_hf.continuous import draw

    torch.manual_seed(0)
    probabilities = torch.tensor([[0.5, 0.0, 0.3, 0.2, 0.0]], dtype=torch.float64).repeat(100_000, 1)
    counts = torch.bincount(draw(probabilities), minlength=5) / 100_000
    assert counts[1] == counts[4] == 0
    assert torch.allclose(counts, probabilities[0].float(), atol=0.01)


def test_top_p_keeps_only_the_nucleus():
    from leti_hf.continuous import chooser

    torch.manual_seed(0)
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).repeat(10_000, 1)
    assert set(chooser(1.0, 0.5)(logits).tolist()) == {0}  # 0.6 alone covers half the mass
    assert set(chooser(1.0, 0.8)(logits).tolist()) == {0, 1}
    assert set(chooser(1.0, 1.0)(logits).tolist()) == {0, 1, 2}


def test_continuous_sampling_is_seeded_and_keeps_groups_in_prompt_order(tiny_base, model_and_tokenizer):
    def sample(seed: int, temperature: float = 1.0) -> list[list[str]]:
        sampler = get_registry().sampler("hf", batch_size=3, precision="fp32")
        params = SamplingParams(n=2, temperature=temperature, max_tokens=120, seed=seed)
        return list(sampler.sample(str(tiny_base), PROMPTS, params))

    first = sample(1)
    assert [len(group) for group in first] == [2] * len(PROMPTS)
    assert sample(1) == first and sample(2) != first
    # Greedy: each group holds its own prompt's completions.
    model, tokenizer = model_and_tokenizer
    alone = [tokenizer.decode(generated_alone(model, tokenizer, prompt, 120)) for prompt in PROMPTS]
    assert sample(0, 0.0) == [[text, text] for text in alone]


def test_models_with_windowed_caches_are_left_to_generate():
    from leti_hf.continuous import supports_continuous
    from transformers import LlamaConfig, MistralConfig

    class Model:
        def __init__(self, config):
            self.config = config

    small = {
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "vocab_size": 64,
    }
    assert supports_continuous(Model(LlamaConfig(**small)))
    assert not supports_continuous(Model(MistralConfig(sliding_window=8, **small)))


def library_sample(tiny_base, seed: int = 1, temperature: float = 1.0, n: int = 2, **params) -> list[list[str]]:
    sampler = get_registry().sampler("hf", batch_size=3, precision="fp32", decoding="library")
    sampling = SamplingParams(n=n, temperature=temperature, max_tokens=120, seed=seed, **params)
    sampler.check(sampling)
    return list(sampler.sample(str(tiny_base), PROMPTS, sampling))


def test_library_decoding_gives_n_seeded_completions_per_prompt_in_order(tiny_base):
    first = library_sample(tiny_base, n=3)
    assert [len(group) for group in first] == [3] * len(PROMPTS)
    assert len({text for group in first for text in group}) > len(PROMPTS)  # samples, not copies
    assert library_sample(tiny_base, n=3) == first and library_sample(tiny_base, seed=2, n=3) != first


def test_library_greedy_decoding_writes_what_generate_writes(tiny_base, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    alone = [tokenizer.decode(generated_alone(model, tokenizer, prompt, 120)) for prompt in PROMPTS]
    assert library_sample(tiny_base, seed=0, temperature=0.0) == [[text, text] for text in alone]


def test_library_decoding_cuts_at_the_stop_word_where_ours_ends(tiny_base, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    text = tokenizer.decode(generated_alone(model, tokenizer, PROMPTS[1], 120))
    word = text[len(text) // 2 : len(text) // 2 + 2]
    ours = get_registry().sampler("hf", batch_size=3, precision="fp32")
    params = SamplingParams(temperature=0, max_tokens=120, stop=(word,))
    (theirs,) = library_sample(tiny_base, seed=0, temperature=0.0, n=1, stop=(word,))[1:2]
    assert theirs == list(ours.sample(str(tiny_base), PROMPTS[1:2], params))[0]
    assert word in theirs[0] and theirs[0] == text[: len(theirs[0])]
