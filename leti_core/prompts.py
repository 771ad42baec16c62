"""Prompt formats: how a problem is shown to the model.

``raw`` is the paper's: the task's prompt as it is (a docstring, a function signature), continued
by the model. ``chat`` is for instruct models: the problem is asked as a user turn with the model's
chat template, and the assistant's answer begins with an open code block holding the start of the
program, so the model writes code and ends it by closing the block. Both formats keep LeTI's text
layout, ``[reward token][feedback][what the model read][program]``; only what the model reads
differs. ``auto`` is chat where the model has a chat template, raw elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from .errors import LetiError
from .models import Problem

PromptFormat = Literal["auto", "raw", "chat"]
#: Where a chat-format program ends: the model closes its code block.
CODE_CLOSE = "```"


def code_open(language: str = "python") -> str:
    """The opening of a Markdown code block in ``language``."""
    return f"```{language}\n"


ChatRenderer = Callable[[Sequence[str]], "list[str] | None"]
"""Renders user messages with a model's chat template (prompt for the assistant's turn included);
None when the model has no chat template."""


def render_with(tokenizer: Any, messages: Sequence[str]) -> list[str] | None:
    """Each message as a user turn in ``tokenizer``'s chat template, ready for the assistant's answer
    (None when the tokenizer has no template). For samplers built on a transformers tokenizer."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
        )
        for message in messages
    ]


def chat_problem(problem: Problem, rendered_request: str, code_start: str, language: str = "python") -> Problem:
    """``problem`` in chat format: the rendered request and an opened code block come before the
    program's start, which is what the model continues and what the program begins with."""
    return problem.model_copy(update={"preamble": rendered_request + code_open(language), "prompt": code_start})


def stop_words(prompt_format: str) -> tuple[str, ...]:
    """Where every sample of a format ends, whatever the task (chat: the closed code block)."""
    return (CODE_CLOSE,) if prompt_format == "chat" else ()


def apply_format(
    problems: Sequence[Problem],
    prompt_format: str,
    requests: Callable[[Problem], tuple[str, str]],
    render: ChatRenderer,
    model: str,
    language: str = "python",
) -> tuple[list[Problem], str]:
    """The problems in ``prompt_format`` and the format chosen (``auto`` resolved to raw or chat).

    ``requests(problem)`` gives a problem's chat request and program start (``Task.chat_request``);
    ``render`` the model's chat template (``Sampler.render_chat``); ``language`` names the code
    block the answer opens (``Task.code_language``).
    """
    if prompt_format == "raw" or not problems:
        return list(problems), "raw"
    asked = [requests(problem) for problem in problems]
    rendered = render([request for request, _ in asked])
    if rendered is None:
        if prompt_format == "chat":
            raise LetiError(f"prompt format 'chat': model {model!r} has no chat template; use --prompt-format raw")
        return list(problems), "raw"
    return [
        chat_problem(problem, text, start, language)
        for problem, text, (_, start) in zip(problems, rendered, asked, strict=True)
    ], "chat"
