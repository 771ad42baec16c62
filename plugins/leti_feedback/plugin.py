"""Registers the first-party feedback formatters."""

from leti_core import hookimpl

from .formatters import BinaryFeedback, TracebackFeedback


@hookimpl
def leti_register_feedback_formatters(register):
    register("traceback", TracebackFeedback)
    register("binary", BinaryFeedback)
