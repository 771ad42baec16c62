"""A base for environments that run programs in a sandbox chosen by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pydantic import Field

from .components import (
    Component,
    Environment,
    Options,
    Program,
    ProgramLimits,
    ProgressCallback,
    Sandbox,
)
from .errors import LetiError
from .models import ExecutionResult

DEFAULT_SANDBOX = "local"
#: ``factory(backend_name, read_paths=())`` -> the sandbox an environment runs its programs in.
SandboxFactory = Callable[..., Sandbox]


class SandboxOptions(Options, ProgramLimits):
    """Limits per program (``ProgramLimits``) and the sandbox backend; subclasses change the defaults."""

    sandbox: str = Field(
        default=DEFAULT_SANDBOX, description="sandbox backend by name", json_schema_extra={"shortcut": True}
    )


def with_read_paths(
    sandbox: type[Component], options: dict[str, Any], read_paths: Sequence[str] = ()
) -> dict[str, Any]:
    """A sandbox's options with the paths an environment's tools read added, where the backend
    takes ``read_paths`` (a container has its own files)."""
    if read_paths and "read_paths" in sandbox.Options.model_fields:
        return {**options, "read_paths": [*options.get("read_paths", []), *read_paths]}
    return options


class SandboxedEnvironment(Environment):
    """An environment whose programs run in a sandbox: one passed in, or one made on first use by
    ``sandbox_factory(backend_name)`` (a registry's ``environment()`` passes one; it is also given
    ``read_paths=`` when the environment's tools read files of their own).

    A sandbox the environment made is closed with it; one passed in belongs to the caller.
    """

    Options: ClassVar[type[SandboxOptions]] = SandboxOptions

    def __init__(
        self,
        *,
        sandbox_instance: Sandbox | None = None,
        sandbox_factory: SandboxFactory | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._sandbox = sandbox_instance
        self._factory = sandbox_factory
        self._owns_sandbox = sandbox_instance is None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            if self._factory is None:
                raise LetiError(
                    f"environment {self.name!r} has no sandbox: create it through a registry "
                    "(registry.environment(...)) or pass sandbox_instance="
                )
            paths = self.read_paths()
            self._sandbox = (
                self._factory(self.options.sandbox, read_paths=paths) if paths else self._factory(self.options.sandbox)
            )
        return self._sandbox

    def read_paths(self) -> list[str]:
        """Files and folders this environment's tools read beyond the system's and the interpreter's
        (a sandbox that closes the filesystem opens them read-only, and nothing else)."""
        return []

    def run_sources(
        self, sources: Sequence[str], progress: ProgressCallback | None = None, tests: Sequence[str] | None = None
    ) -> list[ExecutionResult]:
        """Run program texts under this environment's limits, results in order; with ``tests``
        (one per source), each program is judged apart by its tests (``Program.tests``)."""
        programs = [
            Program(source=source, tests=test, **self.options.limits())
            for source, test in zip(sources, tests if tests is not None else [""] * len(sources), strict=True)
        ]
        return self.sandbox.run(programs, progress=progress)

    def run_programs(
        self, programs: Sequence[Program], progress: ProgressCallback | None = None
    ) -> list[ExecutionResult]:
        """Run programs (of steps, in any language) in this environment's sandbox, results in order."""
        if any(program.steps for program in programs) and not self.sandbox.runs_steps:
            raise LetiError(
                f"environment {self.name!r} runs commands, and sandbox {self.options.sandbox!r} runs only "
                "Python programs: use --sandbox local (or docker, with the language in its image)"
            )
        return self.sandbox.run(programs, progress=progress)

    def close(self) -> None:
        if self._sandbox is not None and self._owns_sandbox:
            self._sandbox.close()
            self._sandbox = None
