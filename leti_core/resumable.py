"""A sampling stage that saves as it goes: problems are sampled and executed in chunks, each chunk
appended to the stage's in-progress file once scored, so a killed stage resumes after its last
saved chunk and never samples a saved problem again. Each chunk draws from a random stream of its
own, so a resumed stage ends with the same samples as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from .jsonl import append_jsonl, write_jsonl
from .models import Problem, ScoredSample
from .seeding import stream_seed

SampleChunk = Callable[[Sequence[Problem], int], list[ScoredSample]]
"""``sample(problems, stream)``: score ``n`` samples of each problem, drawn from random stream ``stream``."""


def chunks(problems: Sequence[Problem], n: int, programs: int) -> list[list[Problem]]:
    """Problems in chunks of about ``programs`` programs (at least one problem each)."""
    size = max(1, programs // n)
    return [list(problems[start : start + size]) for start in range(0, len(problems), size)]


def saved(path: Path, parts: Sequence[Sequence[Problem]], n: int) -> list[ScoredSample]:
    """The scored samples of the leading chunks ``path`` holds whole; the file is cut back to them
    (a chunk being written when the run was killed is dropped)."""
    if not path.is_file():
        return []
    rows: list[ScoredSample] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                rows.append(ScoredSample.model_validate_json(line))
            except ValidationError:
                break
    kept: list[ScoredSample] = []
    for part in parts:
        block = rows[len(kept) : len(kept) + len(part) * n]
        if [row.sample.key for row in block] != [problem.task_id for problem in part for _ in range(n)]:
            break
        kept += block
    if len(kept) != sum(1 for _ in path.open(encoding="utf-8", errors="replace")):
        write_jsonl(path, kept)
    return kept


def sample_in_chunks(problems: Sequence[Problem], n: int, programs: int, in_progress: Path, stream: tuple[object, ...],
                     sample: SampleChunk, resumed: Callable[[int], None] | None = None) -> list[ScoredSample]:
    """Every problem's ``n`` scored samples, chunk by chunk, resuming after the chunks
    ``in_progress`` holds; ``resumed(count)`` is told how many samples were found saved."""
    parts = chunks(problems, n, programs)
    done = saved(in_progress, parts, n)
    if done and resumed is not None:
        resumed(len(done))
    results = list(done)
    first = len(parts) if len(done) == len(problems) * n else _chunks_in(parts, len(done), n)
    for index in range(first, len(parts)):
        scored = sample(parts[index], stream_seed(0, *stream, index))
        append_jsonl(in_progress, scored)
        results += scored
    return results


def _chunks_in(parts: Sequence[Sequence[Problem]], samples: int, n: int) -> int:
    count = 0
    for part in parts:
        if samples <= 0:
            break
        samples -= len(part) * n
        count += 1
    return count
