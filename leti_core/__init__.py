"""LeTI's engine: component interfaces, the plugin registry, data models and scoring.

Plugins import only from this package's top level::

    from leti_core import hookimpl, Task, Problem

    @hookimpl
    def leti_register_tasks(register):
        register("my-task", MyTask)
"""

from .components import (
    Component,
    Environment,
    FeedbackFormatter,
    Options,
    Program,
    ProgressCallback,
    Sampler,
    Sandbox,
    Task,
    Trainer,
    ensure_compatible,
)
from .errors import (
    DataError,
    DuplicateComponentError,
    IncompatibleComponentsError,
    LetiError,
    UnknownComponentError,
)
from .hookspecs import hookimpl
from .jsonl import iter_json_lines, read_models, write_json, write_jsonl
from .models import (
    ErrorInfo,
    ExecutionResult,
    Feedback,
    Frame,
    IterationSummary,
    PassAtK,
    Problem,
    Sample,
    ScoredSample,
    TrainingExample,
)
from .passk import pass_at_k, summarize
from .plugins import Engine, get_engine, get_registry, load_engine
from .registry import ComponentInfo, Register, Registry
from .scoring import Scorer, exception_histogram
from .scoring import pass_at_k as score_pass_at_k


from .training import (
    BAD,
    FEEDBACK_CLOSE,
    FEEDBACK_OPEN,
    GOOD,
    SPECIAL_TOKENS,
    alternate_batches,
    condition_prompt,
    feedback_block,
    gold_example,
    training_example,
)

from .run import Components, LetiRun, postprocess, postprocess_samples
from .sandboxed import SandboxedEnvironment, SandboxOptions
from .run_config import (
    ENVIRONMENT_FIELDS,
    SAMPLER_FIELDS,
    RunConfig,
    component_options,
    make_config,
    read_config_file,
)

__all__ = [
    "ENVIRONMENT_FIELDS",
    "SAMPLER_FIELDS",
    "component_options",
    "BAD",
    "Component",
    "ComponentInfo",
    "Components",
    "DataError",
    "DuplicateComponentError",
    "Engine",
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
    "IterationSummary",
    "LetiError",
    "LetiRun",
    "Options",
    "PassAtK",
    "Problem",
    "Program",
    "ProgressCallback",
    "Register",
    "Registry",
    "RunConfig",
    "SPECIAL_TOKENS",
    "Sample",
    "Sampler",
    "Sandbox",
    "SandboxOptions",
    "SandboxedEnvironment",
    "ScoredSample",
    "Scorer",
    "Task",
    "Trainer",
    "TrainingExample",
    "UnknownComponentError",
    "alternate_batches",
    "condition_prompt",
    "ensure_compatible",
    "exception_histogram",
    "feedback_block",
    "get_engine",
    "get_registry",
    "gold_example",
    "hookimpl",
    "iter_json_lines",
    "load_engine",
    "make_config",
    "pass_at_k",
    "postprocess",
    "postprocess_samples",
    "read_config_file",
    "read_models",
    "score_pass_at_k",
    "summarize",
    "training_example",
    "write_json",
    "write_jsonl",
]
