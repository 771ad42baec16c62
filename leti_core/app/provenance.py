"""Provenance: what a run was made with, so that a resume cannot quietly mix recipes.

``config.json`` keeps the options the user set; ``provenance.json`` (beside it) keeps what they
resolved to: every field of the run's config and every option of each chosen component, defaults
included, the components ``auto`` chose (the sampler for this machine, the task's environment, the
environment's sandbox), the prompt format ``auto`` chose, and the versions of Python and the
packages that make the numbers. A resume compares the record with what it would use now and refuses,
in one line naming the first difference, unless told to accept the changes; the record replaced
is kept in the new one's ``earlier``.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..errors import LetiError
from ..jsonl import write_json
from ..run_folder import RunFolder
from .resolve import KINDS, Resolver
from .run_config import OPTION_FIELDS, RESUMABLE, RunConfig

#: Distributions whose version is recorded; a change of release series (major.minor) stops a resume.
PACKAGES = ("leti", "torch", "transformers", "trl", "datasets", "accelerate", "peft")
#: The flag that lets a resume go on with changes (`leti run --resume RUN --accept-changes`).
ACCEPT_FLAG = "--accept-changes"


class Provenance(BaseModel):
    """What a run was made with (``RUN/provenance.json``)."""

    config: dict[str, Any] = Field(description="every field of the run's RunConfig, defaults included")
    components: dict[str, str | None] = Field(
        description="the component chosen for each kind (None: no sandbox is used)"
    )
    options: dict[str, dict[str, Any]] = Field(
        description="every option of each chosen component, defaults included, as it was built"
    )
    prompt_format: str | None = Field(default=None, description="the prompt format in use (auto resolved)")
    versions: dict[str, str | None] = Field(description="python and the packages of PACKAGES (None: not installed)")
    recorded: str = Field(default="", description="when this record was written (UTC, ISO 8601)")
    earlier: list[dict[str, Any]] = Field(
        default_factory=list, description="the records resumes replaced, oldest first"
    )

    def comparable(self) -> dict[str, Any]:
        """The record without its history and date."""
        return self.model_dump(exclude={"earlier", "recorded"})


def _plain(value: Any) -> Any:
    """``value`` as JSON would give it back (so that records compare the same before and after a write)."""
    return json.loads(json.dumps(value, default=str))


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Python's version and the installed versions of ``PACKAGES`` (nothing imported)."""
    return {"python": platform.python_version(), **{name: _version(name) for name in PACKAGES}}


def _resolved_options(resolver: Resolver, config: RunConfig, kind: str) -> dict[str, Any]:
    """Every option of the component ``config`` chooses for ``kind``, defaults included."""
    given = resolver.given.get(kind)
    if given is not None and not isinstance(given, type):
        options = getattr(given, "options", None)
        return _plain(options.model_dump(mode="json")) if isinstance(options, BaseModel) else {}
    cls = resolver.component_class(kind, config)
    if cls is None:
        return {}
    table = dict(config.options(kind))
    if kind == "trainer":  # what Resolver.create gives the trainer: the run's length and seed
        table = {
            **{key: value for key, value in config.trainer_defaults().items() if key in cls.Options.model_fields},
            **table,
        }
    parsed = cls.parse_options(table)
    return _plain(parsed.model_dump(mode="json")) if isinstance(parsed, BaseModel) else {}


def build_provenance(resolver: Resolver, config: RunConfig, kinds: tuple[str, ...] = KINDS) -> Provenance:
    """The provenance of a run of ``config`` with the components ``resolver`` would build now."""
    return Provenance(
        config=_plain(config.model_dump(mode="json")),
        components={kind: resolver.name(kind, config) for kind in kinds},
        options={kind: _resolved_options(resolver, config, kind) for kind in kinds},
        versions=versions(),
    )


def read_provenance(folder: RunFolder) -> Provenance | None:
    """The run's provenance record; None for a run folder written before there were any."""
    path = folder.provenance_file
    if not path.is_file():
        return None
    try:
        return Provenance.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as error:
        raise LetiError(f"{path}: not a LeTI provenance record ({' '.join(str(error).split())[:200]})") from None


def _series(version: str) -> str:
    """The release series of a version: major.minor (``2.13.0+cpu`` -> ``2.13``)."""
    return ".".join(version.split("+")[0].split(".")[:2])


def differences(before: Provenance, now: Provenance) -> list[tuple[str, Any, Any]]:
    """(what, before, now) for each difference that changes how the run's work is done: a chosen
    component, a resolved value of the config or of a component's options (a default included),
    the prompt format, or the release series of Python or a package. What a resume may change
    (``RESUMABLE``: iterations, ...) and patch releases are left out."""
    found: list[tuple[str, Any, Any]] = []
    chosen = {kind for kind in before.components if kind in now.components}
    for kind in KINDS:
        if kind in chosen and before.components[kind] != now.components[kind]:
            found.append((f"the {kind}", before.components[kind], now.components[kind]))
    skipped = set(OPTION_FIELDS.values())
    # a key the record lacks did not exist when the run was made: nothing it sets has changed
    for key in sorted(before.config):
        if key in skipped or (key, None) in RESUMABLE:
            continue
        if before.config.get(key) != now.config.get(key):
            found.append((f"run option {key}", before.config.get(key), now.config.get(key)))
    for kind in KINDS:
        if kind not in chosen or before.components[kind] != now.components[kind]:
            continue  # another component: its options are not comparable (named above)
        old, new = before.options.get(kind, {}), now.options.get(kind, {})
        for option in sorted(old):
            if old.get(option) != new.get(option) and (OPTION_FIELDS[kind], option) not in RESUMABLE:
                found.append((f"{kind} {now.components[kind]!r} option {option}", old.get(option), new.get(option)))
    if before.prompt_format and now.prompt_format and before.prompt_format != now.prompt_format:
        found.append(("the prompt format", before.prompt_format, now.prompt_format))
    for name in sorted(set(before.versions) & set(now.versions)):
        old_version, new_version = before.versions[name], now.versions[name]
        if old_version and new_version and _series(old_version) != _series(new_version):
            found.append((name, old_version, new_version))
    return found


def check_changes(folder: RunFolder, before: Provenance | None, now: Provenance, accept: bool) -> None:
    """Raise a one-line LetiError naming the first difference between the recorded provenance and
    ``now``, unless there is none, no record, or ``accept``."""
    if before is None or accept:
        return
    found = differences(before, now)
    if not found:
        return
    what, old, new = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    raise LetiError(
        f"--resume {folder.path}: {what} was {old!r} when the run was made, {new!r} now{more}; "
        f"pass {ACCEPT_FLAG} to resume with the change ({folder.provenance_file.name} keeps both records)"
    )


def record_provenance(folder: RunFolder, before: Provenance | None, now: Provenance) -> Provenance:
    """Write ``now`` as the run's provenance, the record it replaces kept in ``earlier``; an unchanged
    record is left as it is. Returns what the file holds."""
    if before is not None and before.comparable() == now.comparable():
        return before
    history = [*before.earlier, before.model_dump(exclude={"earlier"})] if before is not None else []
    written = now.model_copy(update={"recorded": datetime.now(UTC).isoformat(timespec="seconds"), "earlier": history})
    write_json(folder.provenance_file, written)
    return written
