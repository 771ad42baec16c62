"""The `docker` sandbox: the local executor inside long-lived locked-down containers.

One container per worker, started once with ``docker run -i`` (no network, read-only root,
tmpfs work folder, pids and memory limits, no capabilities, no-new-privileges, user nobody,
optionally gVisor's ``runsc``); the executor inside forks a hardened child per program, as in
`local`. The ``docker`` Python package (engine check, image build, clean-up) is imported here only.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

from pydantic import Field

from leti_core import LetiError, SandboxBackendOptions

from . import isolation
from .docker_args import ContainerSpec, container_layer, run_command
from .local_sandbox import PRELOAD
from .pool import ExecutorPool
from .workers import ExecutorProcess

HERE = Path(__file__).resolve().parent
LABEL = "leti-sandbox"


class DockerExecutor(ExecutorProcess):
    """An executor whose process is ``docker run``; killing it also removes the container."""

    def __init__(self, command: list[str], name: str, client: Any) -> None:
        self.name, self.client = name, client
        super().__init__(command, start_timeout=120.0)

    def kill(self) -> None:
        super().kill()
        try:
            self.client.containers.get(self.name).remove(force=True)
        except docker_errors():  # already gone (it runs with --rm)
            pass


class DockerSandbox(ExecutorPool):
    """Runs programs in long-lived containers, one per worker, each running the warm executor."""

    name = "docker"

    class Options(SandboxBackendOptions):
        min_level: isolation.Level = Field(default_factory=isolation.default_min_level)
        image: str = Field(default="leti-sandbox:latest", description="image with python3 and the executor")
        build: bool = Field(default=True, description="build the image from the Dockerfile if it is missing")
        base_image: str = Field(
            default="python:3.11-slim",
            description="what that build starts from: any image "
            "with python3 (without a registry, one made by scripts/docker-image)",
        )
        runtime: str | None = Field(default=None, description="container runtime, e.g. runsc (gVisor)")
        memory_mb: int = Field(default=2048, ge=64, description="memory of each container")
        pids_limit: int = Field(default=128, ge=8, description="processes in each container")
        tmpfs_mb: int = Field(default=64, ge=1)
        cpus: float | None = Field(default=None, gt=0)
        mount_executor: bool = Field(default=True, description="mount this checkout's executor over the image's")
        window: int = Field(default=2, ge=1, le=64)
        docker: str = Field(default="docker", description="the docker command line client")

    def _prepare(self) -> None:
        try:
            import docker
        except ImportError:
            raise LetiError("sandbox 'docker' needs the docker package: pip install 'leti[docker]'") from None
        if shutil.which(self.options.docker) is None:
            raise LetiError(f"sandbox 'docker': the docker client {self.options.docker!r} is not on PATH")
        try:
            self._client = docker.from_env()
            self._client.ping()
        except docker_errors() as error:
            raise LetiError(
                f"sandbox 'docker': no Docker engine answers ({error}); start one, or use --sandbox local"
            ) from None
        self._ensure_image(docker)
        self._run_id = secrets.token_hex(4)

    def _ensure_image(self, docker: Any) -> None:
        try:
            self._client.images.get(self.options.image)
            return
        except docker.errors.ImageNotFound:
            if not self.options.build:
                raise LetiError(
                    f"sandbox 'docker': image {self.options.image!r} not found (build option is off)"
                ) from None
        try:
            self._client.images.build(
                path=str(HERE),
                dockerfile="Dockerfile",
                tag=self.options.image,
                rm=True,
                buildargs={"BASE": self.options.base_image},
            )
        except docker_errors() as error:
            raise LetiError(f"sandbox 'docker': building image {self.options.image!r} failed: {error}") from None

    def spec(self, index: int) -> ContainerSpec:
        return ContainerSpec(
            image=self.options.image,
            name=f"leti-sandbox-{self._run_id}-{index}",
            label=f"{LABEL}={self._run_id}",
            memory_mb=self.options.memory_mb,
            pids_limit=self.options.pids_limit,
            tmpfs_mb=self.options.tmpfs_mb,
            cpus=self.options.cpus,
            runtime=self.options.runtime,
            mount_executor=str(HERE) if self.options.mount_executor else None,
            preload=PRELOAD,
        )

    def _spawn(self, index: int) -> ExecutorProcess:
        spec = self.spec(index)
        return DockerExecutor(run_command(spec, self.options.docker), spec.name, self._client)

    def _host_layers(self) -> isolation.Layers:
        return {"container": container_layer(self.spec(0))}

    def _release(self) -> None:
        client = getattr(self, "_client", None)
        if client is None or not hasattr(self, "_run_id"):
            return
        try:
            for container in client.containers.list(all=True, filters={"label": f"{LABEL}={self._run_id}"}):
                container.remove(force=True)
        except docker_errors():
            pass


def docker_errors() -> tuple[type[Exception], ...]:
    """What the Docker SDK raises when the engine refuses or cannot be reached."""
    import docker.errors
    import requests

    return docker.errors.DockerException, requests.exceptions.RequestException
