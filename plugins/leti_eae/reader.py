"""Reading OneIE/WikiEvents-style JSON Lines into event instances checked against the ontology."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from leti_core import DataError, read_models

from .evaluator import eae_normalize
from .ontology import EventOntology
from .schema import Sentence, Span


class GoldArgument(BaseModel):
    """A gold argument: the role's parameter name, the entity type and the mention text."""

    role: str
    entity_type: str
    text: str


class EventInstance(BaseModel):
    """One event mention, ready to become a problem."""

    task_id: str
    where: str
    event_type: str
    tokens: list[str]
    trigger: Span
    arguments: list[GoldArgument]

    def marked_sentence(self) -> str:
        """The tokens joined by spaces, the trigger wrapped in ``**``."""
        start, end = self.trigger.start, self.trigger.end
        words = [*self.tokens[:start], "**" + " ".join(self.tokens[start:end]) + "**", *self.tokens[end:]]
        return " ".join(words)


def _check_span(where: str, span: Span, size: int) -> None:
    if span.end > size:
        raise DataError(f"{where}: span {span.start}-{span.end} is outside the sentence's {size} tokens")


def _instances(path: Path, line: int, sentence: Sentence, ontology: EventOntology) -> list[EventInstance]:
    where = f"{path}:{line}"
    entities = {}
    for i, entity in enumerate(sentence.entity_mentions):
        _check_span(f"{where}: entity_mentions[{i}]", entity, len(sentence.tokens))
        if entity.id in entities:
            raise DataError(f"{where}: entity_mentions[{i}]: duplicate entity id {entity.id!r}")
        entities[entity.id] = entity
    base = f"{sentence.doc_id}/{sentence.sent_id}" if sentence.sent_id else sentence.doc_id
    instances = []
    for k, event in enumerate(sentence.event_mentions):
        at = f"{where}: event_mentions[{k}]"
        spec = ontology.events.get(event.event_type)
        if spec is None:
            raise DataError(
                f"{at}.event_type: {event.event_type!r} is not an event type of the ontology {ontology.source}"
            )
        _check_span(f"{at}.trigger", event.trigger, len(sentence.tokens))
        gold: dict[tuple[str, str], GoldArgument] = {}
        for j, argument in enumerate(event.arguments):
            mention = entities.get(argument.entity_id)
            if mention is None:
                raise DataError(f"{at}.arguments[{j}].entity_id: no entity mention {argument.entity_id!r} in this line")
            if mention.entity_type not in ontology.entity_types:
                raise DataError(
                    f"{at}.arguments[{j}]: entity type {mention.entity_type!r} of {mention.id!r} is not "
                    f"in the ontology {ontology.source}"
                )
            role = spec.role(argument.role)
            if role is None:
                raise DataError(
                    f"{at}.arguments[{j}].role: {argument.role!r} is not a role of "
                    f"{event.event_type} in the ontology {ontology.source}"
                )
            key = (role.param, eae_normalize(argument.text))
            gold.setdefault(key, GoldArgument(role=role.param, entity_type=mention.entity_type, text=argument.text))
        instances.append(
            EventInstance(
                task_id=f"{base}#{k}",
                where=at,
                event_type=event.event_type,
                tokens=sentence.tokens,
                trigger=event.trigger,
                arguments=list(gold.values()),
            )
        )
    return instances


def read_events(path: Path, ontology: EventOntology) -> list[EventInstance]:
    """Every event mention of a JSONL file; errors name the file, line and field."""
    if not path.is_file():
        raise DataError(f"{path}: event data file not found")
    instances = []
    seen: dict[str, str] = {}
    for line, sentence in read_models(path, Sentence):
        for instance in _instances(path, line, sentence, ontology):
            if instance.task_id in seen:
                raise DataError(f"{path}:{line}: task id {instance.task_id!r} repeats {seen[instance.task_id]}")
            seen[instance.task_id] = f"{path}:{line}"
            instances.append(instance)
    return instances
