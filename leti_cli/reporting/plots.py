"""The report's PNG plots, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runs import RunData

TOP_EXCEPTIONS = 7
PASSED_COLOUR = "#43a047"
#: One colour per exception type across the compared runs (two runs' top types: up to 14).
EXCEPTION_COLOURS = (
    "#e53935",
    "#1e88e5",
    "#fb8c00",
    "#8e24aa",
    "#fdd835",
    "#00acc1",
    "#6d4c41",
    "#d81b60",
    "#3949ab",
    "#00897b",
    "#c0ca33",
    "#546e7a",
    "#81d4fa",
    "#ff8a65",
)
OTHER_COLOUR = "#9e9e9e"
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        from leti_core import LetiError

        raise LetiError("leti report draws with matplotlib: pip install 'leti[report]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_x(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    _pyplot().close(figure)
    return path


def _pass_ylim(values: list[float]) -> tuple[float, float]:
    """0 to 1, or closer where every value is small (so that 0.02 against 0.05 shows)."""
    top = max(values, default=1.0)
    return (-0.02, 1.02) if top > 0.5 else (-0.005, max(0.1, round(top * 1.3 + 0.005, 2)))


def _colour(index: int) -> str:
    return f"C{index % 10}"


def pass_at_k(runs: Sequence[RunData], path: Path) -> Path | None:
    """pass@k per iteration: one colour per run, one marker per k, dashed when post-processed."""
    if not any(item.pass_at or item.pass_at_postprocessed for run in runs for item in run.iterations):
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for index, run in enumerate(runs):
        ks = sorted(
            {k for item in run.finished for k in (*item.pass_at, *item.pass_at_postprocessed)},
            key=lambda k: int(k.split("@")[1]),
        )
        for k_index, k in enumerate(ks):
            for post, style in ((False, "-"), (True, "--")):
                points = [
                    (item.iteration, (item.pass_at_postprocessed if post else item.pass_at)[k])
                    for item in run.finished
                    if k in (item.pass_at_postprocessed if post else item.pass_at)
                ]
                if points:
                    label = f"{run.name}: {k}" + (" post-processed" if post else "")
                    axis.plot(
                        *zip(*points, strict=True),
                        linestyle=style,
                        marker=MARKERS[k_index % len(MARKERS)],
                        color=_colour(index),
                        alpha=1.0 if not post else 0.7,
                        label=label,
                    )
    shown = [
        v
        for run in runs
        for item in run.finished
        for v in (*item.pass_at.values(), *item.pass_at_postprocessed.values())
    ]
    axis.set(
        xlabel="iteration", ylabel="pass@k on held-out problems", title="pass@k per iteration", ylim=_pass_ylim(shown)
    )
    _integer_x(axis)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(figure, path)


def success_rate(runs: Sequence[RunData], path: Path) -> Path:
    """Share of training samples that passed their tests, per iteration."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    for index, run in enumerate(runs):
        axis.plot(
            [i.iteration for i in run.sampled],
            [100 * i.success_rate for i in run.sampled],
            marker="o",
            color=_colour(index),
            label=run.name,
        )
    axis.set(xlabel="iteration", ylabel="training samples passed (%)", title="Training-sample success rate")
    axis.set_ylim(bottom=0, top=max(5.0, axis.get_ylim()[1]))
    _integer_x(axis)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save(figure, path)


def exceptions(runs: Sequence[RunData], path: Path) -> Path:
    """Per run, stacked bars: the share of each exception type (and of passes) per iteration."""
    plt = _pyplot()
    figure, axes = plt.subplots(len(runs), 1, figsize=(8, 3.6 * len(runs)), squeeze=False)
    totals: dict[str, int] = {}
    for run in runs:
        for rank, name in enumerate(run.exception_types()):
            totals[name] = min(totals.get(name, rank), rank)
    colours = {
        name: EXCEPTION_COLOURS[i % len(EXCEPTION_COLOURS)]
        for i, name in enumerate(sorted(totals, key=lambda name: (totals[name], name)))
    }
    for axis, run in zip(axes[:, 0], runs, strict=True):
        types = run.exception_types()
        shown, other = types[:TOP_EXCEPTIONS], types[TOP_EXCEPTIONS:]
        x = [item.iteration for item in run.sampled]
        bottom = [0.0] * len(x)
        series = [("passed", [100 * item.success_rate for item in run.sampled], PASSED_COLOUR)]
        series += [(name, [100 * item.share(name) for item in run.sampled], colours[name]) for name in shown]
        if other:
            series.append(
                ("other", [100 * sum(item.share(name) for name in other) for item in run.sampled], OTHER_COLOUR)
            )
        for name, values, colour in series:
            axis.bar(x, values, bottom=bottom, color=colour, label=name, width=0.6)
            for xi, value, base in zip(x, values, bottom, strict=True):
                if value >= 6:
                    axis.text(xi, base + value / 2, f"{value:.0f}%", ha="center", va="center", fontsize=7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axis.set(
            xlabel="iteration",
            ylabel="training samples (%)",
            ylim=(0, 100),
            title=f"{run.name}: how training samples ended",
        )
        axis.set_xticks(x)
        axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(figure, path)


def executable(runs: Sequence[RunData], path: Path) -> Path:
    """Per iteration, the share of training samples that reached their tests (no SyntaxError,
    IndentationError or NameError)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    for index, run in enumerate(runs):
        axis.plot(
            [i.iteration for i in run.sampled],
            [100 * i.executable_share for i in run.sampled],
            marker="o",
            color=_colour(index),
            label=run.name,
        )
    axis.set(
        xlabel="iteration",
        ylabel="training samples that reach their tests (%)",
        ylim=(0, 100),
        title="Programs without SyntaxError, IndentationError or NameError",
    )
    _integer_x(axis)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save(figure, path)


def comparison(runs: Sequence[RunData], path: Path) -> Path:
    """Runs side by side against cumulative gradient steps: pass@1, the share of training samples
    that reach their tests, and training success (samples at the steps taken when they were drawn)."""
    plt = _pyplot()
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    for index, run in enumerate(runs):
        finished = run.finished
        steps = [item.cumulative_steps for item in finished]
        label = f"{run.name} ({run.config.feedback} feedback)"
        if any("pass@1" in item.pass_at for item in finished):
            left.plot(
                steps,
                [item.pass_at.get("pass@1", float("nan")) for item in finished],
                marker="o",
                color=_colour(index),
                label=label,
            )
        if any("pass@1" in item.pass_at_postprocessed for item in finished):
            left.plot(
                steps,
                [item.pass_at_postprocessed.get("pass@1", float("nan")) for item in finished],
                marker="o",
                linestyle="--",
                color=_colour(index),
                alpha=0.7,
                label=f"{run.name} post-processed",
            )
        drawn_at = [item.steps_before for item in run.sampled]
        middle.plot(
            drawn_at,
            [100 * item.executable_share for item in run.sampled],
            marker="o",
            color=_colour(index),
            label=label,
        )
        right.plot(
            drawn_at, [100 * item.success_rate for item in run.sampled], marker="o", color=_colour(index), label=label
        )
    shown = [
        v
        for run in runs
        for item in run.finished
        for v in (item.pass_at.get("pass@1"), item.pass_at_postprocessed.get("pass@1"))
        if v is not None
    ]
    left.set(
        xlabel="cumulative gradient steps",
        ylabel="pass@1",
        title="pass@1 against gradient steps",
        ylim=_pass_ylim(shown),
    )
    middle.set(
        xlabel="cumulative gradient steps",
        ylabel="training samples that reach their tests (%)",
        title="Executable programs against gradient steps",
        ylim=(0, 100),
    )
    right.set(
        xlabel="cumulative gradient steps",
        ylabel="training samples passed (%)",
        title="Training success against gradient steps",
    )
    right.set_ylim(bottom=0, top=max(5.0, right.get_ylim()[1]))
    for axis in (left, middle, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    return _save(figure, path)
