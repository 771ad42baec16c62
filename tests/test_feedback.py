"""The paper's textual feedback, one test per kind of error, through the real sandbox."""

import pytest

from leti_core import Problem
from leti_core.app import get_registry

PROBLEM = Problem(
    task_id="1",
    prompt='"""\nAdd two numbers.\nassert add(1, 2) == 3\n"""\n',
    tests=["assert add(1, 2) == 3", "assert add(2, 2) == 4"],
)
PROMPT_LINES = PROBLEM.prompt.count("\n")  # completions below start on the next line;
# each ends with a newline, and the program adds one more before the asserts.


@pytest.fixture(scope="module")
def run():
    registry = get_registry()
    environment = registry.environment("python", timeout=2)
    formatter = registry.feedback("traceback")

    def run(completion: str):
        result = environment.execute([PROBLEM], [completion])[0]
        return result, formatter.format(result).text

    yield run
    environment.close()


def test_pass_has_no_feedback(run):
    result, text = run("def add(a, b):\n    return a + b\n")
    assert result.status == "passed" and text is None


def test_name_error_shows_program_frames_only(run):
    result, text = run("def add(a, b):\n    return a + c\n")
    assert result.status == "failed"
    assert text == (
        "Traceback (most recent call last):\n"
        f'  File "program.py", line {PROMPT_LINES + 4}, in <module>\n'
        "    assert add(1, 2) == 3\n"
        f'  File "program.py", line {PROMPT_LINES + 2}, in add\n'
        "    return a + c\n"
        "NameError: name 'c' is not defined"
    )
    assert "harness" not in text


def test_syntax_error_keeps_line_drops_caret(run):
    result, text = run("def add(a, b:\n    return a + b\n")
    assert result.error.syntax_error
    lines = text.splitlines()
    assert lines[0] == f'  File "program.py", line {PROMPT_LINES + 1}'
    assert lines[1] == "    def add(a, b:"
    assert lines[-1].startswith("SyntaxError: ")
    assert "^" not in text and "Traceback" not in text


def test_type_error(run):
    _, text = run("def add(a, b):\n    return a + str(b)\n")
    assert text.splitlines()[-1] == "TypeError: unsupported operand type(s) for +: 'int' and 'str'"
    assert "    return a + str(b)" in text


def test_assertion_error_points_at_the_failing_assert(run):
    _, text = run("def add(a, b):\n    return 3\n")
    assert text.splitlines()[-3:] == [
        f'  File "program.py", line {PROMPT_LINES + 5}, in <module>',
        "    assert add(2, 2) == 4",
        "AssertionError",
    ]


def test_timeout_is_the_word_timeout(run):
    result, text = run("def add(a, b):\n    while True:\n        pass\n")
    assert result.status == "timed out" and text == "timeout"


def test_recursion_error_is_folded(run):
    _, text = run("def add(a, b):\n    return add(a, b)\n")
    assert text.splitlines()[-1] == "RecursionError: maximum recursion depth exceeded"
    assert "[Previous line repeated" in text
    assert len(text.splitlines()) < 12


@pytest.mark.parametrize("exit_call", ["import sys\nsys.exit(0)", "import os\nos._exit(0)", "raise SystemExit"])
def test_exiting_before_the_asserts_is_not_a_pass(run, exit_call):
    result, text = run(f"def add(a, b):\n    return 0\n{exit_call}\n")
    assert result.status == "failed" and text


def test_binary_feedback_has_reward_only():
    formatter = get_registry().feedback("binary")
    with get_registry().environment("python") as environment:
        failed, passed = environment.execute([PROBLEM] * 2, ["x = 1/0", "def add(a, b): return a + b"])
    assert formatter.format(failed).model_dump() == {"reward": "bad", "text": None}
    assert formatter.format(passed).model_dump() == {"reward": "good", "text": None}


def test_a_runaway_line_is_clipped_and_whole_lines_are_an_option(run):
    runaway = "    return max(" + "max(a, b), " * 60
    result, text = run("def add(a, b):\n" + runaway + "\n")
    quoted = next(line for line in text.splitlines() if "max(" in line)
    assert quoted == runaway[:160] + " ..."
    assert text.splitlines()[-1].startswith("SyntaxError: ")
    whole = get_registry().feedback("traceback", max_line_chars=0).format(result).text
    assert runaway.rstrip() in whole


def test_what_the_judge_compared_is_an_option_off_by_default(run):
    result, text = run("def add(a, b):\n    return a * 240\n")
    assert result.judged == "apart"
    assert text.splitlines()[-1] == "AssertionError"  # the paper's feedback: the traceback alone
    shown = get_registry().feedback("traceback", show_compared=True).format(result).text
    assert shown.splitlines()[-3:] == [
        f'  File "program.py", line {PROMPT_LINES + 4}, in <module>',
        "    assert add(1, 2) == 3",
        "AssertionError: assert 240 == 3",
    ]


def test_compared_values_are_clipped_and_absent_for_the_programs_own_objects(run):
    result, _ = run("def add(a, b):\n    return 'x' * 500\n")
    assert result.error.compared == f"assert {repr('x' * 500)[:80]} ... == 3"
    result, _ = run("class Box:\n    pass\ndef add(a, b):\n    return Box()\n")
    assert result.status == "failed" and result.error.type == "AssertionError" and result.error.compared is None
