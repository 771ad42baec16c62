"""A sampling stage that saves as it goes: problems are sampled and executed in chunks, each chunk
appended to the stage's in-progress file once scored, so a killed stage resumes after its last
saved chunk and never samples a saved problem again. Each chunk draws from a random stream of its
own, so a resumed stage ends with the same samples as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from ..jsonl import append_jsonl, write_jsonl
from ..models import Problem, ScoredSample
from ..seeding import stream_seed

SampleChunk = Callable[[Sequence[Problem], int], list[ScoredSample]]
"""``sample(problems, stream)``: score ``n`` samples of each problem, drawn from random stream ``stream``."""


def chunks(problems: Sequence[Problem], n: int, programs: int) -> list[list[Problem]]:
    """Problems in chunks of about ``programs`` programs (at least one problem each)."""
    size = max(1, programs // n)
    return [list(problems[start : start + size]) for start in range(0, len(problems), size)]


def saved(path: Path, parts: Sequence[Sequence[Problem]], n: int) -> list[list[ScoredSample]]:
    """The scored samples of each leading chunk ``path`` holds whole; the file is cut back to them
    (a chunk being written when the run was killed is dropped)."""
    if not path.is_file():
        return []
    rows: list[ScoredSample] = []
    lines = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for lines, line in enumerate(handle, 1):  # noqa: B007 (the count is read after the loop)
            try:
                rows.append(ScoredSample.model_validate_json(line))
            except ValidationError:
                break
    whole: list[list[ScoredSample]] = []
    start = 0
    for part in parts:
        block = rows[start : start + len(part) * n]
        if [row.sample.key for row in block] != [problem.task_id for problem in part for _ in range(n)]:
            break
        whole.append(block)
        start += len(block)
    if start != lines:
        write_jsonl(path, [row for block in whole for row in block])
    return whole


def sample_in_chunks(
    problems: Sequence[Problem],
    n: int,
    programs: int,
    in_progress: Path,
    stream: tuple[object, ...],
    sample: SampleChunk,
    resumed: Callable[[int], None] | None = None,
) -> list[ScoredSample]:
    """Every problem's ``n`` scored samples, chunk by chunk, resuming after the chunks
    ``in_progress`` holds; ``resumed(count)`` is told how many samples were found saved."""
    parts = chunks(problems, n, programs)
    done = saved(in_progress, parts, n)
    results = [row for block in done for row in block]
    if results and resumed is not None:
        resumed(len(results))
    for index in range(len(done), len(parts)):
        scored = sample(parts[index], stream_seed(0, *stream, index))
        append_jsonl(in_progress, scored)
        results += scored
    return results
