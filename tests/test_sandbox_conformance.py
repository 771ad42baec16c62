"""The public conformance suite, run against the first-party backends."""

from __future__ import annotations

import os
import shutil

import pytest
from leti_sandbox.local_sandbox import LocalSandbox
from leti_sandbox.subprocess_sandbox import SubprocessSandbox

from leti_core.testing import SandboxConformance


class LocalConformance(SandboxConformance):
    """`local` built with ``options``, shared by the classes below."""

    options: dict = {}

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls):
        with LocalSandbox(workers=2, **cls.options) as box:
            yield box


class TestLocal(LocalConformance):
    """`local` at full isolation, without bubblewrap (the layers of the executor alone)."""

    options = {"bwrap": "off"}


class TestLocalWithoutUid(LocalConformance):
    """`local` as an ordinary user would run it: no uid of its own, so confined, not full."""

    options = {"bwrap": "off", "disable": ["uid"], "min_level": "confined"}
    known_escapes = {
        "fork-bomb": "no uid of its own: RLIMIT_NPROC counts the caller's processes, not the program's",
    }


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (apt install bubblewrap)")
class TestLocalInBubblewrap(LocalConformance):
    options = {"bwrap": "on"}


class TestSubprocess(SandboxConformance):
    """`subprocess` only has rlimits and a kill switch: what it cannot stop is listed, with why."""

    no_network = "no network isolation: the program shares the caller's network"
    no_filesystem = "no filesystem isolation: the program writes wherever its uid may"
    known_escapes = {
        "tcp": no_network,
        "udp": no_network,
        "unix-socket": no_network,
        "files": no_filesystem,
        "fork-bomb": "no uid of its own: RLIMIT_NPROC does not apply to root",
        "read-secrets": "runs as the caller's uid (root reads /etc/shadow)",
        "signal-caller": "runs as the caller's uid: it may signal the caller",
        "busy-loop": "a process that left the program's process group (setsid) outlives the limit",
        "sleep": "a process that left the program's process group (setsid) outlives the limit",
    }
    unsafe = {"kill-parent": "the program's parent is the caller itself (this test process)"}
    if os.geteuid() != 0:
        known_escapes.pop("fork-bomb")

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls):
        with SubprocessSandbox(workers=2) as box:
            yield box
