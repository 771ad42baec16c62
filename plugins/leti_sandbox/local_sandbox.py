"""The `local` sandbox: warm executors that fork one hardened child per program."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from leti_core import LetiError, SandboxBackendOptions

from . import bwrap, isolation
from .pool import ExecutorPool
from .slots import Slots
from .workers import ExecutorProcess

EXECUTOR = Path(__file__).with_name("executor.py")
LayerName = Literal["uid", "tmpfs", "landlock", "landlock-fs", "seccomp"]
# Modules most programs import: loaded once in the executor, shared by every child (MBPP's
# reference solutions: re 78, math 42, collections 27, heapq 18, itertools 12 of 974). Left out:
# `random`, whose fork hook reseeds in every child (about 40 page faults per program), and
# extension modules few programs import (cmath 4, array 3, bisect 2): each maps five more
# regions that every fork copies and every exit unmaps.
PRELOAD = ("re", "math", "collections", "heapq", "itertools", "functools", "string", "operator", "copy", "json", "sys")


def python_paths(python: str) -> list[str]:
    """The installation folders of the interpreter (read-only for programs)."""
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(python)))
    return sorted({sys.base_prefix, prefix})


class LocalSandbox(ExecutorPool):
    """Runs each program in a fresh child forked from a warm, small executor process.

    Each child gets, where the kernel has them: an unprivileged uid of its own per worker (when
    root), rlimits, Landlock (filesystem, TCP, signal scope), a seccomp filter (sockets,
    io_uring, namespaces, ptrace), a private size-limited tmpfs work folder, stdin from
    /dev/null, capped output and a clean environment; the executor enforces the wall-clock limit
    and leaves no process behind. With bubblewrap, each executor also runs in its own
    namespaces. Refuses to start below ``min_level`` (see ``leti sandbox check``).
    """

    name = "local"

    class Options(SandboxBackendOptions):
        min_level: isolation.Level = Field(
            default_factory=isolation.default_min_level, description="refuse to run below this isolation level"
        )
        bwrap: Literal["auto", "on", "off"] = Field(default="auto", description="start executors under bubblewrap")
        python: str = Field(
            default_factory=lambda: os.path.realpath(sys.executable),
            description="absolute path of the interpreter that runs programs",
        )
        disable: list[LayerName] = Field(default_factory=list, description="layers to leave off")
        max_processes: int = Field(
            default=32,
            ge=1,
            description="processes and threads per program and its judge, "
            "with a uid of its own (a judged JavaScript program runs two node processes, "
            "about 11 threads)",
        )
        tmpfs_mb: int = Field(default=64, ge=1, description="size of each worker's work folder")
        file_mb: int = Field(default=16, ge=1, description="largest file a program may write")
        uid_base: int = Field(default=1_500_000_000, ge=1000, description="first unprivileged uid (root only)")
        window: int = Field(default=2, ge=1, le=64, description="jobs queued on each executor's pipe")
        preload: list[str] = Field(default_factory=lambda: list(PRELOAD), description="modules imported once")
        read_paths: list[str] = Field(
            default_factory=list,
            description="more files or folders programs may read "
            "(an environment adds what its tools read, e.g. node's openssl.cnf)",
        )

        @field_validator("read_paths")
        @classmethod
        def _absolute_paths(cls, paths: list[str]) -> list[str]:
            for path in paths:
                if not os.path.isabs(path):
                    raise ValueError(f"{path!r} is not an absolute path")
            return paths

        @field_validator("python")
        @classmethod
        def _absolute(cls, value: str) -> str:
            if not os.path.isabs(value) or not os.access(value, os.X_OK):
                raise ValueError("must be the absolute path of an executable interpreter")
            return value

    def _prepare(self) -> None:
        if not sys.platform.startswith("linux"):
            raise LetiError(
                f"sandbox 'local' needs Linux (pidfd, Landlock, seccomp) and this is {sys.platform}: "
                "use --sandbox docker with a Docker engine, or run LeTI on Linux"
            )
        self._bwrap, self._bwrap_reason = self._choose_bwrap()
        self._slots: Slots | None = Slots(
            self.options.workers, None if "uid" in self.options.disable else self.options.uid_base
        )

    def _choose_bwrap(self) -> tuple[str | None, str]:
        if self.options.bwrap == "off":
            return None, "disabled by option"
        path = bwrap.find()
        reason = "bwrap is not installed (apt install bubblewrap)" if path is None else bwrap.probe(path)
        if reason is None:
            return path, ""
        if self.options.bwrap == "on":
            raise LetiError(f"sandbox 'local': option bwrap='on' but bubblewrap cannot run here: {reason}")
        return None, reason

    def _host_layers(self) -> isolation.Layers:
        if self._bwrap:
            return {
                "bwrap": {
                    "on": True,
                    "detail": "each executor in its own pid, network, ipc, uts and mount "
                    "namespaces, capabilities dropped",
                }
            }
        return {"bwrap": {"on": False, "detail": self._bwrap_reason}}

    def _release(self) -> None:
        slots = getattr(self, "_slots", None)
        if slots is not None:
            slots.close()
            self._slots = None

    def _spawn(self, index: int) -> ExecutorProcess:
        assert self._slots is not None
        slot = self._slots.slots[index]
        read_paths = python_paths(self.options.python) + [
            path for path in self.options.read_paths if os.path.exists(path)
        ]
        config = {
            "uid": slot.uid,
            "gid": slot.gid,
            "workdir": slot.workdir,
            "read_paths": read_paths + list(bwrap.SYSTEM_PATHS),
            "disable": self.options.disable,
            "max_processes": self.options.max_processes,
            "tmpfs_mb": self.options.tmpfs_mb,
            "file_mb": self.options.file_mb,
            "preload": self.options.preload,
            "private_tmpfs": self._bwrap is None,
            "pid_namespace": self._bwrap is not None,
            "uid_reason": None if os.geteuid() == 0 else "not running as root: no unprivileged uid to switch to",
        }
        if self._bwrap:
            config["tmpfs_reason"] = f"private {self.options.tmpfs_mb} MiB tmpfs inside bubblewrap"
        command = [self.options.python, "-I", "-S", "-B", str(EXECUTOR), json.dumps(config)]
        if self._bwrap:
            command = bwrap.command(
                self._bwrap, [*read_paths, str(EXECUTOR.parent)], slot.workdir, self.options.tmpfs_mb, command
            )
        return ExecutorProcess(command)
