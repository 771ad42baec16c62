"""The pretraining corpus: the stdlib, a folder, or a hub dataset named with its folder, revision and
column (read here from a local dataset folder, as the hub is not reachable)."""

from __future__ import annotations

import json
from itertools import islice

import pytest

from leti_core import CorpusSource, LetiError, TrainerOptions

corpus = pytest.importorskip("leti_hf.corpus")


def _dataset(root):
    for part, texts in (("data/python", ["def f():\n    return 1\n", "x = 2\n"]), ("data/rust", ["fn main() {}\n"])):
        folder = root / part
        folder.mkdir(parents=True)
        rows = [{"code": text, "content": "not this column"} for text in texts]
        (folder / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def test_a_dataset_folder_and_column_choose_the_texts(tmp_path):
    root = _dataset(tmp_path / "stack")
    source = CorpusSource(name=str(root), data_dir="data/python", column="code")
    assert list(corpus.iter_code(source)) == ["def f():\n    return 1\n", "x = 2\n"]
    # without a column: `content`, as The Stack names it
    assert list(corpus.iter_code(CorpusSource(name=str(root), data_dir="data/rust"))) == ["not this column"]


def test_a_missing_column_and_an_unknown_dataset_are_one_line_errors(tmp_path):
    root = _dataset(tmp_path / "stack")
    with pytest.raises(LetiError, match="row 1 has no column 'source'"):
        list(corpus.iter_code(CorpusSource(name=str(root), data_dir="data/python", column="source")))
    with pytest.raises(LetiError, match="cannot be loaded from the hub") as error:
        list(corpus.iter_code(str(tmp_path / "no-such-dataset-here" / "x")))
    assert "\n" not in str(error.value)


def test_the_trainer_option_takes_a_name_or_a_table():
    assert TrainerOptions(pretrain_corpus="stdlib").pretrain_corpus == "stdlib"
    table = TrainerOptions(pretrain_corpus={"name": "bigcode/the-stack", "data_dir": "data/python"}).pretrain_corpus
    assert table == CorpusSource(name="bigcode/the-stack", data_dir="data/python")
    with pytest.raises(ValueError, match="colum"):
        TrainerOptions(pretrain_corpus={"name": "x", "colum": "code"})
    assert next(islice(corpus.iter_code("stdlib"), 1)).strip()
