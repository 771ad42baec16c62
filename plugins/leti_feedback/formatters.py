"""The `traceback` and `binary` feedback formatters."""

from __future__ import annotations

from pydantic import Field

from leti_core import ExecutionResult, Feedback, FeedbackFormatter, Options

from .render import render


class TracebackFeedback(FeedbackFormatter):
    """The paper's textual feedback: the program's traceback, or `timeout`."""

    name = "traceback"

    class Options(Options):
        max_chars: int = Field(default=2000, ge=50, description="longer feedback keeps its end")

    def format(self, result: ExecutionResult) -> Feedback:
        text = render(result)
        if text is not None and len(text) > self.options.max_chars:
            text = "...\n" + text[-self.options.max_chars :]
        return Feedback(reward="good" if result.passed else "bad", text=text)


class BinaryFeedback(FeedbackFormatter):
    """Reward only, no text (the paper's binary-feedback ablation)."""

    name = "binary"

    def format(self, result: ExecutionResult) -> Feedback:
        return Feedback(reward="good" if result.passed else "bad")
