"""`leti evaluate` and `leti plugins` with the eae tasks and environment, as a user runs them."""

from __future__ import annotations

import json

import pytest

from leti_core.app import load_engine

from .conftest import leti, write_lines


@pytest.fixture(scope="module")
def sample_task():
    return load_engine().registry.task("eae-sample")


def test_plugins_lists_the_eae_tasks_and_environment():
    done = leti("plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {(row["kind"], row["name"]): row for row in json.loads(done.stdout)}
    for key in (("task", "eae"), ("task", "eae-sample"), ("environment", "eae")):
        assert rows[key]["plugin"] == "eae" and rows[key]["distribution"] == "leti"


def test_evaluate_gold_and_wrong_completions_on_the_sample_data(tmp_path, sample_task):
    data = sample_task.sources()[1].parent
    problems = sample_task.load("test")
    gold = [{"task_id": p.task_id, "completion": p.reference} for p in problems]
    samples = write_lines(tmp_path / "gold.jsonl", gold)
    done = leti("evaluate", "--task", "eae", "--data", data, "--split", "test", samples, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["pass@1"] == 1.0 and summary["problems"] == len(problems) == 17
    assert summary["metrics"]["arg_i_f1"] == summary["metrics"]["arg_c_f1"] == 100.0

    # One sample per problem: the first problem's arguments all in the wrong role... and the rest empty.
    first = problems[0]
    wrong = [{"task_id": first.task_id, "completion": 'agent=[], artifact=[ORG("The coast guard")])'}]
    wrong += [{"task_id": p.task_id, "completion": ")"} for p in problems[1:]]
    samples = write_lines(tmp_path / "wrong.jsonl", wrong)
    done = leti("evaluate", "--task", "eae-sample", samples)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "17 problems, 17 samples: pass@1 = 0.0000"
    gold_total = sum(len(p.metadata["gold"]) for p in problems)
    # 1 predicted, 1 identified, 0 classified, out of gold_total gold arguments
    i_f1 = 100 * 2 / (1 + gold_total)
    assert lines[1] == (
        f"arg_i_precision = 100.0000, arg_i_recall = {100 / gold_total:.4f}, arg_i_f1 = {i_f1:.4f}, "
        "arg_c_precision = 0.0000, arg_c_recall = 0.0000, arg_c_f1 = 0.0000"
    )
    results = [json.loads(line) for line in (tmp_path / "wrong_results.jsonl").read_text().splitlines()]
    assert results[0]["feedback"] == (
        'AssertionError: argument "The coast guard" is in the wrong role: it is not the artifact of this event'
    )
    assert results[1]["feedback"] == (
        f"AssertionError: only 0 out of {len(problems[1].metadata['gold'])} arguments are correctly identified"
    )


def test_sample_task_refuses_data_and_eae_needs_it(tmp_path):
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": "x", "completion": ")"}])
    for args, fragment in (
        (("--task", "eae-sample", "--data", tmp_path), "use --task eae --data PATH"),
        (("--task", "eae"), "needs event data"),
    ):
        done = leti("evaluate", *args, samples)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert fragment in done.stderr
