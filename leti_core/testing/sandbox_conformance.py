"""The sandbox conformance suite: attacks checked from the host side, plus correctness.

Any sandbox backend, first- or third-party, runs it against itself with pytest::

    import pytest
    from leti_core.testing import SandboxConformance

    class TestMySandbox(SandboxConformance):
        known_escapes = {}   # attack name -> why this backend cannot stop it (shown as xfail)
        unsafe = {}          # attack name -> why it is not even tried (it would hit the caller)

        @pytest.fixture(scope="class")
        @classmethod
        def sandbox(cls):
            with MySandbox(workers=2) as box:
                yield box

Every attack is judged on the host: a listener that must not accept, a datagram that must not
arrive, files that must not exist, processes (found in /proc by a marker) that must not be
running, a signal handler that must not fire, the host's memory. ``ATTACKS`` lists the names.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest

from leti_core import ExecutionResult, Program, Sandbox

from .probes import available_memory, marked_processes, watch

ATTACKS = (
    "tcp",
    "udp",
    "unix-socket",
    "files",
    "fork-bomb",
    "memory",
    "busy-loop",
    "sleep",
    "read-secrets",
    "signal-caller",
    "kill-parent",
    "early-exit",
    "stdin",
    "fd-writes",
    "forged-report",
    "flood-output",
)


def run_one(sandbox: Sandbox, source: str, timeout: float = 5.0, **limits: Any) -> ExecutionResult:
    (result,) = sandbox.run([Program(source=source, timeout=timeout, **limits)])
    return result


class SandboxConformance:
    """Subclass it in a test module and provide a class-scoped ``sandbox`` fixture."""

    known_escapes: ClassVar[dict[str, str]] = {}
    unsafe: ClassVar[dict[str, str]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls) -> Iterator[Sandbox]:  # pragma: no cover - overridden
        raise NotImplementedError("provide a class-scoped `sandbox` fixture")

    @contextmanager
    def attack(self, name: str) -> Iterator[None]:
        """Run an attack check; a known escape that happens is reported as xfail with its reason."""
        assert name in ATTACKS, name
        if name in self.unsafe:
            pytest.skip(f"{name} not tried: {self.unsafe[name]}")
        try:
            yield
        except AssertionError:
            if name in self.known_escapes:
                pytest.xfail(f"{name}: {self.known_escapes[name]}")
            raise

    # --- network -----------------------------------------------------------------------------

    def test_tcp_connect_to_host_listener(self, sandbox: Sandbox) -> None:
        with self.attack("tcp"), socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            port = listener.getsockname()[1]
            run_one(
                sandbox,
                f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                "s.sendall(b'escaped')\n",
            )
            listener.setblocking(False)
            with pytest.raises(BlockingIOError):
                listener.accept()[0].close()
                raise AssertionError("the host listener accepted a connection from the program")

    def test_udp_datagram_to_host(self, sandbox: Sandbox) -> None:
        with self.attack("udp"), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
            receiver.bind(("127.0.0.1", 0))
            port = receiver.getsockname()[1]
            run_one(
                sandbox,
                f"import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                f".sendto(b'escaped', ('127.0.0.1', {port}))\n",
            )
            receiver.setblocking(False)
            with pytest.raises(BlockingIOError):
                receiver.recv(64)
                raise AssertionError("a datagram from the program arrived on the host")

    def test_connect_to_host_unix_socket(self, sandbox: Sandbox) -> None:
        folder = _open_folder()
        path = os.path.join(folder, "host.sock")
        with self.attack("unix-socket"), socket.socket(socket.AF_UNIX) as listener:
            listener.bind(path)
            os.chmod(path, 0o777)  # only the sandbox may stop it, not file modes
            listener.listen(8)
            run_one(
                sandbox,
                f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({path!r})\ns.sendall(b'escaped')\n",
            )
            listener.setblocking(False)
            with pytest.raises(BlockingIOError):
                listener.accept()[0].close()
                raise AssertionError("the host UNIX socket accepted a connection from the program")
        _remove_folder(folder)

    # --- filesystem --------------------------------------------------------------------------

    def test_files_outside_the_work_folder(self, sandbox: Sandbox) -> None:
        name = f"leti-escape-{secrets.token_hex(6)}"
        folder = _open_folder()
        targets = [os.path.join(base, name) for base in ("/tmp", "/dev/shm", folder, os.getcwd())]
        source = (
            "import os\n"
            + "".join(
                f"try:\n    open({path!r}, 'w').write('escaped')\nexcept OSError:\n    pass\n" for path in targets
            )
            + f"open({name!r}, 'w').write('left in the work folder')\n"
        )
        with self.attack("files"):
            try:
                run_one(sandbox, source)
                left = [path for path in targets if os.path.exists(path)]
                assert not left, f"the program wrote on the host: {left}"
            finally:
                for path in targets:
                    if os.path.exists(path):
                        os.unlink(path)
                _remove_folder(folder)

    def test_read_secrets(self, sandbox: Sandbox) -> None:
        with self.attack("read-secrets"):
            for source in ("data = open('/etc/shadow').read()\n", "import os\nnames = os.listdir('/root')\n"):
                result = run_one(sandbox, source)
                assert not result.passed, f"the program could run: {source.strip()}"

    # --- processes ---------------------------------------------------------------------------

    def test_fork_bomb_is_bounded(self, sandbox: Sandbox) -> None:
        marker = _marker()
        source = (
            "import os, time\n"
            "for _ in range(400):\n"
            "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            f"    if pid == 0:\n        os.execv('/bin/sleep', ['sleep', '{marker}'])\n"
            "time.sleep(3)\n"
        )
        with self.attack("fork-bomb"), _reaping(marker):
            with watch(lambda: len(marked_processes(marker))) as peak:
                run_one(sandbox, source, timeout=4)
            assert peak.value < 400, f"all {peak.value} forks succeeded"
            assert not marked_processes(marker), "forked processes outlived the program"

    def test_memory_bomb(self, sandbox: Sandbox) -> None:
        before = available_memory()
        source = "block = bytearray(10 * 1024 ** 3)\nfor i in range(0, len(block), 4096):\n    block[i] = 1\n"
        with self.attack("memory"):
            with watch(lambda: -available_memory()) as lowest:
                result = run_one(sandbox, source, timeout=10)
            assert not result.passed, "10 GiB were allocated and touched"
            assert before + lowest.value < 4 * 1024**3, "the host lost more than 4 GiB of memory"

    @pytest.mark.parametrize("kind", ["busy-loop", "sleep"])
    def test_wall_clock_limit(self, sandbox: Sandbox, kind: str) -> None:
        marker = _marker()
        body = "while True:\n    pass\n" if kind == "busy-loop" else "time.sleep(10 ** 6)\n"
        source = (
            "import os, time\nif os.fork() == 0:\n    try:\n        os.setsid()\n"
            f"    except OSError:\n        pass\n    os.execv('/bin/sleep', ['sleep', '{marker}'])\n" + body
        )
        with self.attack(kind), _reaping(marker):
            result = run_one(sandbox, source, timeout=1, wall_timeout=3)
            assert result.status == "timed out", result
            assert result.limit == ("cpu" if kind == "busy-loop" else "wall"), result
            assert not marked_processes(marker), "a process of the program outlived the wall limit"

    def test_signal_the_caller(self, sandbox: Sandbox) -> None:
        received: list[int] = []
        previous = signal.signal(signal.SIGUSR1, lambda number, frame: received.append(number))
        try:
            with self.attack("signal-caller"):
                run_one(sandbox, f"import os, signal\nos.kill({os.getpid()}, signal.SIGUSR1)\n")
                time.sleep(0.05)  # a delivered signal runs its handler at the next bytecode
                assert not received, "the program signalled the caller"
        finally:
            signal.signal(signal.SIGUSR1, previous)

    def test_kill_parent_does_not_break_the_sandbox(self, sandbox: Sandbox) -> None:
        with self.attack("kill-parent"):
            results = sandbox.run(
                [
                    Program(source="import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"),
                    Program(source="assert 1 + 1 == 2\n"),
                ]
            )
            assert not results[0].passed
            assert results[1].passed, "the program after one that killed its parent failed"
            assert run_one(sandbox, "pass\n").passed

    # --- the harness's channel ---------------------------------------------------------------

    @pytest.mark.parametrize("exit_call", ["import sys\nsys.exit(0)", "import os\nos._exit(0)", "raise SystemExit(0)"])
    def test_early_exit_is_not_a_pass(self, sandbox: Sandbox, exit_call: str) -> None:
        with self.attack("early-exit"):
            assert not run_one(sandbox, f"{exit_call}\nassert False\n").passed

    def test_stdin_is_empty(self, sandbox: Sandbox) -> None:
        with self.attack("stdin"):
            result = run_one(sandbox, "import os, sys\nprint(repr(sys.stdin.read()), repr(os.read(0, 100)))\n")
            assert result.passed and result.stdout.strip() == "'' b''", result.stdout[:200]

    def test_direct_descriptor_writes(self, sandbox: Sandbox) -> None:
        forged = '{"nonce": "0", "completed": true}'
        source = (
            "import os\n"
            f"os.write(1, b'{forged}')\n"
            "for fd in range(3, 64):\n"
            f"    try:\n        os.write(fd, b'{forged}')\n    except OSError:\n        pass\n"
            "assert False, 'the tests fail'\n"
        )
        with self.attack("fd-writes"):
            result = run_one(sandbox, source)
            assert not result.passed, "writes on the harness's descriptors turned a failure into a pass"
            assert forged in result.stdout

    def test_forged_report_flag(self, sandbox: Sandbox) -> None:
        source = (
            "import sys\nframe = sys._getframe()\n"
            "while frame is not None:\n"
            "    for value in list(frame.f_locals.values()):\n"
            "        if isinstance(value, dict) and 'completed' in value:\n"
            "            value['completed'] = True\n"
            "    frame = frame.f_back\n"
            "assert False\n"
        )
        with self.attack("forged-report"):
            assert not run_one(sandbox, source).passed

    def test_flood_output(self, sandbox: Sandbox) -> None:
        import resource

        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        source = "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\n"
        with self.attack("flood-output"):
            result = run_one(sandbox, source, timeout=10, output_limit=4096)
            assert len(result.stdout) < 4096 + 200
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
            assert grown < 256 * 1024, f"the caller's memory grew by {grown} KiB"

    # --- correctness -------------------------------------------------------------------------

    def test_pass_and_fail(self, sandbox: Sandbox) -> None:
        passed, failed = sandbox.run([Program(source="assert 1 == 1\n"), Program(source="assert 1 == 2\n")])
        assert passed.status == "passed" and passed.error is None
        assert failed.status == "failed" and failed.error is not None and failed.error.type == "AssertionError"
        assert passed.isolation and failed.isolation

    def test_traceback_has_the_programs_frames_and_lines(self, sandbox: Sandbox) -> None:
        result = run_one(sandbox, "def f(x):\n    return 1 / x\n\nf(0)\n")
        assert result.error is not None and result.error.type == "ZeroDivisionError"
        assert [(f.lineno, f.name, f.line) for f in result.error.frames] == [
            (4, "<module>", "f(0)"),
            (2, "f", "return 1 / x"),
        ]

    def test_syntax_error(self, sandbox: Sandbox) -> None:
        result = run_one(sandbox, "x = 1\ndef f(:\n    pass\n")
        assert result.error is not None and result.error.syntax_error and result.error.frames[0].lineno == 2

    def test_stdout_and_stderr(self, sandbox: Sandbox) -> None:
        result = run_one(sandbox, "import sys\nprint('out', 42)\nprint('err', file=sys.stderr)\n")
        assert result.passed and result.stdout == "out 42\n" and result.stderr == "err\n"

    def test_output_limit(self, sandbox: Sandbox) -> None:
        result = run_one(sandbox, "print('y' * 100000)\n", output_limit=1024)
        assert result.stdout.startswith("y" * 1000) and "dropped" in result.stdout and len(result.stdout) < 1200

    def test_timeout(self, sandbox: Sandbox) -> None:
        result = run_one(sandbox, "import time\ntime.sleep(30)\n", timeout=0.5, wall_timeout=1)
        assert result.status == "timed out" and result.exception_type == "Timeout" and result.limit == "wall"

    def test_the_limit_is_cpu_time_not_wall_time(self, sandbox: Sandbox) -> None:
        """A program that waits longer than its CPU limit, using little CPU, passes (a loaded machine
        waits too); one that computes past it is stopped by the CPU limit."""
        waiting = run_one(sandbox, "import time\ntime.sleep(1.5)\nassert True\n", timeout=1)
        assert waiting.passed, waiting
        busy = run_one(sandbox, "while True:\n    pass\n", timeout=1, wall_timeout=30)
        assert busy.status == "timed out" and busy.limit == "cpu" and busy.duration < 10, busy

    def test_standard_library_imports(self, sandbox: Sandbox) -> None:
        source = "import fractions, decimal, datetime, collections, re, heapq, math\nassert fractions.Fraction(1, 2) * 2 == 1\n"
        assert run_one(sandbox, source).passed

    def test_results_keep_their_order_and_crashes_stay_contained(self, sandbox: Sandbox) -> None:
        hang = "while True:\n    pass\n"
        crash = "import ctypes\nctypes.string_at(0)\n"
        kill_parent = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
        bad = [hang, crash] + ([] if "kill-parent" in self.unsafe else [kill_parent])
        sources = [f"assert {i} == {i}\n" if i % 4 else bad[i // 4 % len(bad)] for i in range(24)]
        results = sandbox.run([Program(source=source, timeout=1, wall_timeout=3) for source in sources])
        for i, result in enumerate(results):
            if i % 4:
                assert result.passed, (i, result)
            else:
                assert not result.passed, (i, result)

    def test_concurrent_callers(self, sandbox: Sandbox) -> None:
        outputs: dict[int, list[str]] = {}

        def call(caller: int) -> None:
            programs = [Program(source=f"print({caller} * 1000 + {i})\n") for i in range(20)]
            outputs[caller] = [result.stdout for result in sandbox.run(programs)]

        threads = [threading.Thread(target=call, args=(caller,)) for caller in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for caller in range(3):
            assert outputs[caller] == [f"{caller * 1000 + i}\n" for i in range(20)]


def _marker() -> str:
    """A number nothing else runs ``sleep`` with: the processes the program started carry it."""
    return f"{9000 + secrets.randbelow(999)}.{secrets.randbelow(10**9)}"


@contextmanager
def _reaping(marker: str) -> Iterator[None]:
    """Kill what a failed containment left running (the processes carrying ``marker``)."""
    try:
        yield
    finally:
        for pid in marked_processes(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _open_folder() -> str:
    folder = tempfile.mkdtemp(prefix="leti-conformance-")
    os.chmod(folder, 0o777)
    return folder


def _remove_folder(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


__all__ = ["ATTACKS", "SandboxConformance", "run_one"]
