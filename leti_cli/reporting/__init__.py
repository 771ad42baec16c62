"""The library behind `leti report`: Markdown and HTML pages with PNG plots of run folders.

Reading run folders needs only leti_core; plotting imports matplotlib (Agg backend) when a report
is built.
"""

from .pages import build_report
from .runs import IterationData, RunData, read_run

__all__ = ["IterationData", "RunData", "build_report", "read_run"]
