"""The Code4Struct-style prompt: entity and event classes, the sentence, an open instantiation."""

from __future__ import annotations

import json

from .ontology import EventOntology, EventSpec
from .reader import EventInstance, GoldArgument

ENTITY_BASE = '''class Entity:
    """An entity mentioned in the text, given by its name as written."""

    def __init__(self, name: str):
        self.name = name
'''

EVENT_BASE = '''class Event:
    """An event mentioned in the text."""
'''


def _docstring(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def entity_class(name: str, description: str) -> str:
    return f'class {name}(Entity):\n    """{_docstring(description)}"""\n'


def event_class(spec: EventSpec) -> str:
    """``class Transport(Event)`` with one typed list parameter per role."""
    doc = f"{spec.event_type}: {spec.description}" if spec.description else spec.event_type
    lines = [f"class {spec.class_name}(Event):", f'    """{_docstring(doc)}"""', ""]
    if not spec.roles:
        return "\n".join([*lines, "    def __init__(self):", "        pass", ""])
    lines += ["    def __init__(", "        self,"]
    lines += [f"        {role.param}: list[{' | '.join(role.entity_types)}] = []," for role in spec.roles]
    lines += ["    ):"]
    lines += [f"        self.{role.param} = {role.param}" for role in spec.roles]
    return "\n".join([*lines, ""])


def render_prompt(instance: EventInstance, ontology: EventOntology) -> str:
    """The prompt for one event mention; the model completes the arguments and the ``)``."""
    spec = ontology.events[instance.event_type]
    blocks = [
        ENTITY_BASE,
        *(entity_class(name, text) for name, text in ontology.entity_types.items()),
        EVENT_BASE,
        event_class(spec),
    ]
    request = (
        f'"""\nTranslate the following sentence into an instance of {spec.class_name}. '
        f"The trigger word(s) of the event is marked with **trigger word**.\n"
        f'{_docstring(instance.marked_sentence())}\n"""\n'
    )
    return "\n\n".join(blocks) + "\n\n" + request + f"{spec.variable} = {spec.class_name}("


def render_arguments(arguments: list[GoldArgument], spec: EventSpec) -> str:
    """Arguments as a completion: ``vehicle=[VEH("boat")], artifact=[PER("men")])``."""
    parts = []
    for role in spec.roles:
        values = [
            f"{a.entity_type}({json.dumps(a.text, ensure_ascii=False)})" for a in arguments if a.role == role.param
        ]
        if values:
            parts.append(f"{role.param}=[{', '.join(values)}]")
    return ", ".join(parts) + ")"
