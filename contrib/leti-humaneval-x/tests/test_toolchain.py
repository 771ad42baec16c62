"""A broken tool stops a command before any work, with one line; it is never the model's failure."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from leti_core import ExecutionResult
from leti_core.testing.cli import assert_one_line_error, leti

from leti_humaneval_x.cpp import _with_error as cpp_result
from leti_humaneval_x.javascript import _with_error as javascript_result

DATA = Path(
    os.environ.get(
        "LETI_HUMANEVAL_X_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data" / "humaneval-x"
    )
)
needs_data = pytest.mark.skipif(not (DATA / "humaneval_js.jsonl.gz").is_file(), reason=f"no HumanEval-X data at {DATA}")

BROKEN = [
    pytest.param("javascript", "humaneval-js", "node=/bin/false", "run step", id="node"),
    pytest.param("cpp", "humaneval-cpp", "compiler=/bin/false", "compile step", id="compiler"),
]


@needs_data
@pytest.mark.skipif(shutil.which("node") is None or shutil.which("g++") is None, reason="needs node and g++")
@pytest.mark.parametrize("env, task, option, step", BROKEN)
def test_evaluate_stops_before_scoring_with_one_line(tmp_path, env, task, option, step):
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        json.dumps({"task_id": f"{'JavaScript' if env == 'javascript' else 'CPP'}/0", "completion": "}\n"}) + "\n"
    )
    done = leti(
        "evaluate", "--task", task, "--env", env, "--env-option", option, "--split", "all", "--data", DATA, samples
    )
    assert_one_line_error(done, f"environment {env!r} cannot judge programs here", step, "status 1")
    assert not (tmp_path / "samples_results.jsonl").exists()


@needs_data
@pytest.mark.skipif(shutil.which("node") is None or shutil.which("g++") is None, reason="needs node and g++")
@pytest.mark.parametrize("env, task, option, step", BROKEN)
def test_run_stops_before_sampling_with_one_line(tmp_path, env, task, option, step):
    out = tmp_path / "run"
    done = leti(
        "run",
        "--task",
        task,
        "--env",
        env,
        "--env-option",
        option,
        "--data",
        DATA,
        "--problems",
        "2",
        "--samples",
        "1",
        "--iterations",
        "1",
        "--out",
        out,
    )
    assert_one_line_error(done, f"environment {env!r} cannot judge programs here", step)
    assert not out.exists()  # nothing written for a run that never started


def _failed(step: str, returncode: int, stderr: str) -> ExecutionResult:
    return ExecutionResult(
        status="failed", reason=f"{step}: exit status {returncode}", stderr=stderr, step=step, returncode=returncode
    )


def test_an_exit_without_an_error_the_tool_reports_is_a_sandbox_error():
    stderr = (
        "/usr/bin/node: OpenSSL configuration error:\n801C:error:8000000D:system library:BIO_new_file:Permission denied"
    )
    node_broke = javascript_result(_failed("run", 13, stderr), "x\n")
    assert node_broke.status == "error"
    assert node_broke.reason == (
        "sandbox error: run exited with status 13 and no error node reports: /usr/bin/node: "
        "OpenSSL configuration error: 801C:error:8000000D:system library:BIO_new_file:"
        "Permission denied"
    )
    compiler_broke = cpp_result(_failed("compile", 1, "g++: fatal error: cannot execute 'cc1plus'"))
    assert compiler_broke.status == "error" and "no error the compiler reports" in compiler_broke.reason
    early_exit = javascript_result(_failed("run", 0, ""), "x\n")  # status 0 before the tests: the program's doing
    assert early_exit.status == "failed"
    diagnosed = cpp_result(_failed("compile", 1, "program.cpp:3:5: error: 'x' was not declared in this scope"))
    assert diagnosed.status == "failed" and diagnosed.error.type == "CompileError"
