"""Exporting a run's checkpoint: a plain model folder that its library loads without LeTI, with a
model card (the run's recipe, its figures, how to prompt the model), and publishing it on the
Hugging Face hub.

The model-specific part (merging LoRA adapters, copying weights) is the trainer's
(``Trainer.export``); the card, the folder and the upload are here. Nothing here imports torch.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import LetiError
from ..jsonl import iter_json_lines, write_json
from ..models import EvalSummary, IterationSummary
from ..prompts import CODE_CLOSE, code_open
from ..run_folder import RunFolder
from ..training import BAD, FEEDBACK_CLOSE, FEEDBACK_OPEN, GOOD
from .launch import read_run_config
from .plugins import Engine
from .provenance import Provenance, read_provenance
from .resolve import Resolver
from .run_config import RunConfig

#: What marks a folder as one `leti export` wrote (and may write again): where it came from.
MARKER = "leti_export.json"
CARD = "README.md"


@dataclass(frozen=True)
class Exported:
    """What an export wrote, and where it was published."""

    folder: Path
    iteration: int
    checkpoint: Path
    url: str | None = None


def export_run(
    engine: Engine,
    run: str | Path,
    iteration: int | None = None,
    out: str | Path | None = None,
    *,
    push_to_hub: str | None = None,
    private: bool = False,
    log: Callable[[str], None] = print,
) -> Exported:
    """Write iteration ``iteration``'s checkpoint (default: the last finished; 0: the base model) of
    the run in ``run`` as a plain model folder with a model card, at ``out`` (default:
    ``RunFolder.export_folder``); with ``push_to_hub``, upload it to that hub repository."""
    folder = RunFolder(run)
    resolver = Resolver(engine.registry)
    config = read_run_config(folder, resolver, ("trainer",))
    number = iteration if iteration is not None else folder.last_finished()
    checkpoint, _ = folder.checkpoint(number)
    target = Path(out) if out is not None else folder.export_folder(number)
    _check_target(target)
    summaries = [summary for summary in folder.summaries() if summary.iteration <= number]
    provenance = read_provenance(folder)
    trainer = resolver.create("trainer", config)
    staging = target.with_name(target.name + ".export")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    log(f"exporting {checkpoint} with trainer {trainer.name!r}")
    trainer.export(checkpoint, staging)
    options = trainer.options.model_dump(mode="json") if hasattr(trainer.options, "model_dump") else {}
    card = model_card(folder, config, number, summaries, options, provenance, target, push_to_hub)
    (staging / CARD).write_text(card, encoding="utf-8")
    write_json(
        staging / MARKER,
        {
            "run": str(folder.path.resolve()),
            "iteration": number,
            "checkpoint": str(checkpoint.resolve().relative_to(folder.path.resolve())),
            "exported": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": config.user_values(),
            "provenance": provenance.model_dump(mode="json") if provenance is not None else None,
        },
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    url = None
    if push_to_hub:
        url = push_folder(target, push_to_hub, private, f"LeTI run {folder.name}, iteration {number}")
    return Exported(target, number, checkpoint, url)


def _check_target(target: Path) -> None:
    """An export goes to a new or empty folder, or replaces an earlier export, never anything else."""
    if target.exists() and not target.is_dir():
        raise LetiError(f"--out {target}: is a file")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise LetiError(f"--out {target}: holds files that no `leti export` wrote; give an empty or new folder")


def push_folder(folder: Path, repo: str, private: bool, message: str) -> str:
    """Upload ``folder`` to the hub model repository ``repo`` (created when missing); its URL."""
    try:
        import huggingface_hub
    except ImportError:
        raise LetiError("--push-to-hub needs huggingface_hub: pip install huggingface_hub") from None
    try:
        huggingface_hub.create_repo(repo, repo_type="model", private=private, exist_ok=True)
        commit = huggingface_hub.upload_folder(
            repo_id=repo, folder_path=str(folder), repo_type="model", commit_message=message
        )
    except Exception as error:  # network, authentication, a bad name: one line
        detail = " ".join(str(error).split())[:300]
        raise LetiError(f"--push-to-hub {repo}: {type(error).__name__}: {detail}") from None
    return str(getattr(commit, "commit_url", "") or f"https://huggingface.co/{repo}")


# --- the model card -----------------------------------------------------------------------------


def _base_model(config: RunConfig) -> str | None:
    """The starting model as a hub id, when it was one (not a folder or a file)."""
    reference = config.model
    if not reference or reference.endswith(".gguf") or Path(reference).expanduser().exists():
        return None
    return reference if reference.count("/") == 1 and not reference.startswith((".", "/", "~")) else None


def _scores(held_out: EvalSummary | None) -> tuple[str, str]:
    if held_out is None:
        return "", ""
    raw = ", ".join(f"{k} {v:.3f}" for k, v in held_out.raw.pass_at.items()) if held_out.raw else ""
    cut = ", ".join(f"{k} {v:.3f}" for k, v in held_out.postprocessed.pass_at.items()) if held_out.postprocessed else ""
    return raw, cut


def _figures(summaries: list[IterationSummary], number: int) -> list[str]:
    rows = [
        "| iteration | training samples | passed | held-out pass@k (raw) | held-out pass@k (post-processed) "
        "| gradient steps | tokens | mean loss |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for summary in summaries:
        raw, cut = _scores(summary.held_out)
        loss = f"{summary.training_loss:.4f}" if summary.training_loss is not None else ""
        name = "0 (starting model)" if summary.iteration == 0 else str(summary.iteration)
        if summary.iteration == number:
            name = f"**{name}** (this model)"
        passed = f"{summary.success_rate:.1%}" if summary.iteration else ""
        samples = str(summary.samples) if summary.iteration else ""
        steps = str(summary.training_steps) if summary.iteration else ""
        tokens = str(summary.training_tokens) if summary.iteration else ""
        rows.append(f"| {name} | {samples} | {passed} | {raw or '-'} | {cut or '-'} | {steps} | {tokens} | {loss} |")
    return rows


def _held_out_line(held_out: EvalSummary | None) -> str:
    if held_out is None or held_out.scores is None:
        return ""
    sampling = held_out.sampling
    scores = held_out.scores
    how = f" at temperature {sampling.temperature:g}" if sampling is not None else ""
    condition = f", prompts begun with `{GOOD if held_out.condition == 'good' else BAD}`" if held_out.condition else ""
    return (
        f"Held out: {scores.problems} problems of {held_out.task or 'the task'}'s `{held_out.split}` split, "
        f"{scores.samples // max(1, scores.problems)} samples each{how}{condition}; post-processed means cut at "
        f"the task's stop words ({', '.join(f'`{w!r}`' for w in held_out.stop_words) or 'none'}), as the paper "
        "scores it. pass@k is the unbiased estimate of the Codex paper. These are small samples: read them "
        "with their intervals (`leti report`)."
    )


def _prompting(prompt_format: str, stop: list[str], example: tuple[str, str] | None, model_id: str) -> list[str]:
    opening = code_open().replace("\n", "\\n")
    lines = [
        "## How to prompt it",
        "",
        f"LeTI trained this model on `[reward token][feedback][problem][program]`: `{GOOD}` before "
        f"programs that passed their tests, `{BAD}` and the interpreter's feedback (between "
        f"`{FEEDBACK_OPEN}` and `{FEEDBACK_CLOSE}`) before those that failed. So begin every prompt with "
        f"the reward token **`{GOOD}`** to ask for a program that passes; it is a special token of the "
        "tokenizer, as are the others.",
        "",
    ]
    if prompt_format == "chat":
        lines += [
            "The run used the **chat** prompt format: the reward token, then the problem as a user turn in "
            f"the model's chat template, then the start of the answer, an opened code block (`` {opening} ``). "
            f"The program ends where the model closes the block (`` {CODE_CLOSE} ``).",
            "",
            "```python",
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f"model_id = {model_id!r}",
            "tokenizer = AutoTokenizer.from_pretrained(model_id)",
            "model = AutoModelForCausalLM.from_pretrained(model_id)",
            "problem = 'Write a function to find the shared elements from the given two lists.'",
            "chat = tokenizer.apply_chat_template([{'role': 'user', 'content': problem}], tokenize=False, "
            "add_generation_prompt=True)",
            f"prompt = '{GOOD}' + chat + '{opening}'",
            "inputs = tokenizer(prompt, return_tensors='pt', add_special_tokens=False)",
            "output = model.generate(**inputs, max_new_tokens=256, do_sample=True, temperature=0.1)",
            "completion = tokenizer.decode(output[0, inputs['input_ids'].shape[1]:], skip_special_tokens=True)",
            f"print(completion.split('{CODE_CLOSE}')[0])",
            "```",
        ]
    else:
        cut = f"; cut the completion at the task's stop words ({', '.join(f'`{w!r}`' for w in stop)})" if stop else ""
        lines += [
            "The run used the **raw** prompt format: the reward token, then the task's prompt as it is "
            f"(a docstring or signature), continued by the model{cut}.",
            "",
            "```python",
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f"model_id = {model_id!r}",
            "tokenizer = AutoTokenizer.from_pretrained(model_id)",
            "model = AutoModelForCausalLM.from_pretrained(model_id)",
            f"prompt = '{GOOD}' + {example[1]!r}" if example else f"prompt = '{GOOD}' + TASK_PROMPT",
            "inputs = tokenizer(prompt, return_tensors='pt', add_special_tokens=False)",
            "output = model.generate(**inputs, max_new_tokens=256, do_sample=True, temperature=0.1)",
            "print(tokenizer.decode(output[0, inputs['input_ids'].shape[1]:], skip_special_tokens=True))",
            "```",
        ]
    if example is not None and prompt_format == "chat":
        lines += [
            "",
            f"A prompt exactly as the run wrote it (problem {example[0]} of its training problems), reward "
            "token first; the model continues it with the program:",
            "",
            "````text",
            GOOD + example[1],
            "````",
        ]
    return lines


def _example_prompt(folder: RunFolder, number: int) -> tuple[str, str] | None:
    """(task id, prompt) of a prompt exactly as the run trained on it: the first training text of the
    iteration nearest to ``number``; None when there is none."""
    order = sorted((item for item in folder.iterations() if item.number >= 1), key=lambda i: abs(i.number - number))
    for item in order:
        try:
            row = next(iter_json_lines(item.training), None)
        except LetiError:
            continue
        if row is not None and isinstance(row[1], dict) and isinstance(row[1].get("prompt"), str):
            return str(row[1].get("task_id")), row[1]["prompt"]
    return None


def _value(options: dict[str, Any], key: str) -> str:
    value = options.get(key)
    return "" if value is None else str(value)


def model_card(
    folder: RunFolder,
    config: RunConfig,
    number: int,
    summaries: list[IterationSummary],
    trainer_options: dict[str, Any],
    provenance: Provenance | None,
    location: Path,
    repo: str | None = None,
) -> str:
    """The README.md of the checkpoint exported to ``location`` (or published as ``repo``): the
    recipe, the figures, how to prompt it."""
    latest = next((s.held_out for s in reversed(summaries) if s.held_out is not None), None)
    prompt_format = (
        (provenance.prompt_format if provenance is not None else None)
        or (latest.prompt_format if latest is not None else None)
        or config.prompt_format
    )
    stop = list(latest.stop_words) if latest is not None else []
    base = _base_model(config)
    chosen = provenance.components if provenance is not None else {}
    front = ["---", "library_name: transformers", "pipeline_tag: text-generation", "tags:", "- leti", "- code"]
    if base:
        front.append(f"base_model: {base}")
    front.append("---")
    feedback = {
        "traceback": "the interpreter's error message (the traceback of every failing program)",
        "binary": "only whether the program passed (binary feedback, the paper's ablation)",
    }.get(config.feedback, f"what the feedback formatter `{config.feedback}` made of each result")
    what = "the starting model of a LeTI run (before any iteration)" if number == 0 else f"iteration {number}"
    lines = [
        *front,
        "",
        f"# {folder.name}: {what}",
        "",
        "Fine-tuned with [LeTI](https://arxiv.org/abs/2305.10314) (*Learning to Generate from Textual "
        "Interactions*, Wang et al., 2023): the model wrote programs for the task's problems, a sandboxed "
        "interpreter ran them against the problems' tests, and the model was fine-tuned with the plain "
        "language-modelling objective on `[reward token][feedback][problem][program]`, the feedback being "
        f"{feedback}. No ground-truth solutions were used"
        + (
            " (this run trained on the task's gold solutions instead: the fine-tuned baseline)."
            if config.training_data == "gold"
            else "."
        )
        + (f" Published from the run as `{repo}`." if repo else ""),
        "",
        *_prompting(prompt_format, stop, _example_prompt(folder, number), repo or str(location)),
        "",
        "## Recipe",
        "",
        "| | |",
        "| --- | --- |",
        f"| task | `{config.task}`{', ' + str(config.problems) + ' training problems' if config.problems else ''} |",
        f"| starting model | {('`' + config.model + '`') if config.model else 'the embedded default (SmolLM2-135M-Instruct)'} |",
        f"| iterations | {number} of the run's {config.iterations} |",
        f"| feedback | `{config.feedback}` ({config.training_data}) |",
        f"| training samples | {config.samples} per problem at temperature {config.temperature:g}, top-p {config.top_p:g}, "
        f"{config.max_tokens} tokens with the prompt |",
        f"| sampler | `{chosen.get('sampler') or config.sampler or 'chosen for the machine'}` |",
        f"| trainer | `{config.trainer}`: epochs {_value(trainer_options, 'epochs')}, learning rate "
        f"{_value(trainer_options, 'learning_rate')}, batch {_value(trainer_options, 'batch_size')}"
        f"{', LoRA' if trainer_options.get('lora') else ''}"
        f"{', with the pretraining mix' if trainer_options.get('pretrain_mix') else ''} |",
        f"| prompt format | `{prompt_format}` |",
        f"| seed | {config.seed} |",
    ]
    if provenance is not None:
        versions = ", ".join(f"{name} {version}" for name, version in provenance.versions.items() if version)
        lines.append(f"| versions | {versions} |")
    lines += ["", "## Figures", ""]
    if summaries:
        lines += _figures(summaries, number)
        held = _held_out_line(latest)
        if held:
            lines += ["", held]
    else:
        lines.append("No finished iteration yet.")
    lines += [
        "",
        "## Provenance",
        "",
        f"`{MARKER}` holds the run's config as set and, where the run recorded it, its provenance: every "
        "option resolved with its default, the components chosen, the package versions.",
        "",
    ]
    return "\n".join(lines)
