"""The application layer: what commands and scripts use to compose and drive runs.

    from leti_core.app import load_engine, prepare_run

    run = prepare_run(load_engine(), "runs/demo", {"data": "mbpp/", "problems": 4, "epochs": 1})
    summaries = run.run()

Plugins implement components with the plugin API (``leti_core``); this layer chooses, checks and
connects them.
"""

from ..components import KINDS as COMPONENT_KINDS
from ..components import ensure_compatible
from ..errors import DuplicateComponentError
from ..passk import pass_at_k as estimate_pass_at_k
from ..passk import summarize
from ..prompts import apply_format, stop_words
from ..registry import ComponentInfo, Registry
from ..run_folder import is_checkpoint
from ..training import condition_prompt, feedback_block, gold_example, training_example
from .evaluation import HeldOut, Scores, evaluate, held_out
from .launch import build_config, prepare_run, read_run_config
from .pipeline import (
    ProgressFactory,
    no_progress,
    postprocess,
    postprocess_samples,
    sample_and_score,
    sample_problems,
)
from .plugins import (
    Engine,
    PluginInfo,
    PluginWarning,
    get_engine,
    get_registry,
    load_engine,
)
from .repair import REPAIR_BUDGET_FACTOR, Repair, RepairReport, RepairRound
from .resolve import KINDS, SCORING, Components, Resolver, describe_options
from .run import LetiRun, summary_line
from .run_config import OPTION_FIELDS, SHORTCUTS, RunConfig, read_config_file
from .saved_config import read_saved_config
from .scoring import (
    Scorer,
    exception_histogram,
    judged_in_process,
    pass_at_k,
    sandbox_errors,
    usable,
)
from .stages import Stages

__all__ = [
    "apply_format",
    "stop_words",
    "COMPONENT_KINDS",
    "ComponentInfo",
    "Components",
    "DuplicateComponentError",
    "Engine",
    "KINDS",
    "LetiRun",
    "OPTION_FIELDS",
    "PluginInfo",
    "PluginWarning",
    "ProgressFactory",
    "Registry",
    "Resolver",
    "RunConfig",
    "SCORING",
    "SHORTCUTS",
    "Scorer",
    "Stages",
    "REPAIR_BUDGET_FACTOR",
    "Repair",
    "RepairReport",
    "RepairRound",
    "HeldOut",
    "Scores",
    "evaluate",
    "held_out",
    "build_config",
    "condition_prompt",
    "describe_options",
    "ensure_compatible",
    "estimate_pass_at_k",
    "exception_histogram",
    "feedback_block",
    "get_engine",
    "get_registry",
    "gold_example",
    "is_checkpoint",
    "load_engine",
    "no_progress",
    "pass_at_k",
    "postprocess",
    "postprocess_samples",
    "prepare_run",
    "read_config_file",
    "read_run_config",
    "read_saved_config",
    "sample_and_score",
    "sample_problems",
    "sandbox_errors",
    "judged_in_process",
    "usable",
    "summarize",
    "summary_line",
    "training_example",
]
