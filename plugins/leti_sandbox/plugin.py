"""Sandbox backends for running model-written programs."""

from leti_core import hookimpl


@hookimpl
def leti_register_sandboxes(register):
    register(
        "subprocess",
        "leti_sandbox.subprocess_sandbox:SubprocessSandbox",
        "a fresh bare interpreter per program with rlimits and a wall-clock kill",
    )
    register(
        "local",
        "leti_sandbox.local_sandbox:LocalSandbox",
        "warm executors forking a hardened child per program: uid, rlimits, Landlock, seccomp, tmpfs",
    )
    register(
        "docker",
        "leti_sandbox.docker_sandbox:DockerSandbox",
        "the local executor inside long-lived locked-down containers, one per worker",
    )
