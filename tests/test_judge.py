"""Python verdicts judged apart: the tests run in a judge process, the program serves calls."""

from __future__ import annotations

import json
import re

import pytest
from leti_python.environment import build_program, split_program
from leti_sandbox.local_sandbox import LocalSandbox
from leti_sandbox.subprocess_sandbox import SubprocessSandbox

from leti_core import Problem
from leti_core.app import get_registry

from .conftest import leti, write_lines

PROBLEM = Problem(
    task_id="7", prompt="def f(xs, k):\n", tests=["assert f([3, 1, 2], 1) == [1, 2, 3]", "assert f([5], 2) == [5]"]
)
# Completions with every kind of ending a program has; the judged feedback must be the very text
# the single program (prompt + completion + tests, one process) gives.
COMPLETIONS = [
    "    return sorted(xs)\n",
    "    return sorted(xs, reverse=True)\n",
    "    return sorted(ys)\n",
    "    return helper(xs)\ndef helper(ys):\n    return ys[10]\n",
    "    return f(xs, k)\n",
    "    return sorted(xs\n",
    "    raise ValueError('bad k: %d' % k)\n",
    "    import sys\n    sys.exit(3)\n",
    "    print('hi')\n    return None\n",
    "    return int('x')\nx = undefined_name\n",
    "    return {1: [2, (3, {4})]}\n",
    "    class Weird(list):\n        pass\n    return Weird(sorted(xs))\n",
]


@pytest.fixture(scope="module")
def judged():
    registry = get_registry()
    with LocalSandbox(workers=2) as sandbox, registry.environment("python", sandbox_instance=sandbox) as env:
        yield env


def test_judged_feedback_is_the_single_programs(judged):
    formatter = get_registry().feedback("traceback")
    with SubprocessSandbox(workers=2) as sandbox, get_registry().environment("python", sandbox_instance=sandbox) as one:
        together = one.execute([PROBLEM] * len(COMPLETIONS), COMPLETIONS)
    apart = judged.execute([PROBLEM] * len(COMPLETIONS), COMPLETIONS)
    for completion, single, split in zip(COMPLETIONS, together, apart, strict=True):
        assert split.judged == "apart", completion
        assert single.status == split.status, completion
        # how deep a recursion gets depends on the frames below the program's, which differ between backends
        assert _frames_repeated(formatter.format(single).text) == _frames_repeated(formatter.format(split).text), (
            completion
        )


def _frames_repeated(text):
    return re.sub(r"repeated \d+ more times", "repeated N more times", text or "")


def test_the_parts_make_the_paper_s_program():
    source, tests = split_program(PROBLEM, COMPLETIONS[0])
    assert source + "\n" + tests == build_program(PROBLEM, COMPLETIONS[0])


def test_what_tests_need_from_the_program_crosses(judged):
    problems = [
        Problem(task_id="mutate", prompt="def f(xs):\n", tests=["ys = [3, 1, 2]", "f(ys)", "assert ys == [1, 2, 3]"]),
        Problem(
            task_id="objects",
            prompt="",
            test_setup="root = Node(1)\nroot.left = Node(2)",
            tests=["assert depth(root) == 2", "assert depth(None) == 0"],
        ),
        Problem(task_id="generator", prompt="def f(n):\n", tests=["assert list(f(3)) == [0, 1, 4]"]),
        Problem(task_id="builtin", prompt="def f(xs, kind):\n", tests=["assert f([1, 'a', 2.5], int) == [1]"]),
        Problem(
            task_id="raises",
            prompt="def f(x):\n",
            tests=["try:\n    f(-1)\n    raise AssertionError\nexcept ValueError as e:\n    assert str(e) == 'neg'"],
        ),
        Problem(
            task_id="namedtuple",
            prompt="from collections import namedtuple\nP = namedtuple('P', 'x y')\ndef f():\n",
            tests=["assert f() == (1, 2)", "assert f().x == 1"],
        ),
    ]
    completions = [
        "    xs.sort()\n",
        "class Node:\n    def __init__(self, v):\n        self.v, self.left = v, None\n"
        "def depth(n):\n    return 0 if n is None else 1 + depth(n.left)\n",
        "    for i in range(n):\n        yield i * i\n",
        "    return [x for x in xs if isinstance(x, kind)]\n",
        "    if x < 0:\n        raise ValueError('neg')\n",
        "    return P(1, 2)\n",
    ]
    results = judged.execute(problems, completions)
    assert [(r.status, r.judged) for r in results] == [("passed", "apart")] * len(problems), results


def test_comparing_the_programs_own_objects_is_judged_in_process_and_listed(tmp_path, judged):
    problem = Problem(
        task_id="pair",
        prompt="class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
        "    def __eq__(self, other):\n        return (self.a, self.b) == (other.a, other.b)\n"
        "def make(a, b):\n",
        tests=["assert make(1, 2) == Pair(1, 2)"],
    )
    (result,) = judged.execute([problem], ["    return Pair(a, b)\n"])
    assert result.passed and result.judged == "in process"
    (plain,) = judged.execute([problem], ["    return (a, b)\n"])  # a tuple is not a Pair: no question asked
    assert not plain.passed and plain.judged == "apart"


def test_evaluate_counts_and_lists_problems_judged_in_process(tmp_path):
    data = tmp_path / "mbpp.jsonl"
    rows = [
        {
            "task_id": 11,
            "text": "t",
            "code": "def f():\n    return 1",
            "test_list": ["assert f() == 1"],
            "test_setup_code": "",
            "challenge_test_list": [],
        },
        {
            "task_id": 12,
            "text": "t",
            "code": "",
            "test_setup_code": "",
            "challenge_test_list": [],
            "test_list": ["assert g() == Box()"],
        },
    ]
    write_lines(data, rows)
    samples = write_lines(
        tmp_path / "s.jsonl",
        [
            {"task_id": 11, "completion": "def f():\n    return 1"},
            {
                "task_id": 12,
                "completion": "class Box:\n    def __eq__(self, other):\n        return True\n"
                "def g():\n    return Box()",
            },
        ],
    )
    done = leti("evaluate", "--task", "mbpp", "--split", "test", "--data", data, samples, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["judged_in_process"] == ["12"]
    lines = [json.loads(line) for line in (tmp_path / "s_results.jsonl").read_text().splitlines()]
    assert [line.get("judged") for line in lines] == [None, "in process"]
