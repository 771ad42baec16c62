"""Static batches yield each prompt's samples in order, as soon as they are done; progress lines
for logs carry stage, done/total, rate and ETA."""

from __future__ import annotations

from leti_cli.progress import ProgressLines
from leti_core import in_batches, in_prompt_order


def test_in_batches_yields_each_prompts_samples_in_order_as_soon_as_done():
    calls, yielded_after = [], []

    def generate(batch):
        calls.append(list(batch))
        return [f"{prompt}#{len(calls)}" for prompt in batch]

    advanced = []
    stream = in_batches(["a", "b", "c"], 2, 3, generate, advanced.append)
    groups = []
    for group in stream:
        groups.append(group)
        yielded_after.append(len(calls))
    assert calls == [["a", "a", "b"], ["b", "c", "c"]]
    assert groups == [["a#1", "a#1"], ["b#1", "b#2"], ["c#2", "c#2"]]
    assert yielded_after == [1, 2, 2]  # "a" came out before the second batch ran
    assert advanced == [3, 3]


def test_in_prompt_order_groups_sequences_ending_in_any_order_as_soon_as_a_prompt_is_complete():
    arrived, yielded_after = [], []

    def finished():
        for index in (3, 0, 2, 1, 5, 4):  # prompt 1's sequences end before prompt 0's second
            arrived.append(index)
            yield index, f"s{index}"

    groups = []
    for group in in_prompt_order(finished(), 3, 2):
        groups.append(group)
        yielded_after.append(len(arrived))
    assert groups == [["s0", "s1"], ["s2", "s3"], ["s4", "s5"]]
    assert yielded_after == [4, 4, 6]  # prompts 0 and 1 as soon as sequence 1 ended


def test_progress_lines_say_stage_done_total_rate_and_eta():
    now = [0.0]
    lines: list[str] = []
    progress = ProgressLines("iteration 1: training steps", None, lines.append, interval=10, clock=lambda: now[0])
    progress.advance(0, total=8)
    now[0] = 5.0
    progress.advance(2)
    assert lines == []  # not yet: one line every 10 s
    now[0] = 20.0
    progress.advance(2)
    assert lines == ["iteration 1: training steps: 4/8 (0.20/s, 0m20s so far, ETA 0m20s)"]
    now[0] = 40.0
    progress.advance(4)
    progress.finish()
    assert lines[-1] == "iteration 1: training steps: 8/8 (0.20/s, 0m40s so far)"
