"""An example LeTI plugin: the `last-line` feedback formatter.

Feedback reduced to the exception's last line (``NameError: name 'c' is not defined``), a
cheaper signal than the full traceback. Install with ``pip install -e examples/leti-plugin-example``
and use it with ``leti evaluate --feedback last-line ...`` or ``leti run --feedback last-line``.
"""

from pydantic import Field

from leti_core import ExecutionResult, Feedback, FeedbackFormatter, Options, hookimpl


class LastLineFeedback(FeedbackFormatter):
    """Only the last line of the error: the exception type and message."""

    name = "last-line"

    class Options(Options):
        max_chars: int = Field(default=300, ge=10)

    def format(self, result: ExecutionResult) -> Feedback:
        if result.passed:
            return Feedback(reward="good")
        if result.status == "timed out":
            text = "timeout"
        elif result.error is not None:
            text = f"{result.error.type}: {result.error.message}" if result.error.message else result.error.type
        else:
            text = result.reason or result.status
        return Feedback(reward="bad", text=text[: self.options.max_chars])


@hookimpl
def leti_register_feedback_formatters(register):
    register("last-line", LastLineFeedback)
