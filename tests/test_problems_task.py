"""The `problems` task: a data file (or hub dataset) with its columns mapped by options.

MBPP through it gives the `mbpp` task's problems, and every reference passes; HumanEval-X
JavaScript through it gives `humaneval-js`'s verdicts; every bad input is one line naming the file,
the row and the field, before any work.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from leti_core import IOTest, LetiError
from leti_core.app import SCORING, Resolver, RunConfig, build_config, get_registry, read_config_file

from .conftest import ROOT, assert_one_line_error, leti, write_lines

HUMANEVAL_X = Path(os.environ.get("LETI_HUMANEVAL_X_DATA", ROOT.parent / "shared" / "data" / "humaneval-x"))


JS_OPTIONS = {
    "language": "javascript",
    "tests_column": "test",
    "reference_column": "canonical_solution",
    "chat_template": "Complete this JavaScript function:\n```javascript\n{prompt}```",
    "chat_program_start": "prompt",
    "splits": {"train": "0-81", "test": "82-163"},
}

ROWS = [
    {
        "task_id": 1,
        "prompt": "def one():\n",
        "tests": ["assert one() == 1"],
        "split": "train",
        "answer": "    return 1\n",
    },
    {
        "task_id": 2,
        "prompt": "def two():\n",
        "tests": ["assert two() == 2"],
        "split": "test",
        "answer": "    return 2\n",
    },
    {"task_id": 3, "prompt": "def three():\n", "tests": "assert three() == 3\n", "split": "test", "answer": None},
]


@pytest.fixture(scope="module")
def registry():
    return get_registry()


@pytest.fixture(scope="module")
def mbpp_options(registry, mbpp_dir, tmp_path_factory) -> dict:
    """MBPP's mapping: docs/running.md's example config, read and checked as `leti run --config` does."""
    section = (ROOT / "docs" / "running.md").read_text().split("## Your own problems: the `problems` task")[1]
    path = tmp_path_factory.mktemp("config") / "mbpp.toml"
    path.write_text(section.split("```toml\n")[1].split("```")[0])
    config = build_config(Resolver(registry), read_config_file(path), kinds=SCORING)
    assert (config.task, config.task_options["data"]) == ("problems", "../shared/data/mbpp/mbpp.jsonl")
    return {**config.task_options, "data": str(mbpp_dir / "mbpp.jsonl")}


def write_problems(path: Path, rows: list[dict]) -> Path:
    """``rows`` in the format ``path``'s extension names (CSV cells holding lists as JSON)."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        text = "".join(json.dumps(row) + "\n" for row in rows)
    elif name.endswith(".json"):
        text = json.dumps(rows)
    elif name.endswith(".csv"):
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {key: json.dumps(v) if isinstance(v, list) else "" if v is None else v for key, v in row.items()}
                )
        return path
    else:
        import pyarrow
        import pyarrow.parquet

        plain = [{**row, "tests": row["tests"] if isinstance(row["tests"], list) else [row["tests"]]} for row in rows]
        pyarrow.parquet.write_table(pyarrow.Table.from_pylist(plain), path)
        return path
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


# --- the schema --------------------------------------------------------------------------------


def test_plugins_options_lists_every_field():
    done = leti("plugins", "--options", "problems")
    assert done.returncode == 0, done.stderr
    names = {line.split()[0] for line in done.stdout.splitlines()[2:]}
    assert names >= {
        "data", "format", "hub", "hub_config", "revision", "data_dir", "id_column", "prompt_column",
        "prompt_template", "chat_column", "chat_template", "tests_column", "entry_point_column",
        "test_setup_column", "io_column", "stdin_column", "stdout_column", "output_match",
        "reference_column", "split_column", "splits", "language", "stop_words",
    }  # fmt: skip


@pytest.mark.parametrize("name", ["p.jsonl", "p.jsonl.gz", "p.json", "p.csv", "p.parquet"])
def test_every_format_gives_the_same_problems(registry, tmp_path, name):
    path = write_problems(tmp_path / name, ROWS)
    task = registry.task("problems", data=path, split_column="split", reference_column="answer")
    assert task.splits == () and [p.task_id for p in task.load("test")] == ["2", "3"]
    assert task.splits == ("train", "test", "all")
    problems = task.load("all")
    assert [p.prompt for p in problems] == [row["prompt"] for row in ROWS]
    assert [p.tests for p in problems[:2]] == [["assert one() == 1"], ["assert two() == 2"]]
    assert problems[2].tests[0].strip() == "assert three() == 3"  # a test program
    assert [task.gold_completion(p) for p in problems] == ["    return 1\n", "    return 2\n", None]


def test_standard_input_tests_from_objects_or_parallel_columns(registry, tmp_path):
    rows = [
        {"task_id": "a", "chat": "Print the sum.", "io": [{"input": "1 2\n", "output": "3\n"}]},
        {"task_id": "b", "chat": "Echo.", "io": json.dumps({"inputs": ["x"], "outputs": ["x"]})},
    ]
    task = registry.task(
        "problems", data=write_lines(tmp_path / "io.jsonl", rows), chat_column="chat", io_column="io",
        output_match="exact",
    )  # fmt: skip
    first, second = task.load("all")
    assert first.io_tests == [IOTest(stdin="1 2\n", stdout="3\n")] and (first.tests, first.prompt) == ([], "")
    assert second.io_tests == [IOTest(stdin="x", stdout="x")] and second.output_match == "exact"
    assert task.chat_request(first) == ("Print the sum.", "")
    parallel = [{"task_id": 1, "prompt": "import sys\n", "stdin": ["1\n", "2\n"], "stdout": ["1", "4"]}]
    task = registry.task(
        "problems", data=write_lines(tmp_path / "pairs.jsonl", parallel), stdin_column="stdin", stdout_column="stdout"
    )
    assert task.load("all")[0].io_tests == [IOTest(stdin="1\n", stdout="1"), IOTest(stdin="2\n", stdout="4")]


def test_a_column_sets_each_problems_output_match(registry, tmp_path):
    examples = Path(__file__).resolve().parents[1] / "docs" / "examples" / "stdio" / "problems.jsonl"
    task = registry.task(
        "problems", data=examples, io_column="io_tests", chat_column="prompt", output_match_column="output_match"
    )
    matches = {problem.task_id: problem.output_match for problem in task.load("all")}
    assert matches["stdio/reverse"] == "exact" and set(matches.values()) == {"exact", "whitespace"}
    bad = [{"task_id": "a", "prompt": "p", "io": [{"input": "", "output": "1"}], "match": "loose"}]
    task = registry.task(
        "problems", data=write_lines(tmp_path / "bad.jsonl", bad), io_column="io", output_match_column="match"
    )
    with pytest.raises(LetiError, match=r"bad.jsonl:1: output_match \(column 'match'\): 'loose' is neither"):
        task.load("all")


def test_a_test_program_with_an_entry_point_runs_as_humaneval_does(registry, tmp_path):
    rows = [{"task_id": "HumanEval/7", "prompt": "def f(x):\n", "test": "def check(c):\n    assert c(2) == 4\n"}]
    task = registry.task(
        "problems", data=write_lines(tmp_path / "h.jsonl", rows), tests_column="test",
        entry_point_column="entry", splits={"test": "5-9"},
    )  # fmt: skip
    with pytest.raises(LetiError, match=r"h.jsonl:1: entry_point_column 'entry': no such column"):
        task.load("test")
    rows[0]["entry"] = "f"
    task = registry.task(
        "problems", data=write_lines(tmp_path / "h.jsonl", rows), tests_column="test",
        entry_point_column="entry", splits={"test": "5-9", "other": "HumanEval/1, 10-12"},
    )  # fmt: skip
    (problem,) = task.load("test")
    assert problem.tests == [rows[0]["test"], "check(f)"] and task.load("other") == []
    with registry.environment("python", sandbox_options={"workers": 1}) as environment:
        good, bad = environment.execute([problem, problem], ["    return 2 * x\n", "    return x\n"])
    assert good.passed and not bad.passed


def test_the_language_chooses_the_environment(registry):
    resolver = Resolver(registry)
    config = RunConfig(task="problems", task_options={"data": "p.jsonl", "language": "cpp"})
    installed = registry.names("environment")
    assert resolver.name("environment", config) == ("cpp" if "cpp" in installed else pytest.skip("no cpp"))
    assert resolver.name("environment", RunConfig(task="problems")) == "python"
    assert resolver.name("environment", config.model_copy(update={"env": "python"})) == "python"


# --- MBPP through the data-file task --------------------------------------------------------------


def test_mbpp_through_the_data_file_task_is_the_mbpp_task(registry, mbpp_dir, mbpp_options):
    mine, mbpp = registry.task("problems", **mbpp_options), registry.task("mbpp", data=mbpp_dir)
    for split in mbpp.splits:
        ours, theirs = mine.load(split), mbpp.load(split)
        assert [p.task_id for p in ours] == [p.task_id for p in theirs], split
        for a, b in zip(ours, theirs, strict=True):
            assert (a.prompt, a.tests, a.test_setup, a.reference) == (b.prompt, b.tests, b.test_setup, b.reference)
            assert mine.chat_request(a) == mbpp.chat_request(b)
    assert mine.stop_words == mbpp.stop_words and set(mine.splits) == set(mbpp.splits)
    assert (mine.train_split, mine.eval_split) == ("train", "test")


def test_all_974_mbpp_references_pass_through_the_data_file_task(registry, mbpp_options):
    task = registry.task("problems", **mbpp_options)
    problems = task.load("all")
    with registry.environment("python", sandbox_options={"workers": 2}) as environment:
        results = environment.execute(problems, [task.gold_completion(p) for p in problems])
    failed = [(p.task_id, r.status) for p, r in zip(problems, results, strict=True) if not r.passed]
    assert len(problems) == 974 and failed == []


def test_leti_evaluate_takes_the_mapping_as_task_options(mbpp_dir, mbpp_options, mbpp_records, tmp_path):
    samples = write_lines(
        tmp_path / "s.jsonl", [{"task_id": r["task_id"], "completion": r["code"]} for r in mbpp_records[:10]]
    )
    flags = []
    for key in ("prompt_template", "tests_column", "test_setup_column", "splits"):
        value = mbpp_options[key]
        flags += ["--task-option", f"{key}={json.dumps(value) if isinstance(value, dict) else value}"]
    done = leti("evaluate", "--task", "problems", "--data", mbpp_dir / "mbpp.jsonl", *flags, "--split", "prompt",
                "--workers", "1", "--json", samples)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert (summary["problems"], summary["pass@1"]) == (10, 1.0)


# --- HumanEval-X JavaScript through the data-file task ----------------------------------------------


def test_humaneval_js_through_the_data_file_task_gives_the_same_verdicts(registry):
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    if "humaneval-js" not in registry.names("task"):
        pytest.skip("the HumanEval-X plugin (contrib/leti-humaneval-x) is not installed")
    if not (HUMANEVAL_X / "humaneval_js.jsonl.gz").is_file():
        pytest.skip(f"no HumanEval-X data at {HUMANEVAL_X}")
    theirs_task = registry.task("humaneval-js", data=HUMANEVAL_X)
    mine = registry.task("problems", data=HUMANEVAL_X / "humaneval_js.jsonl.gz", **JS_OPTIONS)
    assert Resolver(registry).name("environment", RunConfig(task="problems", task_options=JS_OPTIONS)) == "javascript"
    for split in ("train", "test", "all"):
        assert [p.task_id for p in mine.load(split)] == [p.task_id for p in theirs_task.load(split)]
    ours, theirs = mine.load("all"), theirs_task.load("all")
    for a, b in zip(ours, theirs, strict=True):
        assert (a.prompt, a.tests, a.reference) == (b.prompt, b.tests, b.reference)
        assert mine.chat_request(a) == theirs_task.chat_request(b)
    with registry.environment("javascript", sandbox_options={"workers": 2}) as environment:
        results = environment.execute([*ours, *theirs], [p.reference for p in [*ours, *theirs]])
    verdicts = [(r.status, r.error.type if r.error else None) for r in results]
    assert verdicts[: len(ours)] == verdicts[len(ours) :]
    assert [p.task_id for p, r in zip(ours, results, strict=False) if not r.passed] == [
        "JavaScript/112", "JavaScript/155", "JavaScript/162",
    ]  # fmt: skip


# --- a hub dataset ------------------------------------------------------------------------------------


def test_a_hub_dataset_keeps_its_splits(tmp_path):
    folder = tmp_path / "dataset"
    folder.mkdir()
    write_lines(folder / "train.jsonl", ROWS[:1])
    write_lines(folder / "test.jsonl", ROWS[1:2])
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 2, "completion": "    return 2\n"}])
    offline = {"HF_DATASETS_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = leti("evaluate", "--task", "problems", "--task-option", f"hub={folder}", "--split", "test",
                "--workers", "1", "--json", samples, env=offline)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["pass@1"] == 1.0
    done = leti("evaluate", "--task", "problems", "--task-option", f"hub={tmp_path / 'none'}", samples, env=offline)
    assert_one_line_error(done, "cannot load the hub dataset", "none")


# --- bad inputs: one line naming the file, the row and the field -------------------------------------

GOOD = {"task_id": 1, "prompt": "def f():\n", "tests": ["assert f() == 1"]}
BAD_INPUTS = {
    "malformed JSONL": ("p.jsonl", json.dumps(GOOD) + '\n{"task_id": 2,\n', [], ["p.jsonl:2:", "not valid JSON"]),
    "malformed JSON": ("p.json", '[{"task_id": 1,\n "prompt": }]', [], ["p.json:2:", "not valid JSON"]),
    "malformed CSV": ("p.csv", "task_id,prompt,tests\n1,x,assert 1\n2,y\n", [], ["p.csv:3:", "2 values"]),
    "not Parquet": ("p.parquet", "task_id,prompt\n", [], ["p.parquet", "not a readable Parquet file"]),
    "no format": ("p.txt", json.dumps(GOOD), [], ["p.txt", "format"]),
    "a row not an object": ("p.jsonl", json.dumps(GOOD) + "\n[1, 2]\n", [], ["p.jsonl:2:", "object"]),
    "unknown column": ("p.jsonl", json.dumps(GOOD), ["tests_column=asserts"], ["p.jsonl:1:", "tests_column 'asserts'"]),
    "unknown template column": (
        "p.jsonl", json.dumps(GOOD), ["prompt_template={text}"], ["p.jsonl:1:", "prompt_template 'text'"],
    ),
    "missing field": (
        "p.jsonl", json.dumps(GOOD) + "\n" + json.dumps({"task_id": 2, "tests": ["assert 1"]}), [],
        ["p.jsonl:2:", "prompt (column 'prompt'): missing"],
    ),
    "empty CSV cell": ("p.csv", "task_id,prompt,tests\n1,x,assert 1\n2,,assert 1\n", [], ["p.csv:3:", "prompt"]),
    "tests of the wrong type": (
        "p.jsonl", json.dumps({**GOOD, "tests": 3}), [], ["p.jsonl:1:", "tests (column 'tests')", "not int"],
    ),
    "no tests": ("p.jsonl", json.dumps({**GOOD, "tests": []}), [], ["p.jsonl:1:", "tests", "no tests"]),
    "repeated id": ("p.jsonl", json.dumps(GOOD) + "\n" + json.dumps(GOOD), [], ["p.jsonl:2:", "id '1' repeats"]),
    "unequal io lists": (
        "p.jsonl", json.dumps({**GOOD, "in": ["1"], "out": []}), ["stdin_column=in", "stdout_column=out"],
        ["p.jsonl:1:", "stdin (column 'in, out')", "1 inputs but 0 outputs"],
    ),
    "template index": (
        "p.jsonl", json.dumps({**GOOD, "tests": ["assert 1"], "t": []}), ["prompt_template={t[0]}"],
        ["p.jsonl:1:", "prompt (prompt_template)", "IndexError"],
    ),
    "no environment for the language": ("p.jsonl", json.dumps(GOOD), ["language=rust"], ["option language", "'rust'"]),
    "clashing options": ("p.jsonl", json.dumps(GOOD), ["split_column=s", "splits={\"a\": \"1-2\"}"], ["split_column"]),
    "no such file": (None, "", [], ["nothing.jsonl: no such file"]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_each_bad_input_is_one_line_naming_file_row_and_field(tmp_path, name):
    file_name, content, options, fragments = BAD_INPUTS[name]
    path = tmp_path / (file_name or "nothing.jsonl")
    if file_name:
        path.write_text(content)
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 1, "completion": ""}])
    flags = [part for option in options for part in ("--task-option", option)]
    done = leti("evaluate", "--task", "problems", "--data", path, *flags, "--split", "all", samples, timeout=120)
    assert_one_line_error(done, *fragments)
    assert not (tmp_path / "s_results.jsonl").exists()


@pytest.mark.parametrize("options", [[], ["--task-option", "language=rust"]], ids=["bad row", "bad language"])
def test_nothing_is_written_for_a_run_that_never_started(tmp_path, options):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(GOOD) + '\n{"task_id": 2,\n')  # bad either way: no run may start by mistake
    done = leti("run", "--task", "problems", "--data", path, *options, "--out", tmp_path / "run", timeout=120)
    assert_one_line_error(done, "p.jsonl:2:" if not options else "option language")
    assert not (tmp_path / "run").exists()


def test_standard_input_problems_are_judged_by_what_they_print(tmp_path):
    rows = [
        {"task_id": 1, "chat": "Add.", "io": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 2\n", "output": "4"}]}
    ]
    completions = ["a, b = map(int, input().split())\nprint(a + b)\n", "print(3)\n"]
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 1, "completion": text} for text in completions])
    done = leti("evaluate", "--task", "problems", "--data", write_lines(tmp_path / "io.jsonl", rows),
                "--task-option", "chat_column=chat", "--task-option", "io_column=io", "--split", "all",
                "--workers", "1", "--json", samples)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in (tmp_path / "s_results.jsonl").read_text().splitlines()]
    assert [row["passed"] for row in results] == [True, False] and "Test 2 failed" in results[1]["feedback"]
