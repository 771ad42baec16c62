"""What a new installation tells its user: `leti doctor`, extras named when missing, quiet libraries
only on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import leti


def test_doctor_reports_versions_plugins_and_sandbox():
    done = leti("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    import torch

    assert report["packages"]["torch"] == torch.__version__
    assert report["packages"]["leti"] is not None
    assert {"mbpp", "python", "sandbox", "hf"} <= set(report["plugins"]["loaded"])
    assert "local" in report["plugins"]["components"]["sandbox"]
    assert report["plugins"]["default sampler"] in report["plugins"]["components"]["sampler"]
    assert report["sandbox"]["backend"] == "local" and (report["sandbox"]["isolation"] or report["sandbox"]["error"])
    text = leti("doctor")
    assert text.returncode == 0 and "default sampler:" in text.stdout and "packages:" in text.stdout


def test_doctor_names_a_plugin_that_failed(tmp_path):
    broken = tmp_path / "broken_plugin"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise RuntimeError('this plugin is broken')\n")
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[leti]\nbroken = broken_plugin\n")
    done = subprocess.run(
        [sys.executable, "-m", "leti_cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    failed = json.loads(done.stdout)["plugins"]["failed"]
    assert any("broken" in message and "this plugin is broken" in message for message in failed)


def test_a_missing_extra_is_named():
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from leti_cli.reporting import plots\n"
        "try:\n    plots._pyplot()\nexcept Exception as error:\n    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'leti[report]'" in done.stdout


def test_importing_the_hf_plugin_leaves_library_logging_alone():
    code = (
        "import logging, transformers, leti_hf.models, leti_hf.training\n"
        "print(transformers.logging.get_verbosity() == logging.WARNING, transformers.utils.logging.is_progress_bar_enabled())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={
            key: value
            for key, value in __import__("os").environ.items()
            if not key.startswith(("TRANSFORMERS_", "HF_"))
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_choosing_the_docker_sandbox_without_its_package_names_the_extra(tmp_path, mbpp_dir, mbpp_records):
    samples = tmp_path / "s.jsonl"
    samples.write_text(
        json.dumps({"task_id": mbpp_records[10]["task_id"], "completion": mbpp_records[10]["code"]}) + "\n"
    )
    code = (
        "import sys; sys.modules['docker'] = None\n"
        "from leti_cli.main import main\n"
        f"main(['evaluate', '--data', {str(mbpp_dir)!r}, '--sandbox', 'docker', {str(samples)!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: sandbox 'docker' needs the docker package: pip install 'leti[docker]'"
    ]
