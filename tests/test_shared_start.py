"""Arms that share their start: a run reuses another's starting model, iteration-0 evaluation and
first-iteration samples, with its own feedback; runs that would draw other samples are refused."""

from __future__ import annotations

import json

import pytest

from leti_core import LetiError, RunFolder
from leti_core.app import load_engine, prepare_run
from leti_core.testing import FakeSampler, FakeTrainer

COMPLETIONS = ["x = undefined_name\n", "return None\n"]


def _run(path, mbpp_dir, sampler, **values):
    return prepare_run(
        load_engine(),
        path,
        {
            "data": str(mbpp_dir),
            "model": "m",
            "problems": 2,
            "samples": 2,
            "eval_problems": 2,
            "eval_samples": 1,
            "eval_base": True,
            **values,
        },
        components={"sampler": sampler, "trainer": FakeTrainer()},
        log=lambda _: None,
    )


def test_an_arm_reuses_the_start_and_trains_on_its_own_feedback(tmp_path, mbpp_dir):
    textual = _run(tmp_path / "textual", mbpp_dir, FakeSampler(completions=COMPLETIONS))
    with textual.components:
        textual.run()
    sampler = FakeSampler(completions=["    return 1\n"])
    binary = _run(tmp_path / "binary", mbpp_dir, sampler, feedback="binary", start_from=str(tmp_path / "textual"))
    with binary.components:
        binary.run()

    a, b = RunFolder(tmp_path / "textual"), RunFolder(tmp_path / "binary")
    # the base model, iteration 0 and the first samples were not drawn again: the only sampling
    # calls are iteration 1's held-out evaluation
    assert len(sampler.calls) == 1 and sampler.calls[0]["model"].endswith("iteration-1/checkpoint")
    assert (b.base / "config.json").read_text() == (a.base / "config.json").read_text()
    assert b.iteration(0).summary() == a.iteration(0).summary()
    mine, theirs = b.iteration(1).scored_samples(), a.iteration(1).scored_samples()
    assert [(row.sample, row.result) for row in mine] == [(row.sample, row.result) for row in theirs]
    assert any("NameError" in row.feedback.text for row in theirs)
    assert all(row.feedback.text is None for row in mine)  # binary: told only that it failed
    texts = [json.loads(line) for line in b.iteration(1).training.read_text().splitlines()]
    assert texts and all("Error" not in text["feedback_block"] for text in texts)


@pytest.mark.parametrize("field, value", [("seed", 1), ("temperature", 0.5), ("problems", 1)])
def test_a_run_that_would_draw_other_samples_is_refused_naming_the_field(tmp_path, mbpp_dir, field, value):
    first = _run(tmp_path / "a", mbpp_dir, FakeSampler(completions=COMPLETIONS), iterations=1)
    with first.components:
        first.run()
    other = _run(tmp_path / "b", mbpp_dir, FakeSampler(), start_from=str(tmp_path / "a"), **{field: value})
    with other.components, pytest.raises(LetiError, match=f"its {field} is"):
        other.run()
    assert not (tmp_path / "b").exists()  # a run that never started leaves nothing behind
