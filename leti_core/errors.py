"""Errors that reach the user as one clear line."""

from __future__ import annotations


class LetiError(Exception):
    """A problem the user can fix (bad input, missing file, unknown name).

    The CLI prints its message on one line and exits non-zero, without a traceback.
    """


class DataError(LetiError):
    """A data file is missing or malformed; the message names the file and line."""


class UnknownComponentError(LetiError):
    """A component name that no installed plugin registers."""


class IncompatibleComponentsError(LetiError):
    """Two components that cannot work together (an environment that does not fit a task)."""


class DuplicateComponentError(LetiError):
    """Two plugins register the same component name."""
