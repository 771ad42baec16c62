"""The public forging suite against the `python` environment on each first-party sandbox."""

from __future__ import annotations

import shutil

import pytest
from leti_python.environment import PythonEnvironment
from leti_sandbox.local_sandbox import LocalSandbox
from leti_sandbox.subprocess_sandbox import SubprocessSandbox

from leti_core.testing import PythonForges
from leti_core.testing.probes import docker_engine_answers


class LocalForges(PythonForges):
    options: dict = {}

    @pytest.fixture(scope="class")
    @classmethod
    def environment(cls):
        with LocalSandbox(workers=2, **cls.options) as sandbox, PythonEnvironment(sandbox_instance=sandbox) as env:
            yield env


class TestLocal(LocalForges):
    """Full isolation from the executor's own layers (no bubblewrap)."""

    options = {"bwrap": "off"}


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed here")
class TestLocalWithBwrap(LocalForges):
    options = {"bwrap": "on"}


class TestLocalWithoutUid(LocalForges):
    """As an ordinary user runs it: no uid of its own, program and judge share one."""

    options = {"bwrap": "off", "disable": ["uid"], "min_level": "confined"}


class TestSubprocess(PythonForges):
    """`subprocess` says it judges in process (`leti sandbox check`): these forges pass there."""

    known_forges = {
        name: "subprocess judges in the program's own process (see `leti sandbox check`)"
        for name in (
            "always-equal",
            "subclass-equal",
            "stack-walk",
            "heap-scan",
            "other-processes",
        )
    }
    unsafe = {"kill-the-judge": "the program runs as the caller's uid: it would kill the caller's processes"}

    @pytest.fixture(scope="class")
    @classmethod
    def environment(cls):
        with SubprocessSandbox(workers=2) as sandbox, PythonEnvironment(sandbox_instance=sandbox) as env:
            yield env


@pytest.mark.skipif(not docker_engine_answers(), reason="no Docker engine answers `docker info` on this machine")
class TestDocker(PythonForges):
    @pytest.fixture(scope="class")
    @classmethod
    def environment(cls):
        from leti_sandbox.docker_sandbox import DockerSandbox

        with DockerSandbox(workers=2) as sandbox, PythonEnvironment(sandbox_instance=sandbox) as env:
            yield env
