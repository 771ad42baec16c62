"""Registers the `python` environment."""

from leti_core import hookimpl


@hookimpl
def leti_register_environments(register):
    register(
        "python",
        "leti_python.environment:PythonEnvironment",
        "runs programs against their test asserts; the traceback is the feedback",
    )
