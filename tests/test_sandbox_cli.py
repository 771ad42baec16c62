"""`leti sandbox check` as a user runs it."""

import json
import subprocess
import sys

from .conftest import leti


def test_check_json_lists_every_layer_with_a_reason():
    done = leti("sandbox", "check", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sandbox"] == "local"
    assert report["isolation"].split(":")[0] in {"basic", "confined", "full"}
    for name in ("rlimits", "uid", "tmpfs", "landlock-fs", "landlock-net", "seccomp", "bwrap"):
        layer = report["layers"][name]
        assert isinstance(layer["on"], bool) and layer["detail"], name
    assert isinstance(report["docker-engine"]["on"], bool) and report["docker-engine"]["detail"]


def test_check_text_marks_layers_on_and_off():
    done = leti("sandbox", "check", "--sandbox", "subprocess")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("subprocess: process+rlimits")
    assert "docker: " in done.stdout
    local = leti("sandbox", "check")
    assert "[on ] rlimits" in local.stdout


def test_unknown_backend_is_one_error_line():
    done = leti("sandbox", "check", "--sandbox", "nope")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: unknown sandbox 'nope'")


def test_cli_import_does_not_load_heavy_packages():
    code = (
        "import sys, leti_cli.main\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'docker', 'leti_sandbox'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
