"""Reports on LeTI run folders (`leti report`): Markdown and HTML pages with PNG plots.

Reading run folders needs only the standard library and leti_core; plotting imports matplotlib
(Agg backend) when a report is built.
"""

from .pages import build_report
from .runs import IterationData, RunData, read_run

__all__ = ["IterationData", "RunData", "build_report", "read_run"]
