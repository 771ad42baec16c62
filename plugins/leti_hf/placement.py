"""Which process a model's work runs in: the calling one for small local weights, else one of its
own (``leti_core.Worker``)."""

from __future__ import annotations

from pathlib import Path

#: a model whose local weights are smaller than this is sampled and prepared in the calling
#: process, and on CPU trained there too: a new process's start (seconds, to import torch and
#: transformers and load the model again) would cost more than the memory it hands back or the
#: allocator it can preload
MIN_WEIGHT_BYTES = 50 * 2**20


def weight_bytes(model: str) -> int | None:
    """The size of a local checkpoint's weight files, or None for a model that is not a folder."""
    folder = Path(model)
    if not folder.is_dir():
        return None
    return sum(path.stat().st_size for pattern in ("*.safetensors", "*.bin") for path in folder.glob(pattern))


def in_own_process(choice: str, model: str) -> bool:
    """Whether a ``process`` option of ``own``, ``this`` or ``auto`` puts ``model``'s work in a
    process of its own (``auto``: unless its local weights are under ``MIN_WEIGHT_BYTES``)."""
    if choice != "auto":
        return choice == "own"
    size = weight_bytes(model)
    return size is None or size >= MIN_WEIGHT_BYTES
