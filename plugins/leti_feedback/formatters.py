"""The `traceback` and `binary` feedback formatters."""

from __future__ import annotations

from pydantic import Field

from leti_core import ExecutionResult, Feedback, FeedbackFormatter
from leti_core import Options as ComponentOptions

from .render import render, render_error_of, render_io


class TracebackFeedback(FeedbackFormatter):
    """The paper's textual feedback: the program's traceback, or `timeout`; for a program judged by
    standard-input tests, the test it failed, its input, the expected and the actual output, then
    the program's own error when it crashed (docs/running.md, "Judging by standard output")."""

    name = "traceback"

    class Options(ComponentOptions):
        max_chars: int = Field(default=2000, ge=50, description="longer feedback keeps its end")
        max_line_chars: int = Field(
            default=160,
            ge=0,
            description="a longer line keeps its start and ' ...' (a program cut at its token "
            "budget is quoted whole, and the echo of a runaway line taught the model to repeat it); 0: whole lines",
        )
        show_compared: bool = Field(
            default=False,
            description="a failed assert whose comparison the judge made between plain values ends "
            "with it, as pytest shows it ('AssertionError: assert 480 == 240'); off: the paper's traceback alone",
        )

    def format(self, result: ExecutionResult) -> Feedback:
        if result.io_test is not None and not result.passed:
            return Feedback(reward="bad", text=self._io_text(result))
        text = render(result, self.options.show_compared)
        if text is not None and self.options.max_line_chars:
            text = clip_lines(text, self.options.max_line_chars)
        if text is not None and len(text) > self.options.max_chars:
            text = "...\n" + text[-self.options.max_chars :]
        return Feedback(reward="good" if result.passed else "bad", text=text)

    def _io_text(self, result: ExecutionResult) -> str:
        """A failed standard-input test: its account whole (its texts were clipped when it was
        judged), then the program's error; past ``max_chars``, the error keeps its end."""
        assert result.io_test is not None
        head = render_io(result.io_test)
        error = render_error_of(result, self.options.show_compared)
        if error and self.options.max_line_chars:
            error = clip_lines(error, self.options.max_line_chars)
        if not error:
            return head[: self.options.max_chars]
        room = self.options.max_chars - len(head) - 1
        if len(error) > room:
            error = "...\n" + error[-max(room - 4, 0) :] if room > 4 else ""
        return f"{head}\n{error}" if error else head[: self.options.max_chars]


def clip_lines(text: str, limit: int) -> str:
    """``text`` with each line longer than ``limit`` characters cut to its start and `` ...``."""
    return "\n".join(line if len(line) <= limit else line[:limit] + " ..." for line in text.split("\n"))


class BinaryFeedback(FeedbackFormatter):
    """Reward only, no text (the paper's binary-feedback ablation)."""

    name = "binary"

    def format(self, result: ExecutionResult) -> Feedback:
        return Feedback(reward="good" if result.passed else "bad")
