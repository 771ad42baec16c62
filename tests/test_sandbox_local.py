"""The `local` backend beyond the conformance suite: levels, lifecycle, recovery, its pieces."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest
from leti_sandbox import bwrap, isolation, seccomp_filter
from leti_sandbox.local_sandbox import LocalSandbox

from leti_core import LetiError, Program
from leti_core.app import get_registry
from leti_core.testing.probes import marked_processes

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the per-worker uid layer needs root")


def _executors(sandbox: LocalSandbox) -> list[int]:
    return [worker.executor.process.pid for worker in sandbox._workers if worker.executor]


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_is_the_python_environments_default():
    environment = get_registry().environment("python")
    assert environment.options.sandbox == "local"


@root_only
def test_full_isolation_is_recorded_in_every_result():
    with LocalSandbox(workers=1, bwrap="off") as sandbox:
        results = sandbox.run([Program(source="pass\n"), Program(source="1 / 0\n")])
        assert sandbox.isolation().startswith("full: ")
        assert all(result.isolation == sandbox.isolation() for result in results)
        assert {"uid", "landlock-fs", "seccomp"} <= {name for name, layer in sandbox.layers().items() if layer["on"]}


@root_only
def test_refuses_to_run_below_the_minimum_and_says_how_to_opt_in():
    with pytest.raises(LetiError) as caught:
        LocalSandbox(workers=1, bwrap="off", disable=["uid"])
    message = str(caught.value)
    assert "'confined'" in message and "'full'" in message and "processes" in message
    assert "min_level='confined'" in message and isolation.MIN_LEVEL_ENV in message
    with LocalSandbox(workers=1, bwrap="off", disable=["uid"], min_level="confined") as sandbox:
        (result,) = sandbox.run([Program(source="assert True\n")])
        assert result.passed and result.isolation.startswith("confined: ")


def test_minimum_from_the_environment(monkeypatch):
    monkeypatch.setenv(isolation.MIN_LEVEL_ENV, "basic")
    assert LocalSandbox.Options().min_level == "basic"
    monkeypatch.setenv(isolation.MIN_LEVEL_ENV, "nonsense")
    with pytest.raises(LetiError, match="nonsense"):
        LocalSandbox.Options()


def test_unknown_and_bad_options_are_rejected():
    with pytest.raises(LetiError, match="nope"):
        LocalSandbox(nope=1)
    with pytest.raises(LetiError, match="python"):
        LocalSandbox(python="python3")


def test_levels_from_layers():
    on, off = {"on": True, "detail": ""}, {"on": False, "detail": "why"}
    assert isolation.level_of({"rlimits": on}) == "basic"
    assert isolation.level_of({"landlock-fs": on, "seccomp": on, "uid": off}) == "confined"
    assert isolation.level_of({"landlock-fs": on, "seccomp": on, "uid": on}) == "full"
    assert isolation.level_of({"container": on}) == "full"
    assert isolation.missing_for({"landlock-fs": on}, "full") == [
        "network (seccomp, bwrap or a container)",
        "processes (uid (run as root) or a container)",
    ]


def test_close_leaves_no_process_behind():
    sandbox = LocalSandbox(workers=2, bwrap="off", min_level="basic")
    folder = sandbox._slots.folder
    assert sandbox.run([Program(source="pass\n")])[0].passed
    assert marked_processes(folder), "the executors carry their work folder in their command line"
    sandbox.close()
    assert not marked_processes(folder)
    assert not os.path.exists(folder)
    with pytest.raises(LetiError, match="closed"):
        sandbox.run([Program(source="pass\n")])


def test_progress_counts_every_program_once_and_results_keep_their_order():
    reported: list[int] = []
    programs = [Program(source=f"import time\ntime.sleep({index % 3} * 0.05)\nprint({index})\n") for index in range(24)]
    with LocalSandbox(workers=2, bwrap="off", min_level="basic") as sandbox:
        results = sandbox.run(programs, progress=reported.append)
    assert sum(reported) == 24 and len(reported) >= 2  # in several reports while programs ran
    assert [result.stdout for result in results] == [f"{index}\n" for index in range(24)]


@root_only
def test_a_program_that_moves_into_its_parents_process_group_still_times_out_on_time():
    # with a uid of its own, setpgid is allowed: the group kill alone would miss this program
    escape = "import os, time\nos.setpgid(0, os.getpgid(os.getppid()))\ntime.sleep(30)\n"
    with LocalSandbox(workers=1, bwrap="off") as sandbox:
        (result,) = sandbox.run([Program(source=escape, timeout=1, wall_timeout=2)])
        assert result.status == "timed out" and result.limit == "wall" and result.duration < 6
        assert sandbox.run([Program(source="print(3)\n")])[0].stdout == "3\n"


@pytest.mark.parametrize("disable", [[], ["uid"]], ids=["own-uid", "caller-uid"])
def test_a_program_cannot_kill_its_executor_even_knowing_its_pid(disable):
    with LocalSandbox(workers=1, bwrap="off", disable=disable, min_level="confined") as sandbox:
        if disable and not sandbox.layers()["landlock-scope"]["on"]:
            pytest.skip("with the caller's uid, only Landlock's signal scope (ABI 6) stops this")
        (executor,) = _executors(sandbox)
        attack = f"import os, signal\nos.kill({executor}, signal.SIGKILL)\n"
        (result,) = sandbox.run([Program(source=attack)])
        assert result.status == "failed" and result.error and result.error.type == "PermissionError"
        assert _executors(sandbox) == [executor] and _running(executor)


def _processes_named(comm: str) -> list[int]:
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/comm") as handle:
                if handle.read().strip() == comm and _running(int(name)):
                    found.append(int(name))
        except OSError:
            continue
    return found


@root_only
@pytest.mark.parametrize("use_bwrap", ["off", "on"])
def test_programs_die_with_their_caller(use_bwrap):
    # The caller is killed: its executors die (parent-death signal), and their programs with
    # them. Without bubblewrap each child asks for a parent-death signal of its own; with it,
    # the executor's pid namespace ends with the executor and the kernel kills what is inside.
    if use_bwrap == "on" and (bwrap.find() is None or bwrap.probe(bwrap.find()) is not None):
        pytest.skip("bubblewrap cannot run here")
    comm = f"lt{os.getpid()}{use_bwrap}"  # the program's process name (15 characters at most)
    sleeper = f"import ctypes, time\nctypes.CDLL(None).prctl(15, {comm.encode()!r})\ntime.sleep(30)\n"
    caller = (
        "from leti_core import Program\nfrom leti_sandbox.local_sandbox import LocalSandbox\n"
        f"LocalSandbox(workers=1, bwrap={use_bwrap!r}).run([Program(source={sleeper!r}, timeout=60)])\n"
    )
    process = subprocess.Popen([sys.executable, "-c", caller])
    try:
        deadline = time.monotonic() + 30
        while not _processes_named(comm):
            assert time.monotonic() < deadline and process.poll() is None, "the program never started"
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 5
    while _processes_named(comm) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_named(comm), "the program outlived its caller"


def test_a_layer_the_kernel_refuses_is_reported_off_and_the_rest_kept(tmp_path):
    # the proof runs the children's own hardening function in a throw-away child; a malformed
    # seccomp program stands in for a filter this kernel refuses
    script = (
        "import json, sys\n"
        "from leti_sandbox import hardening, layers\n"
        "plan = hardening.Plan(sys.argv[1], seccomp=bytes(8), parent_death_signal=False)\n"
        "report = {name: {'on': True, 'detail': ''} for name in ('rlimits', 'seccomp')}\n"
        "layers._prove(plan, report)\n"
        "print(json.dumps([report, plan.seccomp is None]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    report, cleared = json.loads(done.stdout)
    assert cleared and not report["seccomp"]["on"] and report["seccomp"]["detail"].startswith("refused here: ")
    assert report["rlimits"]["on"]


@root_only
def test_a_child_that_dies_while_hardening_stops_the_executor_from_starting(tmp_path):
    # a filter that kills at the next system call: the proof child dies before it can report
    kill_all = struct.pack("<HBBI", 0x06, 0, 0, 0x80000000)  # BPF_RET|BPF_K, SECCOMP_RET_KILL_PROCESS
    script = (
        "import sys\n"
        "from leti_sandbox import hardening, layers\n"
        f"plan = hardening.Plan(sys.argv[1], seccomp={kill_all!r}, parent_death_signal=False)\n"
        "report = {name: {'on': True, 'detail': ''} for name in ('rlimits', 'seccomp')}\n"
        "try:\n"
        "    layers._prove(plan, report)\n"
        "except OSError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    )
    assert "could not be hardened" in done.stdout and "died" in done.stdout


def test_a_killed_executor_is_restarted():
    with LocalSandbox(workers=1, bwrap="off", min_level="basic") as sandbox:
        (old,) = _executors(sandbox)
        os.kill(old, signal.SIGKILL)
        results = sandbox.run([Program(source="print(1)\n"), Program(source="print(2)\n")])
        assert results[0].status == "error" and "executor" in (results[0].reason or "")
        assert results[1].passed and results[1].stdout == "2\n"
        assert _executors(sandbox) != [old]
        assert sandbox.run([Program(source="pass\n")])[0].passed


def test_seccomp_filter_programs():
    for machine in seccomp_filter.SYSCALLS:
        program = seccomp_filter.build(machine)
        assert len(program) % 8 == 0 and len(program) // 8 < 4096
        first = struct.unpack("<HBBI", program[:8])
        assert first == (0x20, 0, 0, 4)  # load the architecture first
        assert len(seccomp_filter.build(machine, process_groups=False)) == len(program) - 16


def test_bwrap_command_drops_capabilities_and_network(tmp_path):
    python_home = str(tmp_path / "python")
    os.mkdir(python_home)
    command = bwrap.command("/usr/bin/bwrap", [python_home, "/nonexistent"], "/dev/shm/w", 32, ["python", "-I"])
    assert command[0] == "/usr/bin/bwrap" and command[-2:] == ["python", "-I"]
    assert "--unshare-net" in command or "--unshare-all" in command
    assert command[command.index("--cap-drop") + 1] == "ALL"
    assert "--die-with-parent" in command
    added = [command[i + 1] for i, arg in enumerate(command) if arg == "--cap-add"]
    assert set(added) <= {"CAP_SETUID", "CAP_SETGID", "CAP_KILL"}
    at = command.index(python_home)
    assert command[at - 1] == "--ro-bind" and "/nonexistent" not in command
    assert command[command.index(str(tmp_path)) - 2 : command.index(str(tmp_path))] == ["0755", "--dir"]
    assert command[command.index("--size") + 1] == str(32 * 1024 * 1024)
    # A checkout under /tmp (CI clones there) must stay visible: the private /tmp comes first.
    assert command.index("--tmpfs") < at and command[command.index("--tmpfs") + 1] == "/tmp"


@pytest.mark.skipif(shutil.which("bwrap") is not None, reason="bubblewrap is installed here")
def test_bwrap_on_without_bubblewrap_is_a_clear_error():
    with pytest.raises(LetiError, match="bubblewrap"):
        LocalSandbox(workers=1, bwrap="on")


def test_a_job_whose_send_fails_on_an_idle_executor_fails_alone_and_the_worker_goes_on():
    """An executor that stops reading while nothing else is in flight: that job becomes a sandbox
    failure, the executor is restarted, and the next jobs are served (the worker thread once died
    here, and every job after it waited forever)."""
    import queue

    from leti_sandbox.workers import STOP, ExecutorError, Job, Worker

    from leti_core import ExecutionResult

    class Executor:
        started = 0

        def __init__(self) -> None:
            Executor.started += 1
            self.layers, self.sent = {}, []

        def send(self, frame: bytes) -> None:
            if frame == b"breaks-the-pipe":
                raise ExecutorError("the executor stopped reading jobs")
            self.sent.append(frame)

        def receive(self, deadline: float) -> dict:
            return {"frame": self.sent.pop(0).decode()}

        def close(self) -> None: ...

        def kill(self) -> None: ...

    jobs: queue.Queue = queue.Queue()
    worker = Worker(
        Executor,
        jobs,
        lambda job, message: ExecutionResult(status="passed", stdout=message["frame"]),
        lambda job, reason: ExecutionResult(status="error", reason=reason),
        window=4,
    )
    worker.start()
    first, second = Job({}, 1.0, frame=b"breaks-the-pipe"), Job({}, 1.0, frame=b"fine")
    jobs.put(first)
    assert first.future.result(timeout=5).status == "error"
    jobs.put(second)
    assert second.future.result(timeout=5).stdout == "fine"
    jobs.put(STOP)
    worker.join(timeout=5)
    assert not worker.is_alive() and Executor.started == 2
