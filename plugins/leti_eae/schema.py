"""Pydantic models of the data files: OneIE-style sentences and the event ontology."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Span(BaseModel):
    """A token span ``[start, end)`` with its text."""

    model_config = ConfigDict(extra="ignore")

    start: int = Field(ge=0)
    end: int = Field(ge=1)
    text: str

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be greater than start ({self.start})")
        return self


class EntityMention(Span):
    """An entity mention: a span with an id and an entity type."""

    id: str
    entity_type: str


class ArgumentMention(BaseModel):
    """An event argument: which entity mention fills which role."""

    model_config = ConfigDict(extra="ignore")

    entity_id: str
    role: str
    text: str


class EventMention(BaseModel):
    """An event mention: its type, trigger span and arguments."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    event_type: str
    trigger: Span
    arguments: list[ArgumentMention] = Field(default_factory=list)


class Sentence(BaseModel):
    """One JSON line: a tokenized sentence (or document) with its entity and event mentions."""

    model_config = ConfigDict(extra="ignore")

    doc_id: str
    sent_id: str | None = None
    tokens: list[str] = Field(min_length=1)
    entity_mentions: list[EntityMention] = Field(default_factory=list)
    event_mentions: list[EventMention] = Field(default_factory=list)


class EntityType(BaseModel):
    """An entity type of the ontology; its description becomes the class docstring."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1)


class EventType(BaseModel):
    """An event type: its roles, each with the entity types it allows."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    roles: dict[str, list[str]]
    class_name: str | None = Field(default=None, description="Python class name (default: from the type)")


class Ontology(BaseModel):
    """The ontology file: entity types and event types by name."""

    model_config = ConfigDict(extra="forbid")

    entity_types: dict[str, EntityType] = Field(min_length=1)
    event_types: dict[str, EventType] = Field(min_length=1)
