"""Runs one untrusted program inside a sandboxed process and reports how it ended.

The `subprocess` backend starts it as
``python -I -S harness.py MEMORY_MB CPU_SECONDS OUTPUT_BYTES REPORT_FD``; it reads the job
``{"source": ..., "nonce": ...}`` from stdin, then stdin becomes /dev/null (or, for a standard-input
test, ``{..., "stdin": TEXT}``: a sealed memfd holding TEXT). The report, one JSON
object carrying the nonce, is written to REPORT_FD only after the program returns or raises, so
``sys.exit(0)`` or ``os._exit(0)`` before the tests never counts as a pass. The `local` executor
loads this file and calls ``execute`` in each forked child. This file uses the standard library
only: it runs in a bare interpreter.
"""

import fcntl
import json
import json.encoder
import linecache
import os
import resource
import sys

FILENAME = "program.py"
if json.encoder.c_make_encoder is not None:  # json's C encoder, made once (as frames.py does)
    _encode_parts = json.encoder.c_make_encoder(  # no circular-reference check: messages are plain
        None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )

    def _dumps(report):
        return "".join(_encode_parts(report, 0))
else:
    _dumps = json.dumps
MESSAGE_LIMIT = 2000
FRAME_LIMIT = 200


def _limit(which, value):
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def _set_limits(memory_mb, cpu_seconds, output_bytes):
    _limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CPU, cpu_seconds)
    _limit(resource.RLIMIT_FSIZE, output_bytes)
    _limit(resource.RLIMIT_CORE, 0)


def _frames(tb, lines):
    """The program's own frames, walked from the traceback itself (with the traceback module and
    json.dumps, a failing program took about 75 more page faults), consecutive repeats folded
    (deep recursion stays short)."""
    frames = []
    last = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == FILENAME:
            lineno = tb.tb_lineno or 0
            line = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
            if last is not None and last["lineno"] == lineno and last["name"] == code.co_name and last["line"] == line:
                last["repeat"] = last.get("repeat", 0) + 1
            else:
                last = {"lineno": lineno, "name": code.co_name, "line": line}
                frames.append(last)
        tb = tb.tb_next
    if len(frames) > FRAME_LIMIT:
        frames = frames[: FRAME_LIMIT // 2] + frames[-FRAME_LIMIT // 2 :]
    return frames


def _message(error):
    try:
        text = str(error)
    except BaseException:
        text = "<unprintable message>"
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "..."


def _describe(error, lines):
    if (
        isinstance(error, SyntaxError)
        and error.filename == FILENAME
        and error.__traceback__ is not None
        and not _frames(error.__traceback__, lines)
    ):
        line = (error.text or "").strip()
        return {
            "type": type(error).__name__,
            "message": error.msg or "",
            "frames": [{"lineno": error.lineno or 0, "name": "", "line": line}],
            "syntax_error": True,
        }
    return {"type": type(error).__name__, "message": _message(error), "frames": _frames(error.__traceback__, lines)}


def execute(source, nonce, report_fd, stdio=False):
    """Run ``source`` as ``__main__`` and write the nonce-tagged report to ``report_fd``; never returns.

    The report says ``completed`` only when the code after the last statement ran. It is built
    after the program ended, so the program cannot flip a flag in a report waiting in memory.
    ``stdio``: a standard-input test, judged by what the program prints: ``exit()``, ``quit()`` and
    ``sys.exit()`` (status 0) end it normally, and the process exits with status 1 unless it
    completed (the report then says why).
    """
    lines = source.splitlines(True)
    linecache.cache[FILENAME] = (len(source), None, lines, FILENAME)  # for the program's own tracebacks
    completed, error_info = _run(source, lines, stdio)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    if completed and isinstance(nonce, str) and nonce.isalnum():
        data = ('{"nonce": "%s", "completed": true}' % nonce).encode()  # the common case, no json
    else:
        report = {"nonce": nonce, "completed": completed}
        if error_info is not None:
            report["error"] = error_info
        data = _dumps(report).encode()
    try:
        while data:
            data = data[os.write(report_fd, data) :]
    finally:
        os._exit(0 if completed or not stdio else 1)  # skip atexit handlers and threads the program left behind


def _run(source, lines, stdio=False):
    """(completed, error description or None)."""
    try:
        code = compile(source, FILENAME, "exec", dont_inherit=True)
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        if stdio:  # site's exit() and quit(), which `python -S` leaves out
            namespace["exit"] = namespace["quit"] = sys.exit
        sys.argv = [FILENAME]
        exec(code, namespace)
        return True, None
    except BaseException as error:  # SystemExit and KeyboardInterrupt are failures too
        if stdio and isinstance(error, SystemExit) and error.code in (None, 0):
            return True, None  # (but not for standard-input tests, which exit when they are done)
        try:
            return False, _describe(error, lines)
        except BaseException:
            return False, {"type": type(error).__name__, "message": "", "frames": []}


WARM_UP = (
    "def add(a, b):\n    return a + b\nassert add(1, 2) == 3\n",
    "def add(a, b):\n    return a + c\nassert add(1, 2) == 3\n",
    "def add(a, b) return\n",
)


def warm_up():
    """Run a passing, a failing and an unparsable program here, in the process children fork from.

    A process's first ``compile`` and first exception set up parser and error state lazily;
    done once before forking, children inherit it instead of repeating it (measured when it was
    added: about 35 fewer page faults per failing program).
    """
    for source in WARM_UP:
        lines = source.splitlines(True)
        linecache.cache[FILENAME] = (len(source), None, lines, FILENAME)
        _run(source, lines)
    linecache.cache.pop(FILENAME, None)
    sys.argv = [""]


def main():
    memory_mb, cpu_seconds, output_bytes, report_fd = (int(arg) for arg in sys.argv[1:5])
    job = json.loads(sys.stdin.buffer.read())
    stdin = os.open(os.devnull, os.O_RDONLY) if "stdin" not in job else sealed_file(job["stdin"].encode("utf-8"))
    os.dup2(stdin, 0)
    os.close(stdin)
    _set_limits(memory_mb, cpu_seconds, output_bytes)
    execute(job["source"], job["nonce"], report_fd, stdio="stdin" in job)


def sealed_file(data):
    """A descriptor reading ``data`` from its start: a memfd sealed against any change."""
    fd = os.memfd_create("stdin", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
    return fd


if __name__ == "__main__":
    main()
