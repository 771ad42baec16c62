"""The bubblewrap command line the warm executor is started under."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

SYSTEM_PATHS = ("/usr", "/bin", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime")


def find() -> str | None:
    return shutil.which("bwrap")


def probe(path: str) -> str | None:
    """None when ``bwrap`` can start a sandbox here, else why not."""
    try:
        done = subprocess.run(
            [path, *namespace_args(), "--ro-bind", "/", "/", "--", "/bin/true"], capture_output=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return None if done.returncode == 0 else (done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}")


def namespace_args() -> list[str]:
    """Every namespace but, for root, the user namespace: a root-created user namespace maps
    uid 0 only, and the executor needs the per-worker uids (it keeps CAP_SETUID/SETGID to switch
    to them and CAP_KILL to kill their processes; children lose all three with the switch)."""
    if os.geteuid() == 0:
        return [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--cap-add",
            "CAP_KILL",
        ]
    return ["--unshare-all", "--cap-drop", "ALL"]


def command(bwrap: str, read_paths: Sequence[str], workdir: str, tmpfs_mb: int, executor: Sequence[str]) -> list[str]:
    """``bwrap ... -- executor``: read-only system and Python paths, a private /dev, /proc and
    /tmp, a size-limited tmpfs work folder, no network, dies with the caller."""
    # The private /dev, /proc and /tmp come first, so that binds below them (a checkout under
    # /tmp, say) land on top instead of being hidden.
    # --die-with-parent, and no --as-pid-1: bwrap's own init is pid 1 of the namespace and exits
    # when the executor does, which kills everything inside. The executor's children rely on
    # this instead of a parent-death signal each (local_sandbox passes "pid_namespace").
    args = [
        bwrap,
        *namespace_args(),
        "--die-with-parent",
        "--new-session",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    made: set[str] = {"/dev", "/proc", "/tmp"}
    for path in dict.fromkeys([*SYSTEM_PATHS, *read_paths]):
        if not os.path.exists(path):
            continue
        for ancestor in _ancestors(path):  # enterable by the unprivileged uid (not 0700 like /root)
            if ancestor not in made:
                made.add(ancestor)
                args += ["--perms", "0755", "--dir", ancestor]
        args += ["--ro-bind", path, path]
    args += [
        "--size",
        str(tmpfs_mb * 1024 * 1024),
        "--tmpfs",
        workdir,
        "--chmod",
        "0777",
        workdir,
        "--chdir",
        "/",
        "--",
        *executor,
    ]
    return args


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: index + 1]) for index in range(len(parts))]
