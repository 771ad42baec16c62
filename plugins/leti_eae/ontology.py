"""Reading the event ontology and deriving the Python names the prompt uses."""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path

from pydantic import BaseModel, ValidationError

from leti_core import DataError

from .schema import Ontology


class RoleSpec(BaseModel):
    """A role as the prompt shows it: ``param: list[A | B] = []``."""

    name: str
    param: str
    entity_types: list[str]


class EventSpec(BaseModel):
    """An event type as a Python class: its name, the variable to complete and its roles."""

    event_type: str
    class_name: str
    variable: str
    description: str
    roles: list[RoleSpec]

    def role(self, name: str) -> RoleSpec | None:
        """The role called ``name`` (case-insensitive), or None."""
        wanted = name.casefold()
        return next((r for r in self.roles if r.name.casefold() == wanted), None)


class EventOntology(BaseModel):
    """A checked ontology: entity type descriptions and event specs by event type."""

    source: str
    entity_types: dict[str, str]
    events: dict[str, EventSpec]


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def param_name(role: str) -> str:
    """A role as a keyword argument: lower case, other characters as underscores."""
    return re.sub(r"\W+", "_", role.strip()).strip("_").lower()


def default_class_name(event_type: str) -> str:
    """``Movement:Transport`` -> ``Transport``; ``Transaction:Transfer-Money`` -> ``TransferMoney``."""
    parts = [p for p in re.split(r"[:.]", event_type) if p and p.lower() != "unspecified"]
    last = parts[-1] if parts else event_type
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^0-9A-Za-z]+", last) if word)


def variable_name(class_name: str) -> str:
    """``TransferMoney`` -> ``transfer_money_event``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower() + "_event"


def _load_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: ontology file not found") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the ontology ({error.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: ontology is not valid JSON ({error.msg})") from None


def read_ontology(path: Path) -> EventOntology:
    """Read and check an ontology file; errors name the file and the key."""
    try:
        raw = Ontology.model_validate(_load_json(path))
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(part) for part in detail["loc"]) or "top level"
        raise DataError(f"{path}: {where}: {detail['msg']}") from None
    for name in raw.entity_types:
        if not _identifier(name):
            raise DataError(f"{path}: entity_types.{name}: an entity type must be a Python identifier")
    events: dict[str, EventSpec] = {}
    owners: dict[str, str] = {}
    for event_type, spec in raw.event_types.items():
        where = f"{path}: event_types.{event_type}"
        class_name = spec.class_name or default_class_name(event_type)
        if not _identifier(class_name) or class_name in raw.entity_types or class_name in ("Entity", "Event"):
            raise DataError(f"{where}: cannot use {class_name!r} as its class name; set class_name")
        if class_name in owners:
            raise DataError(f"{where}: class name {class_name!r} is also used by {owners[class_name]}; set class_name")
        owners[class_name] = event_type
        roles: list[RoleSpec] = []
        for role, allowed in spec.roles.items():
            param = param_name(role)
            if not _identifier(param) or param == "self" or any(r.param == param for r in roles):
                raise DataError(f"{where}.roles.{role}: role name gives no distinct Python parameter ({param!r})")
            unknown = [t for t in allowed if t not in raw.entity_types]
            if unknown or not allowed:
                what = f"unknown entity type {unknown[0]!r}" if unknown else "no entity types"
                raise DataError(f"{where}.roles.{role}: {what}")
            roles.append(RoleSpec(name=role, param=param, entity_types=list(dict.fromkeys(allowed))))
        events[event_type] = EventSpec(
            event_type=event_type,
            class_name=class_name,
            variable=variable_name(class_name),
            description=spec.description,
            roles=roles,
        )
    return EventOntology(
        source=str(path),
        entity_types={name: entity.description for name, entity in raw.entity_types.items()},
        events=events,
    )
