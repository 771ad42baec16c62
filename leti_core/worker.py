"""A component's work in a process of its own: a ``Worker`` serves an object's methods from a fresh
interpreter, started when made and ended by ``close()``. What the process loaded (a model, torch,
GPU memory and a CUDA context) goes back to the system when it ends."""

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
#: how long an idle worker, told to end, may take before it is killed (seconds)
CLOSE_SECONDS = 30
#: how long the output of an ended process may take to drain (its own children may hold the pipe)
DRAIN_SECONDS = 5
#: errors a worker's call raises here as themselves (one line at the command line), not as a traceback
PASSED_ON = (LetiError, OSError)


def exit_status(code: int | None) -> str:
    """How a process ended, from its return code: ``exit status 3``, ``killed by signal 9
    (SIGKILL)``, or ``still running`` for None."""
    if code is None:
        return "still running"
    if code >= 0:
        return f"exit status {code}"
    try:
        name = f" ({signal.Signals(-code).name})"
    except ValueError:
        name = ""
    return f"killed by signal {-code}{name}"


class Worker:
    """Serves the methods of ``build(*args)`` from a process of its own, one request at a time:
    ``call`` for a result, ``stream`` for an iterator's items and its progress. ``build`` and the
    arguments travel pickled (a class or module-level function importable there, with this process's
    ``sys.path``; plain values); ``build`` runs there on the first request."""

    def __init__(self, name: str, build: Callable[..., Any], *args: Any) -> None:
        self.name = name
        self._busy = False  # a request is being answered: closing kills instead of asking
        self._closed = False  # ended from here (closed, or killed with a request left unread)
        # a fresh interpreter (not multiprocessing's spawn, which runs the caller's main script
        # again): no copy of this process's threads, locks or loaded libraries
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=[theirs.fileno()],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        theirs.close()
        self._connection = Connection(ours.detach())
        self._finish_output = relay_output(self._process)
        try:
            self._connection.send(list(sys.path))  # first, so that ``build`` unpickles there as here
            self._connection.send((build, args))
        except BaseException:  # ``build`` or an argument does not pickle
            self._kill()
            raise

    def call(self, method: str, *args: Any) -> Any:
        """``method(*args)`` of the served object, run there; a LetiError or OSError there is
        raised here as itself, any other error as a RuntimeError with the worker's traceback."""
        self._send(("call", method, args))
        try:
            result = self._receive("result")[1]
        except BaseException:
            self._abandon()
            raise
        self._busy = False
        return result

    def stream(self, method: str, *args: Any, progress: ProgressCallback | None = None) -> Iterator[Any]:
        """The items of the iterator ``method(*args, progress=...)`` returns there, as they come;
        its progress calls are made on ``progress`` here. A stream left unfinished (closed, or
        interrupted here) ends the worker, which then refuses requests; one that raises there
        raises here as ``call`` does, and the worker goes on."""
        self._send(("stream", method, args))
        try:
            while True:
                message = self._receive("item", "progress", "end")
                if message[0] == "end":
                    break
                if message[0] == "item":
                    yield message[1]
                elif progress is not None:
                    call_progress(progress, message[1], **message[2])
        except BaseException:  # GeneratorExit included: the rest of the stream has no reader
            self._abandon()
            raise
        self._busy = False

    @property
    def alive(self) -> bool:
        """Whether the process is running and takes requests."""
        return self._process.poll() is None and not self._connection.closed

    def close(self) -> None:
        """Ends the process (what it holds is freed with it): an idle one is told to end, a busy
        one is killed."""
        if self._busy:
            self._kill()
            return
        self._closed = True
        if not self._connection.closed:
            try:
                self._connection.send(None)
            except OSError:
                pass
            self._connection.close()
        try:
            self._process.wait(timeout=CLOSE_SECONDS)
        except BaseException:  # too slow, or Ctrl-C while waiting: it must not outlive us
            self._kill()
            raise
        finally:
            self._finish_output()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._busy:
            raise LetiError(f"{self.name} is still answering a request: it takes one at a time")
        if self._closed:
            raise LetiError(f"{self.name} was closed: make a new one")
        if not self.alive:
            raise self._ended()
        try:
            self._connection.send(message)
        except OSError:
            raise self._ended() from None
        self._busy = True

    def _receive(self, *expected: str) -> tuple[Any, ...]:
        try:
            message = self._connection.recv()
        except (EOFError, OSError):
            raise self._ended() from None
        except Exception as error:  # an answer that does not unpickle here
            self._kill()
            raise RuntimeError(f"{self.name} sent an answer this process cannot read: {error}") from error
        return self._checked(message, expected)

    def _checked(self, message: tuple[Any, ...], expected: tuple[str, ...]) -> tuple[Any, ...]:
        """``message`` when it is one of ``expected``; the error it carries raised otherwise."""
        error = self._error(message)
        if error is not None:
            self._busy = False  # the worker goes on: it answered
            raise error
        if message[0] not in expected:
            raise RuntimeError(f"{self.name} sent {message[0]!r} where one of {expected} was expected")
        return message

    def _error(self, message: tuple[Any, ...]) -> Exception | None:
        """The error an answer carries: the worker's own LetiError or OSError, or a RuntimeError
        with its traceback (None for an answer of another kind)."""
        if message[0] == "raise":
            return message[1]
        if message[0] == "crash":
            return RuntimeError(f"{self.name} failed:\n{message[1]}")
        return None

    def _ended(self) -> Exception:
        """The error for a process that is gone without being told to end: the one it sent before
        ending, if any (a ``build`` that failed there), else how it ended."""
        pending = None
        if not self._connection.closed:
            try:
                pending = self._connection.recv() if self._connection.poll(0) else None
            except (EOFError, OSError):
                pending = None
        self._kill()
        error = self._error(pending) if pending is not None else None
        if error is not None:
            return error
        code = self._process.returncode
        hint = "; the kernel's out-of-memory killer sends SIGKILL" if code == -signal.SIGKILL else ""
        return LetiError(f"{self.name} ended unexpectedly ({exit_status(code)}{hint})")

    def _abandon(self) -> None:
        """After a request that did not end normally: a worker still busy with it is killed."""
        if self._busy:
            self._kill()

    def _kill(self) -> None:
        self._busy, self._closed = False, True
        if not self._connection.closed:
            self._connection.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._finish_output()


def relay_output(process: subprocess.Popen[bytes]) -> Callable[[], None]:
    """Copies what ``process`` writes to its ``stdout`` pipe (its stderr joined to it) to this
    process's ``sys.stderr`` as it comes, on a thread of its own. So a child's output takes the way
    of this process's own messages: off stdout (which carries a command's results), and through the
    command line's turning progress bars into lines in a log. Returns ``finish()``, which waits for
    the rest of the output once the process has ended (at most ``DRAIN_SECONDS``: a process it
    started may still hold the pipe)."""
    assert process.stdout is not None, "start the process with stdout=PIPE, stderr=STDOUT"
    thread = threading.Thread(target=_relay, args=(process.stdout,), name=f"output of {process.pid}", daemon=True)
    thread.start()
    return lambda: thread.join(timeout=DRAIN_SECONDS)


def _relay(output: IO[bytes]) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := os.read(output.fileno(), 65536):
        try:
            sys.stderr.write(decoder.decode(chunk))
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed or gone: keep draining, so the child never blocks
            continue
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
    ``descriptor`` until told to stop or until the caller is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it ends us
    connection = Connection(descriptor)
    try:
        sys.path[:] = connection.recv()
        build, args = connection.recv()
    except (EOFError, OSError):
        return
    except Exception:  # noqa: BLE001  # build's module does not import here: the caller says so
        _answer(connection, ("crash", traceback.format_exc()))
        return
    served: list[Any] = []

    def target(method: str) -> Any:
        if not served:
            served.append(build(*args))
        return getattr(served[0], method)

    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None or not _answered(connection, request, target):
            return


def _answered(connection: Connection, request: tuple[str, str, tuple[Any, ...]], target: Callable[[str], Any]) -> bool:
    """Answers one request; False once the caller is gone."""
    kind, method, args = request
    try:
        if kind == "call":
            return _answer(connection, ("result", target(method)(*args)))

        def relay(n: int, **extra: Any) -> None:
            if not _answer(connection, ("progress", n, extra)):
                raise _CallerGone

        for item in target(method)(*args, progress=relay):
            if not _answer(connection, ("item", item)):
                return False
        return _answer(connection, ("end",))
    except _CallerGone:
        return False
    except PASSED_ON as error:
        return _answer(connection, ("raise", error))
    except Exception:  # noqa: BLE001  # the caller raises it, with this traceback
        return _answer(connection, ("crash", traceback.format_exc()))


class _CallerGone(Exception):
    """The caller closed the connection while a stream was being answered."""


def _answer(connection: Connection, message: tuple[Any, ...]) -> bool:
    """Sends ``message`` (or, when it does not pickle, the traceback of why); False when the caller
    is gone (it closed its end or ended)."""
    try:
        connection.send(message)
    except OSError:  # BrokenPipeError, ConnectionResetError
        return False
    except Exception:  # noqa: BLE001  # a result or error that does not pickle
        return _answer(connection, ("crash", traceback.format_exc()))
    return True
