"""The recipe, pinned: training texts, reward tokens, the loss mask, the 1:1 alternation."""

import pytest

from leti_core import ErrorInfo, ExecutionResult, Feedback, Frame, Problem, Sample, ScoredSample, alternate_batches
from leti_core.app import condition_prompt, gold_example, postprocess, training_example

PROBLEM = Problem(task_id="7", prompt='"""\nAdd.\nassert add(1, 2) == 3\n"""\n', tests=["assert add(1, 2) == 3"])


def scored(completion: str, result: ExecutionResult, text: str | None) -> ScoredSample:
    reward = "good" if result.passed else "bad"
    return ScoredSample(
        sample=Sample(task_id=7, completion=completion), result=result, feedback=Feedback(reward=reward, text=text)
    )


def test_failing_sample_text_is_reward_feedback_problem_program():
    failure = ExecutionResult(
        status="failed",
        error=ErrorInfo(
            type="NameError",
            message="name 'c' is not defined",
            frames=[Frame(lineno=6, name="add", line="return a + c")],
        ),
    )
    feedback = "Traceback (most recent call last):\n  ...\nNameError: name 'c' is not defined"
    example = training_example(PROBLEM, scored("def add(a, b):\n    return a + c\n", failure, feedback))
    assert example.text == (
        "<|bad|>"
        "<|lang_feedback|> Traceback (most recent call last):\n  ...\nNameError: name 'c' is not defined <|/lang_feedback|>"
        '"""\nAdd.\nassert add(1, 2) == 3\n"""\n'
        "def add(a, b):\n    return a + c\n"
    )


def test_passing_sample_text_has_no_feedback_block():
    example = training_example(
        PROBLEM, scored("def add(a, b):\n    return a + b\n", ExecutionResult(status="passed"), None)
    )
    assert example.text == '<|good|>"""\nAdd.\nassert add(1, 2) == 3\n"""\ndef add(a, b):\n    return a + b\n'


def test_binary_feedback_keeps_the_reward_token_only():
    example = training_example(PROBLEM, scored("x", ExecutionResult(status="failed"), None))
    assert example.text == "<|bad|>" + PROBLEM.prompt + "x"


def test_gold_baseline_text(mbpp_dir):
    from leti_core.app import get_registry

    task = get_registry().task("mbpp", data=mbpp_dir)
    problem = task.load("train")[0]
    assert gold_example(problem, task.gold_completion(problem)).text == problem.prompt + "\n" + problem.reference


def test_sampling_prompt_conditioning():
    assert condition_prompt("P", "good") == "<|good|>P"
    assert condition_prompt("P", "bad") == "<|bad|>P"
    assert condition_prompt("P", None) == "P"


def test_alternation_is_one_to_one_and_covers_every_example_each_epoch():
    feedback = [f"f{i}" for i in range(10)]
    code = [f"c{i}" for i in range(100)]
    order = alternate_batches(feedback, code, batch_size=4, epochs=2, seed=1)
    sources = [source for source, _ in order]
    assert sources == ["feedback", "pretraining"] * 6  # ceil(10 / 4) = 3 batches per epoch, 2 epochs
    assert all(len(batch) == 4 for _, batch in order)
    first_epoch = [item for source, batch in order[:6] if source == "feedback" for item in batch]
    assert set(first_epoch) == set(feedback)
    pretraining = [item for source, batch in order if source == "pretraining" for item in batch]
    assert pretraining == code[:24]  # used in order, never repeated while there is more


def test_no_pretraining_means_feedback_batches_only():
    order = alternate_batches(list(range(6)), [], batch_size=3, epochs=3, seed=0)
    assert [source for source, _ in order] == ["feedback"] * 6


def test_loss_mask_covers_every_non_padding_token_including_eos():
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    pad = eos = 0  # the tiny model (like many) pads with its EOS token
    batch = DataCollatorForLanguageModeling(pad_token_id=pad)([{"input_ids": [5, 6, 7, eos]}, {"input_ids": [8, eos]}])
    assert batch["labels"].tolist() == [[5, 6, 7, eos], [8, eos, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_loss_is_normalised_by_the_non_padding_token_count():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=16,
            hidden_size=8,
            intermediate_size=16,
            num_hidden_layers=1,
            num_attention_heads=1,
            num_key_value_heads=1,
        )
    )
    ids = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    labels = torch.tensor([[3, 4, 5, 6], [7, 8, -100, -100]])
    logits = model(input_ids=ids, attention_mask=(labels != -100).long()).logits
    per_token = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, 16), labels[:, 1:].reshape(-1), ignore_index=-100, reduction="sum"
    )
    counted = (labels[:, 1:] != -100).sum()  # 3 + 1 predicted tokens
    loss = model(input_ids=ids, attention_mask=(labels != -100).long(), labels=labels).loss
    assert loss.item() == pytest.approx((per_token / counted).item(), rel=1e-5)


def test_postprocessing_cuts_at_the_first_stop_word():
    words = ("\nclass", "\nassert", '\n"""', "\nprint", "\nif", "\n<|/")
    assert postprocess("def f():\n    return 1\nprint(f())\nassert f()", words) == "def f():\n    return 1"
    assert postprocess("def f():\n    if x:\n        pass", words) == "def f():\n    if x:\n        pass"
