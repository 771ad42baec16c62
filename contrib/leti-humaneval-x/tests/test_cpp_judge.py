"""C++ judged apart: the prompt's function found, values across the wire, and the fallbacks."""

from __future__ import annotations

import logging
import shutil

import pytest
from leti_core import Problem
from leti_core.app import get_registry

from leti_humaneval_x.cpp_judging import signature

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
HEADERS = "#include <cassert>\n#include <string>\n#include <vector>\n#include <map>\nusing namespace std;\n"


def test_the_function_a_prompt_opens_is_found_past_its_docstring_and_helpers():
    helper = "string shift(string s){\n    return s;\n}\n"
    found = signature(
        f"{HEADERS}{helper}vector<vector<int>> grid(vector<int> sizes, map<char,int> counts){{\n"
        "    /* A docstring\n    inside. */\n    // and a comment\n"
    )
    assert found is not None
    assert (found.returns, found.name, found.parameter_names) == ("vector<vector<int>>", "grid", ("sizes", "counts"))
    assert found.type == "vector<vector<int>>(vector<int> sizes, map<char,int> counts)"
    assert found.line == (HEADERS + helper).count("\n")
    assert signature("long long count(){\n").parameter_names == ()
    assert signature("void fill(vector<int>& items, const string &text){\n").parameter_names == ("items", "text")


@pytest.mark.parametrize("prompt", ["int f(int){\n", "int f(int n = 3){\n", "int x = 3;\n", "/* only a comment */\n"])
def test_a_prompt_without_a_function_with_named_parameters_has_no_signature(prompt):
    assert signature(prompt) is None


@pytest.fixture(scope="module")
def cpp():
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    with get_registry().environment("cpp", sandbox_options={"workers": 2}) as environment:
        yield environment


@needs_gxx
def test_values_of_every_shape_cross_and_changed_arguments_come_back(cpp):
    problem = Problem(
        task_id="shapes",
        prompt=HEADERS + "#include <set>\n#include <tuple>\n"
        "map<string,vector<float>> shape(vector<vector<int>> grid, set<char> keys, double scale, bool flag,"
        " vector<string>& log, tuple<int,long long,string> t){\n",
        tests=[
            'int main(){\n    vector<string> log = {"a"};\n'
            "    auto got = shape({{1, 2}, {}, {3}}, {'x', 'y'}, 0.1, true, log, {7, 1LL << 40, \"t\"});\n"
            '    assert(got.size() == 2 && got["rows"] == vector<float>({2, 0, 1}));\n'
            '    assert(got["scaled"].size() == 1 && got["scaled"][0] == float(0.1 * 3));\n'
            '    assert(log == vector<string>({"a", "xy", "1099511627776t"}));\n}\n'
        ],
    )
    completion = (
        '    map<string,vector<float>> out;\n    for (auto& row : grid) out["rows"].push_back(row.size());\n'
        '    out["scaled"].push_back(float(scale * 3));\n    string k(keys.begin(), keys.end());\n'
        '    log.push_back(flag ? k : "");\n'
        "    log.push_back(to_string(get<1>(t)) + get<2>(t));\n    return out;\n}\n"
    )
    [result] = cpp.execute([problem], [completion])
    assert (result.status, result.judged) == ("passed", "apart"), (result.reason, result.error, result.stderr)


@needs_gxx
def test_void_functions_and_a_failed_assert_at_its_line_in_the_single_program(cpp):
    problem = Problem(
        task_id="void",
        prompt=HEADERS + "void twice(vector<int>& items){\n",
        tests=[
            "int main(){\n    vector<int> items = {1, 2};\n    twice(items);\n"
            "    assert(items == vector<int>({2, 4}));\n}\n"
        ],
    )
    good, bad = cpp.execute(
        [problem] * 2,
        ["    for (auto& i : items) i *= 2;\n}\n", "    // forgot\n    for (auto& i : items) i += 2;\n}\n"],
    )
    assert (good.status, good.judged) == ("passed", "apart")
    line = (problem.prompt + "    // forgot\n    for (auto& i : items) i += 2;\n}\n").count("\n") + 1 + 4
    assert bad.error.text == f"program.cpp:{line}: int main(): Assertion `items == vector<int>({{2, 4}})' failed."


@needs_gxx
def test_replies_the_program_writes_itself_are_its_answers_or_fail(cpp):
    """What the program writes on the channel is read as its answer (a value of the declared type,
    compared by the judge), or ends the run: too long, cut short, or followed by nothing."""
    problem = Problem(
        task_id="forged",
        prompt=HEADERS + "#include <unistd.h>\nint answer(int n){\n",
        tests=["int main(){\n    assert(answer(2) == 480);\n    assert(answer(3) == 720);\n}\n"],
    )
    ahead = (
        "    unsigned long long size = 4; int v = 0;\n    write(3, &size, 8); write(3, &v, 4);\n"
        "    return n * 240;\n}\n"
    )
    too_long = '    write(3, "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff", 8);\n    return 0;\n}\n'
    cut_short = '    unsigned long long size = 4;\n    write(3, &size, 8); write(3, "x", 1);\n    _exit(0);\n}\n'
    results = cpp.execute([problem] * 4, [ahead, too_long, cut_short, "    return n * 240;\n}\n"])
    assert [result.status for result in results] == ["failed", "failed", "failed", "passed"]
    assert results[0].error.type == "AssertionError"
    assert all(result.judged == "apart" for result in results)


@needs_gxx
def test_a_completion_that_compiles_only_without_the_stub_is_judged_in_process(cpp):
    problem = Problem(
        task_id="stub",
        prompt=HEADERS + "int answer(int n){\n",
        tests=["int main(){\n    assert(answer(2) == 480);\n}\n"],
    )
    [result] = cpp.execute([problem], ["    return n * 240;\n}\n#define handler 1\n"])
    assert (result.status, result.judged) == ("passed", "in process")


@needs_gxx
def test_a_problem_whose_judge_cannot_be_built_is_judged_in_process_with_a_warning(cpp, caplog):
    problem = Problem(
        task_id="opaque",
        prompt=HEADERS + "struct Box { int v; };\nBox make(int n){\n",
        tests=["int main(){\n    assert(make(2).v == 2);\n}\n"],
    )
    with caplog.at_level(logging.WARNING):
        good, bad = cpp.execute([problem] * 2, ["    return Box{n};\n}\n", "    return Box{0};\n}\n"])
    assert (good.status, good.judged, bad.status, bad.judged) == ("passed", "in process", "failed", "in process")
    assert "opaque is judged in the program's process: the judge does not compile" in caplog.text
