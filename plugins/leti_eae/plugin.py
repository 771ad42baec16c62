"""Registers the `eae` and `eae-sample` tasks and the `eae` environment."""

from leti_core import hookimpl


@hookimpl
def leti_register_tasks(register):
    register("eae", "leti_eae.task:EAETask", "event argument extraction from OneIE-style JSONL (--data FOLDER)")
    register(
        "eae-sample",
        "leti_eae.task:EAESampleTask",
        "event argument extraction on the small sample data shipped with LeTI",
    )


@hookimpl
def leti_register_environments(register):
    register(
        "eae",
        "leti_eae.environment:EAEEnvironment",
        "checks extracted event arguments; the solution evaluator's message is the feedback",
    )
