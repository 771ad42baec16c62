import pytest
from leti_python.environment import build_program

from leti_core import DataError, LetiError
from leti_core.app import get_registry


def test_splits_by_task_id(mbpp_dir):
    task = get_registry().task("mbpp", data=mbpp_dir)
    sizes = {split: len(task.load(split)) for split in task.splits}
    assert sizes == {"prompt": 10, "test": 500, "validation": 90, "train": 374, "all": 974}
    ids = [int(problem.task_id) for problem in task.load("train")]
    assert (min(ids), max(ids)) == (601, 974)


def test_prompt_and_program_follow_the_paper(mbpp_dir, mbpp_records):
    problem = get_registry().task("mbpp", data=mbpp_dir).load("test")[0]
    record = next(r for r in mbpp_records if r["task_id"] == 11)
    assert problem.prompt == f'"""\n{record["text"]}\n{record["test_list"][0]}\n"""\n'
    program = build_program(problem, "def f(): pass")
    assert program.startswith(problem.prompt + "def f(): pass\n")
    assert program.rstrip().endswith(record["test_list"][-1])
    assert all(test in program for test in record["test_list"])


def test_data_path_from_environment_variable(mbpp_dir, monkeypatch):
    monkeypatch.setenv("LETI_MBPP_DATA", str(mbpp_dir / "mbpp.jsonl"))
    assert len(get_registry().task("mbpp").load("validation")) == 90


def test_missing_file_names_both_ways(tmp_path):
    with pytest.raises(DataError) as caught:
        get_registry().task("mbpp", data=tmp_path / "nope.jsonl").load("test")
    message = str(caught.value)
    assert "nope.jsonl" in message and "--data" in message and "hub" in message


def test_malformed_record_names_file_and_line(tmp_path, mbpp_records):
    path = tmp_path / "mbpp.jsonl"
    good = mbpp_records[0]
    path.write_text(f'{__import__("json").dumps(good)}\n{{"task_id": 2}}\n')
    with pytest.raises(DataError, match=r"mbpp.jsonl:2: "):
        get_registry().task("mbpp", data=path).load("all")


def test_unknown_split(mbpp_dir):
    with pytest.raises(LetiError, match="unknown mbpp split 'dev'; splits: prompt, test"):
        get_registry().task("mbpp", data=mbpp_dir).load("dev")
