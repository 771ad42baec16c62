"""Progress in a redirected log: third-party bars write whole lines at a bounded rate, LeTI's own
progress writes a line every interval even while nothing advances, training counts tokens per
micro-batch."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from types import SimpleNamespace

import click
import pytest
from tqdm import tqdm

from leti_cli import progress
from leti_cli.progress import ProgressLines, StatusLines, plain_progress_in_logs, progress_bar


def test_a_tqdm_bar_on_a_log_writes_a_line_at_most_once_per_interval_and_its_last_state():
    now = [0.0]
    log = io.StringIO()
    stream = StatusLines(log, interval=30, clock=lambda: now[0])
    bar = tqdm(total=100, desc="converting", file=stream, mininterval=0, miniters=1, ascii=True)
    for _ in range(100):  # a tqdm status every 0.5 s: 100 carriage-return rewrites
        now[0] += 0.5
        bar.update(1)
        if bar.n == 70:
            stream.write("a warning in between\n")
    bar.close()
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    statuses = [line for line in lines if line.startswith("converting")]
    # the bar as it started (t=0), at t=30 (60 done), then its last state when it closed
    assert len(statuses) == 3, lines
    assert "0/100" in statuses[0] and "60/100" in statuses[1] and "100/100" in statuses[2]
    assert "a warning in between" in lines
    assert max(len(line) for line in lines) < 200


def test_plain_text_passes_through_and_a_bar_that_clears_itself_leaves_no_blank_lines():
    now = [0.0]
    log = io.StringIO()
    stream = StatusLines(log, interval=30, clock=lambda: now[0])
    stream.write("loading ")
    stream.write("the model\n")
    stream.write("Downloading...")
    stream.write("\r")  # a status written in pieces: its text, then the carriage return
    stream.write("50%")  # shown: the first status
    now[0] = 10.0
    stream.write("\r55%")  # not: 10 s after the last
    now[0] = 31.0
    stream.write("\r60%")
    stream.write("\r" + " " * 10 + "\r")  # tqdm(leave=False) closing
    stream.write("done\n")
    assert log.getvalue() == "loading the model\nDownloading...\n50%\n60%\ndone\n"


def test_click_writes_through_the_stream_and_the_cli_wraps_stderr_once_outside_a_terminal(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    plain_progress_in_logs()
    wrapped = sys.stderr
    assert isinstance(wrapped, StatusLines) and wrapped.stream is log
    plain_progress_in_logs()
    assert sys.stderr is wrapped
    click.echo("one line", err=True)
    sys.stderr.write("\rstatus")
    assert log.getvalue() == "one line\nstatus\n"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    plain_progress_in_logs()
    assert not isinstance(sys.stderr, StatusLines)


def test_the_command_line_turns_a_libraries_bar_into_lines_in_a_redirected_log():
    code = (
        "from leti_cli.progress import plain_progress_in_logs\n"
        "plain_progress_in_logs()\n"
        "from tqdm.auto import tqdm\n"
        "for _ in tqdm(range(5000), desc='Converting GGUF tensors', mininterval=0, miniters=1): pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"LETI_PROGRESS_INTERVAL": "3600", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    lines = done.stderr.splitlines()
    assert "\r" not in done.stderr and len(lines) == 2, done.stderr[:500]
    assert "0/5000" in lines[0] and "5000/5000" in lines[1]


def test_progress_lines_count_a_unit_and_leave_work_done_before_the_total_out_of_the_rate():
    now = [100.0]
    lines: list[str] = []
    lines_of = ProgressLines("iteration 2: training", None, lines.append, interval=30, clock=lambda: now[0])
    now[0] = 160.0  # a minute of loading the model
    lines_of.advance(2000, total=8000, unit="tokens")  # 2,000 tokens resumed from a saved state
    now[0] = 190.0
    lines_of.advance(3000)
    assert lines == [
        "iteration 2: training: 2000/8000 tokens (0.00 tokens/s, 1m00s so far, ETA unknown)",
        "iteration 2: training: 5000/8000 tokens (100 tokens/s, 1m30s so far, ETA 0m30s)",
    ]


def test_a_progress_bar_in_a_log_writes_a_line_every_interval_while_nothing_advances(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.05)
    with progress_bar(None, "iteration 1: training") as advance:
        deadline = time.monotonic() + 10
        seen = ""
        while seen.count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
            seen += capsys.readouterr().err
        advance(7)
    seen += capsys.readouterr().err
    lines = seen.splitlines()
    assert all(line.startswith("iteration 1: training: 0 (") for line in lines[:2]), lines
    assert len(lines) >= 3 and lines[-1].startswith("iteration 1: training: 7 (")


@pytest.fixture(scope="module")
def training():
    pytest.importorskip("trl")
    from leti_hf import training

    return training


ARGS = SimpleNamespace(per_device_train_batch_size=2, world_size=1, gradient_accumulation_steps=2)


def test_training_progress_counts_the_tokens_of_each_micro_batch(training):
    calls: list[tuple[int, dict]] = []
    callback = training._Progress(lambda n, **extra: calls.append((n, extra)), [10, 20, 30, 40, 50, 60, 70, 80, 90])
    callback.on_train_begin(ARGS, SimpleNamespace(global_step=0), None)
    for step in range(3):  # 4 sequences a step: 2 micro-batches of 2; the last step has 1 sequence
        callback.on_substep_end(ARGS, SimpleNamespace(global_step=step), None)
        callback.on_step_end(ARGS, SimpleNamespace(global_step=step + 1), None)
    assert calls == [
        (0, {"total": 450, "unit": "tokens"}),
        (30, {}),
        (70, {}),
        (110, {}),
        (150, {}),
        (90, {}),
    ]
    resumed: list[tuple[int, dict]] = []
    callback = training._Progress(lambda n, **extra: resumed.append((n, extra)), [10, 20, 30, 40, 50, 60, 70, 80, 90])
    callback.on_train_begin(ARGS, SimpleNamespace(global_step=1), None)
    callback.on_substep_end(ARGS, SimpleNamespace(global_step=1), None)
    assert resumed == [(100, {"total": 450, "unit": "tokens"}), (110, {})]
    counts: list[int] = []
    callback = training._Progress(lambda n, total=None: counts.append(n), [10, 20])  # no units: no_progress's kind
    callback.on_train_begin(ARGS, SimpleNamespace(global_step=0), None)
    callback.on_step_end(ARGS, SimpleNamespace(global_step=1), None)
    assert counts == [0, 30]


def test_training_in_a_log_reports_tokens_rate_and_eta_before_the_first_optimizer_step_ends(training):
    now = [0.0]
    lines: list[str] = []
    display = ProgressLines("iteration 1: training", None, lines.append, interval=30, clock=lambda: now[0])
    callback = training._Progress(display.advance, [100] * 16)  # 2 steps of 8 sequences: 4 micro-batches each
    args = SimpleNamespace(per_device_train_batch_size=2, world_size=1, gradient_accumulation_steps=4)
    callback.on_train_begin(args, SimpleNamespace(global_step=0), None)
    for _ in range(3):
        now[0] += 20.0  # a micro-batch takes 20 s: an optimizer step 80 s
        callback.on_substep_end(args, SimpleNamespace(global_step=0), None)
    assert lines == ["iteration 1: training: 400/1600 tokens (10.00 tokens/s, 0m40s so far, ETA 2m00s)"]
    now[0] += 20.0
    callback.on_step_end(args, SimpleNamespace(global_step=1), None)
    display.finish()
    assert lines[-1] == "iteration 1: training: 800/1600 tokens (10.00 tokens/s, 1m20s so far, ETA 1m20s)"


def test_a_real_training_advances_once_per_micro_batch_up_to_its_token_count(training, tiny_base, tmp_path):
    from leti_core.app import get_registry

    texts = [f"<|bad|>def f(x):\n    return x + {i}\n" for i in range(8)]
    options = {"epochs": 1, "batch_size": 4, "micro_batch_size": 1, "pretrain_mix": False, "precision": "fp32"}
    calls: list[tuple[int, dict]] = []
    trainer = get_registry().trainer("hf", **options)
    metrics = trainer.train(str(tiny_base), texts, tmp_path / "ck", lambda n, **extra: calls.append((n, extra)))
    assert calls[0] == (0, {"total": int(metrics["tokens"]), "unit": "tokens"})
    assert len(calls) == 1 + 8 and all(n > 0 for n, _ in calls[1:])  # 2 steps of 4 micro-batches
    assert sum(n for n, _ in calls) == metrics["tokens"]
