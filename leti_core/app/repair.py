"""Feedback in context: each failed program goes back to the model with its feedback, and the model
answers again, round after round. Textual feedback (the formatter's words) and a bare "it failed"
start from the same failures, so the two are compared pair by pair: does the model use the
interpreter's words, and does LeTI training change that?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from ..components import FeedbackFormatter
from ..models import Interval, Problem, ScoredSample
from ..run_folder import EvalFolder
from ..training import feedback_block
from .evaluation import HeldOut
from .stages import Stages
from .statistics import MEASURES, Comparison, compare, intervals, outcomes

Told = Literal["textual", "binary"]
#: What the model is told of a failed program under binary feedback.
FAILED = "The program failed its tests."
#: A repair prompt holds the problem twice, the attempt and its feedback: its token budget (prompt and
#: answer) is this many times the evaluation's, so the answer has at least the room the first one had.
REPAIR_BUDGET_FACTOR = 4


class RepairRound(BaseModel):
    """The evaluation after ``round`` rounds of repair with one kind of feedback."""

    round: int
    told: Told
    repaired: int = Field(description="failed programs sent back in this round")
    empty: int = Field(default=0, description="answers with no text (a prompt that fills the token budget gets none)")
    intervals: dict[str, Interval]


class RepairReport(BaseModel):
    """Every round of both kinds, and per round textual against binary, paired by problem."""

    rounds: list[RepairRound]
    textual_against_binary: dict[int, dict[str, Comparison]]


def repair_problem(problem: Problem, completion: str, feedback: str) -> Problem:
    """``problem`` asked again after a failed attempt: what the model read and wrote, the feedback
    in LeTI's feedback block, then the problem as first asked. The program is the problem's as before."""
    attempt = problem.model_prompt + completion
    return problem.model_copy(
        update={"preamble": attempt.rstrip("\n") + "\n" + feedback_block(feedback) + "\n" + problem.preamble}
    )


@dataclass
class Repair:
    """Rounds of repair of an evaluation's failed samples."""

    stages: Stages
    formatter: FeedbackFormatter
    plan: HeldOut
    model: str
    folder: EvalFolder
    iteration: int
    max_tokens: int | None = None
    """Each repair prompt's token budget, prompt and answer [``REPAIR_BUDGET_FACTOR`` x the evaluation's]."""

    def run(self, evaluated: Sequence[ScoredSample], rounds: int) -> RepairReport:
        """``rounds`` rounds with each kind of feedback, both from ``evaluated``'s failures."""
        found: list[RepairRound] = []
        after: dict[Told, list[list[ScoredSample]]] = {"textual": [], "binary": []}
        for told in after:
            current = list(evaluated)
            for number in range(1, rounds + 1):
                current, repaired, empty = self._round(current, told, number)
                found.append(
                    RepairRound(round=number, told=told, repaired=repaired, empty=empty, intervals=intervals(current))
                )
                after[told].append(current)
        paired = {
            number: {
                name: compare(outcomes(binary, measure), outcomes(textual, measure))
                for name, measure in MEASURES.items()
            }
            for number, (textual, binary) in enumerate(zip(after["textual"], after["binary"], strict=True), 1)
        }
        return RepairReport(rounds=found, textual_against_binary=paired)

    def _round(self, current: list[ScoredSample], told: Told, number: int) -> tuple[list[ScoredSample], int, int]:
        """One round: every usable failed sample answered again once; the others kept. Returns the
        samples, how many were sent back and how many answers came back empty."""
        by_id = {problem.task_id: problem for problem in self.plan.problems}
        failed = [
            index for index, item in enumerate(current) if item.result.status != "error" and not item.result.passed
        ]
        if not failed:
            return current, 0, 0
        asked = [
            repair_problem(
                by_id[current[index].sample.key],
                current[index].sample.completion,
                (self.formatter.format(current[index].result).text or FAILED) if told == "textual" else FAILED,
            )
            for index in failed
        ]
        answers = self.stages.sample(
            self.folder.repair_round(told, number),
            self.model,
            asked,
            self.plan.params.model_copy(
                update={"n": 1, "max_tokens": self.max_tokens or REPAIR_BUDGET_FACTOR * self.plan.params.max_tokens}
            ),
            self.plan.condition,
            (self.iteration, f"repair-{told}-{number}"),
        )
        repaired = list(current)
        for index, answer in zip(failed, answers, strict=True):
            repaired[index] = answer
        empty = sum(not answer.sample.completion.strip() for answer in answers)
        return repaired, len(failed), empty
