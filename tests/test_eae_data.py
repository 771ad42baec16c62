"""The `eae` tasks: data layout, prompts, and clear errors for malformed data and ontologies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leti_core import DataError, LetiError
from leti_core.app import load_engine

from .conftest import leti

SENTENCE = {
    "doc_id": "d1",
    "sent_id": "s1",
    "tokens": ["Two", "men", "rowed", "a", "boat", "to", "Vell", "."],
    "entity_mentions": [
        {"id": "e1", "entity_type": "PER", "start": 0, "end": 2, "text": "Two men"},
        {"id": "e2", "entity_type": "VEH", "start": 3, "end": 5, "text": "a boat"},
        {"id": "e3", "entity_type": "GPE", "start": 6, "end": 7, "text": "Vell"},
    ],
    "event_mentions": [
        {
            "event_type": "Movement:Transport",
            "trigger": {"start": 2, "end": 3, "text": "rowed"},
            "arguments": [
                {"entity_id": "e1", "role": "Artifact", "text": "Two men"},
                {"entity_id": "e2", "role": "vehicle", "text": "a boat"},
                {"entity_id": "e3", "role": "destination", "text": "Vell"},
            ],
        }
    ],
}


@pytest.fixture
def registry():
    return load_engine().registry


@pytest.fixture
def folder(tmp_path, registry):
    """A data folder with the sample ontology and one sentence in every split."""
    ontology = Path(registry.task("eae-sample").sources()[1])
    shutil.copy(ontology, tmp_path / "ontology.json")
    for name in ("train", "dev", "test"):
        write(tmp_path / f"{name}.jsonl", [{**SENTENCE, "doc_id": name}])
    return tmp_path


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def changed(**fields) -> dict:
    return json.loads(json.dumps({**SENTENCE, **fields}))


def test_one_problem_per_event_in_code4struct_form(registry, folder):
    [problem] = registry.task("eae", data=folder).load("test")
    assert problem.task_id == "test/s1#0"
    assert problem.reference == 'artifact=[PER("Two men")], vehicle=[VEH("a boat")], destination=[GPE("Vell")])'
    prompt = problem.prompt
    assert 'class VEH(Entity):\n    """A vehicle' in prompt
    assert "class Transport(Event):" in prompt
    assert "        artifact: list[PER | VEH | WEA] = [],\n" in prompt
    assert "        self.vehicle = vehicle\n" in prompt
    assert '\nTwo men **rowed** a boat to Vell .\n"""\ntransport_event = Transport(' in prompt
    assert prompt.endswith("transport_event = Transport(")
    assert problem.metadata["gold"][0] == {"role": "artifact", "entity_type": "PER", "text": "Two men"}


def test_splits_files_and_options(registry, folder, tmp_path):
    task = registry.task("eae", data=folder)
    assert [p.task_id for p in task.load("all")] == ["train/s1#0", "dev/s1#0", "test/s1#0"]
    assert [p.task_id for p in task.load("validation")] == ["dev/s1#0"]
    single = registry.task("eae", data=folder / "dev.jsonl")
    assert [p.task_id for p in single.load("train")] == ["dev/s1#0"]
    explicit = registry.task("eae", test=folder / "train.jsonl", ontology=folder / "ontology.json")
    assert [p.task_id for p in explicit.load("test")] == ["train/s1#0"]
    with pytest.raises(LetiError, match="no file for split 'train'"):
        explicit.load("train")
    with pytest.raises(LetiError, match="unknown eae split 'dev'; splits: train, validation, test, all"):
        task.load("dev")
    with pytest.raises(LetiError, match="needs event data: pass --data"):
        registry.task("eae").load("test")
    (folder / "dev.jsonl").unlink()
    with pytest.raises(DataError, match=r"dev\.jsonl: event data file not found"):
        task.load("validation")


BAD_LINES = [
    ('{"doc_id": "d2", "tokens": ["a"]', ":2: not valid JSON"),
    (changed(tokens=[]), ":2: tokens: List should have at least 1 item"),
    (
        changed(event_mentions=[{**SENTENCE["event_mentions"][0], "event_type": "Life:Die"}]),
        ":2: event_mentions[0].event_type: 'Life:Die' is not an event type of the ontology",
    ),
    (
        changed(
            event_mentions=[
                {
                    **SENTENCE["event_mentions"][0],
                    "arguments": [{"entity_id": "e1", "role": "pilot", "text": "Two men"}],
                }
            ]
        ),
        ":2: event_mentions[0].arguments[0].role: 'pilot' is not a role of Movement:Transport",
    ),
    (
        changed(
            event_mentions=[
                {**SENTENCE["event_mentions"][0], "arguments": [{"entity_id": "e9", "role": "agent", "text": "x"}]}
            ]
        ),
        ":2: event_mentions[0].arguments[0].entity_id: no entity mention 'e9'",
    ),
    (
        changed(entity_mentions=[{**SENTENCE["entity_mentions"][0], "end": 12}]),
        ":2: entity_mentions[0]: span 0-12 is outside the sentence's 8 tokens",
    ),
    (
        changed(event_mentions=[{**SENTENCE["event_mentions"][0], "trigger": {"start": 3, "end": 2, "text": "x"}}]),
        ":2: event_mentions.0.trigger: Value error, end (2) must be greater than start (3)",
    ),
    (
        changed(entity_mentions=[{**SENTENCE["entity_mentions"][0], "entity_type": "ANIMAL"}]),
        ":2: event_mentions[0].arguments[0]: entity type 'ANIMAL' of 'e1' is not in the ontology",
    ),
    (SENTENCE, ":2: task id 'd1/s1#0' repeats"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_malformed_data_names_file_and_line(registry, folder, line, message):
    path = write(folder / "test.jsonl", [SENTENCE, line])
    with pytest.raises(DataError) as caught:
        registry.task("eae", data=folder).load("test")
    assert str(caught.value).startswith(f"{path}:2: ")
    assert message in str(caught.value)


def _ontology(folder: Path, edit) -> Path:
    path = folder / "ontology.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))
    return path


BAD_ONTOLOGIES = [
    (
        lambda o: o["event_types"]["Movement:Transport"].pop("roles"),
        "event_types.Movement:Transport.roles: Field required",
    ),
    (
        lambda o: o["event_types"]["Movement:Transport"]["roles"].update(vehicle=["BOAT"]),
        "event_types.Movement:Transport.roles.vehicle: unknown entity type 'BOAT'",
    ),
    (
        lambda o: o["event_types"].update({"Transport:Transport": o["event_types"]["Movement:Transport"]}),
        "event_types.Transport:Transport: class name 'Transport' is also used by Movement:Transport; set class_name",
    ),
    (
        lambda o: o["entity_types"].update({"NOT-OK": {"description": "x"}}),
        "entity_types.NOT-OK: an entity type must be a Python identifier",
    ),
    (
        lambda o: o["entity_types"]["PER"].update(colour="red"),
        "entity_types.PER.colour: Extra inputs are not permitted",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BAD_ONTOLOGIES)
def test_malformed_ontology_names_file_and_key(registry, folder, edit, message):
    path = _ontology(folder, edit)
    with pytest.raises(DataError) as caught:
        registry.task("eae", data=folder).load("test")
    assert str(caught.value) == f"{path}: {message}"


def test_ontology_that_is_not_json_names_the_line(registry, folder):
    (folder / "ontology.json").write_text('{\n  "entity_types": {},\n  "event_types": {,}\n}\n')
    with pytest.raises(DataError, match=rf"^{folder / 'ontology.json'}:3: ontology is not valid JSON"):
        registry.task("eae", data=folder).load("test")
    (folder / "ontology.json").unlink()
    with pytest.raises(DataError, match="ontology.json: ontology file not found"):
        registry.task("eae", data=folder).load("test")


def test_cli_prints_one_error_line_for_bad_data(folder, tmp_path):
    write(folder / "test.jsonl", [SENTENCE, changed(tokens="oops")])
    samples = write(tmp_path / "s.jsonl", [{"task_id": "d1/s1#0", "completion": ")"}])
    done = leti("evaluate", "--task", "eae", "--data", folder, samples)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("Error:")] == [
        f"Error: {folder / 'test.jsonl'}:2: tokens: Input should be a valid list"
    ]
