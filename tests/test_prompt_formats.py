"""Prompt formats: raw (the paper's) and chat (instruct models), chosen automatically or by option."""

from __future__ import annotations

import json

import pytest

from leti_core import LetiError, Problem, RunFolder
from leti_core.app import apply_format, get_engine, get_registry, prepare_run
from leti_core.prompts import CODE_CLOSE, code_open, render_with
from leti_core.testing import FakeSampler, FakeTrainer

CODE_OPEN = code_open("python")


def _render(messages):
    return [f"<|user|>{message}<|assistant|>" for message in messages]


PROBLEM = Problem(task_id="1", prompt="def f(x):\n", tests=["assert f(1) == 2"])


def test_raw_leaves_problems_as_they_are_and_auto_falls_back_to_raw_without_a_template():
    def no_template(_messages):
        return None

    assert apply_format([PROBLEM], "raw", lambda p: ("?", ""), _render, "m") == ([PROBLEM], "raw")
    assert apply_format([PROBLEM], "auto", lambda p: ("?", ""), no_template, "m") == ([PROBLEM], "raw")
    with pytest.raises(LetiError, match="model 'm' has no chat template"):
        apply_format([PROBLEM], "chat", lambda p: ("?", ""), no_template, "m")


def test_chat_puts_the_request_in_the_template_and_opens_a_code_block():
    [shown], chosen = apply_format([PROBLEM], "auto", lambda p: (f"solve {p.task_id}", p.prompt), _render, "m")
    assert chosen == "chat"
    assert shown.preamble == "<|user|>solve 1<|assistant|>" + CODE_OPEN
    assert shown.prompt == PROBLEM.prompt and shown.model_prompt == shown.preamble + PROBLEM.prompt
    assert shown.tests == PROBLEM.tests


def test_tasks_ask_for_their_problems_in_chat_form(mbpp_dir):
    registry = get_registry()
    mbpp = registry.task("mbpp", data=mbpp_dir)
    problem = mbpp.load("train")[0]
    request, start = mbpp.chat_request(problem)
    assert problem.metadata["text"] in request and problem.tests[0] in request and start == ""
    humaneval = registry.task("humaneval")
    problem = humaneval.load("test")[0]
    assert humaneval.chat_request(problem) == (
        f"Complete this Python function:\n```python\n{problem.prompt}```",
        problem.prompt,
    )


def test_a_transformers_tokenizer_renders_its_template(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    assert render_with(tokenizer, ["hi"]) is None  # the tiny tokenizer has no template
    tokenizer.chat_template = (
        "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    assert render_with(tokenizer, ["hi", "yo"]) == ["[user]hi[assistant]", "[user]yo[assistant]"]


def test_a_chat_run_samples_trains_and_executes_in_chat_form(tmp_path, mbpp_dir, mbpp_records):
    """The model reads the chat turn; the program is what it wrote up to the closed code block;
    the training text keeps what the model read."""
    record = next(r for r in mbpp_records if r["task_id"] == 601)
    answer = record["code"] + "\n" + CODE_CLOSE + "\nThis function finds the chain."
    sampler, trainer = FakeSampler(completions=[answer], chat=True), FakeTrainer()
    run = prepare_run(
        get_engine(),
        tmp_path / "run",
        {"data": str(mbpp_dir), "model": "m", "problems": 1, "samples": 2, "eval_problems": 1, "eval_samples": 1},
        components={"sampler": sampler, "trainer": trainer},
        log=lambda _: None,
    )
    with run.components:
        [summary] = run.run()
    assert run.prompt_format == "chat"
    train_prompt = sampler.calls[0]["prompts"][0]
    assert train_prompt.startswith("<|user|>" + record["text"]) and train_prompt.endswith(CODE_OPEN)
    samples = [json.loads(line) for line in RunFolder(tmp_path / "run").iteration(1).samples.read_text().splitlines()]
    assert [s["sample"]["completion"] for s in samples] == [record["code"] + "\n"] * 2  # cut at the closed block
    assert summary.success_rate == 1.0  # the program ran without the prose after the block
    assert trainer.texts[0][0] == "<|good|>" + train_prompt + record["code"] + "\n"
    assert sampler.calls[1]["prompts"][0].startswith("<|good|><|user|>")  # held-out samples read the same format


def test_raw_format_by_option_and_the_starting_models_evaluation(tmp_path, mbpp_dir):
    sampler = FakeSampler(chat=True)
    run = prepare_run(
        get_engine(),
        tmp_path / "run",
        {
            "data": str(mbpp_dir),
            "model": "m",
            "problems": 1,
            "samples": 1,
            "eval_problems": 2,
            "eval_samples": 1,
            "prompt_format": "raw",
            "eval_base": True,
        },
        components={"sampler": sampler, "trainer": FakeTrainer()},
        log=lambda _: None,
    )
    with run.components:
        run.run()
    assert run.prompt_format == "raw"
    base_eval, train, final_eval = sampler.calls
    assert base_eval["model"].endswith("base") and base_eval["prompts"][0].startswith('"""')  # no reward token
    assert len(base_eval["prompts"]) == 2 and train["prompts"][0].startswith('"""')
    assert final_eval["prompts"][0].startswith('<|good|>"""')
    folder = RunFolder(tmp_path / "run")
    assert [s.iteration for s in folder.summaries()] == [0, 1]
    assert folder.summaries()[0].checkpoint == "base" and folder.summaries()[0].samples == 0
