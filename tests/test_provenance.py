"""Provenance: the run folder records what a run resolved to (every option with its default, the
components `auto` chose, package versions), and a resume that would change any of it is refused in
one line unless accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field

from leti_core import LetiError, RunFolder, write_json
from leti_core.app import Resolver, build_config, load_engine, prepare_run
from leti_core.app.provenance import build_provenance, read_provenance, record_provenance
from leti_core.testing import FakeSampler, FakeTrainer

from .conftest import assert_one_line_error, leti


def _fake_values(mbpp_dir: Path, iterations: int = 1) -> dict:
    return {
        "data": str(mbpp_dir),
        "model": "m",
        "iterations": iterations,
        "problems": 1,
        "samples": 1,
        "eval_problems": 1,
        "eval_samples": 1,
    }


def _fake_run(folder: Path, values: dict, trainer: type = FakeTrainer, **kwargs) -> list:
    run = prepare_run(
        load_engine(),
        folder,
        values,
        components={"sampler": FakeSampler, "trainer": trainer},
        log=lambda _: None,
        **kwargs,
    )
    with run.components:
        return run.run()


class NewDefaultTrainer(FakeTrainer):
    """The fake trainer after a release that changed a default."""

    class Options(FakeTrainer.Options):
        learning_rate: float = Field(default=4e-4, gt=0)


def test_a_run_records_every_resolved_option_the_chosen_components_and_versions(tmp_path, mbpp_dir):
    _fake_run(tmp_path / "run", _fake_values(mbpp_dir))
    record = read_provenance(RunFolder(tmp_path / "run"))
    assert record is not None and record.earlier == []
    assert record.components["sampler"] == "fake" and record.components["environment"] == "python"
    assert record.components["sandbox"] == "local" and record.components["feedback"] == "traceback"
    assert record.config["eval_temperature"] == 0.1 and record.config["samples"] == 1  # defaults included
    assert record.options["trainer"]["learning_rate"] == FakeTrainer.Options().learning_rate  # never set
    assert record.options["environment"]["timeout"] == 5.0 and "workers" in record.options["sandbox"]
    assert record.prompt_format == "raw"
    assert {"python", "leti", "torch", "transformers", "trl", "datasets"} <= set(record.versions)


def test_a_changed_default_stops_the_resume_until_accepted_and_both_records_are_kept(tmp_path, mbpp_dir):
    folder = tmp_path / "run"
    _fake_run(folder, _fake_values(mbpp_dir))
    with pytest.raises(LetiError, match=r"trainer 'fake' option learning_rate was 1e-05 .*0\.0004 now") as refused:
        _fake_run(folder, {"iterations": 2}, NewDefaultTrainer, resume=True)
    assert "--accept-changes" in str(refused.value) and "\n" not in str(refused.value)
    assert not RunFolder(folder).iteration(2).path.exists()  # refused before any work
    summaries = _fake_run(folder, {"iterations": 2}, NewDefaultTrainer, resume=True, accept_changes=True)
    assert [summary.iteration for summary in summaries] == [1, 2]
    record = read_provenance(RunFolder(folder))
    assert record.options["trainer"]["learning_rate"] == 4e-4
    assert [old["options"]["trainer"]["learning_rate"] for old in record.earlier] == [1e-5]
    _fake_run(folder, {"iterations": 2}, NewDefaultTrainer, resume=True)  # now the record says 4e-4: no question


def test_a_run_folder_from_before_provenance_records_resumes_and_gets_one(tmp_path, mbpp_dir):
    folder = RunFolder(tmp_path / "run")
    _fake_run(folder.path, _fake_values(mbpp_dir))
    folder.provenance_file.unlink()
    summaries = _fake_run(folder.path, {"iterations": 2}, NewDefaultTrainer, resume=True)
    assert [summary.iteration for summary in summaries] == [1, 2]
    record = read_provenance(folder)
    assert record is not None and record.options["trainer"]["learning_rate"] == 4e-4 and record.earlier == []


def _recorded_run(folder: RunFolder, mbpp_dir: Path, tiny_model: Path) -> dict:
    """A run folder as `leti run` leaves it before its first iteration: config and provenance."""
    resolver = Resolver(load_engine().registry)
    config = build_config(resolver, {"data": str(mbpp_dir), "model": str(tiny_model), "problems": 1, "samples": 1})
    folder.path.mkdir(parents=True)
    write_json(folder.config_file, config.user_values())
    provenance = build_provenance(resolver, config).model_copy(update={"prompt_format": "raw"})
    record_provenance(folder, None, provenance)
    return json.loads(folder.provenance_file.read_text())


def test_a_resume_with_a_changed_default_is_one_line(tmp_path, mbpp_dir, tiny_model):
    folder = RunFolder(tmp_path / "run")
    record = _recorded_run(folder, mbpp_dir, tiny_model)
    now = record["options"]["trainer"]["learning_rate"]
    record["options"]["trainer"]["learning_rate"] = now * 2  # the default when the run was made
    folder.provenance_file.write_text(json.dumps(record))
    done = leti("run", "--resume", folder.path)
    assert_one_line_error(
        done, "trainer 'hf' option learning_rate was", repr(now * 2), f"{now!r} now", "--accept-changes"
    )


def test_a_resume_on_a_machine_that_chooses_another_sampler_is_one_line(tmp_path, mbpp_dir, tiny_model):
    folder = RunFolder(tmp_path / "run")
    record = _recorded_run(folder, mbpp_dir, tiny_model)
    chosen = record["components"]["sampler"]
    record["components"]["sampler"] = "vllm"  # made on a GPU machine
    folder.provenance_file.write_text(json.dumps(record))
    done = leti("run", "--resume", folder.path, "--iterations", "2")
    assert_one_line_error(done, "the sampler was 'vllm' when the run was made", f"{chosen!r} now", "--accept-changes")
    assert json.loads(folder.provenance_file.read_text()) == record  # nothing written
    usage = leti("run", "--accept-changes", "--out", tmp_path / "new")
    assert_one_line_error(usage, "--accept-changes goes with --resume")
