"""The LeTI loop: sample, execute, feedback, fine-tune, evaluate; resumable stage by stage.

Where each stage's output goes is the run folder's business (``run_folder.py``); a stage whose
output exists is never redone.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from ..components import Sampler, Trainer
from ..errors import LetiError
from ..jsonl import read_models, write_json, write_jsonl
from ..models import IterationSummary, PassAtK, Problem, ScoredSample, TrainingExample
from ..prompts import apply_format, stop_words
from ..run_folder import RunFolder, is_checkpoint
from ..sampling import SamplingParams
from ..training import SPECIAL_TOKENS, gold_example, training_example
from .pipeline import (
    ProgressFactory,
    no_progress,
    postprocess_samples,
    sample_and_score,
)
from .plugins import Engine
from .resolve import Components
from .resumable import sample_in_chunks
from .run_config import RunConfig
from .scoring import (
    Scorer,
    exception_histogram,
    judged_in_process,
    pass_at_k,
    sandbox_errors,
    usable,
)


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
    def scorer(self) -> Scorer:
        return Scorer(self.components.environment, self.components.formatter)

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
            self._base_model()
        except BaseException:
            if new:  # a run that failed before its first iteration leaves nothing that blocks a corrected re-run
                shutil.rmtree(self.folder.path, ignore_errors=True)
            raise
        self._choose_prompt_format()
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
            scored = self._stage(
                folder.samples,
                ScoredSample,
                seconds,
                "sample+execute",
                lambda: self._sample(model, train_problems, params, condition, iteration, "train", folder.samples),
            )
            by_id = {problem.task_id: problem for problem in train_problems}
            scored = self._settle(folder.samples, scored, by_id, iteration, "training")
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
            with self.progress(0, f"iteration {iteration}: training steps") as advance:
                metrics = trainer.train(
                    model, [example.text for example in examples], folder.checkpoint, advance, **logs
                )
            seconds["train"] = time.monotonic() - started
            write_json(folder.train_metrics, metrics)
        metrics = folder.metrics()
        eval_condition = None if self.config.eval_condition == "none" else self.config.eval_condition
        evaluated, eval_problems = self._evaluate(folder.checkpoint, folder.eval, eval_condition, iteration, seconds)
        summary = self._summarize(iteration, scored, evaluated, eval_problems, metrics, seconds)
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
        evaluated, eval_problems = self._evaluate(self.folder.base, folder.eval, None, 0, seconds)
        summary = self._summarize(0, [], evaluated, eval_problems, {}, seconds)
        self.folder.write_summary(summary)
        self.log(summary_line(summary))

    def _evaluate(
        self, model: Path, path: Path, condition: str | None, iteration: int, seconds: dict[str, float]
    ) -> tuple[list[ScoredSample], list[Problem]]:
        """Held-out samples of ``model``, scored (kept in ``path``), and the problems they are for."""
        problems = self.problems(self.components.task.eval_split, self.config.eval_problems)
        evaluated = self._stage(
            path,
            ScoredSample,
            seconds,
            "evaluate",
            lambda: self._sample(
                str(model), problems, self.config.eval_sampling(self._eval_stop()), condition, iteration, "eval", path
            ),
        )
        return self._settle(path, evaluated, {p.task_id: p for p in problems}, iteration, "held-out"), problems

    def _settle(
        self, path: Path, scored: list[ScoredSample], problems: dict[str, Problem], iteration: int, stage: str
    ) -> list[ScoredSample]:
        """Run once more what the sandbox failed to run (its failure, not the program's), keep the
        stage file up to date, and stop when too many still failed: a verdict the program did not
        cause is never trained on."""
        failed = [index for index, item in enumerate(scored) if item.result.status == "error"]
        if failed:
            again = self.scorer.score(problems, [scored[index].sample for index in failed])
            scored = list(scored)
            for index, item in zip(failed, again, strict=True):
                scored[index] = item
            write_jsonl(path, scored)
        errors = sandbox_errors(scored)
        if len(errors) > self.config.max_sandbox_errors * len(scored):
            raise LetiError(
                f"iteration {iteration}: the sandbox could not run {len(errors)} of {len(scored)} {stage} programs "
                f"({errors[0].result.reason}); nothing was trained on them. Check the sandbox (leti sandbox check), "
                f"then --resume: those programs run again"
            )
        if errors:
            self.log(
                f"iteration {iteration}: {len(errors)} {stage} programs could not be run by the sandbox; "
                "they are left out of training and pass@k"
            )
        return scored

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
        self.folder.in_progress(path).unlink(missing_ok=True)
        seconds[name] = time.monotonic() - started
        return rows

    def _stops_at_task_words(self) -> bool:
        """Whether held-out samples end at the task's stop words (then only post-processed scores exist)."""
        return self.config.eval_stop and bool(self.components.task.stop_words)

    def _eval_stop(self) -> tuple[str, ...]:
        """The stop words held-out samples end at: the prompt format's, and the task's unless raw
        scores are wanted too."""
        task_words = tuple(self.components.task.stop_words) if self._stops_at_task_words() else ()
        return stop_words(self.prompt_format or "raw") + task_words

    def _sample(
        self,
        model: str,
        problems: list[Problem],
        params: SamplingParams,
        condition: str | None,
        iteration: int,
        stage: str,
        stage_file: Path,
    ) -> list[ScoredSample]:
        """Sample and score, saving chunk by chunk beside ``stage_file`` (a killed stage resumes there)."""
        n = params.n
        with self.progress(len(problems) * n, f"iteration {iteration}: {stage} sampling") as advance:

            def resumed(count: int) -> None:
                self.log(f"iteration {iteration}: {stage} sampling resumes after {count} saved samples")
                advance(count)

            def sample(part: Sequence[Problem], stream: int) -> list[ScoredSample]:
                return sample_and_score(
                    self.sampler,
                    self.scorer,
                    model,
                    part,
                    params.model_copy(update={"stream": stream}),
                    condition,
                    advance,
                )

            scored = sample_in_chunks(
                problems,
                n,
                self.config.save_every,
                self.folder.in_progress(stage_file),
                (iteration, stage),
                sample,
                resumed,
            )
        self.engine.samples_scored(self.folder, iteration, stage, scored)
        return scored

    def _summarize(
        self,
        iteration: int,
        scored: list[ScoredSample],
        evaluated: list[ScoredSample],
        eval_problems: list[Problem],
        metrics: dict[str, float],
        seconds: dict[str, float],
    ) -> IterationSummary:
        by_id = {problem.task_id: problem for problem in eval_problems}
        raw: PassAtK | None
        postprocessed: PassAtK | None
        if self._stops_at_task_words():  # the held-out samples ended at the stop words: post-processed already
            raw, postprocessed = None, pass_at_k(evaluated)
        else:
            cut = postprocess_samples((item.sample for item in evaluated), self.components.task.stop_words)
            raw, postprocessed = pass_at_k(evaluated), (pass_at_k(self.scorer.score(by_id, cut)) if cut else None)
        return IterationSummary(
            iteration=iteration,
            samples=len(scored),
            success_rate=sum(item.result.passed for item in scored) / max(1, len(usable(scored))),
            exception_histogram=exception_histogram(scored),
            evaluation=raw,
            postprocessed=postprocessed,
            extra_metrics=self.components.environment.metrics(evaluated, by_id),
            training_tokens=int(metrics.get("tokens", 0)),
            training_steps=int(metrics.get("steps", 0)),
            training_loss=metrics.get("train_loss"),
            sandbox_errors=len(sandbox_errors(scored)) + len(sandbox_errors(evaluated)),
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
    raw = summary.evaluation.pass_at if summary.evaluation else {}
    cut = summary.postprocessed.pass_at if summary.postprocessed else {}
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
