"""The `docker` backend: its container command line here, end to end where an engine answers."""

from __future__ import annotations

import json

import pytest
from leti_sandbox.docker_args import ContainerSpec, container_layer, executor_config, run_command

from leti_core.testing import SandboxConformance
from leti_core.testing.probes import docker_engine_answers


def _spec(**changes):
    values = dict(image="leti-sandbox:latest", name="leti-sandbox-abc-0", label="leti-sandbox=abc")
    values.update(changes)
    return ContainerSpec(**values)


def _flag(args, name):
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


def test_container_is_locked_down():
    args = run_command(_spec(memory_mb=1024, pids_limit=64, tmpfs_mb=32))
    assert args[:4] == ["docker", "run", "--rm", "-i"]
    assert _flag(args, "--network") == ["none"]
    assert "--read-only" in args
    assert _flag(args, "--cap-drop") == ["ALL"]
    assert _flag(args, "--security-opt") == ["no-new-privileges"]
    assert _flag(args, "--user") == ["65534:65534"]
    assert _flag(args, "--pids-limit") == ["64"]
    assert _flag(args, "--memory") == ["1024m"] and _flag(args, "--memory-swap") == ["1024m"]
    assert any(value.startswith("/work:") and "size=32m" in value for value in _flag(args, "--tmpfs"))
    assert _flag(args, "--label") == ["leti-sandbox=abc"] and _flag(args, "--name") == ["leti-sandbox-abc-0"]
    assert "--runtime" not in args and "--volume" not in args and "--privileged" not in args


def test_runs_the_same_executor_from_the_image():
    args = run_command(_spec(preload=("re",)))
    image_at = args.index("leti-sandbox:latest")
    assert args[image_at + 1 : image_at + 6] == ["python3", "-I", "-S", "-B", "/opt/leti/executor.py"]
    config = json.loads(args[-1])
    assert config == executor_config(_spec(preload=("re",)))
    assert config["workdir"] == "/work" and config["preload"] == ["re"] and config["uid"] is None


def test_optional_gvisor_cpus_and_mounted_executor():
    args = run_command(_spec(runtime="runsc", cpus=1.5, mount_executor="/src/leti_sandbox"), docker="/usr/bin/docker")
    assert args[0] == "/usr/bin/docker"
    assert _flag(args, "--runtime") == ["runsc"] and _flag(args, "--cpus") == ["1.5"]
    assert _flag(args, "--volume") == ["/src/leti_sandbox:/opt/leti:ro"]
    assert "runsc" in container_layer(_spec(runtime="runsc"))["detail"]


@pytest.mark.skipif(not docker_engine_answers(), reason="no Docker engine answers `docker info` on this machine")
class TestDockerConformance(SandboxConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls):
        from leti_sandbox.docker_sandbox import DockerSandbox

        with DockerSandbox(workers=2) as box:
            yield box


def test_no_engine_is_one_clear_error(monkeypatch):
    from leti_sandbox.docker_sandbox import DockerSandbox

    from leti_core import LetiError

    if docker_engine_answers():
        pytest.skip("a Docker engine answers here")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(LetiError, match="no Docker engine answers"):
        DockerSandbox(workers=1)


@pytest.mark.skipif(not docker_engine_answers(), reason="no Docker engine answers `docker info` on this machine")
def test_leti_evaluate_on_the_docker_backend(tmp_path, mbpp_dir, mbpp_records):
    from .conftest import leti, write_lines

    references = [{"task_id": r["task_id"], "completion": r["code"]} for r in mbpp_records[10:30]]
    broken = [{"task_id": r["task_id"], "completion": "def oops(:\n"} for r in mbpp_records[10:12]]
    samples = write_lines(tmp_path / "s.jsonl", references + broken)
    done = leti(
        "evaluate",
        "--data",
        mbpp_dir,
        "--sandbox",
        "docker",
        "--sandbox-option",
        "workers=2",
        "--json",
        "--k",
        "1",
        samples,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["samples"] == 22 and summary["sandbox_errors"] == 0
    rows = [json.loads(line) for line in (tmp_path / "s_results.jsonl").read_text().splitlines()]
    assert [row["passed"] for row in rows] == [True] * 20 + [False] * 2
    assert all("SyntaxError" in row["feedback"] for row in rows[20:])
