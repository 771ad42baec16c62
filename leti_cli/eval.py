"""`leti eval`: sample a model (or a run's checkpoint) on a task's held-out problems and score it,
through the code `leti run` evaluates each iteration with (``leti_core.app.evaluation``): the same
checkpoint, problems, seed and parameters give the same figures and the same summary model.

Writes, in the evaluation's folder (``EvalFolder``): ``eval.jsonl`` (the scored samples),
``samples.jsonl`` (the completions alone, what `leti evaluate` reads) and ``summary.json``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from leti_core import EvalFolder, RunFolder, ScoredSample, read_models, write_json, write_jsonl
from leti_core.app import (
    OPTION_FIELDS,
    REPAIR_BUDGET_FACTOR,
    SCORING,
    Repair,
    Resolver,
    Scorer,
    Scores,
    Stages,
    apply_format,
    build_config,
    evaluate,
    get_engine,
    held_out,
    read_run_config,
)

from .options import given_layer, ks_option, model_command, shortcuts_for
from .progress import progress_bar
from .scoring import repair_lines, scores_lines

SCORES: dict[str, Scores] = {"yes": "postprocessed", "no": "raw", "both": "both"}
KINDS = (*SCORING, "sampler")
#: Flags of `leti eval` for RunConfig fields, and the field each sets.
FIELDS = (
    "task",
    "env",
    "feedback",
    "sampler",
    "prompt_format",
    ("samples", "eval_samples"),
    ("temperature", "eval_temperature"),
    ("problems", "eval_problems"),
    "top_p",
    "max_tokens",
    "seed",
)


def _label(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(str(part) for part in parts))


def _run_values(folder: RunFolder, resolver: Resolver, given: dict[str, Any]) -> dict[str, Any]:
    """The run's config as a layer under what was given here: its task's data and environment only
    for the same task, and of a component chosen anew only the options it takes."""
    saved = read_run_config(folder, resolver, KINDS)
    values = saved.user_values()
    names = {key: given[key] for key in ("task", "env", "feedback", "sampler") if given.get(key) is not None}
    if names.get("task", saved.task) != saved.task:
        for key in ("task_options", "env", "env_options"):
            values.pop(key, None)
        names.setdefault("env", None)
        names["env_options"] = {}
    chosen = saved.model_copy(update=names)
    for kind in KINDS:
        if values.get(OPTION_FIELDS[kind]) and resolver.name(kind, chosen) != resolver.name(kind, saved):
            cls = resolver.component_class(kind, chosen)
            taken = cls.Options.model_fields if cls is not None else {}
            values[OPTION_FIELDS[kind]] = {k: v for k, v in values[OPTION_FIELDS[kind]].items() if k in taken}
    return values


@model_command("eval", fields=FIELDS, shortcuts=shortcuts_for(KINDS), kinds=KINDS)
@click.option("--model", help="Hub id, checkpoint folder or .gguf file to sample.")
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A run folder: sample its checkpoint (see --iteration); its settings are the defaults.",
)
@click.option(
    "--iteration",
    type=click.IntRange(min=0),
    default=None,
    help="With --run: the iteration's checkpoint (0: the base model) [the last finished].",
)
@click.option("--split", default=None, help="Split [the task's evaluation split].")
@click.option(
    "--postprocess",
    type=click.Choice(["yes", "no", "both"]),
    default=None,
    is_flag=False,
    flag_value="yes",
    help="Stop completions at the task's stop words; 'no' scores them raw, 'both' raw and cut "
    "[the run's eval_stop: yes, or both with --no-eval-stop].",
)
@click.option("--no-postprocess", is_flag=True, help="Score the raw completions (same as --postprocess no).")
@click.option(
    "--condition",
    type=click.Choice(["good", "bad", "none"]),
    default=None,
    help="Prefix prompts with <|good|>, <|bad|> or nothing [the run's eval condition, or none].",
)
@click.option(
    "--repair-rounds",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Send each failed program back with its feedback this many times, once with the feedback "
    "formatter's words and once told only that it failed, and compare the two (see docs/running.md).",
)
@click.option(
    "--repair-max-tokens",
    type=click.IntRange(min=16),
    default=None,
    help=f"Token budget of a repair prompt and its answer [{REPAIR_BUDGET_FACTOR} x --max-tokens: the "
    "problem twice, the attempt and its feedback, and room to answer].",
)
@ks_option("pass@k for these k (those above --samples are skipped).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the samples, results and summary [RUN_DIR/eval/LABEL, or eval/LABEL].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def command(
    model: str | None,
    run_dir: Path | None,
    iteration: int | None,
    split: str | None,
    postprocess: str | None,
    no_postprocess: bool,
    condition: str | None,
    repair_rounds: int,
    repair_max_tokens: int | None,
    ks: tuple[int, ...],
    out: Path | None,
    as_json: bool,
    **given: Any,
) -> None:
    """Sample a model on a task's problems, score the samples, and write them with a summary.

    With --run, the run's settings are the defaults (its held-out problems, samples, temperature,
    seed and condition), so `--run R --iteration K` repeats the run's own evaluation of iteration K.
    With --model, every problem of the split is evaluated unless --problems says otherwise."""
    if (model is None) == (run_dir is None):
        raise click.UsageError("give exactly one of --model and --run")
    if iteration is not None and run_dir is None:
        raise click.UsageError("--iteration needs --run")
    if no_postprocess:
        postprocess = "no"
    scores = SCORES[postprocess] if postprocess is not None else None
    resolver = Resolver(get_engine().registry)
    folder = RunFolder(run_dir) if run_dir is not None else None
    base = _run_values(folder, resolver, given) if folder is not None else {"eval_problems": None}
    config = build_config(resolver, base, given_layer(given), kinds=KINDS)
    if folder is not None:
        number = iteration if iteration is not None else folder.last_finished()
        checkpoint, checkpoint_label = folder.checkpoint(number)
        model = str(checkpoint)
    else:
        number, checkpoint_label = 0, Path(str(model)).stem or str(model)
    assert model is not None  # one of --model and --run (checked above)

    components = resolver.build(config, kinds=KINDS)
    sampler = components.sampler
    assert sampler is not None  # built with the sampler (KINDS)
    task = components.task
    split = split or task.eval_split
    if scores in ("postprocessed", "both") and not task.stop_words:
        raise click.UsageError(f"task {config.task!r} has no stop words to post-process at: use --no-postprocess")
    problems, prompt_format = apply_format(
        task.load(split),
        config.prompt_format,
        task.chat_request,
        lambda messages: sampler.render_chat(model, messages),
        model,
        task.code_language,
    )
    if config.eval_problems:
        problems = problems[: config.eval_problems]
    if not problems:
        raise click.UsageError(f"task {config.task!r} split {split!r} has no problems")
    plan = held_out(config, task, split, problems, prompt_format, number, scores, condition, ks)
    n, temperature = plan.params.n, plan.params.temperature
    label = _label(config.task, split, checkpoint_label, f"n{n}", f"t{temperature:g}", plan.condition or "none")
    if out is not None:
        place = EvalFolder(out)
    else:
        place = folder.eval_folder(label) if folder is not None else EvalFolder(Path("eval") / label)
    for path in place.outputs():  # an evaluation starts afresh: nothing of an earlier one mixes in
        path.unlink(missing_ok=True)

    log = lambda line: click.echo(line, err=True)  # noqa: E731
    with components:
        components.environment.check()
        scorer = Scorer(components.environment, components.formatter)
        stages = Stages(sampler, scorer, config.save_every, config.max_sandbox_errors, progress_bar, log)
        headline, summary = evaluate(stages, plan, model, place.files, number)
        repaired = (
            Repair(stages, components.formatter, plan, model, place, number, repair_max_tokens).run(
                headline, repair_rounds
            )
            if repair_rounds
            else None
        )
        sampler.close()
    write_jsonl(place.samples, (row.sample for _, row in read_models(place.files.scored, ScoredSample)))
    write_json(place.summary_file, summary)
    if repaired is not None:
        write_json(place.repair_file, repaired)
    if as_json:
        click.echo(summary.model_dump_json())
    else:
        click.echo(scores_lines(summary))
        if repaired is not None:
            click.echo(repair_lines(repaired))
        click.echo(f"samples, results and summary: {place.path}", err=True)
