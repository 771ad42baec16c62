"""The LeTI loop: sample, execute, feedback, fine-tune, evaluate; resumable stage by stage.

Where each stage's output goes is the run folder's business (``run_folder.py``); a stage whose
output exists is never redone.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from ..components import Sampler, Trainer
from ..errors import LetiError
from ..jsonl import read_models, write_json, write_jsonl
from ..models import EvalSummary, IterationSummary, Problem, ScoredSample, TrainingExample
from ..prompts import apply_format, stop_words
from ..run_folder import EvalFiles, RunFolder, is_checkpoint
from ..training import SPECIAL_TOKENS, gold_example, training_example
from .evaluation import evaluate, held_out
from .pipeline import ProgressFactory, no_progress
from .plugins import Engine
from .provenance import Provenance, check_changes, record_provenance
from .resolve import Components
from .run_config import RunConfig
from .scoring import Scorer, exception_histogram, judged_in_process, sandbox_errors, usable
from .shared_start import share_start
from .stages import Stages


@dataclass
class LetiRun:
    """One run folder and the components that fill it."""

    folder: RunFolder
    config: RunConfig
    components: Components
    engine: Engine
    progress: ProgressFactory = no_progress
    log: Callable[[str], None] = print
    _problems: dict[str, list[Problem]] = field(default_factory=dict)
    #: The prompt format in use, once the base model is there to resolve ``auto`` with.
    prompt_format: str | None = None
    #: What the run is made with (written to provenance.json once the prompt format is chosen);
    #: None: nothing is recorded.
    provenance: Provenance | None = None
    #: The record a resumed run was made with (None: a new run, or one from before records).
    recorded_provenance: Provenance | None = None
    #: Resume even when what the run is made with changed (the new record is written beside the old).
    accept_changes: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.folder, RunFolder):
            self.folder = RunFolder(self.folder)
        if self.components.sampler is None or self.components.trainer is None:
            raise LetiError("a run needs a sampler and a trainer")

    @property
    def sampler(self) -> Sampler:
        assert self.components.sampler is not None  # a run has one (__post_init__)
        return self.components.sampler

    @property
    def trainer(self) -> Trainer:
        assert self.components.trainer is not None  # a run has one (__post_init__)
        return self.components.trainer

    @property
    def stages(self) -> Stages:
        return Stages(
            self.sampler,
            Scorer(self.components.environment, self.components.formatter),
            self.config.save_every,
            self.config.max_sandbox_errors,
            self.progress,
            self.log,
            lambda iteration, stage, scored: self.engine.samples_scored(self.folder, iteration, stage, scored),
        )

    def run(self) -> list[IterationSummary]:
        task = self.components.task
        self.problems(task.train_split, self.config.problems)  # bad data fails here, before anything is written
        self.problems(task.eval_split, self.config.eval_problems)
        self.components.environment.check()  # broken tools stop the run here, before anything is written
        for params in (self.config.training_sampling(), self.config.eval_sampling()):
            self.sampler.check(params)  # so does a parameter the sampler cannot honour
        new = not self.folder.path.exists()
        self.folder.path.mkdir(parents=True, exist_ok=True)
        write_json(self.folder.config_file, self.config.user_values())
        try:
            if self.config.start_from:
                share_start(
                    RunFolder(self.config.start_from), self.folder, self.config, self.components.formatter, self.log
                )
            self._base_model()
        except BaseException:
            if new:  # a run that failed before its first iteration leaves nothing that blocks a corrected re-run
                shutil.rmtree(self.folder.path, ignore_errors=True)
            raise
        self._choose_prompt_format()
        self._record_provenance()
        self.engine.run_start(self.folder, self.config)
        chosen = (
            "" if "sampler" in self.config.model_fields_set and self.config.sampler else ", chosen for this machine"
        )
        self.log(f"sampler {self.sampler.name!r}{chosen}; trainer {self.trainer.name!r}")
        if self.config.eval_base:
            self._evaluate_base()
        summaries: list[IterationSummary] = []
        for iteration in range(1, self.config.iterations + 1):
            summaries.append(self._iteration(iteration, summaries))
        self.engine.run_end(self.folder, summaries)
        return summaries

    def _base_model(self) -> None:
        if not is_checkpoint(self.folder.base):
            reference = self.config.model or _default_model_reference(self.components)
            self.log(f"preparing {reference} with LeTI's special tokens")
            self.trainer.prepare(reference, SPECIAL_TOKENS, self.folder.base)

    def _record_provenance(self) -> None:
        """Check the prompt format ``auto`` chose against the run's record, then write the record."""
        if self.provenance is None:
            return
        now = self.provenance.model_copy(update={"prompt_format": self.prompt_format})
        check_changes(self.folder, self.recorded_provenance, now, self.accept_changes)
        if self.recorded_provenance is None and any(self.folder.iterations()):
            self.log(f"{self.folder.provenance_file.name}: none yet (a run from before such records), written now")
        self.provenance = record_provenance(self.folder, self.recorded_provenance, now)

    def _choose_prompt_format(self) -> None:
        """Resolve the prompt format with the base model's tokenizer and put the loaded problems in it."""
        chosen: str = self.config.prompt_format
        for split, problems in self._problems.items():  # the first split resolves "auto" for the others
            self._problems[split], chosen = self._formatted(problems, chosen)
        self.prompt_format = chosen
        self.log(f"prompt format {self.prompt_format!r}")

    def _formatted(self, problems: list[Problem], requested: str) -> tuple[list[Problem], str]:
        task = self.components.task
        return apply_format(
            problems,
            requested,
            task.chat_request,
            lambda messages: self.sampler.render_chat(str(self.folder.base), messages),
            str(self.folder.base),
            task.code_language,
        )

    def problems(self, split: str, limit: int | None) -> list[Problem]:
        """The first ``limit`` problems of ``split``, in the run's prompt format once it is chosen."""
        if split not in self._problems:
            loaded = self.components.task.load(split)
            if not loaded:
                raise LetiError(f"task {self.config.task!r} split {split!r} has no problems")
            self._problems[split] = self._formatted(loaded, self.prompt_format)[0] if self.prompt_format else loaded
        problems = self._problems[split]
        return problems[:limit] if limit else problems

    def _iteration(self, iteration: int, earlier: list[IterationSummary]) -> IterationSummary:
        folder = self.folder.iteration(iteration)
        if folder.finished:
            self.log(f"iteration {iteration}: done before, skipped")
            return folder.summary()
        folder.path.mkdir(parents=True, exist_ok=True)
        model = str(self.folder.model_for(iteration))
        seconds: dict[str, float] = {}
        task = self.components.task
        train_problems = self.problems(task.train_split, self.config.problems)
        if self.config.training_data == "gold":
            scored: list[ScoredSample] = []
            examples = self._stage(
                folder.training, TrainingExample, seconds, "gold", lambda: self._gold(train_problems)
            )
        else:
            condition = "good" if iteration >= 2 else None
            params = self.config.training_sampling(stop_words(self.prompt_format or "raw"))
            timing = (seconds, "sample+execute")
            scored = self.stages.sample(
                folder.samples, model, train_problems, params, condition, (iteration, "train"), timing
            )
            by_id = {problem.task_id: problem for problem in train_problems}
            examples = self._stage(
                folder.training,
                TrainingExample,
                seconds,
                "feedback",
                lambda: [training_example(by_id[item.sample.key], item) for item in usable(scored)],
            )
        if not folder.trained:
            self.sampler.close()  # free the sampling model's memory before training
            started = time.monotonic()
            trainer = self.trainer
            logs = {"log_dir": self.folder.training_logs(iteration)}
            with self.progress(0, f"iteration {iteration}: training") as advance:
                metrics = trainer.train(
                    model, [example.text for example in examples], folder.checkpoint, advance, **logs
                )
            seconds["train"] = time.monotonic() - started
            write_json(folder.train_metrics, metrics)
        metrics = folder.metrics()
        evaluated, summary_of_eval = self.evaluate(folder.checkpoint, folder.held_out, iteration, seconds)
        summary = self._summarize(iteration, scored, evaluated, summary_of_eval, metrics, seconds)
        self.folder.write_summary(summary)
        self.engine.iteration_end(self.folder, summary, [*earlier, summary])
        self.log(summary_line(summary))
        return summary

    def _evaluate_base(self) -> None:
        """Iteration 0: the held-out evaluation of the starting model."""
        folder = self.folder.iteration(0)
        if folder.finished:
            return
        folder.path.mkdir(parents=True, exist_ok=True)
        seconds: dict[str, float] = {}
        evaluated, summary_of_eval = self.evaluate(self.folder.base, folder.held_out, 0, seconds)
        summary = self._summarize(0, [], evaluated, summary_of_eval, {}, seconds)
        self.folder.write_summary(summary)
        self.log(summary_line(summary))

    def evaluate(
        self, model: Path, files: EvalFiles, iteration: int, seconds: dict[str, float] | None = None
    ) -> tuple[list[ScoredSample], EvalSummary]:
        """The held-out evaluation of ``model`` at ``iteration``, kept in ``files``."""
        task = self.components.task
        plan = held_out(
            self.config,
            task,
            task.eval_split,
            self.problems(task.eval_split, self.config.eval_problems),
            self.prompt_format or "raw",
            iteration,
        )
        return evaluate(self.stages, plan, str(model), files, iteration, seconds)

    def _gold(self, problems: list[Problem]) -> list[TrainingExample]:
        examples = []
        for problem in problems:
            solution = self.components.task.gold_completion(problem)
            if solution is None:
                raise LetiError(f"task {self.config.task!r} has no gold solution for problem {problem.task_id!r}")
            examples.append(gold_example(problem, solution))
        return examples

    def _stage(
        self, path: Path, model: type[BaseModel], seconds: dict[str, float], name: str, produce: Callable[[], list]
    ) -> list:
        if path.is_file():
            return [row for _, row in read_models(path, model)]
        started = time.monotonic()
        rows = produce()
        write_jsonl(path, rows)
        seconds[name] = time.monotonic() - started
        return rows

    def _summarize(
        self,
        iteration: int,
        scored: list[ScoredSample],
        evaluated: list[ScoredSample],
        held_out: EvalSummary,
        metrics: dict[str, float],
        seconds: dict[str, float],
    ) -> IterationSummary:
        return IterationSummary(
            iteration=iteration,
            samples=len(scored),
            success_rate=sum(item.result.passed for item in scored) / max(1, len(usable(scored))),
            exception_histogram=exception_histogram(scored),
            held_out=held_out,
            training_tokens=int(metrics.get("tokens", 0)),
            training_steps=int(metrics.get("steps", 0)),
            training_loss=metrics.get("train_loss"),
            sandbox_errors=len(sandbox_errors(scored)) + held_out.sandbox_errors,
            judged_in_process=judged_in_process([*scored, *evaluated]),
            seconds=seconds,
            checkpoint=str(self.folder.checkpoint_path(iteration).relative_to(self.folder.path)),
        )


def _default_model_reference(components: Components) -> str:
    trainer = components.trainer
    default = trainer.default_model() if trainer is not None else None
    if default is None:
        raise LetiError(f"trainer {getattr(trainer, 'name', '?')!r} has no default model: pass --model")
    return default


def summary_line(summary: IterationSummary) -> str:
    """One line per iteration: samples, success rate, pass@k, steps, tokens, top exception types."""
    held_out = summary.held_out or EvalSummary()
    raw = held_out.raw.pass_at if held_out.raw else {}
    cut = held_out.postprocessed.pass_at if held_out.postprocessed else {}
    scores = ", ".join(
        [f"{k} {v:.3f}" for k, v in raw.items()] + [f"{k} {v:.3f} (post-processed)" for k, v in cut.items()]
    )
    if summary.iteration == 0:
        return f"iteration 0 (the starting model): {scores}"
    top = ", ".join(f"{k} {v}" for k, v in list(summary.exception_histogram.items())[:3])
    loss = f", loss {summary.training_loss:.4f}" if summary.training_loss is not None else ""
    judged = (
        f"; {len(summary.judged_in_process)} problems judged in the program's process"
        if summary.judged_in_process
        else ""
    )
    return (
        f"iteration {summary.iteration}: {summary.samples} samples, success {summary.success_rate:.1%}, "
        f"{scores}; {summary.training_steps} steps, {summary.training_tokens} tokens{loss}; "
        f"errors: {top or 'none'}{judged}"
    )
