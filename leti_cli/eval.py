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

from leti_core import (
    SAMPLER_FIELDS,
    LetiError,
    LetiRun,
    Problem,
    RunConfig,
    Sample,
    component_options,
    condition_prompt,
    get_registry,
    postprocess_samples,
    write_json,
    write_jsonl,
)

from .options import build_scoring, environment_options, execution_options, parse_ks, task_options
from .progress import progress_bar
from .scoring import FileScorer, summary_dict, summary_line

VARIANTS = {"yes": ("postprocessed",), "no": ("raw",), "both": ("raw", "postprocessed")}


def run_checkpoint(run_dir: Path, iteration: int | None) -> tuple[str, str]:
    """The checkpoint folder of ``iteration`` (0: the base model; None: the last finished one), and a label."""
    if iteration is None:
        finished = sorted(int(p.parent.name.split("-")[1]) for p in run_dir.glob("iteration-*/summary.json")
                          if re.fullmatch(r"iteration-\d+", p.parent.name))
        if not finished:
            raise LetiError(f"{run_dir} has no finished iteration (no iteration-K/summary.json); "
                            "pass --iteration 0 for its base model")
        iteration = finished[-1]
    if iteration == 0:
        folder, label = run_dir / "base", "base"
    else:
        folder, label = run_dir / f"iteration-{iteration}" / "checkpoint", f"iteration-{iteration}"
    if not (folder / "config.json").is_file():
        raise LetiError(f"{folder}: no checkpoint (config.json missing); is iteration {iteration} finished?")
    return str(folder), label


def sample_completions(sampler: Any, model: str, problems: list[Problem], n: int, temperature: float,
                       condition: str | None) -> list[Sample]:
    """n raw completions per problem, prompts prefixed with the reward token of ``condition``."""
    prompts = [condition_prompt(problem.prompt, condition) for problem in problems]
    samples = []
    with progress_bar(len(problems) * n, "sampling") as advance:
        groups = sampler.sample(model, prompts, n, temperature=temperature, progress=advance)
        for problem, group in zip(problems, groups, strict=True):
            samples += [Sample(task_id=problem.task_id, completion=completion) for completion in group]
    return samples


def _label(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(str(part) for part in parts))


@click.command("eval")
@click.option("--model", help="Hub id, checkpoint folder or .gguf file to sample.")
@click.option("--run", "run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="A run folder: sample its checkpoint (see --iteration).")
@click.option("--iteration", type=click.IntRange(min=0), default=None,
              help="With --run: the iteration's checkpoint (0: the base model) [the last finished].")
@click.option("--task", "task_name", default=None, help="Task [the run's task, or mbpp].")
@click.option("--split", default=None, help="Split [the task's evaluation split].")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Task data file or folder [the run's].")
@click.option("--problems", "limit", type=click.IntRange(min=1), default=None, help="Only the first N problems [all].")
@click.option("--samples", "n", type=click.IntRange(min=1), default=None,
              help="Samples per problem [the run's eval samples, or 16].")
@click.option("--temperature", type=click.FloatRange(min=0), default=None,
              help="Sampling temperature [the run's eval temperature, or 0.1].")
@click.option("--postprocess", type=click.Choice(["yes", "no", "both"]), default="yes", show_default=True,
              is_flag=False, flag_value="yes", help="Cut completions at the task's stop words; 'both' scores raw and cut.")
@click.option("--no-postprocess", is_flag=True, help="Score the raw completions (same as --postprocess no).")
@click.option("--condition", type=click.Choice(["good", "bad", "none"]), default=None,
              help="Prefix prompts with <|good|>, <|bad|> or nothing [the run's eval condition, or none].")
@click.option("--k", "ks", default="1,10,100", show_default=True, callback=lambda c, p, v: parse_ks(v),
              help="pass@k for these k (those above --samples are skipped).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the samples and results files [RUN_DIR/eval/LABEL, or eval/LABEL].")
@click.option("--sampler", "sampler_name", default="hf", show_default=True, help="Sampler.")
@click.option("--max-tokens", type=click.IntRange(min=16), default=None, help="Prompt + completion tokens [512].")
@click.option("--sample-batch-size", type=click.IntRange(min=1), default=None, help="Sequences generated at once [the run's, or 32].")
@click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), default=None, help="Top-p [1.0].")
@click.option("--seed", type=int, default=None, help="Random seed [0].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@execution_options
def command(model: str | None, run_dir: Path | None, iteration: int | None, task_name: str | None,
            split: str | None, data: Path | None, limit: int | None, n: int | None, temperature: float | None,
            postprocess: str, no_postprocess: bool, condition: str | None, ks: tuple[int, ...], out: Path | None,
            sampler_name: str, as_json: bool, env_name: str | None, feedback_name: str, timeout: float | None,
            sandbox: str | None, workers: int | None, **sampler_given: Any) -> None:
    """Sample a model on a task, write the samples file `leti evaluate` reads, and score it."""
    if (model is None) == (run_dir is None):
        raise click.UsageError("give exactly one of --model and --run")
    if iteration is not None and run_dir is None:
        raise click.UsageError("--iteration needs --run")
    if no_postprocess:
        postprocess = "no"
    config = LetiRun.saved_config(run_dir) if run_dir is not None else None
    if run_dir is not None:
        model, checkpoint_label = run_checkpoint(run_dir, iteration)
    else:
        checkpoint_label = Path(str(model)).stem or str(model)
    task_name = task_name or (config.task if config else "mbpp")
    if data is None and config is not None and config.data and task_name == config.task:
        data = Path(config.data)
    n = n or (config.eval_samples if config else 16)
    temperature = temperature if temperature is not None else (config.eval_temperature if config else 0.1)
    condition = condition or (config.eval_condition if config else "none")
    # the run's settings (or the defaults), with what was given here on top
    settings = (config or RunConfig()).model_copy(
        update={key: value for key, value in sampler_given.items() if value is not None})
    if config is not None and task_name == config.task:
        env_name = env_name or config.env
    env_options = {**(config.env_options if config else {}),
                   **environment_options(timeout if timeout is not None else settings.timeout,
                                         sandbox or settings.sandbox, None)}
    if workers is not None:
        env_options["sandbox_options"] = {**env_options.get("sandbox_options", {}), "workers": workers}

    registry = get_registry()
    task, environment, formatter = build_scoring(registry, task_name, env_name, feedback_name, task_options(data),
                                                 env_options)
    split = split or task.eval_split
    all_problems = task.load(split)
    problems = all_problems[:limit] if limit else all_problems
    if not problems:
        raise LetiError(f"task {task_name!r} split {split!r} has no problems")
    if "postprocessed" in VARIANTS[postprocess] and not task.stop_words:
        raise LetiError(f"task {task_name!r} has no stop words to post-process at: use --no-postprocess")
    sampler_cls = registry.load("sampler", sampler_name)
    sampler = sampler_cls(**component_options(settings, SAMPLER_FIELDS, set(sampler_cls.Options.model_fields),
                                              config.sampler_options if config else {}))
    label = _label(task_name, split, checkpoint_label, f"n{n}", f"t{temperature:g}", condition)
    out = out or ((run_dir / "eval" / label) if run_dir is not None else Path("eval") / label)

    with sampler:
        raw = sample_completions(sampler, str(model), problems, n, temperature, None if condition == "none" else condition)
    write_jsonl(out / "samples.jsonl", raw)
    files = {"raw": out / "samples.jsonl"}
    if "postprocessed" in VARIANTS[postprocess]:
        files["postprocessed"] = out / "samples_postprocessed.jsonl"
        write_jsonl(files["postprocessed"], postprocess_samples(raw, task.stop_words))
    scorer = FileScorer(task_name, split, {p.task_id: p for p in all_problems}, environment, formatter, ks)
    variants: dict[str, dict[str, Any]] = {}
    with environment:
        for variant in VARIANTS[postprocess]:
            score = scorer.score_file(files[variant])
            variants[variant] = {**summary_dict(score), "samples_file": str(files[variant])}
            if not as_json:
                click.echo(f"{variant}: {summary_line(score)}")
    report = {"model": str(model), "task": task_name, "split": split, "problems": len(problems),
              "samples_per_problem": n, "temperature": temperature, "condition": condition,
              "prompt_prefix": condition_prompt("", None if condition == "none" else condition),
              "stop_words": list(task.stop_words), "variants": variants}
    write_json(out / "summary.json", report)
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(f"samples and results: {out}", err=True)

