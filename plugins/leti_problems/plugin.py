"""Registers the `problems` task."""

from leti_core import hookimpl


@hookimpl
def leti_register_tasks(register):
    register(
        "problems",
        "leti_problems.task:ProblemsTask",
        "your own problems: a JSONL, JSON, CSV or Parquet file or a hub dataset, columns mapped by options",
    )
