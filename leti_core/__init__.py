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
from .scoring import Scorer, exception_histogram, pass_at_k as score_pass_at_k

__all__ = [name for name in dir() if not name.startswith("_")]

from .training import (  # noqa: E402
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

__all__ = [name for name in dir() if not name.startswith("_")]
from .run import Components, LetiRun, postprocess  # noqa: E402
from .run_config import RunConfig, make_config, read_config_file  # noqa: E402

__all__ = [name for name in dir() if not name.startswith("_")]
