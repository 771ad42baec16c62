"""The sandbox conformance attacks in JavaScript and C++, on the `local` and `docker` sandboxes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from leti_core import Program, Sandbox, Step
from leti_core.app import get_registry
from leti_core.testing import CommandConformance
from leti_core.testing.probes import docker_engine_answers

NODE, GXX = shutil.which("node"), shutil.which("g++")

JAVASCRIPT = {
    "pass": 'require("fs").writeSync(3, process.env.{nonce_variable});\n',
    "early-exit": 'process.exit(0);\nrequire("fs").writeSync(3, process.env.{nonce_variable});\n',
    "tcp": 'const s = require("net").connect({port}, "127.0.0.1", () => s.end("escaped"));\n'
    's.on("error", () => {{}});\nsetTimeout(() => {{}}, 1500);\n',
    "files": 'for (const p of {targets}) {{ try {{ require("fs").writeFileSync(p, "escaped"); }} catch (e) {{}} }}\n',
    "fork-bomb": 'const cp = require("child_process");\nfor (let i = 0; i < 400; i++) {{\n'
    '  try {{ cp.spawn("/bin/sleep", ["{marker}"], {{detached: true, stdio: "ignore"}}).on("error", () => {{}}); }}\n'
    "  catch (e) {{ break; }}\n}}\nsetTimeout(() => {{}}, 3000);\n",
    "thread-bomb": 'const {{ Worker }} = require("worker_threads");\n'
    'require("child_process").spawn("/bin/sleep", ["{marker}"], {{stdio: "ignore"}}).on("error", () => {{}});\n'
    'for (let i = 0; i < 400; i++) {{\n  try {{ new Worker("setInterval(() => {{}}, 1000)", {{eval: true}}).on("error", () => {{}}); }}\n'
    "  catch (e) {{ break; }}\n}}\nsetTimeout(() => {{}}, 3000);\n",
    "memory": "const blocks = [];\nwhile (true) blocks.push(Buffer.alloc(64 * 1024 * 1024, 1));\n",
    "signal-caller": 'try {{ process.kill({pid}, "SIGUSR1"); }} catch (e) {{}}\n',
    "kill-parent": 'process.kill(process.ppid, "SIGKILL");\n',
    "flood-output": 'const line = "x".repeat(1 << 20);\nfor (let i = 0; i < 200; i++) process.stdout.write(line);\n',
    "leftovers": 'require("child_process").spawn("/bin/sleep", ["{marker}"], {{detached: true, stdio: "ignore"}}).unref();\n',
}

CPP_HEAD = (
    "#include <cstdio>\n#include <cstdlib>\n#include <cstring>\n#include <csignal>\n#include <thread>\n"
    "#include <vector>\n#include <unistd.h>\n#include <sys/socket.h>\n#include <netinet/in.h>\n"
    "#include <arpa/inet.h>\n"
)
CPP_PASS = 'const char* n = getenv("{nonce_variable}"); if (n) {{ if (write(3, n, strlen(n)) < 0) return 1; }}'
CPP = {
    name: CPP_HEAD + "int main() {{\n" + body + "\n    return 0;\n}}\n"
    for name, body in {
        "pass": CPP_PASS,
        "early-exit": "exit(0);\n" + CPP_PASS,
        "tcp": "int s = socket(AF_INET, SOCK_STREAM, 0); if (s < 0) return 1;\n"
        'sockaddr_in a{{}}; a.sin_family = AF_INET; a.sin_port = htons({port}); a.sin_addr.s_addr = inet_addr("127.0.0.1");\n'
        'if (connect(s, (sockaddr*)&a, sizeof a) == 0) {{ if (write(s, "escaped", 7) < 0) return 1; }}',
        "files": "const char* targets[] = {targets_c};\n"
        'for (const char* p : targets) {{ FILE* f = fopen(p, "w"); if (f) {{ fputs("escaped", f); fclose(f); }} }}',
        "fork-bomb": "for (int i = 0; i < 400; i++) {{ pid_t p = fork(); if (p < 0) break;\n"
        '  if (p == 0) {{ execl("/bin/sleep", "sleep", "{marker}", (char*)nullptr); _exit(1); }} }}\nsleep(3);',
        "thread-bomb": 'if (fork() == 0) {{ execl("/bin/sleep", "sleep", "{marker}", (char*)nullptr); _exit(1); }}\n'
        "std::vector<std::thread> threads;\nfor (int i = 0; i < 400; i++) {{\n"
        "  try {{ threads.emplace_back([] {{ sleep(3); }}); }} catch (...) {{ break; }} }}\n"
        "for (auto& t : threads) t.join();",
        "memory": "size_t n = 10ull << 30; char* p = (char*)malloc(n); if (!p) return 1;\n"
        "for (size_t i = 0; i < n; i += 4096) p[i] = 1;",
        "signal-caller": "kill({pid}, SIGUSR1);",
        "kill-parent": "kill(getppid(), SIGKILL);",
        "flood-output": "static char line[1 << 20]; memset(line, 'x', sizeof line);\n"
        "for (int i = 0; i < 200; i++) fwrite(line, 1, sizeof line, stdout);",
        "leftovers": 'if (fork() == 0) {{ setsid(); execl("/bin/sleep", "sleep", "{marker}", (char*)nullptr); _exit(1); }}',
    }.items()
}


@pytest.fixture(scope="module")
def local() -> Iterator[Sandbox]:
    sandbox = get_registry().sandbox("local", workers=2)
    yield sandbox
    sandbox.close()


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
class TestJavaScriptOnLocal(CommandConformance):
    snippets = JAVASCRIPT

    def program(self, code: str) -> Program:
        return Program(
            files={"program.js": code},
            steps=[Step(name="run", argv=[NODE, "program.js"], timeout=4, wall_timeout=8, memory_limit="data")],
        )

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls, local):
        return local


@pytest.mark.skipif(GXX is None, reason="g++ is not installed")
class TestCppOnLocal(CommandConformance):
    snippets = CPP

    def program(self, code: str) -> Program:
        return Program(
            files={"program.cpp": code},
            steps=[
                Step(
                    name="compile",
                    argv=[GXX, "-O1", "-pthread", "-o", "program", "program.cpp"],
                    timeout=30,
                    memory_mb=2048,
                ),
                Step(name="run", argv=["./program"], timeout=4, wall_timeout=8),
            ],
        )

    def run_attack(self, sandbox, name, **values):
        if "targets" in values:  # a C array of string literals
            import json

            values["targets_c"] = "{" + ", ".join(json.dumps(path) for path in json.loads(values["targets"])) + "}"
        return super().run_attack(sandbox, name, **values)

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls, local):
        return local


@pytest.fixture(scope="module")
def docker() -> Iterator[Sandbox]:
    sandbox = get_registry().sandbox("docker", workers=2)
    yield sandbox
    sandbox.close()


@pytest.mark.skipif(NODE is None or not docker_engine_answers(), reason="needs Node.js and a Docker engine")
class TestJavaScriptOnDocker(TestJavaScriptOnLocal):
    """The same attacks inside the container (the image has node at the path it has here)."""

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls, docker):
        return docker


@pytest.mark.skipif(GXX is None or not docker_engine_answers(), reason="needs g++ and a Docker engine")
class TestCppOnDocker(TestCppOnLocal):
    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls, docker):
        return docker
