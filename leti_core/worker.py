"""A component's work in a process of its own: a ``Worker`` serves an object's methods from a fresh
interpreter, started when made and ended by ``close()``. What the process loaded (a model, torch,
GPU memory and a CUDA context) goes back to the system when it ends, so the `leti` process beside a
training that follows stays small."""

from __future__ import annotations

import codecs
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import IO, Any

from .components import ProgressCallback, call_progress
from .errors import LetiError

#: what the worker's interpreter runs, the socket's file descriptor its argument (not ``-m`` on this
#: module, which the package imports first)
_ENTRY = "import sys; from leti_core.worker import serve; serve(int(sys.argv[1]))"


class Worker:
    """Serves the methods of ``build(*args)`` (built there on the first request) from a process of
    its own: ``call`` for a result, ``stream`` for an iterator's items with its progress. ``build``
    and the arguments travel pickled: a class or module-level function, plain values."""

    def __init__(self, name: str, build: Callable[..., Any], *args: Any) -> None:
        self.name = name
        # a fresh interpreter (not multiprocessing's spawn, which runs the caller's main script
        # again): no copy of this process's threads, locks or loaded libraries
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        self._output = relay_output(self._process)
        self._connection = Connection(ours.detach())
        self._connection.send((build, args))

    def call(self, method: str, *args: Any) -> Any:
        """``method(*args)`` of the served object, run there; its LetiError is raised here."""
        self._send(("call", method, args))
        return self._receive("result")[1]

    def stream(self, method: str, *args: Any, progress: ProgressCallback | None = None) -> Iterator[Any]:
        """The items of the iterator ``method(*args, progress=...)`` returns there, as they come;
        its progress calls are made on ``progress`` here. A stream left unfinished ends the worker
        (the next call starts from a clean one)."""
        self._send(("stream", method, args))
        finished = False
        try:
            while True:
                message = self._receive("item", "progress", "end")
                if message[0] == "end":
                    finished = True
                    return
                if message[0] == "progress":
                    if progress is not None:
                        call_progress(progress, message[1], **message[2])
                    continue
                yield message[1]
        finally:
            if not finished:
                self.close()

    @property
    def alive(self) -> bool:
        """Whether the process is there to take a call (one that died is replaced by a new Worker)."""
        return self._process.poll() is None and not self._connection.closed

    def close(self) -> None:
        """Ends the process (what it holds is freed with it)."""
        if not self._connection.closed:
            try:
                self._connection.send(None)
            except (BrokenPipeError, OSError):
                pass
            self._connection.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._output.join()

    def _ended(self) -> LetiError:
        """The error for a process that is gone without being told to end."""
        if not self._connection.closed:
            self._connection.close()
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        return LetiError(
            f"{self.name} ended unexpectedly (exit {code}; a negative exit is the signal that "
            "killed it, -9 often the kernel's out-of-memory killer)"
        )

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            if self._process.poll() is not None:
                raise BrokenPipeError
            self._connection.send(message)
        except (BrokenPipeError, OSError):
            raise self._ended() from None

    def _receive(self, *expected: str) -> tuple[Any, ...]:
        try:
            message = self._connection.recv()
        except (EOFError, OSError):
            raise self._ended() from None
        if message[0] == "error":
            raise LetiError(message[1])
        if message[0] == "crash":
            self.close()
            raise RuntimeError(f"{self.name} failed:\n{message[1]}")
        if message[0] not in expected:
            self.close()
            raise RuntimeError(f"{self.name} sent {message[0]!r} where {expected} was expected")
        return message


def relay_output(process: subprocess.Popen[bytes]) -> threading.Thread:
    """A thread that copies what ``process`` writes to its ``stdout`` pipe (its stderr joined to it)
    to this process's ``sys.stderr`` as it comes, until the process closes it. So a child's output
    takes the way of this process's own messages: off stdout (which carries a command's results),
    and through the command line's turning progress bars into lines in a log."""
    assert process.stdout is not None, "start the process with stdout=PIPE, stderr=STDOUT"
    thread = threading.Thread(target=_relay, args=(process.stdout,), name=f"output of {process.pid}", daemon=True)
    thread.start()
    return thread


def _relay(output: IO[bytes]) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := os.read(output.fileno(), 65536):
        sys.stderr.write(decoder.decode(chunk))
        sys.stderr.flush()
    output.close()


def call_in_process(name: str, function: str, *args: Any) -> Any:
    """``function(*args)`` run in a process started for it and ended after. ``function`` is named as
    ``"module:function"``, so that this process need not import its module (nor what that imports)."""
    with Worker(name, _FunctionRunner) as worker:
        return worker.call("run", function, *args)


class _FunctionRunner:
    """Runs the functions it is sent by name."""

    def run(self, function: str, *args: Any) -> Any:
        module, _, name = function.partition(":")
        return getattr(importlib.import_module(module), name)(*args)


def serve(descriptor: int) -> None:
    """The worker process: builds the served object, then answers requests on the socket
    ``descriptor`` until told to stop."""
    connection = Connection(descriptor)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it ends us
    try:
        build, args = connection.recv()
    except Exception:  # noqa: BLE001  # e.g. build's module does not import here
        connection.send(("crash", traceback.format_exc()))
        return
    served: Any = None
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        kind, method, call_args = request
        try:
            if served is None:
                served = build(*args)
            if kind == "call":
                connection.send(("result", getattr(served, method)(*call_args)))
                continue

            def relay(n: int, **extra: Any) -> None:
                connection.send(("progress", n, extra))

            for item in getattr(served, method)(*call_args, progress=relay):
                connection.send(("item", item))
            connection.send(("end",))
        except LetiError as error:
            connection.send(("error", str(error)))
        except Exception:  # noqa: BLE001  # the caller raises it, with this traceback
            connection.send(("crash", traceback.format_exc()))
