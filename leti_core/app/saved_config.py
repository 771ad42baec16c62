"""What a run folder's config.json holds, read as it was written (old layouts migrated)."""

from __future__ import annotations

import json
import logging
from typing import Any

from ..errors import LetiError
from ..run_folder import RunFolder
from .run_config import SHORTCUTS, RunConfig, moved_keys, split_shortcuts, validate_config

logger = logging.getLogger(__name__)


def saved_values(folder: RunFolder) -> dict[str, Any]:
    """The values a run folder's config.json holds (also one written before options moved to
    components, whose sandbox options sat in the environment's)."""
    if not folder.exists():
        raise LetiError(f"{folder.path} is not a run folder (no config.json)")
    try:
        values = json.loads(folder.config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LetiError(f"{folder.config_file}: not a LeTI run config ({error})") from None
    if not isinstance(values, dict):
        raise LetiError(f"{folder.config_file}: not a LeTI run config (not a JSON object)")
    if any(key in SHORTCUTS for key in values):
        # written before options moved to the components: its held-out samples ran full length
        values = {"eval_stop": False, **values}
    values = moved_keys(values, str(folder.config_file), logger.warning)
    env_options = values.get("env_options")
    if isinstance(env_options, dict) and isinstance(env_options.get("sandbox_options"), dict):
        env_options = dict(env_options)
        values = {
            **values,
            "env_options": env_options,
            "sandbox_options": {**env_options.pop("sandbox_options"), **values.get("sandbox_options", {})},
        }
    return values


def read_saved_config(folder: RunFolder) -> RunConfig:
    """A run folder's config as written, without checking its components (for reading a run)."""
    fields, _ = split_shortcuts(saved_values(folder))
    return saved_fields(folder, fields)


def saved_fields(folder: RunFolder, fields: dict[str, Any]) -> RunConfig:
    try:
        return validate_config({key: value for key, value in fields.items() if value is not None})
    except LetiError as error:
        raise LetiError(f"{folder.config_file}: not a LeTI run config ({error})") from None
