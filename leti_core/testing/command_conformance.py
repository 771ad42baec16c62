"""The conformance attacks written in another language, for sandboxes that run programs of steps.

A language plugin subclasses ``CommandConformance`` with the attacks in its language and a way to
make a program of steps from source code, and runs it against the sandboxes it supports::

    class TestJavaScriptOnLocal(CommandConformance):
        snippets = {"pass": "...", "tcp": "...{port}...", ...}   # every name in COMMAND_ATTACKS

        def program(self, code):
            return Program(files={"p.js": code}, steps=[Step(name="run", argv=[NODE, "p.js"])])

        @pytest.fixture(scope="class")
        @classmethod
        def sandbox(cls):
            with LocalSandbox(workers=2) as box:
                yield box

Snippets are ``str.format`` templates: ``{port}`` (a host TCP listener), ``{targets}`` (a JSON
list of host paths to write), ``{marker}`` (an argument for ``/bin/sleep`` that marks the
program's processes), ``{pid}`` (the caller's pid), ``{nonce_variable}``. The ``pass`` snippet
writes the value of ``{nonce_variable}`` on descriptor 3; no other snippet may pass. Every
attack is judged on the host, as in ``SandboxConformance``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from leti_core import NONCE_VARIABLE, ExecutionResult, Program, Sandbox

from .probes import available_memory, marked_processes, watch
from .sandbox_conformance import _marker, _open_folder, _reaping, _remove_folder

COMMAND_ATTACKS = (
    "pass",
    "tcp",
    "files",
    "fork-bomb",
    "thread-bomb",
    "memory",
    "signal-caller",
    "kill-parent",
    "flood-output",
    "leftovers",
    "early-exit",
)


class CommandConformance:
    """Subclass it with ``snippets``, ``program(code)`` and a class-scoped ``sandbox`` fixture."""

    snippets: ClassVar[dict[str, str]] = {}
    #: attack name -> why this sandbox cannot stop it in this language (shown as xfail)
    known_escapes: ClassVar[dict[str, str]] = {}

    def program(self, code: str) -> Program:  # pragma: no cover - overridden
        raise NotImplementedError("return a Program of steps that runs `code`")

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls) -> Iterator[Sandbox]:  # pragma: no cover - overridden
        raise NotImplementedError("provide a class-scoped `sandbox` fixture")

    def run_attack(self, sandbox: Sandbox, name: str, **values: Any) -> ExecutionResult:
        assert name in COMMAND_ATTACKS, name
        code = self.snippets[name].format(nonce_variable=NONCE_VARIABLE, **values)
        (result,) = sandbox.run([self.program(code)])
        return result

    def escaped(self, name: str, message: str) -> None:
        if name in self.known_escapes:
            pytest.xfail(f"{name}: {self.known_escapes[name]}")
        raise AssertionError(message)

    def test_every_attack_has_a_snippet(self) -> None:
        assert set(COMMAND_ATTACKS) <= set(self.snippets), sorted(set(COMMAND_ATTACKS) - set(self.snippets))

    def test_a_program_that_reaches_its_end_passes(self, sandbox: Sandbox) -> None:
        result = self.run_attack(sandbox, "pass")
        assert result.passed, result

    def test_early_exit_is_not_a_pass(self, sandbox: Sandbox) -> None:
        result = self.run_attack(sandbox, "early-exit")
        assert not result.passed and result.status == "failed", result

    def test_tcp_connect_to_host_listener(self, sandbox: Sandbox) -> None:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            result = self.run_attack(sandbox, "tcp", port=listener.getsockname()[1])
            listener.setblocking(False)
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                assert not result.passed
                return
            self.escaped("tcp", "the host listener accepted a connection from the program")

    def test_files_outside_the_work_folder(self, sandbox: Sandbox) -> None:
        name = f"leti-escape-{secrets.token_hex(6)}"
        folder = _open_folder()
        targets = [os.path.join(base, name) for base in ("/tmp", "/dev/shm", folder, os.getcwd())]
        try:
            self.run_attack(sandbox, "files", targets=json.dumps(targets))
            left = [path for path in targets if os.path.exists(path)]
            if left:
                self.escaped("files", f"the program wrote on the host: {left}")
        finally:
            for path in targets:
                if os.path.exists(path):
                    os.unlink(path)
            _remove_folder(folder)

    @pytest.mark.parametrize("attack", ["fork-bomb", "thread-bomb"])
    def test_process_and_thread_bombs_are_bounded(self, sandbox: Sandbox, attack: str) -> None:
        marker = _marker()
        with _reaping(marker):
            with watch(lambda: len(marked_processes(marker))) as peak:
                result = self.run_attack(sandbox, attack, marker=marker)
            assert not result.passed, result
            if peak.value >= 400 or marked_processes(marker):
                self.escaped(attack, f"{peak.value} processes at the peak, {len(marked_processes(marker))} left")
        assert self.run_attack(sandbox, "pass").passed, "the sandbox did not recover"

    def test_memory_bomb(self, sandbox: Sandbox) -> None:
        before = available_memory()
        with watch(lambda: -available_memory()) as lowest:
            result = self.run_attack(sandbox, "memory")
        assert not result.passed, "10 GiB were allocated and touched"
        if before + lowest.value >= 4 * 1024**3:
            self.escaped("memory", "the host lost more than 4 GiB of memory")

    def test_signal_the_caller(self, sandbox: Sandbox) -> None:
        received: list[int] = []
        previous = signal.signal(signal.SIGUSR1, lambda number, frame: received.append(number))
        try:
            self.run_attack(sandbox, "signal-caller", pid=os.getpid())
            time.sleep(0.05)
            if received:
                self.escaped("signal-caller", "the program signalled the caller")
        finally:
            signal.signal(signal.SIGUSR1, previous)

    def test_kill_parent_does_not_break_the_sandbox(self, sandbox: Sandbox) -> None:
        results = sandbox.run(
            [
                self.program(self.snippets["kill-parent"].format(nonce_variable=NONCE_VARIABLE)),
                self.program(self.snippets["pass"].format(nonce_variable=NONCE_VARIABLE)),
            ]
        )
        assert not results[0].passed
        assert results[1].passed, f"the program after one that killed its parent failed: {results[1]}"

    def test_flood_output_is_capped(self, sandbox: Sandbox) -> None:
        result = self.run_attack(sandbox, "flood-output")
        assert len(result.stdout) < 2 * 1024 * 1024, len(result.stdout)

    def test_no_process_outlives_its_program(self, sandbox: Sandbox) -> None:
        marker = _marker()
        with _reaping(marker):
            self.run_attack(sandbox, "leftovers", marker=marker)
            time.sleep(0.2)
            if marked_processes(marker):
                self.escaped("leftovers", "a process the program started outlived it")
