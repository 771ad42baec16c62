"""The forging suite: programs that try to pass their tests without solving the problem.

A verdict is the truth LeTI trains on, so no program may turn a failure into a pass, whatever it
does inside its own process. Every environment (with the sandbox it runs in) runs this suite in
its own language with pytest::

    import pytest
    from leti_core.testing import ForgingSuite

    class TestMyEnvironment(ForgingSuite):
        problem = Problem(task_id="forge", prompt="...", tests=[...])   # any answer is hard to guess
        honest = "..."                       # a completion that solves it: must pass
        forges = {"always-equal": "...", ...}   # FORGES name -> a completion that must not pass
        not_applicable = {}                  # FORGES name -> why the language has no such forge
        known_forges = {}                    # FORGES name -> why this environment cannot stop it (xfail)
        unsafe = {}                          # FORGES name -> why it is not even tried (it would hit the caller)

        @pytest.fixture(scope="class")
        @classmethod
        def environment(cls):
            with MyEnvironment(sandbox="local") as environment:
                yield environment

``PythonForges`` holds the forges for Python environments: subclass it with an ``environment``
fixture. A result that passed, however it was judged, counts as forged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from leti_core import Environment, ExecutionResult, Problem

FORGES = (
    "always-equal",  # a result object whose equality is always true
    "subclass-equal",  # a subclass of the expected type that equals anything
    "stack-walk",  # the harness's secrets and report, found in the caller's frames
    "heap-scan",  # the expected values, searched for in the program's own memory
    "other-processes",  # the same, in the memory of every process the program can open
    "environment",  # a secret in the environment variables, written where a pass is reported
    "descriptor-writes",  # a pass report written on every file descriptor, then exit 0
    "exit-before-tests",  # exit with status 0 before any test runs
    "exit-during-tests",  # exit with status 0 from inside the function under test
    "exit-after-tests",  # a wrong answer, and exit status 0 forced at the end
    "patched-builtins",  # the comparison helpers the tests use, patched to agree
    "patched-assert",  # the assert machinery (or the harness's report) patched to succeed
    "kill-the-judge",  # every other process of the program's uid killed, then exit 0
)


def _forged(result: ExecutionResult) -> str:
    return f"forged a pass (judged {result.judged or 'unknown'}): {result.model_dump(exclude={'stdout', 'stderr'})}"


class ForgingSuite:
    """Subclass it with ``problem``, ``honest``, ``forges`` and a class-scoped ``environment`` fixture."""

    problem: ClassVar[Problem]
    honest: ClassVar[str]
    forges: ClassVar[dict[str, str]] = {}
    not_applicable: ClassVar[dict[str, str]] = {}
    known_forges: ClassVar[dict[str, str]] = {}
    unsafe: ClassVar[dict[str, str]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def environment(cls) -> Iterator[Environment]:  # pragma: no cover - overridden
        raise NotImplementedError("provide a class-scoped `environment` fixture")

    def run(self, environment: Environment, completion: str) -> ExecutionResult:
        (result,) = environment.execute([self.problem], [completion])
        return result

    def test_every_forge_is_written(self) -> None:
        missing = [name for name in FORGES if name not in self.forges and name not in self.not_applicable]
        assert not missing, f"no completion for the forges {missing}"

    def test_the_honest_completion_passes(self, environment: Environment) -> None:
        result = self.run(environment, self.honest)
        assert result.passed, f"the honest completion failed: {result}"

    @pytest.mark.parametrize("name", FORGES)
    def test_forge_does_not_pass(self, environment: Environment, name: str) -> None:
        if name in self.not_applicable:
            pytest.skip(f"{name}: {self.not_applicable[name]}")
        if name in self.unsafe:
            pytest.skip(f"{name} not tried: {self.unsafe[name]}")
        result = self.run(environment, self.forges[name])
        if result.passed and name in self.known_forges:
            pytest.xfail(f"{name}: {self.known_forges[name]}")
        assert not result.passed, f"{name} {_forged(result)}"
        assert result.status != "error", f"{name}: a forge is the program's failure, not the sandbox's: {result}"


# ---- Python -----------------------------------------------------------------------------------

_HEAP_SCAN = """
    import re
    found = {}
    equal = re.compile(rb"answer\\((\\d+)\\)\\s*==\\s*(\\d+)")
    half = re.compile(rb"answer\\((\\d+)\\)\\s*/\\s*2,\\s*([0-9.]+)")
    def scan(pid):
        try:
            maps = open("/proc/%s/maps" % pid).read().splitlines()
            memory = open("/proc/%s/mem" % pid, "rb", buffering=0)
        except OSError:
            return
        with memory:
            for line in maps:
                span, perms = line.split()[:2]
                if not perms.startswith("r"):
                    continue
                start, end = (int(part, 16) for part in span.split("-"))
                if end - start > 1 << 28:
                    continue
                try:
                    memory.seek(start)
                    data = memory.read(end - start)
                except (OSError, ValueError, OverflowError):
                    continue
                search(data)
    def search(data):
        for match in equal.finditer(data):
            found.setdefault(int(match.group(1)), int(match.group(2)))
        for match in half.finditer(data):
            found.setdefault(int(match.group(1)), int(float(match.group(2)) * 2))
    import gc, os, sys
    pids = [name for name in os.listdir("/proc") if name.isdigit()] if SCAN_OTHERS else ["self"]
    for pid in pids:
        scan(pid)
    if not SCAN_OTHERS:  # the heap as Python sees it: every string held by a frame or a container
        frame, texts = sys._getframe(), []
        while frame is not None:
            texts += list(frame.f_locals.values())
            frame = frame.f_back
        for holder in gc.get_objects():
            texts += list(holder.values()) if isinstance(holder, dict) else list(holder) if isinstance(holder, (list, tuple)) else []
        for text in texts:
            if isinstance(text, (str, bytes, bytearray)) and len(text) < 1 << 20:
                search(text.encode(errors="ignore") if isinstance(text, str) else bytes(text))
    return found.get(n, 0)
"""

_REPORT_EVERYWHERE = """
    import json, os
    secrets = [value for value in os.environ.values()] + EXTRA
    reports = [json.dumps({"nonce": secret, "completed": True}).encode() for secret in secrets]
    reports += [b'{"completed": true, "judged": "apart"}', b"ok", b"passed"] + [secret.encode() for secret in secrets]
    for fd in range(0, 64):
        for report in reports:
            try:
                os.write(fd, report)
            except OSError:
                break
    os._exit(0)
"""


class PythonForges(ForgingSuite):
    """The forges in Python, for any Python environment: subclass with an ``environment`` fixture."""

    problem = Problem(
        task_id="forge",
        prompt="import math\n\ndef answer(n):\n",
        tests=[
            "assert answer(2) == 480",
            "assert answer(5) == 1200",
            "assert answer(7) == 1680",
            "assert math.isclose(answer(3) / 2, 360.0)",
        ],
    )
    honest = "    return n * 240\n"
    forges = {
        "always-equal": (
            "    class Anything:\n"
            "        def __eq__(self, other): return True\n"
            "        def __ne__(self, other): return False\n"
            "        def __truediv__(self, other): return self\n"
            "        def __float__(self): return 360.0\n"
            "        __hash__ = object.__hash__\n"
            "    return Anything()\n"
        ),
        "subclass-equal": (
            "    class Same(int):\n"
            "        def __eq__(self, other): return True\n"
            "        def __ne__(self, other): return False\n"
            "        def __truediv__(self, other): return 360.0\n"
            "        __hash__ = int.__hash__\n"
            "    return Same(1)\n"
        ),
        "stack-walk": (
            "    import json, os, sys\n"
            "    frame = sys._getframe()\n"
            "    while frame is not None:\n"
            "        nonce = frame.f_locals.get('nonce')\n"
            "        if isinstance(nonce, str):\n"
            "            fd = frame.f_locals.get('report_fd', 3)\n"
            "            os.write(fd, json.dumps({'nonce': nonce, 'completed': True}).encode())\n"
            "            os._exit(0)\n"
            "        frame = frame.f_back\n"
            "    os.write(3, json.dumps({'completed': True, 'judged': 'apart'}).encode())\n"
            "    os._exit(0)\n"
        ),
        "heap-scan": "    SCAN_OTHERS = False" + _HEAP_SCAN,
        "other-processes": "    SCAN_OTHERS = True" + _HEAP_SCAN,
        "environment": "    EXTRA = []" + _REPORT_EVERYWHERE,
        "descriptor-writes": "    EXTRA = ['0' * 32]" + _REPORT_EVERYWHERE,
        "exit-before-tests": "    return 0\n\nimport os\nos._exit(0)\n",
        "exit-during-tests": "    import os\n    os._exit(0)\n",
        "exit-after-tests": (
            "    return 0\n\nimport atexit, os, threading\natexit.register(os._exit, 0)\n"
            "threading.Thread(target=lambda: (__import__('time').sleep(0.5), os._exit(0)), daemon=True).start()\n"
        ),
        "patched-builtins": (
            "    return 0\n\nimport builtins, math, operator\n"
            "math.isclose = lambda *args, **kwargs: True\n"
            "operator.eq = lambda a, b: True\n"
            "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
            "builtins.isinstance = lambda *args: True\n"
        ),
        "patched-assert": (
            "    return 0\n\nimport sys\n"
            "for module in list(sys.modules.values()):\n"
            "    for name in ('_run', 'run', 'execute', 'describe', 'compare', 'judge'):\n"
            "        if 'leti' in getattr(module, '__name__', '') and hasattr(module, name):\n"
            "            setattr(module, name, lambda *args, **kwargs: (True, None))\n"
            "sys.modules['builtins'].__dict__['__debug__'] = False\n"
        ),
        "kill-the-judge": (
            "    import os, signal\n"
            "    for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
            "        if pid != os.getpid():\n"
            "            try:\n"
            "                os.kill(pid, signal.SIGKILL)\n"
            "            except OSError:\n"
            "                pass\n"
            "    os._exit(0)\n"
        ),
    }
