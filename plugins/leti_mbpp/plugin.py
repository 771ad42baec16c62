"""Registers the `mbpp` task."""

from leti_core import hookimpl

from .task import MBPPTask


@hookimpl
def leti_register_tasks(register):
    register("mbpp", MBPPTask)
