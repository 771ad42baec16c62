"""Judging by standard output (Problem.io_tests): the problem set in docs/examples/stdio, run in the
`python` environment on the `local` sandbox (and `subprocess`), with the feedback the model learns from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from leti_feedback.formatters import BinaryFeedback, TracebackFeedback

from leti_core import IOTest, LetiError, Problem, Program, clip_text, io_output_limit, output_matches
from leti_core.app import get_registry

from .conftest import TINY_RUN, leti

STDIO = Path(__file__).resolve().parents[1] / "docs" / "examples" / "stdio"
TIMEOUT = 1  # CPU seconds per test run: the slow programs reach it, the references are far below


def load_problems() -> dict[str, tuple[Problem, str]]:
    """The problem set as Problems (what the `problems` task reads), with each reference."""
    problems = {}
    for line in (STDIO / "problems.jsonl").read_text().splitlines():
        record = json.loads(line)
        problem = Problem(
            task_id=record["task_id"],
            prompt="",
            io_tests=record["io_tests"],
            output_match=record["output_match"],
            reference=record["reference"],
        )
        problems[problem.task_id] = (problem, record["reference"])
    return problems


def load_programs(language: str) -> list[dict]:
    lines = (STDIO / "programs.jsonl").read_text().splitlines()
    return [record for record in map(json.loads, lines) if record["language"] == language]


PROBLEMS = load_problems()

# The feedback of each test program, exactly (the traceback formatter's defaults).
FEEDBACK = {
    ("stdio/sum", "wrong"): "Test 2 failed: wrong answer.\nInput:\n-5 5\nExpected output:\n0\nYour output:\n-10",
    ("stdio/reverse", "wrong"): (
        "Test 2 failed: wrong answer (only whitespace differs).\nInput:\na  b c\n"
        "Expected output:\nc b  a\nYour output:\nc b a"
    ),
    ("stdio/maximum", "wrong"): "Test 2 failed: wrong answer.\nInput:\n1\n-7\nExpected output:\n-7\nYour output:\n7",
    ("stdio/fizzbuzz", "wrong"): (
        "Test 2 failed: wrong answer.\nInput:\n15\n"
        "Expected output:\n[... 12 earlier lines]\n13\n14\nFizzBuzz\n"
        "Your output:\n[... 12 earlier lines]\n13\n14\nFizz"
    ),
    ("stdio/gcd", "crashing"): (
        "Test 1 failed: runtime error.\nInput:\n2\n12 18\n7 5\nExpected output:\n6\n1\nYour output: (empty)\n"
        "Traceback (most recent call last):\n"
        '  File "program.py", line 7, in <module>\n'
        "    print(gcd(a, b))\n"
        '  File "program.py", line 2, in gcd\n'
        "    return gcd(b, a % b)\n"
        "  [Previous line repeated 3 more times]\n"
        "ZeroDivisionError: integer modulo by zero"
    ),
    ("stdio/words", "crashing"): (
        "Test 1 failed: runtime error.\nInput:\nthe cat and the hat\nExpected output:\nthe\nYour output: (empty)\n"
        "Traceback (most recent call last):\n"
        '  File "program.py", line 3, in <module>\n'
        "    counts[word] += 1\n"
        "KeyError: 'the'"
    ),
    ("stdio/transpose", "crashing"): (
        "Test 1 failed: runtime error.\nInput:\n2 3\n1 2 3\n4 5 6\nExpected output:\n1 4\n2 5\n3 6\n"
        "Your output: (empty)\n"
        "Traceback (most recent call last):\n"
        '  File "program.py", line 4, in <module>\n'
        "    print(' '.join(rows[i][j] for i in range(c)))\n"
        '  File "program.py", line 4, in <genexpr>\n'
        "    print(' '.join(rows[i][j] for i in range(c)))\n"
        "IndexError: list index out of range"
    ),
    ("stdio/primes", "slow"): (
        "Test 4 failed: time limit exceeded.\nInput:\n2000000\nExpected output:\n148933\nYour output: (empty)"
    ),
    ("stdio/fibonacci", "slow"): (
        "Test 3 failed: time limit exceeded.\nInput:\n90\nExpected output:\n210345902\nYour output: (empty)"
    ),
    ("stdio/fizzbuzz", "flooding"): (
        "Test 1 failed: output limit exceeded.\nInput:\n5\nExpected output:\n1\n2\nFizz\n4\nBuzz\n"
        "Your output:\n1\n2\nFizz\n4\n5\nFizz\n7\n8\nFizz\n10\n[... 12862 more lines]"
    ),
    ("stdio/sort", "flooding"): (
        "Test 1 failed: output limit exceeded.\nInput:\n4\n3 1 2 3\nExpected output:\n1 2 3 3\n"
        "Your output:\n" + "1\n" * 10 + "[... 32758 more lines]"
    ),
}
STATUS = {"wrong": "failed", "crashing": "failed", "slow": "timed out", "flooding": "failed"}


@pytest.fixture(scope="module")
def python_env():
    with get_registry().environment("python", timeout=TIMEOUT) as environment:
        yield environment


def test_the_problem_set_has_a_dozen_problems_and_every_kind_of_failing_program():
    assert len(PROBLEMS) == 12
    assert all(problem.io_tests and reference for problem, reference in PROBLEMS.values())
    kinds = {record["kind"] for record in load_programs("python")}
    assert kinds == {"wrong", "crashing", "slow", "flooding"}
    assert {(record["task_id"], record["kind"]) for record in load_programs("python")} == set(FEEDBACK)


def test_every_reference_passes(python_env):
    problems = [problem for problem, _ in PROBLEMS.values()]
    results = python_env.execute(problems, [reference for _, reference in PROBLEMS.values()])
    failed = {problem.task_id: result for problem, result in zip(problems, results, strict=True) if not result.passed}
    assert not failed, failed
    assert {result.judged for result in results} == {"apart"}


def test_wrong_crashing_slow_and_flooding_programs_fail_with_the_documented_feedback(python_env):
    programs = load_programs("python")
    results = python_env.execute(
        [PROBLEMS[record["task_id"]][0] for record in programs], [record["completion"] for record in programs]
    )
    formatter, binary = TracebackFeedback(), BinaryFeedback()
    for record, result in zip(programs, results, strict=True):
        key = (record["task_id"], record["kind"])
        assert result.status == STATUS[record["kind"]], (key, result)
        assert formatter.format(result).text == FEEDBACK[key], key
        assert binary.format(result).model_dump() == {"reward": "bad", "text": None}
        assert result.judged == "apart"
    types = [result.exception_type for result in results]
    assert (
        types
        == ["WrongAnswer"] * 4
        + ["ZeroDivisionError", "KeyError", "IndexError"]
        + ["Timeout"] * 2
        + ["OutputLimitExceeded"] * 2
    )


SUM = Problem(task_id="sum", prompt="", io_tests=[IOTest(stdin="3 4\n", stdout="7\n"), IOTest(stdin="1 1", stdout="2")])
READ_SUM = "a, b = map(int, input().split())\n"


@pytest.mark.parametrize(
    ("completion", "feedback"),
    [
        (READ_SUM + "print(a + b)\nexit()\n", None),  # exit() and quit() end a program, as with site
        (READ_SUM + "import sys\nprint(a + b)\nsys.exit(0)\n", None),
        (
            READ_SUM + "import sys\nprint(a + b)\nsys.exit(3)\n",
            "Test 1 failed: runtime error.\nInput:\n3 4\nExpected output:\n7\nYour output:\n7\n"
            'Traceback (most recent call last):\n  File "program.py", line 4, in <module>\n    sys.exit(3)\n'
            "SystemExit: 3",
        ),
        (
            "import os\nos._exit(4)\n",
            "Test 1 failed: runtime error.\nInput:\n3 4\nExpected output:\n7\nYour output: (empty)\n"
            "The program exited with status 4.",
        ),
        (
            "x = bytearray(512 * 1024 * 1024)\n",  # over the 256 MiB each run may have
            "Test 1 failed: runtime error.\nInput:\n3 4\nExpected output:\n7\nYour output: (empty)\n"
            'Traceback (most recent call last):\n  File "program.py", line 1, in <module>\n'
            "    x = bytearray(512 * 1024 * 1024)\nMemoryError",
        ),
        (
            "",
            "Test 1 failed: wrong answer.\nInput:\n3 4\nExpected output:\n7\nYour output: (empty)",
        ),
    ],
    ids=["exit", "sys.exit(0)", "sys.exit(3)", "os._exit", "memory", "silent"],
)
def test_how_a_run_ends(completion, feedback):
    with get_registry().environment("python", timeout=TIMEOUT, memory_mb=256) as environment:
        (result,) = environment.execute([SUM], [completion])
    assert TracebackFeedback().format(result).text == feedback, result


def test_each_test_runs_apart_under_its_own_cpu_limit(python_env):
    """Three tests of 0.6 s of CPU each pass under a 1 s limit: the limit is per test run."""
    busy = (
        "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.6:\n    pass\nprint(input())\n"
    )
    problem = Problem(task_id="busy", prompt="", io_tests=[IOTest(stdin=f"{n}\n", stdout=f"{n}\n") for n in range(3)])
    (result,) = python_env.execute([problem], [busy])
    assert result.passed, result


def test_exact_and_whitespace_matching():
    test = IOTest(stdin="", stdout="1 2\n3\n")
    assert output_matches(b"1 2\n3\n", test, "exact")
    assert not output_matches(b"1 2\n3", test, "exact")
    assert output_matches(b"  1\t2 3", test, "whitespace")
    assert not output_matches(b"12 3", test, "whitespace")


def test_the_output_limit_makes_room_for_the_longest_expected_output():
    problem = Problem(task_id="big", prompt="", io_tests=[IOTest(stdout="x" * 100_000)])
    assert io_output_limit(problem, 64 * 1024) == 200_000
    assert io_output_limit(PROBLEMS["stdio/sum"][0], 64 * 1024) == 64 * 1024


def test_long_texts_are_clipped_with_a_marker():
    assert clip_text("1\n2\n") == "1\n2"
    assert clip_text("".join(f"{n}\n" for n in range(25))) == "\n".join(map(str, range(10))) + "\n[... 15 more lines]"
    assert clip_text("y" * 500) == "y" * 160 + " ..."
    assert clip_text("a\n" * 4, start=3) == "[... 3 earlier lines]\na"


def test_a_long_error_keeps_the_account_of_the_test_and_its_own_end():
    deep = "def f(n):\n    return f(n + 1)\n" + "".join(f"def g{i}():\n    return g{i + 1}()\n" for i in range(60))
    completion = deep + "def g60():\n    f(0)\n\n\ng0()\n"
    with get_registry().environment("python", timeout=TIMEOUT) as environment:
        (result,) = environment.execute([SUM], [completion])
    text = TracebackFeedback(max_chars=800).format(result).text
    assert len(text) <= 800
    assert text.startswith("Test 1 failed: runtime error.\nInput:\n3 4\n")
    assert text.endswith("RecursionError: maximum recursion depth exceeded")


def test_the_subprocess_backend_judges_by_output_too_and_says_it_is_in_process():
    problem, reference = PROBLEMS["stdio/sum"]
    wrong = next(r["completion"] for r in load_programs("python") if r["task_id"] == "stdio/sum")
    with get_registry().environment("python", timeout=TIMEOUT, sandbox="subprocess") as environment:
        passed, failed = environment.execute([problem, problem], [reference, wrong])
    assert passed.passed and passed.judged == "in process"
    assert TracebackFeedback().format(failed).text == FEEDBACK[("stdio/sum", "wrong")]


def test_a_problem_with_asserts_and_io_tests_is_refused(python_env):
    problem = SUM.model_copy(update={"tests": ["assert True"]})
    with pytest.raises(LetiError, match="problem sum: has both asserts"):
        python_env.execute([problem], ["print(7)\n"])
    with pytest.raises(ValueError, match="not both"):
        Program(source="", tests="assert True", io_tests=SUM.io_tests)


def _problems_task_registered() -> bool:
    try:
        return "problems" in get_registry().names("task")
    except Exception:  # noqa: BLE001 - the registry's own errors: no such task then
        return False


@pytest.mark.skipif(not _problems_task_registered(), reason="the `problems` task (plugins/leti_problems) is not here")
def test_a_tiny_model_run_on_the_problem_set_works_end_to_end(tiny_model, tmp_path):
    run_dir = tmp_path / "run"
    done = leti(
        "run",
        "--task",
        "problems",
        "--data",
        STDIO / "problems.jsonl",
        "--task-option",
        "io_column=io_tests",
        "--task-option",
        "chat_column=prompt",  # a chat model is asked the statement; its program starts empty
        "--task-option",
        'prompt_template="""{prompt}"""\n',  # a raw model continues the statement as a docstring
        "--task-option",
        "output_match_column=output_match",
        "--task-option",
        "reference_column=reference",
        "--task-option",
        "split_column=split",
        "--model",
        tiny_model,
        *TINY_RUN,
        "--iterations",
        "1",
        "--out",
        run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in (run_dir / "iteration-1" / "samples.jsonl").read_text().splitlines()]
    assert lines and all(line["result"]["status"] in ("passed", "failed", "timed out") for line in lines)
    failed = [line for line in lines if line["result"]["status"] != "passed"]
    assert all(line["feedback"]["text"].startswith("Test ") for line in failed), failed[:1]
