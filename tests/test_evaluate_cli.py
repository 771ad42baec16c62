"""`leti evaluate` as a user runs it."""

import json

import pytest

from .conftest import assert_one_line_error, leti, write_lines


def test_every_mbpp_reference_solution_passes(tmp_path, mbpp_dir, mbpp_records):
    samples = write_lines(
        tmp_path / "ref.jsonl", ({"task_id": r["task_id"], "completion": r["code"]} for r in mbpp_records)
    )
    # Task 123's solution needs about 3 s alone; a loaded CI machine must not turn that into a timeout.
    done = leti(
        "evaluate", "--task", "mbpp", "--split", "all", "--data", mbpp_dir, samples, "--json", "--timeout", "30"
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["problems"] == summary["samples"] == 974
    assert summary["pass@1"] == 1.0 and 0.99 < summary["intervals"]["pass@1"]["low"] < 1.0  # Wilson, 974 of 974
    results = [json.loads(line) for line in (tmp_path / "ref_results.jsonl").read_text().splitlines()]
    assert len(results) == 974 and all(
        r["passed"] and r["result"] == "passed" and r["feedback"] is None for r in results
    )


def test_results_repeat_input_lines_and_pass_at_k(tmp_path, mbpp_dir, mbpp_records):
    record = next(r for r in mbpp_records if r["task_id"] == 12)
    good = {"task_id": 12, "completion": record["code"], "model": "m1"}
    bad = {"task_id": 12, "completion": "def sort_matrix(M):\n    return M\n", "model": "m1"}
    samples = write_lines(tmp_path / "s.jsonl", [good, bad, bad, bad])
    out = tmp_path / "out" / "r.jsonl"
    done = leti("evaluate", "--data", mbpp_dir, samples, "--out", out, "--json", "--k", "1,2,10")
    summary = json.loads(done.stdout)
    assert summary["pass@1"] == pytest.approx(0.25)
    assert summary["pass@2"] == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    assert "pass@10" not in summary
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0] == {**good, "passed": True, "result": "passed", "feedback": None}
    assert lines[1]["model"] == "m1" and lines[1]["result"] == "failed"
    assert lines[1]["feedback"].endswith("AssertionError")


def test_malformed_line_names_file_and_line(tmp_path, mbpp_dir):
    samples = tmp_path / "s.jsonl"
    samples.write_text('{"task_id": 11, "completion": "x"}\n{"task_id": 11, "completion": \n')
    assert_one_line_error(leti("evaluate", "--data", mbpp_dir, samples), f"{samples}:2:", "not valid JSON")


def test_missing_field_names_file_line_and_field(tmp_path, mbpp_dir):
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 11}])
    assert_one_line_error(leti("evaluate", "--data", mbpp_dir, samples), f"{samples}:1:", "completion")


def test_unknown_task_id(tmp_path, mbpp_dir):
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 11, "completion": ""}, {"task_id": 999, "completion": ""}])
    assert_one_line_error(leti("evaluate", "--data", mbpp_dir, samples), f"{samples}:2:", "999", "split 'test'")


def test_missing_data_file(tmp_path):
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 11, "completion": ""}])
    assert_one_line_error(
        leti("evaluate", "--data", tmp_path / "missing.jsonl", samples), "missing.jsonl", "--data", "hub"
    )


def test_missing_samples_file(tmp_path, mbpp_dir):
    assert_one_line_error(leti("evaluate", "--data", mbpp_dir, tmp_path / "none.jsonl"), "none.jsonl", "no such file")


def test_unknown_task_and_environment(tmp_path, mbpp_dir):
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 11, "completion": ""}])
    assert_one_line_error(leti("evaluate", "--task", "nope", samples), "unknown task 'nope'", "mbpp")
    assert_one_line_error(
        leti("evaluate", "--data", mbpp_dir, "--env", "ruby", samples), "unknown environment 'ruby'", "python"
    )


@pytest.mark.parametrize(("option", "value"), [("--timeout", "-1"), ("--workers", "zero"), ("--k", "1,x")])
def test_bad_option_values(tmp_path, mbpp_dir, option, value):
    samples = write_lines(tmp_path / "s.jsonl", [{"task_id": 11, "completion": ""}])
    done = leti("evaluate", "--data", mbpp_dir, option, value, samples)
    assert done.returncode == 2
    assert_one_line_error(done, option, value)


def test_failed_run_leaves_existing_results_untouched(tmp_path, mbpp_dir):
    samples = write_lines(
        tmp_path / "s.jsonl", [{"task_id": 11, "completion": ""}, {"task_id": 7000, "completion": ""}]
    )
    out = tmp_path / "s_results.jsonl"
    out.write_text("precious\n")
    assert leti("evaluate", "--data", mbpp_dir, samples).returncode == 1
    assert out.read_text() == "precious\n"
    assert leti("evaluate", "--data", mbpp_dir, samples, "--out", samples).returncode == 1
    assert "7000" in samples.read_text()
