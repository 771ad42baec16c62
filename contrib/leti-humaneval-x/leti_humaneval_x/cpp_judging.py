"""C++ judged apart: the program served by a stub compiled into it, the tests compiled into a judge.

The judge is built on the host from trusted text only (the problem's prompt, with its last
function turned into a call across the channel, and its tests), once per problem, linked
statically so that it runs in any sandbox (docker's image included). The sandbox runs it from
memory beside the program (``Program.tests_executable``): it is never a file the program can
reach. Its report gives a failed assert at its line in the single program (prompt + completion +
tests), which differs per completion: the offset goes on the judge's command line.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from leti_core import Problem, cache_folder

_SIGNATURE = re.compile(
    r"^(?P<returns>[^;{}()#/]*?[\w>&*\s])\b(?P<name>[A-Za-z_]\w*)\s*\((?P<parameters>[^;{}]*)\)\s*$"
)
_PARAMETER_NAME = re.compile(r"([A-Za-z_]\w*)\s*$")
_KEYWORDS = {"int", "long", "short", "char", "bool", "float", "double", "unsigned", "signed", "const", "auto", "void"}


def _source(name: str) -> str:
    return resources.files(__package__).joinpath("cpp_judge", name).read_text()


@dataclass(frozen=True)
class Signature:
    """The function a prompt ends by opening: ``returns name(parameters) {``."""

    returns: str
    name: str
    parameters: str
    parameter_names: tuple[str, ...]
    line: int  # its index among the prompt's lines

    @property
    def type(self) -> str:
        """Its function type, e.g. ``vector<int>(vector<int> numbers, int n)``."""
        return f"{self.returns}({self.parameters})"


def signature(prompt: str) -> Signature | None:
    """The function the prompt opens last (before any comment that ends it), when its parameters all
    have names; else None."""
    text = prompt.rstrip()
    while True:  # a docstring inside the function
        last_line = text[text.rfind("\n") + 1 :].lstrip()
        if text.endswith("*/") and "/*" in text:
            text = text[: text.rfind("/*")].rstrip()
        elif last_line.startswith("//"):
            text = text[: text.rfind("\n") + 1].rstrip()
        else:
            break
    lines = text.split("\n")
    last = lines[-1].rstrip()
    if not last.endswith("{"):
        return None
    match = _SIGNATURE.match(last[:-1].strip())
    if match is None or match.group("returns").strip() in ("", "return", "else"):
        return None
    parameters = match.group("parameters").strip()
    names = []
    for parameter in _split_parameters(parameters):
        found = _PARAMETER_NAME.search(parameter)
        if "=" in parameter or found is None or found.group(1) in _KEYWORDS or found.start() == 0:
            return None  # a default, or a parameter without a name
        names.append(found.group(1))
    return Signature(
        returns=match.group("returns").strip(),
        name=match.group("name"),
        parameters=parameters,
        parameter_names=tuple(names),
        line=len(lines) - 1,
    )


def _split_parameters(text: str) -> list[str]:
    """The parameters, split at the commas outside <>, () and []."""
    if text in ("", "void"):
        return []
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "<([":
            depth += 1
        elif char in ">)]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def served_source(program: str, function: Signature) -> str:
    """The program's text, then the stub that serves its function (its lines keep their numbers)."""
    return (
        f'{program}\n#line 1 "leti-served.cpp"\n{_source("wire.hpp")}\n{_source("served.hpp")}\n'
        f"int main() {{\n"
        f"    static const leti_served::handler handlers[] = {{leti_served::serve<{function.type}>(&{function.name})}};\n"
        f"    return leti_served::run(handlers, 1);\n}}\n"
    )


def judge_source(problem: Problem, function: Signature) -> str:
    """The judge's text: the prompt with its function calling across the channel, then the tests
    (numbered from 1: the judge adds the line at which they start in the single program)."""
    prototype = "\n".join(problem.prompt.split("\n")[: function.line])
    arguments = ", ".join(function.parameter_names)
    call = f"leti_judge::remote<{function.type}>::call(0{', ' if arguments else ''}{arguments})"
    return (
        f'{_source("wire.hpp")}\n{_source("judge.hpp")}\n#line 1 "leti-prompt.cpp"\n{prototype}\n'
        f"{function.returns} {function.name}({function.parameters}) {{\n    return {call};\n}}\n"
        f'#line 1 "program.cpp"\n' + "\n".join(problem.tests) + "\n"
    )


@dataclass(frozen=True)
class Judge:
    """A problem's judge: its executable, or why it could not be built."""

    executable: bytes | None
    reason: str = ""


class JudgeBuilder:
    """Builds each problem's judge once (on the host: trusted text only), keeping the executables
    in memory and in LeTI's cache folder (``cpp-judges``), by a hash of the compiler, its flags and
    the judge's text."""

    def __init__(
        self, compiler: str, flags: list[str], link_flags: list[str], timeout: float, folder: Path | None = None
    ) -> None:
        self.command = [
            compiler,
            *[flag for flag in flags if not flag.startswith("-O")],
            "-O0",
            "-static",
            "-s",
            "-fdiagnostics-color=never",
        ]
        self.link_flags, self.timeout = link_flags, timeout
        self.folder = folder or cache_folder("cpp-judges")
        self._built: dict[str, Judge] = {}
        self._lock = threading.Lock()

    def judge(self, problem: Problem) -> Judge:
        function = signature(problem.prompt)
        if function is None:
            return Judge(None, "the prompt does not end by opening a function whose parameters all have names")
        source = judge_source(problem, function)
        version = _compiler_version(self.command[0])
        key = hashlib.sha256("\0".join([version, *self.command, *self.link_flags, source]).encode()).hexdigest()
        with self._lock:
            known = self._built.get(key)
        if known is None:
            known = self._cached(key) or self._build(source, key)
            with self._lock:
                self._built[key] = known
        return known

    def _cached(self, key: str) -> Judge | None:
        try:
            return Judge((self.folder / key).read_bytes())
        except OSError:
            return None

    def _build(self, source: str, key: str) -> Judge:
        with tempfile.TemporaryDirectory(prefix="leti-cpp-judge-") as folder:
            path = Path(folder) / "judge.cpp"
            path.write_text(source, encoding="utf-8")
            executable = Path(folder) / "judge"
            try:
                done = subprocess.run(
                    [*self.command, "-o", str(executable), str(path), *self.link_flags],
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    cwd=folder,
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                return Judge(None, f"the judge could not be compiled: {error}")
            if done.returncode != 0:
                first = next((line for line in done.stderr.splitlines() if "error" in line), done.stderr.strip()[:200])
                return Judge(None, f"the judge does not compile: {first.replace(folder + '/', '')}")
            self._keep(executable, key)
            return Judge(executable.read_bytes())

    def _keep(self, executable: Path, key: str) -> None:
        """Into the cache folder, whole or not at all (a cache that cannot be written is skipped)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            staged = self.folder / f".{key}.{os.getpid()}.{threading.get_ident()}"
            shutil.copyfile(executable, staged)
            os.replace(staged, self.folder / key)
        except OSError:
            pass


@functools.cache
def _compiler_version(compiler: str) -> str:
    """What ``compiler --version`` prints (part of a judge's cache key)."""
    try:
        return subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return compiler
