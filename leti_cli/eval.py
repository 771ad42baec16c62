"""`leti eval`: sample a model (or a run's checkpoint) on a task, write the samples file, score it.

The samples file is the one `leti evaluate` reads; scoring goes through the same code
(`leti_cli.scoring`), so `leti evaluate` on the written file gives the same numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from leti_core import LetiError, RunFolder, write_json, write_jsonl
from leti_core.app import (
    OPTION_FIELDS,
    SCORING,
    Resolver,
    apply_format,
    build_config,
    condition_prompt,
    get_engine,
    postprocess_samples,
    read_run_config,
    sample_problems,
    stop_words,
)

from .options import given_layer, ks_option, model_command, shortcuts_for
from .progress import progress_bar
from .scoring import FileScorer, summary_dict, summary_line

VARIANTS = {"yes": ("postprocessed",), "no": ("raw",), "both": ("raw", "postprocessed")}
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
@click.option("--problems", "limit", type=click.IntRange(min=1), default=None, help="Only the first N problems [all].")
@click.option(
    "--postprocess",
    type=click.Choice(["yes", "no", "both"]),
    default="yes",
    show_default=True,
    is_flag=False,
    flag_value="yes",
    help="Cut completions at the task's stop words; 'both' scores raw and cut.",
)
@click.option("--no-postprocess", is_flag=True, help="Score the raw completions (same as --postprocess no).")
@click.option(
    "--condition",
    type=click.Choice(["good", "bad", "none"]),
    default=None,
    help="Prefix prompts with <|good|>, <|bad|> or nothing [the run's eval condition, or none].",
)
@ks_option("pass@k for these k (those above --samples are skipped).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the samples and results files [RUN_DIR/eval/LABEL, or eval/LABEL].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def command(
    model: str | None,
    run_dir: Path | None,
    iteration: int | None,
    split: str | None,
    limit: int | None,
    postprocess: str,
    no_postprocess: bool,
    condition: str | None,
    ks: tuple[int, ...],
    out: Path | None,
    as_json: bool,
    **given: Any,
) -> None:
    """Sample a model on a task, write the samples file `leti evaluate` reads, and score it."""
    if (model is None) == (run_dir is None):
        raise click.UsageError("give exactly one of --model and --run")
    if iteration is not None and run_dir is None:
        raise click.UsageError("--iteration needs --run")
    if no_postprocess:
        postprocess = "no"
    resolver = Resolver(get_engine().registry)
    folder = RunFolder(run_dir) if run_dir is not None else None
    base = _run_values(folder, resolver, given) if folder is not None else {}
    config = build_config(resolver, base, given_layer(given), kinds=KINDS)
    if folder is not None:
        checkpoint, checkpoint_label = folder.checkpoint(iteration)
        model = str(checkpoint)
        condition = condition or config.eval_condition
    else:
        checkpoint_label = Path(str(model)).stem or str(model)
        condition = condition or "none"
    n, temperature = config.eval_samples, config.eval_temperature

    components = resolver.build(config, kinds=KINDS)
    sampler = components.sampler
    assert sampler is not None  # built with the sampler (KINDS)
    task = components.task
    split = split or task.eval_split
    all_problems, prompt_format = apply_format(
        task.load(split),
        config.prompt_format,
        task.chat_request,
        lambda messages: sampler.render_chat(str(model), messages),
        str(model),
        task.code_language,
    )
    problems = all_problems[:limit] if limit else all_problems
    if not problems:
        raise LetiError(f"task {config.task!r} split {split!r} has no problems")
    if "postprocessed" in VARIANTS[postprocess] and not task.stop_words:
        raise LetiError(f"task {config.task!r} has no stop words to post-process at: use --no-postprocess")
    label = _label(config.task, split, checkpoint_label, f"n{n}", f"t{temperature:g}", condition)
    out = out or (folder.eval_dir(label) if folder is not None else Path("eval") / label)

    prefix = None if condition == "none" else condition
    with components:
        components.environment.check()
        with progress_bar(len(problems) * n, "sampling") as advance:
            params = config.eval_sampling(stop_words(prompt_format))
            raw = [
                sample
                for group in sample_problems(sampler, str(model), problems, params, prefix, advance)
                for sample in group
            ]
        sampler.close()
        write_jsonl(out / "samples.jsonl", raw)
        files = {"raw": out / "samples.jsonl"}
        if "postprocessed" in VARIANTS[postprocess]:
            files["postprocessed"] = out / "samples_postprocessed.jsonl"
            write_jsonl(files["postprocessed"], postprocess_samples(raw, task.stop_words))
        scorer = FileScorer(
            config.task, split, {p.task_id: p for p in all_problems}, components.environment, components.formatter, ks
        )
        variants: dict[str, dict[str, Any]] = {}
        for variant in VARIANTS[postprocess]:
            score = scorer.score_file(files[variant])
            variants[variant] = {**summary_dict(score), "samples_file": str(files[variant])}
            if not as_json:
                click.echo(f"{variant}: {summary_line(score)}")
    report = {
        "model": str(model),
        "task": config.task,
        "split": split,
        "problems": len(problems),
        "samples_per_problem": n,
        "temperature": temperature,
        "condition": condition,
        "prompt_format": prompt_format,
        "prompt_prefix": condition_prompt("", prefix),
        "stop_words": list(task.stop_words),
        "variants": variants,
    }
    write_json(out / "summary.json", report)
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(f"samples and results: {out}", err=True)
