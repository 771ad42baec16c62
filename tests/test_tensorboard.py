"""The `tensorboard` logger plugin: event files during a real run, and a missing library never breaks one."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import warnings

import pytest

from leti_core import IterationSummary, PassAtK, RunFolder


@pytest.mark.slow
def test_a_tiny_run_writes_scalars_per_iteration(tiny_runs):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'leti[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tiny_runs["textual"]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    summaries = [json.loads((run / f"iteration-{i}" / "summary.json").read_text()) for i in (1, 2)]
    scalar = lambda tag: [(e.step, pytest.approx(e.value)) for e in events.Scalars(tag)]  # noqa: E731
    assert scalar("train/success_rate") == [(1, summaries[0]["success_rate"]), (2, summaries[1]["success_rate"])]
    assert scalar("eval/pass@1_postprocessed") == [
        (i + 1, s["held_out"]["postprocessed"]["pass_at"]["pass@1"]) for i, s in enumerate(summaries)
    ]
    steps = [s["training_steps"] for s in summaries]
    assert scalar("train/gradient_steps_total") == [(1, steps[0]), (2, steps[0] + steps[1])]
    assert "eval/pass@1" not in events.Tags()["scalars"]  # stopped at the stop words: no raw pass@k
    for name, count in summaries[0]["exception_histogram"].items():
        assert scalar(f"exceptions/{name}")[0] == (1, count / summaries[0]["samples"])


def test_scalars_are_written_without_loading_torch(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'leti[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    script = (
        "import sys\n"
        "from leti_core import IterationSummary, RunFolder\n"
        "from leti_tensorboard import loggers\n"
        f"summary = IterationSummary.model_validate_json({SUMMARY.model_dump_json()!r})\n"
        f"loggers.log_iteration(RunFolder({str(tmp_path)!r}), summary, 5)\n"
        "loggers.run_end(RunFolder(" + repr(str(tmp_path)) + "))\n"
        "assert 'torch' not in sys.modules, 'torch was loaded'\n"
    )
    done = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("train/success_rate")] == [(1, pytest.approx(0.3))]
    assert [(e.step, e.value) for e in events.Scalars("train/gradient_steps_total")] == [(1, 5.0)]


@pytest.fixture
def loggers(monkeypatch):
    from leti_tensorboard import loggers

    monkeypatch.setattr(loggers, "_disabled", set())
    monkeypatch.setattr(loggers, "_writers", {})
    monkeypatch.setattr(loggers, "_wandb_runs", {})
    for name in ("LETI_TENSORBOARD", "LETI_WANDB", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    return loggers


SUMMARY = IterationSummary(
    iteration=1,
    samples=10,
    success_rate=0.3,
    exception_histogram={"NameError": 7},
    evaluation=PassAtK(problems=2, samples=4, pass_at={"pass@1": 0.25}),
    training_steps=5,
)


def test_a_missing_tensorboard_warns_once_and_the_run_goes_on(loggers, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)  # the import fails
    with pytest.warns(loggers.LoggerWarning, match="tensorboard logging is off for this run: ImportError") as caught:
        loggers.log_iteration(RunFolder(tmp_path), SUMMARY, 5)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loggers.log_iteration(RunFolder(tmp_path), SUMMARY.model_copy(update={"iteration": 2}), 5)
        loggers.run_end(RunFolder(tmp_path))
    assert not (tmp_path / "tensorboard").exists()


def test_turned_off_by_environment(loggers, monkeypatch, tmp_path):
    monkeypatch.setenv("LETI_TENSORBOARD", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loggers.log_iteration(RunFolder(tmp_path), SUMMARY, 5)
    assert not (tmp_path / "tensorboard").exists()


def test_wandb_logs_when_enabled_and_installed(loggers, monkeypatch, tmp_path):
    monkeypatch.setenv("LETI_TENSORBOARD", "0")
    calls = []

    class FakeRun:
        def log(self, values, step=None):
            calls.append(("log", step, values))

        def define_metric(self, name, step_metric=None):
            calls.append(("define", name, step_metric))

        def finish(self):
            calls.append(("finish",))

    fake = types.ModuleType("wandb")
    fake.init = lambda **kwargs: calls.append(("init", kwargs)) or FakeRun()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    loggers.run_start(RunFolder(tmp_path), {"samples": 4})
    assert calls == []  # not enabled yet
    monkeypatch.setenv("WANDB_PROJECT", "leti-tests")
    loggers.run_start(RunFolder(tmp_path), {"samples": 4})
    loggers.log_iteration(RunFolder(tmp_path), SUMMARY, 5)
    loggers.run_end(RunFolder(tmp_path))
    run_id = RunFolder(tmp_path).wandb_run_id_file.read_text().strip()
    assert run_id and calls[0] == (
        "init",
        {
            "project": "leti-tests",
            "name": tmp_path.name,
            "id": run_id,
            "dir": str(tmp_path),
            "config": {"samples": 4},
            "resume": "allow",
        },
    )
    assert calls[1] == ("define", "leti/iteration", None)
    logged = [call for call in calls if call[0] == "log"]
    assert len(logged) == 1
    _, step, values = logged[0]
    # no wandb step of its own (the trainer's per-step scalars move it); every name under leti/
    assert step is None and values["leti/iteration"] == 1 and values["leti/train/success_rate"] == 0.3
    assert values["leti/eval/pass@1"] == 0.25 and "train/success_rate" not in values
    assert values["leti/exceptions/NameError"] == pytest.approx(0.7) and values["leti/train/gradient_steps_total"] == 5
    assert ("define", "leti/train/success_rate", "leti/iteration") in calls
    assert calls[-1] == ("finish",)
    calls.clear()
    loggers.run_start(RunFolder(tmp_path), {"samples": 4})  # a resume continues the same wandb run
    assert calls[0][1]["id"] == run_id and calls[0][1]["resume"] == "allow"


def test_wandb_enabled_but_missing_warns(loggers, monkeypatch, tmp_path):
    monkeypatch.setenv("LETI_TENSORBOARD", "0")
    monkeypatch.setenv("LETI_WANDB", "1")
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.warns(loggers.LoggerWarning, match=r"wandb logging is off.*pip install .leti\[wandb\]."):
        loggers.run_start(RunFolder(tmp_path), {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loggers.log_iteration(RunFolder(tmp_path), SUMMARY, 5)
