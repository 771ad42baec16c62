import os

import pytest

from leti_core import DataError, Sample, read_models, write_jsonl


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.jsonl"
    write_jsonl(path, [{"n": 1}])

    def rows():
        yield {"n": 2}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl(path, rows())
    assert path.read_text() == '{"n": 1}\n'
    assert os.listdir(tmp_path) == ["results.jsonl"]


def test_new_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        write_jsonl(tmp_path / "r.jsonl", [{"n": 1}])
    finally:
        os.umask(previous)
    assert (tmp_path / "r.jsonl").stat().st_mode & 0o777 == 0o644


def test_reading_names_file_line_and_field(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"task_id": 1, "completion": "x"}\n\n{"task_id": 2, "completion": 5}\n')
    with pytest.raises(DataError, match=r"s.jsonl:3: completion: Input should be a valid string"):
        read_models(path, Sample)
