"""Building an `eae` program: prompt + completion, then the solution evaluator and its call."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from leti_core import LetiError, Problem

from .reader import GoldArgument

EVALUATOR_SOURCE = Path(__file__).with_name("evaluator.py").read_text(encoding="utf-8")


class EventMetadata(BaseModel):
    """What the evaluator needs from a problem's ``metadata``."""

    class_name: str
    variable: str
    roles: list[str]
    gold: list[GoldArgument]

    @classmethod
    def of(cls, problem: Problem) -> EventMetadata:
        try:
            return cls.model_validate(problem.metadata)
        except ValidationError:
            raise LetiError(
                f"problem {problem.task_id!r} is not an event argument extraction problem "
                "(its metadata has no event and gold arguments)"
            ) from None


def compiles(source: str) -> bool:
    """Whether ``source`` compiles (nothing is executed)."""
    try:
        compile(source, "program.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        return False
    return True


def build_program(problem: Problem, completion: str, nonce: str) -> tuple[str, int]:
    """The program source and how many of its first lines are the prompt and completion.

    When prompt + completion does not compile (say an unclosed bracket), it runs alone so the
    SyntaxError points into the model's code, never into the evaluator.
    """
    user = problem.prompt + completion
    user_lines = user.count("\n") + 1
    if not compiles(user + "\n"):
        return user + "\n", user_lines
    meta = EventMetadata.of(problem)
    spec = {
        "class_name": meta.class_name,
        "variable": meta.variable,
        "roles": meta.roles,
        "gold": [[argument.role, argument.text] for argument in meta.gold],
        "nonce": nonce,
    }
    call = f"eae_check(globals(), _eae_json.loads({json.dumps(spec)!r}))\n"
    return f"{user}\n{EVALUATOR_SOURCE}\n{call}", user_lines
