"""The forging suite in JavaScript and C++: `local` (with and without bubblewrap) and `docker`."""

from __future__ import annotations

import shutil

import pytest
from leti_core import Problem
from leti_core.app import get_registry
from leti_core.testing import ForgingSuite
from leti_core.testing.probes import docker_engine_answers

NODE, GXX = shutil.which("node"), shutil.which("g++")

JS_READ_OWN_FILE = (
    "  const text = require('fs').readFileSync(__filename, 'utf8')\n"
    "  const found = {}\n"
    "  for (const m of text.matchAll(/answer\\((\\d+)\\)\\) === JSON\\.stringify\\((\\d+)\\)/g)) found[m[1]] = Number(m[2])\n"
    "  return found[n]\n}\n"
)
JS_SCAN_PROCESSES = (
    "  const fs = require('fs'), found = {}\n"
    "  for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {\n"
    "    try {\n"
    "      const mem = fs.openSync(`/proc/${pid}/mem`, 'r')\n"
    "      for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\\n')) {\n"
    "        const [span, perms] = line.split(' ')\n"
    "        if (!perms || perms[0] !== 'r') continue\n"
    "        const [start, end] = span.split('-').map((h) => parseInt(h, 16))\n"
    "        if (end - start > 1 << 26) continue\n"
    "        const buffer = Buffer.alloc(end - start)\n"
    "        try { fs.readSync(mem, buffer, 0, buffer.length, start) } catch (e) { continue }\n"
    "        for (const m of buffer.toString('latin1').matchAll(/answer\\((\\d+)\\)\\) === JSON\\.stringify\\((\\d+)\\)/g))"
    " found[m[1]] = Number(m[2])\n"
    "      }\n"
    "    } catch (e) {}\n"
    "  }\n"
    "  return found[n]\n}\n"
)


class JavaScriptForges(ForgingSuite):
    problem = Problem(
        task_id="forge",
        prompt="const answer = (n) => {\n",
        tests=[
            "const testAnswer = () => {\n"
            "  console.assert(JSON.stringify(answer(2)) === JSON.stringify(480))\n"
            "  console.assert(JSON.stringify(answer(5)) === JSON.stringify(1200))\n"
            "  console.assert(JSON.stringify(answer(7)) === JSON.stringify(1680))\n"
            "}\n"
            "testAnswer()"
        ],
    )
    honest = "  return n * 240\n}\n"
    forges = {
        "always-equal": "  return { valueOf: () => 480, toJSON: () => 480, [Symbol.toPrimitive]: () => 480 }\n}\n",
        "subclass-equal": "  class Same extends Number { toJSON() { return 480 } }\n  return new Same(0)\n}\n",
        "heap-scan": JS_READ_OWN_FILE,
        "other-processes": JS_SCAN_PROCESSES,
        "environment": (
            "  const fs = require('fs')\n"
            "  for (const [name, value] of Object.entries(process.env))\n"
            "    if (/LETI|NONCE/.test(name)) { try { fs.writeSync(3, value) } catch (e) {} }\n"
            "  process.exit(0)\n}\n"
        ),
        "descriptor-writes": (
            "  const fs = require('fs')\n"
            "  for (let fd = 0; fd < 64; fd++) { try { fs.writeSync(fd, '0'.repeat(32)) } catch (e) {} }\n"
            "  process.exit(0)\n}\n"
        ),
        "exit-before-tests": "  return 0\n}\nprocess.exit(0)\n",
        "exit-during-tests": "  process.exit(0)\n}\n",
        "exit-after-tests": "  return 0\n}\nprocess.on('uncaughtException', () => process.exit(0))\n",
        "patched-builtins": "  return 0\n}\nJSON.stringify = () => 'same'\n",
        "patched-assert": "  return 0\n}\nconsole.assert = () => {}\n",
        "kill-the-judge": (
            "  for (const pid of require('fs').readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {\n"
            "    try { if (Number(pid) !== process.pid) process.kill(Number(pid), 'SIGKILL') } catch (e) {}\n"
            "  }\n  process.exit(0)\n}\n"
        ),
    }
    not_applicable = {"stack-walk": "no harness frames: the tests are the program's own top-level code"}


CPP_READ_OWN_FILE = (
    '    FILE* f = fopen("program.cpp", "r"); if (!f) return 0;\n'
    "    static char text[1 << 16]; size_t size = fread(text, 1, sizeof text - 1, f); text[size] = 0; fclose(f);\n"
    '    char key[64]; snprintf(key, sizeof key, "answer(%d) == ", n);\n'
    "    const char* at = strstr(text, key);\n"
    "    return at ? atoi(at + strlen(key)) : 0;\n}\n"
)


class CppForges(ForgingSuite):
    problem = Problem(
        task_id="forge",
        prompt="#include <cassert>\n#include <cstdio>\n#include <cstdlib>\n"
        "#include <cstring>\n#include <csignal>\n#include <dirent.h>\n#include <unistd.h>\n"
        "int answer(int n) {\n",
        tests=[
            "int main() {\n    assert(answer(2) == 480);\n    assert(answer(5) == 1200);\n"
            "    assert(answer(7) == 1680);\n}"
        ],
    )
    honest = "    return n * 240;\n}\n"
    forges = {
        "heap-scan": CPP_READ_OWN_FILE,
        "other-processes": CPP_READ_OWN_FILE.replace("program.cpp", "/proc/1/cmdline"),
        "environment": (
            "    for (char** e = environ; *e; e++) { const char* v = strchr(*e, '=');\n"
            '        if (v && strstr(*e, "LETI") == *e && write(3, v + 1, strlen(v + 1)) < 0) break; }\n'
            "    _exit(0);\n}\n"
        ),
        "descriptor-writes": (
            '    for (int fd = 0; fd < 64; fd++) if (write(fd, "00000000000000000000000000000000", 32) < 0) {}\n'
            "    _exit(0);\n}\n"
        ),
        "exit-before-tests": "    return 0;\n}\nstatic int leave = (_exit(0), 0);\n",
        "exit-during-tests": "    _exit(0);\n}\n",
        "exit-after-tests": (
            "    return 0;\n}\nstatic void leave(int) { _exit(0); }\nstatic int trap = (signal(SIGABRT, leave), 0);\n"
        ),
        "patched-assert": "    return 0;\n}\n#undef assert\n#define assert(condition) ((void)0)\n",
        "kill-the-judge": (
            '    DIR* d = opendir("/proc"); struct dirent* e;\n'
            "    while (d && (e = readdir(d))) { int pid = atoi(e->d_name);\n"
            "        if (pid > 0 && pid != getpid()) kill(pid, SIGKILL); }\n    _exit(0);\n}\n"
        ),
    }
    not_applicable = {
        "always-equal": "the prompt fixes the return type (int): no object to return",
        "subclass-equal": "the prompt fixes the return type (int): no object to return",
        "stack-walk": "no harness frames: the tests are the program's own main",
        "patched-builtins": "no builtins to patch beyond the preprocessor's assert (patched-assert)",
    }


BWRAP = [
    pytest.param("off", id="without-bwrap"),
    pytest.param(
        "on",
        id="with-bwrap",
        marks=pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    ),
]


DOCKER = pytest.param(
    {"sandbox": "docker"},
    id="docker",
    marks=pytest.mark.skipif(
        not docker_engine_answers(), reason="no Docker engine answers `docker info` on this machine"
    ),
)


@pytest.fixture(scope="class", params=[*BWRAP, DOCKER])
def backend(request):
    """Options of the environment: the local sandbox without and with bubblewrap, or docker."""
    value = request.param
    return value if isinstance(value, dict) else {"sandbox_options": {"bwrap": value}}


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
class TestJavaScript(JavaScriptForges):
    """Judged apart (judge.js): no forge passes."""

    @pytest.fixture(scope="class")
    @classmethod
    def environment(cls, backend):
        with get_registry().environment("javascript", **backend) as environment:
            yield environment


@pytest.mark.skipif(GXX is None, reason="g++ is not installed")
class TestCpp(CppForges):
    """Judged apart (cpp_judging.py): no forge passes."""

    @pytest.fixture(scope="class")
    @classmethod
    def environment(cls, backend):
        with get_registry().environment("cpp", **backend) as environment:
            yield environment
