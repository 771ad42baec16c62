"""Verdicts that do not depend on load, and sandbox failures that never become training data."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from leti_core import ExecutionResult, LetiError, Options, Program, Sandbox, hookimpl
from leti_core.app import load_engine, prepare_run
from leti_core.testing import FakeSampler, FakeTrainer

SLOW_COMPLETION = "import time\ntime.sleep(0.4)\n"


def _executors() -> list[int]:
    """Pids of this machine's sandbox executors (and the bubblewrap around them)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    if b"leti_sandbox/executor.py" in handle.read():
                        found.append(int(name))
            except OSError:
                continue
    return found


def test_killing_the_executor_mid_batch_never_reaches_the_training_texts(tmp_path, mbpp_dir):
    scored_batches = []

    class Watcher:
        @hookimpl
        def leti_samples_scored(self, stage, scored):
            scored_batches.append((stage, [item.result.status for item in scored]))

    engine = load_engine()
    engine.add_plugin(Watcher(), "watcher")
    trainer = FakeTrainer()
    run = prepare_run(
        engine,
        tmp_path / "run",
        {
            "data": str(mbpp_dir),
            "model": "m",
            "problems": 6,
            "samples": 4,
            "eval_problems": 1,
            "eval_samples": 1,
            "max_sandbox_errors": 1.0,
            "sandbox_options": {"workers": 2},
        },
        components={"sampler": FakeSampler(completions=[SLOW_COMPLETION]), "trainer": trainer},
        log=lambda _: None,
    )
    killed: list[int] = []

    def kill_mid_batch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            pids = _executors()
            if pids:
                time.sleep(1.0)  # a few programs in, others still queued
                for pid in _executors():
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    except ProcessLookupError:
                        pass
            time.sleep(0.05)

    killer = threading.Thread(target=kill_mid_batch)
    killer.start()
    with run.components:
        summary = run.run()[0]
    killer.join()
    assert killed, "no executor was running"
    train_statuses = next(statuses for stage, statuses in scored_batches if stage == "train")
    assert "error" in train_statuses  # the kill hit programs mid-run ...
    texts = trainer.texts[0]
    assert texts and not any("sandbox error" in text or "executor" in text for text in texts)  # ... never trained on
    rows = [json.loads(line) for line in (tmp_path / "run" / "iteration-1" / "samples.jsonl").read_text().splitlines()]
    errors = sum(row["result"]["status"] == "error" for row in rows)
    assert len(texts) == 24 - errors and summary.sandbox_errors >= errors  # retried once, what still failed left out


class BrokenSandbox(Sandbox):
    """A sandbox that breaks (as when its executor cannot start again) after ``works_for`` calls."""

    name = "broken"
    works_for = 0

    class Options(Options):
        workers: int = 1

    def __init__(self, **options):
        super().__init__(**options)
        self.calls = 0

    def run(self, programs, progress=None):
        self.calls += 1
        if self.calls <= self.works_for:  # the toolchain check: a pass and a failure, as it expects
            return [ExecutionResult(status="passed" if "a + b" in program.source else "failed") for program in programs]
        return [ExecutionResult(status="error", reason="sandbox error: the executor could not start") for _ in programs]


class BreaksAfterTheCheck(BrokenSandbox):
    works_for = 1


def _run_on(sandbox: type[Sandbox], folder, mbpp_dir, trainer: FakeTrainer):
    return prepare_run(
        load_engine(),
        folder,
        {"data": str(mbpp_dir), "model": "m", "problems": 2, "samples": 2, "eval_problems": 1, "eval_samples": 1},
        components={"sampler": FakeSampler(), "trainer": trainer, "sandbox": sandbox},
        log=lambda _: None,
    )


def test_too_many_sandbox_errors_stop_the_iteration_before_training(tmp_path, mbpp_dir):
    trainer = FakeTrainer()
    run = _run_on(BreaksAfterTheCheck, tmp_path / "run", mbpp_dir, trainer)
    with run.components, pytest.raises(LetiError, match="could not run 4 of 4 training programs.*--resume"):
        run.run()
    assert trainer.texts == [] and not (tmp_path / "run" / "iteration-1" / "training.jsonl").exists()


def test_a_sandbox_broken_from_the_start_stops_the_run_before_anything_is_written(tmp_path, mbpp_dir):
    run = _run_on(BrokenSandbox, tmp_path / "run", mbpp_dir, FakeTrainer())
    with (
        run.components,
        pytest.raises(
            LetiError,
            match="environment 'python' cannot judge programs here: a known-good "
            "program did not pass, its program could not run: sandbox error: the executor",
        ),
    ):
        run.run()
    assert not (tmp_path / "run").exists()


def test_a_loaded_machine_does_not_change_a_verdict(tmp_path):
    """A program that needs ~1.5 s of CPU passes at a 3 s CPU limit while two other processes keep
    every core busy (its wall-clock time then doubles, or more)."""
    from leti_core.app import get_registry

    burners = [__import__("subprocess").Popen(["python3", "-c", "while True: pass"]) for _ in range(2)]
    try:
        with get_registry().sandbox("local", workers=1) as sandbox:
            probe = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 1.5:\n    pass\n"
            (result,) = sandbox.run([Program(source=probe + "assert True\n", timeout=3)])
    finally:
        for burner in burners:
            burner.kill()
    assert result.passed, result
    assert result.duration > 1.5


@pytest.mark.parametrize(
    ("returncode", "cpu", "duration", "status"),
    [
        (-signal.SIGKILL, 2.99, 3.0, "timed out"),  # rusage at the limit
        (-signal.SIGKILL, 2.6, 3.3, "timed out"),  # rusage short of it (a VM's stolen time), wall past it
        (-signal.SIGXCPU, 2.6, 3.3, "timed out"),
        (-signal.SIGKILL, 0.4, 0.5, "failed"),  # killed early: not by the CPU limit
        (1, 2.6, 3.3, "failed"),  # exited on its own
    ],
)
def test_a_program_ended_at_its_cpu_limit_times_out_whatever_rusage_says(returncode, cpu, duration, status):
    """A hung program judged apart that the kernel killed at its CPU limit is "timed out" even when
    rusage counts less CPU than the limit, as under a VM that steals time (seen in CI)."""
    from leti_sandbox.channel import judged

    message = {
        "stdout": "",
        "stderr": "",
        "duration": duration,
        "timed_out": False,
        "report": json.dumps({"completed": False, "judged": "apart", "ended": True}),
        "returncode": returncode,
        "cpu": cpu,
    }
    result = judged(message, cpu_seconds=3, isolation="process")
    assert result.status == status, result
    assert (result.limit == "cpu") == (status == "timed out")
