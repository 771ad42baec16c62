"""The LeTI loop: sample, execute, feedback, fine-tune, evaluate; resumable stage by stage.

A run folder holds ``config.json``, ``base/`` (the starting model with LeTI's special tokens)
and one ``iteration-K/`` per iteration with ``samples.jsonl``, ``training.jsonl``,
``train_metrics.json``, ``checkpoint/``, ``eval.jsonl`` and ``summary.json``. Each file is
written whole or not at all, and a stage whose output exists is never redone.
"""

from __future__ import annotations

import json

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from .components import Environment, FeedbackFormatter, Sampler, Task, Trainer, ensure_compatible
from .errors import LetiError
from .jsonl import read_models, write_json, write_jsonl
from .models import IterationSummary, Problem, Sample, ScoredSample, TrainingExample
from .plugins import Engine
from .run_config import (
    ENVIRONMENT_FIELDS,
    SAMPLER_FIELDS,
    TRAINER_FIELDS,
    RunConfig,
    component_options,
)
from .scoring import Scorer, exception_histogram, pass_at_k
from .training import SPECIAL_TOKENS, condition_prompt, gold_example, training_example

ProgressFactory = Callable[[int, str], AbstractContextManager[Callable[[int], None]]]
"""``progress(total, description)`` -> a context manager yielding an ``advance(n)`` callback."""


def _no_progress(total: int, description: str) -> AbstractContextManager[Callable[[int], None]]:
    from contextlib import nullcontext

    return nullcontext(lambda n: None)


def postprocess(completion: str, stop_words: Sequence[str]) -> str:
    """Cut a completion at the first stop word (the paper's evaluation post-processing)."""
    cut = min((i for i in (completion.find(word) for word in stop_words) if i >= 0), default=len(completion))
    return completion[:cut]


@dataclass
class Components:
    """The components a run uses, built and checked from its config."""

    task: Task
    environment: Environment
    formatter: FeedbackFormatter
    sampler: Sampler
    trainer: Trainer

    @classmethod
    def from_config(cls, engine: Engine, config: RunConfig) -> Components:
        registry = engine.registry
        task = registry.task(config.task, **({"data": config.data} if config.data else {}))
        env_cls = registry.load("environment", config.env or task.default_environment)
        environment = env_cls(**component_options(config, ENVIRONMENT_FIELDS, set(env_cls.Options.model_fields), config.env_options))
        ensure_compatible(task, environment)
        sampler_cls = registry.load("sampler", config.sampler)
        trainer_cls = registry.load("trainer", config.trainer)
        return cls(
            task=task,
            environment=environment,
            formatter=registry.feedback(config.feedback),
            sampler=sampler_cls(**component_options(config, SAMPLER_FIELDS, set(sampler_cls.Options.model_fields), config.sampler_options)),
            trainer=trainer_cls(**component_options(config, TRAINER_FIELDS, set(trainer_cls.Options.model_fields), config.trainer_options)),
        )

    def close(self) -> None:
        for component in (self.sampler, self.environment, self.trainer):
            component.close()


@dataclass
class LetiRun:
    """One run folder and the components that fill it."""

    run_dir: Path
    config: RunConfig
    components: Components
    engine: Engine
    progress: ProgressFactory = _no_progress
    log: Callable[[str], None] = print
    _problems: dict[str, list[Problem]] = field(default_factory=dict)

    # --- opening -------------------------------------------------------------------------
    @staticmethod
    def check_folder(run_dir: Path, config: RunConfig, resume: bool) -> None:
        """Refuse to start over an existing run, or to resume one made with another config."""
        saved = run_dir / "config.json"
        if not resume:
            if saved.exists():
                raise LetiError(f"{run_dir} already holds a run: use --resume {run_dir}, or another --out")
            return
        previous = LetiRun.saved_config(run_dir)
        different = config.differences(previous)
        if different:
            key = different[0]
            raise LetiError(
                f"--resume {run_dir}: the run was made with another config ({key}: "
                f"{getattr(previous, key)!r} there, {getattr(config, key)!r} now)"
            )

    @staticmethod
    def saved_config(run_dir: Path) -> RunConfig:
        """The config a run folder was made with; LetiError when there is none or it is broken."""
        saved = run_dir / "config.json"
        if not saved.is_file():
            raise LetiError(f"{run_dir} is not a run folder (no config.json)")
        try:
            return RunConfig.model_validate_json(saved.read_text())
        except ValueError:
            raise LetiError(f"{saved}: not a LeTI run config") from None

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> list[IterationSummary]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.run_dir / "config.json", self.config)
        self.engine.run_start(self.run_dir, self.config.model_dump())
        model = self._base_model()
        summaries = []
        for iteration in range(1, self.config.iterations + 1):
            summary = self._iteration(iteration, model)
            summaries.append(summary)
            model = str(self._dir(iteration) / "checkpoint")
        self.engine.run_end(self.run_dir, summaries)
        return summaries

    def _dir(self, iteration: int) -> Path:
        return self.run_dir / f"iteration-{iteration}"

    def _base_model(self) -> str:
        base = self.run_dir / "base"
        if not (base / "config.json").is_file():
            reference = self.config.model or _default_model_reference(self.components)
            self.log(f"preparing {reference} with LeTI's special tokens")
            self.components.trainer.prepare(reference, SPECIAL_TOKENS, base)
        return str(base)

    def problems(self, split: str, limit: int | None) -> list[Problem]:
        if split not in self._problems:
            self._problems[split] = self.components.task.load(split)
        problems = self._problems[split]
        if not problems:
            raise LetiError(f"task {self.config.task!r} split {split!r} has no problems")
        return problems[:limit] if limit else problems

    def _iteration(self, iteration: int, model: str) -> IterationSummary:
        folder = self._dir(iteration)
        summary_file = folder / "summary.json"
        if summary_file.is_file():
            self.log(f"iteration {iteration}: done before, skipped")
            return IterationSummary.model_validate_json(summary_file.read_text())
        folder.mkdir(parents=True, exist_ok=True)
        seconds: dict[str, float] = {}
        train_problems = self.problems(self.components.task.train_split, self.config.problems)
        if self.config.training_data == "gold":
            scored: list[ScoredSample] = []
            examples = self._stage(folder / "training.jsonl", TrainingExample, seconds, "gold", lambda: self._gold(train_problems))
        else:
            condition = "good" if iteration >= 2 else None
            scored = self._stage(folder / "samples.jsonl", ScoredSample, seconds, "sample+execute", lambda: self._sample_and_score(
                model, train_problems, self.config.samples, self.config.temperature, condition, iteration, "train"))
            by_id = {problem.task_id: problem for problem in train_problems}
            examples = self._stage(folder / "training.jsonl", TrainingExample, seconds, "feedback",
                                   lambda: [training_example(by_id[item.sample.key], item) for item in scored])
        checkpoint = folder / "checkpoint"
        metrics_file = folder / "train_metrics.json"
        if not (metrics_file.is_file() and (checkpoint / "config.json").is_file()):
            self.components.sampler.close()  # free the sampling model's memory before training
            started = time.monotonic()
            with self.progress(0, f"iteration {iteration}: training") as advance:
                metrics = self.components.trainer.train(model, [example.text for example in examples], checkpoint, advance)
            seconds["train"] = time.monotonic() - started
            write_json(metrics_file, metrics)
        metrics = json.loads(metrics_file.read_text())
        eval_problems = self.problems(self.components.task.eval_split, self.config.eval_problems)
        eval_condition = None if self.config.eval_condition == "none" else self.config.eval_condition
        evaluated = self._stage(folder / "eval.jsonl", ScoredSample, seconds, "evaluate", lambda: self._sample_and_score(
            str(checkpoint), eval_problems, self.config.eval_samples, self.config.eval_temperature, eval_condition, iteration, "eval"))
        summary = self._summarize(iteration, scored, evaluated, eval_problems, metrics, seconds, checkpoint)
        write_json(summary_file, summary)
        self.engine.iteration_end(self.run_dir, summary)
        self.log(_summary_line(summary))
        return summary

    def _gold(self, problems: list[Problem]) -> list[TrainingExample]:
        examples = []
        for problem in problems:
            solution = self.components.task.gold_completion(problem)
            if solution is None:
                raise LetiError(f"task {self.config.task!r} has no gold solution for problem {problem.task_id!r}")
            examples.append(gold_example(problem, solution))
        return examples

    def _stage(self, path: Path, model: type, seconds: dict[str, float], name: str, produce: Callable[[], list]) -> list:
        if path.is_file():
            return [row for _, row in read_models(path, model)]
        started = time.monotonic()
        rows = produce()
        write_jsonl(path, rows)
        seconds[name] = time.monotonic() - started
        return rows

    def _sample_and_score(self, model: str, problems: list[Problem], n: int, temperature: float,
                          condition: str | None, iteration: int, stage: str) -> list[ScoredSample]:
        """Sample n completions per problem; execution of each problem's samples overlaps sampling."""
        scorer = Scorer(self.components.environment, self.components.formatter)
        by_id = {problem.task_id: problem for problem in problems}
        prompts = [condition_prompt(problem.prompt, condition) for problem in problems]
        pending: list[Future[list[ScoredSample]]] = []
        with ThreadPoolExecutor(1) as executor, \
                self.progress(len(problems) * n, f"iteration {iteration}: {stage} sampling") as advance:
            completions = self.components.sampler.sample(model, prompts, n, temperature=temperature, progress=advance)
            for problem, group in zip(problems, completions, strict=True):
                samples = [Sample(task_id=problem.task_id, completion=c) for c in group]
                pending.append(executor.submit(scorer.score, by_id, samples))
            scored = [item for future in pending for item in future.result()]
        self.engine.samples_scored(self.run_dir, iteration, stage, scored)
        return scored

    def _summarize(self, iteration: int, scored: list[ScoredSample], evaluated: list[ScoredSample],
                   eval_problems: list[Problem], metrics: dict[str, float], seconds: dict[str, float],
                   checkpoint: Path) -> IterationSummary:
        ks = (1, 10, 100)
        cut = postprocess_samples((item.sample for item in evaluated), self.components.task.stop_words)
        extra = {f"{key} (post-processed)": value
                 for key, value in pass_at_k(self._rescore(cut), ks).pass_at.items()} if cut else {}
        by_id = {problem.task_id: problem for problem in eval_problems}
        extra.update(self.components.environment.metrics(evaluated, by_id))
        return IterationSummary(
            iteration=iteration,
            samples=len(scored),
            success_rate=sum(item.result.passed for item in scored) / max(1, len(scored)),
            exception_histogram=exception_histogram(scored),
            evaluation=pass_at_k(evaluated, ks),
            extra_metrics=extra,
            training_tokens=int(metrics.get("tokens", 0)),
            training_steps=int(metrics.get("steps", 0)),
            seconds=seconds,
            checkpoint=str(checkpoint.relative_to(self.run_dir)),
        )

    def _rescore(self, samples: list[Sample]) -> list[ScoredSample]:
        problems = self.problems(self.components.task.eval_split, self.config.eval_problems)
        scorer = Scorer(self.components.environment, self.components.formatter)
        return scorer.score({problem.task_id: problem for problem in problems}, samples)


def postprocess_samples(samples: Iterable[Sample], stop_words: Sequence[str]) -> list[Sample]:
    """The samples with each completion cut at the first stop word (none: no samples)."""
    if not stop_words:
        return []
    return [Sample(task_id=sample.task_id, completion=postprocess(sample.completion, stop_words)) for sample in samples]


def _default_model_reference(components: Components) -> str:
    default = getattr(components.trainer, "default_model", None)
    if default is None:
        raise LetiError(f"trainer {components.trainer.name!r} has no default model: pass --model")
    return default()


def _summary_line(summary: IterationSummary) -> str:
    scores = ", ".join(f"{k} {v:.3f}" for k, v in (summary.evaluation.pass_at.items() if summary.evaluation else []))
    top = ", ".join(f"{k} {v}" for k, v in list(summary.exception_histogram.items())[:3])
    return (f"iteration {summary.iteration}: {summary.samples} samples, success {summary.success_rate:.1%}, "
            f"{scores}; {summary.training_steps} steps, {summary.training_tokens} tokens; errors: {top or 'none'}")


