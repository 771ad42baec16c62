"""The `eae` task (OneIE-style data from a path) and `eae-sample` (the sample shipped with LeTI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field

from leti_core import DataError, LetiError, Problem, Task, TaskOptions

from .ontology import EventOntology, read_ontology
from .prompt import render_arguments, render_prompt
from .reader import EventInstance, read_events

DATA_ENV = "LETI_EAE_DATA"
SAMPLE_DIR = Path(__file__).with_name("data")
ONTOLOGY_FILE = "ontology.json"
SPLIT_FILES = {"train": "train.jsonl", "validation": "dev.jsonl", "test": "test.jsonl"}


def to_problem(instance: EventInstance, ontology: EventOntology) -> Problem:
    """One problem per event mention; the gold arguments go in ``metadata`` and ``reference``."""
    spec = ontology.events[instance.event_type]
    return Problem(
        task_id=instance.task_id,
        prompt=render_prompt(instance, ontology),
        reference=render_arguments(instance.arguments, spec),
        metadata={
            "event_type": spec.event_type,
            "class_name": spec.class_name,
            "variable": spec.variable,
            "roles": [role.param for role in spec.roles],
            "sentence": instance.marked_sentence(),
            "gold": [argument.model_dump() for argument in instance.arguments],
        },
    )


class EAETask(Task):
    """Event argument extraction as code generation, from OneIE/WikiEvents-style JSON Lines."""

    name = "eae"
    problem_kind = "eae"
    default_environment = "eae"
    splits = (*SPLIT_FILES, "all")
    train_split = "train"
    eval_split = "test"
    stop_words = ("\n\n", "\nclass", "\ndef", "\n#", '\n"""', "\nprint", "\nif", "\n<|/")

    class Options(TaskOptions):
        data: Path | None = Field(
            default=None,
            description=(
                f"folder with train.jsonl, dev.jsonl, test.jsonl and {ONTOLOGY_FILE}, or one .jsonl for "
                f"every split (env {DATA_ENV})"
            ),
        )
        ontology: Path | None = Field(
            default=None, description=f"ontology file (default: {ONTOLOGY_FILE} beside the data)"
        )
        train: Path | None = Field(default=None, description="train split file (overrides the folder's)")
        validation: Path | None = Field(default=None, description="validation split file")
        test: Path | None = Field(default=None, description="test split file")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._ontology: EventOntology | None = None

    def sources(self) -> tuple[dict[str, Path], Path | None]:
        """The file of each split and the ontology file, from the options."""
        options = self.options
        data = options.data or (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
        explicit = {split: getattr(options, split) for split in SPLIT_FILES if getattr(options, split)}
        if data is None and not explicit:
            raise LetiError(
                f"task {self.name!r} needs event data: pass --data FOLDER (train.jsonl, dev.jsonl, test.jsonl, "
                f"{ONTOLOGY_FILE}) or set {DATA_ENV}; --task eae-sample uses the sample shipped with LeTI"
            )
        files: dict[str, Path] = {}
        folder: Path | None = None
        if data is not None:
            if data.is_dir():
                folder = data
                files = {split: data / name for split, name in SPLIT_FILES.items()}
            elif data.is_file():
                folder = data.parent
                files = dict.fromkeys(SPLIT_FILES, data)
            else:
                raise DataError(f"{data}: no such event data folder or file")
        files.update(explicit)
        ontology = options.ontology or (folder / ONTOLOGY_FILE if folder else None)
        return files, ontology

    def ontology(self) -> EventOntology:
        if self._ontology is None:
            _, path = self.sources()
            if path is None:
                raise LetiError(f"task {self.name!r}: give the ontology file (option ontology)")
            self._ontology = read_ontology(path)
        return self._ontology

    def load(self, split: str) -> list[Problem]:
        if split not in self.splits:
            raise LetiError(f"unknown {self.name} split {split!r}; splits: {', '.join(self.splits)}")
        files, _ = self.sources()
        wanted = list(SPLIT_FILES) if split == "all" else [split]
        paths = list(dict.fromkeys(files[s] for s in wanted if s in files))
        if not paths:
            raise LetiError(f"task {self.name!r} has no file for split {split!r}")
        ontology = self.ontology()
        problems: dict[str, Problem] = {}
        for path in paths:
            for instance in read_events(path, ontology):
                if instance.task_id in problems:
                    raise DataError(f"{instance.where}: task id {instance.task_id!r} repeats one of another split")
                problems[instance.task_id] = to_problem(instance, ontology)
        return list(problems.values())


class EAESampleTask(EAETask):
    """Event argument extraction on LeTI's own small sample (five event types, original sentences)."""

    name = "eae-sample"

    class Options(TaskOptions):
        data: Path | None = Field(default=None, description="not used: the sample is built in")

    def sources(self) -> tuple[dict[str, Path], Path | None]:
        if self.options.data is not None:
            raise LetiError(
                f"task 'eae-sample' reads the sample shipped with LeTI; for {self.options.data} "
                "use --task eae --data PATH"
            )
        return {split: SAMPLE_DIR / name for split, name in SPLIT_FILES.items()}, SAMPLE_DIR / ONTOLOGY_FILE
