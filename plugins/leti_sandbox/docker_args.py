"""The `docker run` command line of one worker's long-lived container (no docker import here)."""

from __future__ import annotations

import json
from dataclasses import dataclass

IMAGE_ROOT = "/opt/leti"  # where the Dockerfile puts the executor files
WORKDIR = "/work"
READ_PATHS = ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", "/etc/localtime"]
NOBODY = "65534:65534"


@dataclass(frozen=True)
class ContainerSpec:
    """Everything that decides how one worker's container runs."""

    image: str
    name: str
    label: str
    memory_mb: int = 2048
    pids_limit: int = 128
    tmpfs_mb: int = 64
    cpus: float | None = None
    runtime: str | None = None
    mount_executor: str | None = None  # host folder with the executor files, mounted over IMAGE_ROOT
    preload: tuple[str, ...] = ()


def executor_config(spec: ContainerSpec) -> dict:
    return {
        "uid": None,
        "gid": None,
        "workdir": WORKDIR,
        "read_paths": READ_PATHS,
        "disable": [],
        "max_processes": spec.pids_limit,
        "tmpfs_mb": spec.tmpfs_mb,
        "file_mb": 16,
        "preload": list(spec.preload),
        "private_tmpfs": False,
        "pid_namespace": True,
        "uid_reason": "the container runs as nobody (65534); the container is the boundary",
        "tmpfs_reason": f"container tmpfs of {spec.tmpfs_mb} MiB on a read-only root",
    }


def run_command(spec: ContainerSpec, docker: str = "docker") -> list[str]:
    """``docker run -i ...`` for one worker: its stdin/stdout carry the executor's frames."""
    args = [
        docker,
        "run",
        "--rm",
        "-i",
        "--name",
        spec.name,
        "--label",
        spec.label,
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        f"{WORKDIR}:rw,exec,nosuid,nodev,size={spec.tmpfs_mb}m,mode=1777",  # exec: compiled steps run
        "--tmpfs",
        "/tmp:rw,nosuid,nodev,size=16m,mode=1777",
        "--pids-limit",
        str(spec.pids_limit),
        "--memory",
        f"{spec.memory_mb}m",
        "--memory-swap",
        f"{spec.memory_mb}m",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        NOBODY,
        "--ipc",
        "none",
        "--workdir",
        WORKDIR,
        "--env",
        "LD_BIND_NOW=1",  # as for the local executor (workers.EXECUTOR_ENV)
    ]
    if spec.cpus:
        args += ["--cpus", str(spec.cpus)]
    if spec.runtime:
        args += ["--runtime", spec.runtime]
    if spec.mount_executor:
        args += ["--volume", f"{spec.mount_executor}:{IMAGE_ROOT}:ro"]
    args += [spec.image, "python3", "-I", "-S", "-B", f"{IMAGE_ROOT}/executor.py", json.dumps(executor_config(spec))]
    return args


def container_layer(spec: ContainerSpec) -> dict:
    runtime = f", runtime {spec.runtime}" if spec.runtime else ""
    return {
        "on": True,
        "detail": f"no network, read-only root, {spec.pids_limit} pids, {spec.memory_mb} MiB, "
        f"no capabilities, no-new-privileges, user nobody{runtime}",
    }
