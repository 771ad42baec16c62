"""JavaScript and C++ judged by standard output: docs/examples/stdio's programs in those languages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from leti_core import Problem
from leti_core.app import get_registry
from leti_feedback.formatters import TracebackFeedback

STDIO = Path(__file__).resolve().parents[3] / "docs" / "examples" / "stdio"
SUM_TESTS = "Input:\n-5 5\nExpected output:\n0\n"
FEEDBACK = {
    "javascript": {
        "correct": None,
        "wrong": f"Test 2 failed: wrong answer.\n{SUM_TESTS}Your output:\n-10",
        "crashing": f"Test 2 failed: runtime error.\n{SUM_TESTS}Your output: (empty)\n"
        "RangeError: negative input\n    at program.js:2\n        if (a < 0n) throw new RangeError('negative input');",
        "slow": "Test 3 failed: time limit exceeded.\nInput:\n1000000000000 2\nExpected output:\n1000000000002\n"
        "Your output: (empty)",
        "flooding": "Test 1 failed: output limit exceeded.\nInput:\n3 4\nExpected output:\n7\nYour output:\n"
        + "7\n" * 10
        + "[... 32758 more lines]",
    },
    "cpp": {
        "correct": None,
        "wrong": f"Test 2 failed: wrong answer.\n{SUM_TESTS}Your output:\n-10",
        "crashing": f"Test 2 failed: runtime error.\n{SUM_TESTS}Your output: (empty)\n"
        "terminate called after throwing an instance of 'std::out_of_range'\n"
        "  what():  vector::_M_range_check: __n (which is 5) >= this->size() (which is 1)",
        "slow": "Test 3 failed: time limit exceeded.\nInput:\n1000000000000 2\nExpected output:\n1000000000002\n"
        "Your output: (empty)",
        "flooding": "Test 1 failed: output limit exceeded.\nInput:\n3 4\nExpected output:\n7\nYour output:\n"
        + "7\n" * 10
        + "[... 32758 more lines]",
    },
}
TYPES = {"wrong": "WrongAnswer", "slow": "Timeout", "flooding": "OutputLimitExceeded"}


def _sum_problem() -> Problem:
    for line in (STDIO / "problems.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["task_id"] == "stdio/sum":
            return Problem(task_id="stdio/sum", prompt="", io_tests=record["io_tests"])
    raise AssertionError("no stdio/sum in the problem set")


@pytest.mark.parametrize(
    ("language", "tool"),
    [
        pytest.param("javascript", "node", id="javascript"),
        pytest.param("cpp", "g++", id="cpp"),
    ],
)
def test_programs_are_judged_by_their_output_with_the_documented_feedback(language, tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    programs = [
        record
        for record in map(json.loads, (STDIO / "programs.jsonl").read_text().splitlines())
        if record["language"] == language
    ]
    problem = _sum_problem()
    with get_registry().environment(language, timeout=1) as environment:
        results = environment.execute([problem] * len(programs), [record["completion"] for record in programs])
    formatter = TracebackFeedback()
    for record, result in zip(programs, results, strict=True):
        kind = record["kind"]
        assert formatter.format(result).text == FEEDBACK[language][kind], (kind, result)
        assert result.passed == (kind == "correct")
        assert result.judged == "apart"
        if kind in TYPES:
            assert result.exception_type == TYPES[kind]
    assert {record["kind"] for record in programs} == set(FEEDBACK[language])


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
def test_a_cpp_program_that_does_not_compile_has_the_compilers_diagnostics():
    with get_registry().environment("cpp") as environment:
        (result,) = environment.execute([_sum_problem()], ["int main() { return x; }\n"])
    assert result.status == "failed" and result.io_test is None and result.error.type == "CompileError"
    assert "program.cpp:1:21: error: ‘x’ was not declared in this scope" in TracebackFeedback().format(result).text
