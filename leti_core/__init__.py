"""LeTI's engine. This top level is the plugin API: what a plugin imports to implement components
and watch runs. Commands and scripts that drive runs use the application layer, ``leti_core.app``.

    from leti_core import hookimpl, Task, Problem

    @hookimpl
    def leti_register_tasks(register):
        register("my-task", MyTask)
"""

from .batching import in_batches, in_prompt_order
from .cache import cache_folder
from .components import (
    NONCE_VARIABLE,
    Component,
    Environment,
    FeedbackFormatter,
    Options,
    Program,
    ProgramLimits,
    ProgressCallback,
    Sampler,
    Sandbox,
    Step,
    Task,
    Trainer,
    call_progress,
)
from .errors import (
    DataError,
    IncompatibleComponentsError,
    LetiError,
    UnknownComponentError,
)
from .hookspecs import hookimpl
from .jsonl import iter_json_lines, read_models, write_json, write_jsonl
from .models import (
    ErrorInfo,
    EvalSummary,
    ExecutionResult,
    Feedback,
    Frame,
    Interval,
    IOTest,
    IOTestFailure,
    IOVerdict,
    IterationSummary,
    OutputMatch,
    PassAtK,
    Problem,
    Sample,
    ScoredSample,
    TrainingExample,
)
from .prompts import render_with
from .registry import Register
from .run_folder import EvalFiles, EvalFolder, IterationFolder, RunFolder
from .sampling import SamplingParams
from .sandboxed import SandboxedEnvironment, SandboxOptions
from .seeding import stream_seed
from .shared_options import (
    SHARED_OPTIONS,
    CorpusSource,
    HubOptions,
    Precision,
    SamplerOptions,
    SandboxBackendOptions,
    TaskOptions,
    TrainerOptions,
    own_attention,
    shortcut,
)
from .stdio import clip_text, exit_error, expected_bytes, io_failure, io_output_limit, output_matches
from .toolchain import Probe
from .training import (
    BAD,
    FEEDBACK_CLOSE,
    FEEDBACK_OPEN,
    GOOD,
    SPECIAL_TOKENS,
    alternate_batches,
)
from .worker import Worker, call_in_process, exit_status, relay_output

__all__ = [
    "shortcut",
    "TrainerOptions",
    "TaskOptions",
    "SandboxBackendOptions",
    "SamplerOptions",
    "Precision",
    "SHARED_OPTIONS",
    "CorpusSource",
    "HubOptions",
    "own_attention",
    "SamplingParams",
    "ProgramLimits",
    "cache_folder",
    "BAD",
    "Component",
    "DataError",
    "Environment",
    "ErrorInfo",
    "ExecutionResult",
    "FEEDBACK_CLOSE",
    "FEEDBACK_OPEN",
    "Feedback",
    "FeedbackFormatter",
    "Frame",
    "GOOD",
    "IncompatibleComponentsError",
    "EvalFiles",
    "EvalFolder",
    "IterationFolder",
    "EvalSummary",
    "Interval",
    "IOTest",
    "IOTestFailure",
    "IOVerdict",
    "clip_text",
    "exit_error",
    "expected_bytes",
    "io_failure",
    "io_output_limit",
    "output_matches",
    "IterationSummary",
    "OutputMatch",
    "LetiError",
    "Options",
    "PassAtK",
    "Probe",
    "Problem",
    "Program",
    "ProgressCallback",
    "call_progress",
    "call_in_process",
    "relay_output",
    "exit_status",
    "Worker",
    "Register",
    "RunFolder",
    "SPECIAL_TOKENS",
    "Sample",
    "Sampler",
    "Sandbox",
    "Step",
    "NONCE_VARIABLE",
    "SandboxOptions",
    "SandboxedEnvironment",
    "ScoredSample",
    "Task",
    "Trainer",
    "TrainingExample",
    "UnknownComponentError",
    "alternate_batches",
    "render_with",
    "stream_seed",
    "hookimpl",
    "in_batches",
    "in_prompt_order",
    "iter_json_lines",
    "read_models",
    "write_json",
    "write_jsonl",
]
