"""The example third-party plugin (examples/leti-plugin-example), installed by the setup."""

import json

from .conftest import leti, write_lines


def test_leti_plugins_lists_the_third_party_formatter():
    rows = json.loads(leti("plugins", "--json").stdout)
    row = next((row for row in rows if row["name"] == "last-line"), None)
    assert row is not None, "install it with: pip install -e examples/leti-plugin-example"
    assert (row["kind"], row["plugin"], row["distribution"]) == ("feedback", "example", "leti-plugin-example")


def test_the_third_party_formatter_works_in_evaluate(tmp_path, mbpp_dir):
    samples = write_lines(
        tmp_path / "samples.jsonl",
        [
            {"task_id": 11, "completion": "def remove_Occ(s, ch):\n    return s.replace(ch, c)\n"},
        ],
    )
    done = leti("evaluate", "--data", mbpp_dir, "--feedback", "last-line", samples)
    assert done.returncode == 0, done.stderr
    line = json.loads((tmp_path / "samples_results.jsonl").read_text())
    assert line["feedback"] == "NameError: name 'c' is not defined"
