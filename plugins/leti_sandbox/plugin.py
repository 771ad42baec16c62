"""Sandbox backends for running model-written programs."""

from leti_core import hookimpl


@hookimpl
def leti_register_sandboxes(register):
    register("subprocess", "leti_sandbox.subprocess_sandbox:SubprocessSandbox",
             "a fresh bare interpreter per program with rlimits and a wall-clock kill")
