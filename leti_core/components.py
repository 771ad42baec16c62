"""The component interfaces that plugins implement.

A component is a class with a nested pydantic ``Options`` model. It is constructed from keyword
options (``PythonEnvironment(timeout=3)``), which are validated against ``Options``; unknown keys
are an error. Each pipeline stage runs exactly one chosen component of its kind.
"""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import IncompatibleComponentsError, LetiError
from .models import ExecutionResult, Feedback, IOTest, OutputMatch, Problem, ScoredSample
from .sampling import SamplingParams
from .toolchain import Probe, check_toolchain

ProgressCallback = Callable[..., None]
"""``advance(n)``: n more items finished. ``advance(n, total=N)`` says how many there are in all,
when a component learns it only once it has started (training tokens), and that ``n`` were done
before (a resumed training): they are left out of the rate. ``unit="tokens"`` names what is counted."""


def call_progress(progress: ProgressCallback, n: int, **extra: Any) -> None:
    """``progress(n, **extra)``, dropping ``unit`` and then ``total`` for a callback that takes
    fewer keywords (one that only counts)."""
    for keep in (("total", "unit"), ("total",), ()):
        try:
            progress(n, **{key: value for key, value in extra.items() if key in keep})
            return
        except TypeError:
            if not extra:
                raise
            continue


class Options(BaseModel):
    """Base for component options: unknown keys are rejected, values are validated."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def extra_option(cls, name: str) -> Any:
        """The type of an option beyond the declared fields that this component passes on to a
        library (a model with ``extra="allow"`` overrides this); None: no such option. Raise
        LetiError for a name the component refuses with a reason."""
        return None


class Component:
    """Base of every component: a registered name, a kind and validated options."""

    kind: ClassVar[str] = "component"
    name: ClassVar[str] = ""
    Options: ClassVar[type[Options]] = Options

    def __init__(self, **options: Any) -> None:
        self.options = self.parse_options(options)

    @classmethod
    def parse_options(cls, options: Mapping[str, Any]) -> Any:
        """Validate options; raise LetiError naming the component and the bad value."""
        try:
            return cls.Options.model_validate(dict(options))
        except ValidationError as error:
            detail = error.errors()[0]
            field = ".".join(str(part) for part in detail["loc"]) or "options"
            given = f" (got {detail['input']!r})" if "input" in detail and detail["loc"] else ""
            raise LetiError(
                f"{cls.kind} {cls.name or cls.__name__!r}: option {field}: {detail['msg']}{given}"
            ) from None

    def close(self) -> None:
        """Release processes, containers or memory held by the component."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Task(Component):
    """A set of problems split by name, with the kind of checking its problems need."""

    kind = "task"
    #: What the problems are checked by; environments list the kinds they accept.
    problem_kind: ClassVar[str] = "python"
    default_environment: ClassVar[str] = "python"
    splits: ClassVar[tuple[str, ...]] = ()
    train_split: ClassVar[str] = "train"
    eval_split: ClassVar[str] = "test"
    #: Where evaluation cuts a completion when post-processing is asked for.
    stop_words: ClassVar[tuple[str, ...]] = ()
    #: The language of the programs, as a Markdown code block names it (chat-format prompts).
    code_language: ClassVar[str] = "python"

    @abstractmethod
    def load(self, split: str) -> list[Problem]:
        """The problems of ``split``; raise LetiError for an unknown split or missing data."""

    @classmethod
    def environment_for(cls, options: Mapping[str, Any], installed: Sequence[str]) -> str:
        """The environment that checks this task's problems when the user names none, given the
        task's options as set (not yet checked) and the environments ``installed``: a task whose
        language is an option answers from it, and raises LetiError when none is installed."""
        return cls.default_environment

    def gold_completion(self, problem: Problem) -> str | None:
        """The ground-truth completion, for the fine-tuned baseline (None when unknown)."""
        return problem.reference

    def chat_request(self, problem: Problem) -> tuple[str, str]:
        """For chat-format prompts: what the user asks, and what the answer's program starts with.

        By default the request is the prompt and the program starts with it too (a code prompt the
        model completes); a task whose prompt only describes the problem overrides this.
        """
        return problem.prompt, problem.prompt


class Sandbox(Component):
    """Runs untrusted programs and reports how each ended."""

    kind = "sandbox"
    #: Whether this backend runs programs of ``steps`` (commands in any language), not only Python.
    runs_steps: ClassVar[bool] = False

    @abstractmethod
    def run(self, programs: Sequence[Program], progress: ProgressCallback | None = None) -> list[ExecutionResult]:
        """Run each program in isolation; results come back in the order of ``programs``.

        Never raises for a program's own failure: a crash, a hang or a kill becomes a result.
        """

    def isolation(self) -> str:
        """A short description of the isolation this backend gives on this machine."""
        return "unknown"

    def verdicts(self) -> dict[str, str]:
        """Where this backend decides verdicts, by kind of program ("python": Python source with
        ``tests``; "steps": programs of steps), each a line saying whether a program can forge a pass."""
        return {}

    def layers(self) -> dict[str, dict[str, Any]]:
        """Each isolation layer by name: ``{"on": bool, "reason": str, ...}`` (empty: it names none)."""
        return {}


class Limits(BaseModel):
    """What a program (or one step of it) may use."""

    model_config = ConfigDict(frozen=True)

    timeout: float = Field(
        default=5.0, gt=0, description="CPU seconds per program (the paper's 5 s)", json_schema_extra={"shortcut": True}
    )
    wall_timeout: float | None = Field(
        default=None,
        gt=0,
        description="wall-clock backstop for programs that sleep or block [max(3 x timeout, timeout + 5)]",
    )
    memory_mb: int = Field(default=1024, ge=64, description="address-space limit per program")

    @property
    def cpu_seconds(self) -> int:
        """The CPU limit as the kernel counts it (whole seconds)."""
        return math.ceil(self.timeout)

    @property
    def wall_limit(self) -> float:
        """Wall-clock seconds before a program is stopped whatever it does: generous, so that load
        on the machine never decides a verdict (the CPU limit does)."""
        return self.wall_timeout or max(3 * self.timeout, self.timeout + 5)


#: The environment variable that holds, for a program of steps, what its last step writes on
#: file descriptor 3 once its tests have run to the end (``Program.steps``).
NONCE_VARIABLE = "LETI_SANDBOX_NONCE"
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


class Step(Limits):
    """One command of a program in any language (compile, run, ...), with limits of its own."""

    name: str = Field(min_length=1, description="what the step does, named in results (compile, run)")
    argv: list[str] = Field(
        min_length=1,
        description="the command; argv[0] an absolute path, or ./NAME for a "
        "file in the work folder (a compiled program)",
    )
    memory_limit: Literal["address", "data"] = Field(
        default="address",
        description="address: the address space (RLIMIT_AS); data: writable memory only "
        "(RLIMIT_DATA), for runtimes such as V8 that reserve gigabytes of address space at start",
    )

    @field_validator("argv")
    @classmethod
    def _absolute_command(cls, argv: list[str]) -> list[str]:
        if not (argv[0].startswith("/") or (argv[0].startswith("./") and _FILE_NAME.fullmatch(argv[0][2:]))):
            raise ValueError(f"argv[0] must be an absolute path or ./NAME, not {argv[0]!r}")
        return argv


class ProgramLimits(Limits):
    """A whole program's limits: its steps' and how much of its output is kept."""

    output_limit: int = Field(default=64 * 1024, ge=1024, description="stdout/stderr bytes kept")

    def limits(self) -> dict[str, Any]:
        """The values of these limits alone (a subclass's other fields left out)."""
        return {name: getattr(self, name) for name in ProgramLimits.model_fields}

    def step_limits(self) -> dict[str, Any]:
        """The values of a step's limits (``Limits``)."""
        return {name: getattr(self, name) for name in Limits.model_fields}


class Program(ProgramLimits):
    """A program for a sandbox, with the limits to run it under.

    Either Python ``source`` (with ``tests``, judged in a process the program cannot reach; without,
    run whole by the sandbox's own harness), or ``files`` written into the work folder and
    ``steps`` run there in order, each under the program's isolation and its own limits, until one
    fails. A program of steps passes when every step exits with status 0 and
    its last step wrote the value of the environment variable ``LETI_SANDBOX_NONCE`` on file
    descriptor 3 (which the environment's test code does after its last test). With ``io_tests``,
    either kind is judged by what it prints for each test's input instead.
    """

    source: str = ""
    tests: str | bytes = Field(
        default="",
        description="Python test code, judged apart from ``source``: the sandbox "
        "runs it in a process of its own, where the program's top-level names call into the "
        "program's process and return plain data; the program never sees it. Its lines follow "
        "the source's, as in ``source + '\\n' + tests``. Empty: ``source`` runs whole, in its "
        "own process. For steps: what the judge reads on its stdin, or its executable",
    )
    files: dict[str, str] = Field(default_factory=dict, description="file name -> text, for steps")
    steps: list[Step] = Field(default_factory=list, description="commands run in order (none: Python source)")
    judge: Step | None = Field(
        default=None,
        description="for steps with ``tests``: the command that judges them "
        "apart. The last step then serves the program (requests on fd 4, replies on fd 3) "
        "while this runs beside it: the tests on its stdin, the channel on fds 4 (requests) "
        "and 5 (replies), its JSON report on fd 3 ({completed, error?, ended?}). Its argv must "
        "not name files in the work folder: the program could rewrite them",
    )
    tests_executable: bool = Field(
        default=False,
        description="the tests are the judge's executable (a compiled "
        "judge, such as C++ tests): the sandbox runs them from memory, never from a file "
        "the program can reach, with ``judge.argv`` as their arguments (argv[0] only names "
        "the process)",
    )
    io_tests: list[IOTest] = Field(
        default_factory=list,
        description="standard-input tests: the program (for steps: its last step, after the others ran "
        "once) runs once per test with the test's ``stdin`` as its standard input, each run under the "
        "program's limits, until one fails; the sandbox compares each run's standard output with the "
        "test's ``stdout`` (``output_match``) outside the program, whose processes never hold an expected "
        "output. Printing more than ``output_limit`` bytes fails the test. Not with ``tests``",
    )
    output_match: OutputMatch = "whitespace"

    @model_validator(mode="after")
    def _judged_steps(self) -> Program:
        if self.steps and self.tests and self.judge is None:
            raise ValueError("a program of steps with tests needs a judge command (Program.judge)")
        if self.judge is not None and not (self.steps and self.tests):
            raise ValueError("a judge needs steps and tests")
        if self.tests_executable and self.judge is None:
            raise ValueError("executable tests need a judge step (Program.judge) for their limits and arguments")
        if self.io_tests and (self.tests or self.judge is not None):
            raise ValueError("a program has tests (judged by a judge) or io_tests (judged by its output), not both")
        return self

    @field_validator("files")
    @classmethod
    def _plain_names(cls, files: dict[str, str]) -> dict[str, str]:
        for name in files:
            if not _FILE_NAME.fullmatch(name):
                raise ValueError(f"file name {name!r}: a plain name in the work folder (letters, digits, _ . -)")
        return files


class Environment(Component):
    """Checks completions for problems and says what went wrong."""

    kind = "environment"
    #: Problem kinds (``Task.problem_kind``) this environment can check.
    accepts: ClassVar[frozenset[str]] = frozenset()
    #: A known-good and a known-failing completion that ``check`` runs before any work (None: no check).
    probe: ClassVar[Probe | None] = None

    def check(self) -> None:
        """Before any work: raise LetiError (one line: the step, its stderr, the fix) when ``probe``
        is judged wrongly, so a broken tool is never recorded as the model's failure."""
        check_toolchain(self)

    @abstractmethod
    def execute(
        self,
        problems: Sequence[Problem],
        completions: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> list[ExecutionResult]:
        """Run ``completions[i]`` for ``problems[i]``; one result each, in order."""

    def metrics(self, scored: Sequence[ScoredSample], problems: Mapping[str, Problem]) -> dict[str, float]:
        """Task-specific metrics beyond pass@k (for example argument F1)."""
        return {}


class FeedbackFormatter(Component):
    """Turns an execution result into the feedback the model is trained on."""

    kind = "feedback"

    @abstractmethod
    def format(self, result: ExecutionResult) -> Feedback:
        """The reward and (for failures) the feedback text."""


class Sampler(Component):
    """Generates completions with a model. Its ``Options`` hold how the engine runs (``SamplerOptions``);
    what each call asks comes in ``SamplingParams``."""

    kind = "sampler"

    @abstractmethod
    def sample(
        self,
        model: str,
        prompts: Sequence[str],
        params: SamplingParams,
        progress: ProgressCallback | None = None,
    ) -> Iterator[list[str]]:
        """Yield ``params.n`` raw (untrimmed) completions for each prompt, in prompt order.

        ``model`` is a checkpoint the trainer wrote (or a model reference). A completion may end at
        the first of ``params.stop`` (callers cut there themselves); with ``params.stream``, the
        same prompts, model and stream give the same completions.
        """

    def check(self, params: SamplingParams) -> None:
        """Before any work: raise LetiError (one line) naming a parameter of ``params`` this sampler
        cannot honour. Every parameter is honoured by default."""

    @classmethod
    def preference(cls) -> int:
        """How much this sampler suits this machine when the user chose none (0: never chosen)."""
        return 0

    def render_chat(self, model: str, messages: Sequence[str]) -> list[str] | None:
        """Each message as a user turn in ``model``'s chat template, ready for the assistant's answer;
        None when the model has none (``leti_core.prompts.render_with`` does it for a transformers
        tokenizer)."""
        return None


class Trainer(Component):
    """Fine-tunes a model on training texts and saves a checkpoint."""

    kind = "trainer"

    @abstractmethod
    def prepare(self, model: str, special_tokens: Sequence[str], output_dir: Path) -> None:
        """Save ``model`` (a hub id, folder or file) to ``output_dir`` as a trainable checkpoint
        with ``special_tokens`` added; raise LetiError when it cannot be found or loaded."""

    @abstractmethod
    def train(
        self,
        model: str,
        texts: Sequence[str],
        output_dir: Path,
        progress: ProgressCallback | None = None,
        log_dir: Path | None = None,
    ) -> dict[str, float]:
        """Fine-tune the checkpoint ``model`` on ``texts``, save the result to ``output_dir``
        (written whole or not at all), and return training metrics (``steps``, ``tokens``,
        ``train_loss``, ...). ``log_dir``: the run's folder for per-step logs (TensorBoard event
        files), or None."""

    @classmethod
    def default_model(cls) -> str | None:
        """The model a run starts from when the user names none (None: the user must name one)."""
        return None

    def export(self, checkpoint: Path, output_dir: Path) -> None:
        """Write the checkpoint ``checkpoint`` (one this trainer wrote, or its prepared base) to the
        new folder ``output_dir`` as a plain model that its library loads without LeTI: weights
        whole (adapters merged), tokenizer beside them. Optional: a trainer that cannot raises
        LetiError (the default)."""
        raise LetiError(f"trainer {self.name!r} cannot export its checkpoints")


KINDS: dict[str, type[Component]] = {
    cls.kind: cls for cls in (Task, Environment, Sandbox, FeedbackFormatter, Sampler, Trainer)
}
"""Every component kind, by the name used on the command line and in ``leti plugins``."""


def ensure_compatible(task: Task, environment: Environment) -> None:
    """Raise IncompatibleComponentsError if ``environment`` cannot check ``task``'s problems."""
    if task.problem_kind in environment.accepts:
        return
    accepted = ", ".join(sorted(environment.accepts)) or "no"
    raise IncompatibleComponentsError(
        f"environment {environment.name!r} cannot check task {task.name!r}: it accepts "
        f"{accepted} problems, the task has {task.problem_kind} problems "
        f"(try --env {task.default_environment})"
    )
