"""The report as Markdown and HTML: the same blocks (headings, text, tables, images) rendered twice."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from leti_core import LetiError

from . import evidence, plots
from .runs import RunData

TOP_TABLE_EXCEPTIONS = 6


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Text:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    file: str
    alt: str


Block = Heading | Text | Table | Image


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _scores(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in values.items()) or "-"


def run_table(runs: Sequence[RunData]) -> Table:
    rows = [
        [
            run.name,
            str(run.path),
            run.config.task,
            run.config.feedback,
            run.config.model or "(default)",
            f"{len(run.finished)} of {run.config.iterations}",
        ]
        for run in runs
    ]
    return Table(["run", "folder", "task", "feedback", "model", "iterations finished"], rows)


def iteration_table(run: RunData) -> Table:
    rows = []
    for item in run.iterations:
        top = ", ".join(f"{name} {_percent(item.share(name))}" for name in list(item.exception_histogram)[:3])
        sampled = bool(item.samples)
        label = "0 (starting model)" if item.iteration == 0 else str(item.iteration)
        rows.append(
            [
                label + ("" if item.finished else " (in progress)"),
                str(item.samples),
                _percent(item.success_rate) if sampled else "-",
                _percent(item.executable_share) if sampled else "-",
                _scores(item.pass_at),
                _scores(item.pass_at_postprocessed),
                str(item.training_steps),
                str(item.cumulative_steps),
                top or "-",
            ]
        )
    return Table(
        [
            "iteration",
            "training samples",
            "passed",
            "reach tests",
            "pass@k",
            "pass@k post-processed",
            "gradient steps",
            "cumulative steps",
            "top exceptions",
        ],
        rows,
    )


def exception_table(run: RunData) -> Table:
    types = run.exception_types()[:TOP_TABLE_EXCEPTIONS]
    rows = [[str(item.iteration), *(_percent(item.share(name)) for name in types)] for item in run.sampled]
    return Table(["iteration", *types], rows)


def blocks(runs: Sequence[RunData], images: dict[str, Path | None]) -> list[Block]:
    content: list[Block] = [
        Heading("LeTI report", 1),
        Text(
            "Runs read from their folders: each run's config, the summary of each finished iteration, and "
            "the training samples of an iteration still in progress. pass@k is on the held-out problems, raw and post-processed at "
            "the task's stop words; shares are of each iteration's training samples."
        ),
        run_table(runs),
        Heading("pass@k per iteration"),
    ]
    content.append(
        Image(_name(images["pass_at_k"]), "pass@k per iteration")
        if images["pass_at_k"]
        else Text("No iteration has finished its evaluation yet.")
    )
    content += [Heading("Training-sample success rate"), Image(_name(images["success_rate"]), "success rate")]
    content += [
        Heading("How training samples ended"),
        Text(
            "The share of each exception type among the training samples of each iteration (the "
            "paper's analysis: fewer NameError and SyntaxError as the model learns from feedback)."
        ),
        Image(_name(images["exceptions"]), "exception types per iteration"),
        Heading("Programs that reach their tests"),
        Text("The share of training samples not stopped by a SyntaxError, IndentationError or NameError."),
        Image(_name(images["executable"]), "executable share per iteration"),
    ]
    if images.get("comparison"):
        content += [
            Heading("Runs against gradient steps"),
            Text(
                "pass@1 and training success against the cumulative number of gradient steps: "
                "the paper's textual versus binary feedback comparison."
            ),
            Image(_name(images["comparison"]), "runs against gradient steps"),
        ]
    samples = evidence.Samples()
    for run in runs:
        content += [
            Heading(f"Run {run.name}"),
            iteration_table(run),
            Text("Exception types (share of training samples):"),
            exception_table(run),
            Text(
                "Each rate with its 95% interval: Wilson with one sample per problem, "
                "else a bootstrap over problems (a problem's samples are not "
                "independent)."
            ),
            Table(evidence.interval_headers(), evidence.interval_rows(samples, run)),
        ]
        start = evidence.against_start(samples, run)
        if start:
            content += [
                Text(f"{run.name} against its starting model, problem by problem:"),
                Table(evidence.COMPARISON_HEADERS, evidence.comparison_rows(start, "the starting model", run.name)),
            ]
    if len(runs) > 1:
        content += [
            Heading("Paired comparisons"),
            Text(
                f"Each run against {runs[0].name}, on the held-out problems both evaluated at the same "
                "iteration: the mean difference with a paired bootstrap interval, and an exact McNemar "
                "test (one sample per problem) or a paired permutation test (several). A difference is "
                "called one only when its interval excludes zero."
            ),
        ]
        for other in runs[1:]:
            found = evidence.comparisons(samples, runs[0], other)
            content += [
                Text(f"{other.name} against {runs[0].name}:"),
                Table(evidence.COMPARISON_HEADERS, evidence.comparison_rows(found, runs[0].name, other.name))
                if found
                else Text("no iteration that both evaluated"),
            ]
    return content


def markdown(content: Sequence[Block]) -> str:
    lines: list[str] = []
    for block in content:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Text):
            lines += [block.text, ""]
        elif isinstance(block, Image):
            lines += [f"![{block.alt}]({block.file})", ""]
        else:
            cell = lambda value: value.replace("|", "\\|")  # noqa: E731
            lines.append("| " + " | ".join(map(cell, block.headers)) + " |")
            lines.append("|" + "|".join(" --- " for _ in block.headers) + "|")
            lines += ["| " + " | ".join(map(cell, row)) + " |" for row in block.rows]
            lines.append("")
    return "\n".join(lines)


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}"""


def to_html(content: Sequence[Block]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>LeTI report</title>',
        f"<style>{STYLE}</style></head><body>",
    ]
    for block in content:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            parts.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Image):
            parts.append(f'<p><img src="{html.escape(block.file)}" alt="{html.escape(block.alt)}"></p>')
        else:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build_report(runs: Sequence[RunData], out: Path) -> list[Path]:
    """Write report.md, report.html and the PNGs into ``out``; return the files written."""
    if not runs:
        raise LetiError("no runs to report on")
    names = [run.name for run in runs]
    if len(set(names)) < len(names):  # two runs of the same name: tell them apart by their folders
        runs = [run.model_copy(update={"name": str(run.path)}) for run in runs]
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LetiError(f"{out}: cannot create the report folder ({error.strerror})") from None
    images: dict[str, Path | None] = {
        "pass_at_k": plots.pass_at_k(runs, out / "pass_at_k.png"),
        "success_rate": plots.success_rate(runs, out / "success_rate.png"),
        "exceptions": plots.exceptions(runs, out / "exceptions.png"),
        "executable": plots.executable(runs, out / "executable.png"),
        "comparison": plots.comparison(runs, out / "comparison.png") if len(runs) > 1 else None,
    }
    content = blocks(runs, images)
    (out / "report.md").write_text(markdown(content), encoding="utf-8")
    (out / "report.html").write_text(to_html(content), encoding="utf-8")
    return [out / "report.md", out / "report.html", *(path for path in images.values() if path)]


def _name(path: Path | None) -> str:
    """An image's file name (an image left out has none)."""
    return path.name if path is not None else ""
