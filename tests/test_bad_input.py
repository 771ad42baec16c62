"""Every bad input is one `Error:` line and a non-zero exit, never a traceback: JSONL readers,
config files and option parsers fed malformed, binary, huge and hostile input (hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leti_cli.errors import run_cli
from leti_cli.main import cli

from .conftest import leti, write_lines

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

hostile_text = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "[" * 5000,
            '{"task_id": ' + "9" * 5000 + "}",
            "\x00\x01\x02",
            '{"task_id": 11}',
            '{"task_id": null, "completion": 3}',
            "NaN",
            '"' + "x" * 100_000 + '"',
        ]
    ),
)


def _leti(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        run_cli(cli, [str(arg) for arg in args])
        raise SystemExit(0)
    return int(ended.value.code or 0), capsys.readouterr().err


def _one_error_line(code: int, err: str) -> None:
    assert "Traceback" not in err, err
    if code != 0:
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines and lines[-1].startswith("Error: ") and sum(line.startswith("Error:") for line in lines) == 1, err


@FUZZ
@given(content=st.one_of(st.binary(max_size=600), hostile_text.map(str.encode)))
def test_samples_files(capsys, tmp_path_factory, mbpp_dir, content):
    path = tmp_path_factory.mktemp("s") / "samples.jsonl"
    path.write_bytes(content)
    code, err = _leti(capsys, "evaluate", "--data", mbpp_dir, "--workers", "1", path)
    _one_error_line(code, err)


@FUZZ
@given(
    suffix=st.sampled_from([".toml", ".yaml", ".json", ".ini"]),
    content=st.one_of(
        st.binary(max_size=400),
        hostile_text.map(str.encode),
        st.dictionaries(
            st.text(max_size=20), st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.none()), max_size=5
        ).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_config_files(capsys, tmp_path_factory, suffix, content):
    folder = tmp_path_factory.mktemp("c")
    path = folder / f"leti{suffix}"
    path.write_bytes(content)
    # a config that parses still ends in an error before any model loads: the option below
    code, err = _leti(capsys, "run", "--config", path, "--sampler-option", "no_such_option=1", "--out", folder / "run")
    assert code != 0
    _one_error_line(code, err)
    assert not (folder / "run").exists()


@pytest.mark.parametrize(
    ("suffix", "content"), [(".json", "[" * 5000), (".yaml", "[" * 5000), (".toml", "a = " + "[" * 5000)]
)
def test_a_config_nested_deeper_than_python_parses_is_one_line(capsys, tmp_path, suffix, content):
    path = tmp_path / f"leti{suffix}"
    path.write_text(content)
    code, err = _leti(capsys, "run", "--config", path, "--out", tmp_path / "run")
    _one_error_line(code, err)
    assert f"{path}: not valid" in err and not (tmp_path / "run").exists()


@FUZZ
@given(
    flag=st.sampled_from(["--sandbox-option", "--env-option", "--task-option", "--feedback-option"]),
    pair=st.one_of(
        hostile_text,
        st.tuples(
            st.sampled_from(["workers", "timeout", "data", "min_level", "window", "memory_mb", "bwrap"]), hostile_text
        ).map(lambda kv: f"{kv[0]}={kv[1]}"),
    ),
)
@example(flag="--sandbox-option", pair="workers=" + "[" * 5000)  # found by hypothesis: JSON nested too deep
@example(flag="--task-option", pair="data=" + "[" * 5000)  # found by hypothesis: a file name too long to stat
def test_component_option_values(capsys, tmp_path, mbpp_dir, flag, pair):
    code, err = _leti(capsys, "evaluate", "--data", mbpp_dir, flag, pair, tmp_path / "missing.jsonl")
    assert code != 0
    _one_error_line(code, err)


def test_unwritable_and_full_outputs_are_one_line_errors(capsys, tmp_path, mbpp_dir, mbpp_records, monkeypatch):
    samples = write_lines(
        tmp_path / "s.jsonl", [{"task_id": r["task_id"], "completion": r["code"]} for r in mbpp_records[10:12]]
    )
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    code, err = _leti(capsys, "evaluate", "--data", mbpp_dir, "--workers", "1", "--out", blocked / "r.jsonl", samples)
    assert code == 1 and "cannot write" in err
    _one_error_line(code, err)
    out = tmp_path / "results.jsonl"
    out.write_text("earlier results\n")
    import leti_core.jsonl as jsonl

    real_replace = jsonl.os.replace

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jsonl.os, "replace", disk_full)
    code, err = _leti(capsys, "evaluate", "--data", mbpp_dir, "--workers", "1", "--out", out, samples)
    monkeypatch.setattr(jsonl.os, "replace", real_replace)
    assert code == 1 and "No space left on device" in err
    _one_error_line(code, err)
    assert out.read_text() == "earlier results\n"  # nothing already written is lost
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".results")] == []


def test_a_missing_data_path_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    done = leti("run", "--data", tmp_path / "missing", "--out", out)
    assert done.returncode == 1 and "missing" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()  # the corrected command can run with the same --out
