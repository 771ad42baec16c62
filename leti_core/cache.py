"""Where LeTI keeps what it can rebuild (compiled judges, converted models): ``$LETI_CACHE``,
else ``~/.cache/leti``."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VARIABLE = "LETI_CACHE"


def cache_folder(*parts: str) -> Path:
    """The cache's folder for ``parts`` (not created)."""
    root = os.environ.get(CACHE_VARIABLE) or str(Path.home() / ".cache" / "leti")
    return Path(root).joinpath(*parts)
