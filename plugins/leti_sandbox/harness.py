"""Runs one untrusted program inside a sandboxed process and reports how it ended.

The `subprocess` backend starts it as
``python -I -S harness.py MEMORY_MB CPU_SECONDS OUTPUT_BYTES REPORT_FD``; it reads the job
``{"source": ..., "nonce": ...}`` from stdin, then stdin becomes /dev/null. The report, one JSON
object carrying the nonce, is written to REPORT_FD only after the program returns or raises, so
``sys.exit(0)`` or ``os._exit(0)`` before the tests never counts as a pass. The `local` executor
loads this file and calls ``execute`` in each forked child. This file uses the standard library
only: it runs in a bare interpreter.
"""

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


def execute(source, nonce, report_fd):
    """Run ``source`` as ``__main__`` and write the nonce-tagged report to ``report_fd``; never returns.

    The report says ``completed`` only when the code after the last statement ran. It is built
    after the program ended, so the program cannot flip a flag in a report waiting in memory.
    """
    lines = source.splitlines(True)
    linecache.cache[FILENAME] = (len(source), None, lines, FILENAME)  # for the program's own tracebacks
    completed, error_info = _run(source, lines)
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
        os._exit(0)  # skip atexit handlers and threads the program left behind


def _run(source, lines):
    """(completed, error description or None)."""
    try:
        code = compile(source, FILENAME, "exec", dont_inherit=True)
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        sys.argv = [FILENAME]
        exec(code, namespace)
        return True, None
    except BaseException as error:  # SystemExit and KeyboardInterrupt are failures too
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
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    _set_limits(memory_mb, cpu_seconds, output_bytes)
    execute(job["source"], job["nonce"], report_fd)


if __name__ == "__main__":
    main()
