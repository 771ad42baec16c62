"""The warm executor: a small interpreter that forks one hardened child per program.

Started once per worker as ``python -I -S -B executor.py CONFIG_JSON`` (standard library only,
nothing heavy imported). It applies what it can of the layers the host asked for, answers with a
``ready`` frame listing each layer and why it is on or off, then reads job frames on fd 0 and
answers each with a result frame on fd 1, in order. The wall-clock limit is enforced here, from
outside the program: the child is killed through its pidfd, then its process group; processes
that escaped the group are killed by uid, and reaped (given up on after 2 s), before the result
goes back.

A job with tests is judged apart: its frame is followed by the tests as raw bytes, read only
after the program's child is forked, into a buffer that is zeroed once the judge's child is
forked; the judge's report goes back the same way, after the result frame. So no child of this
process (no program) inherits a test or a verdict of another sample in its memory.

A job with standard-input tests (``inputs``) runs the program once per input, each run a child of
its own with its input as a sealed memfd on fd 0; the steps before a program's last run once. Its
frame is followed by the expected outputs as raw bytes, which a comparer process forked for the
job reads off the pipe into its own memory (never this process's, which every program is forked
from); after each run this process sends the comparer what the program printed and gets back
whether it matches. The first run that fails (an error status, a signal, its time, more output
than the limit, or an output that does not match) ends the job.
"""

import fcntl
import gc
import importlib.util
import json
import os
import select
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DRAIN_FACTOR = 8  # output beyond this many times the limit closes the pipe
REPORT_LIMIT = 1024 * 1024
EXIT_GRACE = 0.5  # seconds a judged program has to flush its output once the judge is done
JUDGED_KEYS = ("timed_out", "judge_returncode", "judge_cpu", "report_size")
F_SETPIPE_SZ = 1031
FIRST_FREE = 10  # descriptors below this stay taken in the executor (a child's 0-6 are its own)


def _load(name):
    """A sibling module by path, registered as ``leti_sandbox_NAME`` (which later siblings import)."""
    spec = importlib.util.spec_from_file_location("leti_sandbox_" + name, os.path.join(HERE, name + ".py"))
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


frames = _load("frames")
harness = _load("harness")
layers = _load("layers")
plain = _load("plain")
served = _load("served")  # after harness and plain, which it imports
judge = _load("judge")


class Capture:
    """Bytes from one pipe: keeps ``limit``, counts the rest, gives up past ``DRAIN_FACTOR``."""

    __slots__ = ("limit", "chunks", "size", "dropped")

    def __init__(self, limit):
        self.limit, self.chunks, self.size, self.dropped = limit, [], 0, 0

    def add(self, chunk):
        room = self.limit - self.size
        if room > 0:
            self.chunks.append(chunk[:room])
            self.size += min(room, len(chunk))
        self.dropped += max(0, len(chunk) - max(room, 0))
        return self.dropped <= DRAIN_FACTOR * self.limit

    def read(self, fd):
        """Read what ``fd`` has; False at end of file or past what we are willing to read."""
        chunk = os.read(fd, 65536)
        return bool(chunk) and self.add(chunk)

    def text(self):
        text = b"".join(self.chunks).decode("utf-8", errors="replace")
        return text + ("\n[%d more bytes dropped]" % self.dropped if self.dropped else "")


class RawCapture:
    """Bytes read straight into a buffer this executor owns and zeroes (no copies left behind)."""

    __slots__ = ("buffer", "size")

    def __init__(self, buffer):
        self.buffer, self.size = buffer, 0

    def read(self, fd):
        if self.size == len(self.buffer):
            return False  # more than a report may be: the host refuses it
        count = os.readv(fd, [memoryview(self.buffer)[self.size :]])
        self.size += count
        return count > 0


class Executor:
    def __init__(self, config):
        self.pid = os.getpid()
        self.config = config
        self.jobs, self.results = (os.dup(fd) for fd in (0, 1))
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # 0 stays /dev/null: every child's stdin
            os.dup2(devnull, fd)
        self.jobs, self.results = _high(self.jobs), _high(self.results)
        for fd in range(3, FIRST_FREE):  # held, so every pipe made later is above what a child dup2s onto
            if fd != devnull:
                os.dup2(devnull, fd, inheritable=False)
        os.set_inheritable(devnull, False)
        self.plan, self.report = layers.prepare(config, _high)
        self.tests = bytearray(0)  # the job's tests, zeroed after the judge forks
        self.devnull = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        self.verdict = bytearray(REPORT_LIMIT)  # the judge's report, zeroed once sent

    def serve(self):
        frames.write_all(self.results, frames.encode({"ready": True, "pid": self.pid, "layers": self.report}))
        harness.warm_up()
        judge.warm_up()
        gc.collect()
        gc.freeze()  # children then share the executor's pages instead of copying them
        while True:
            job = frames.read_frame(self.jobs)
            if job is None:
                return
            if "tests_size" in job:
                self.run_judged_steps(job) if "steps" in job else self.run_judged(job)
                continue
            if "inputs" in job:
                frames.write_all(self.results, frames.encode(self.run_io(job)))
                continue
            frames.write_all(self.results, frames.encode(self.run(job)))

    def run(self, job):
        if "steps" in job:
            return self.run_steps(job)
        result = self.run_child(job, job["timeout"], lambda write_ends: self.child(job, write_ends))
        self.cleanup()
        return result

    def run_steps(self, job):
        """Write the job's files, then run its steps in order until one fails or times out."""
        env = dict(os.environ, **{job["nonce_variable"]: job.pop("nonce")})
        files = job.pop("files")
        results = []
        for index, step in enumerate(job["steps"]):
            result = self.run_child(
                step,
                step["timeout"],
                lambda write_ends, step=step, first=index == 0: self.step_child(
                    step, files if first else {}, env, job["output_limit"], write_ends
                ),
                job["output_limit"],
            )
            result["name"] = step["name"]
            results.append(result)
            if result["timed_out"] or result["returncode"] != 0:
                break
        self.cleanup()
        return {"steps": results}

    def run_io(self, job):
        """A program judged by its standard output, test by test (see the module's docstring)."""
        inputs, sizes, limit = job.pop("inputs"), job["expected_sizes"], job["output_limit"]
        whitespace = job["output_match"] == "whitespace"
        started = time.monotonic()
        comparer = Comparer(self.jobs, sizes, whitespace)
        try:
            steps = job.get("steps")
            files = job.pop("files", {})
            for index, step in enumerate(steps[:-1] if steps else ()):
                result = self.run_child(
                    step,
                    step["timeout"],
                    lambda write_ends, step=step, first=index == 0: self.step_child(
                        step, files if first else {}, os.environ, limit, write_ends
                    ),
                    limit,
                )
                result["name"] = step["name"]
                if result["timed_out"] or result["returncode"] != 0:
                    return {"io": True, "step": result}
            last = steps[-1] if steps else job
            run = None
            for index, data in enumerate(inputs):
                stdin = harness.sealed_file(data.encode("utf-8"))
                if steps:
                    first_files = files if index == 0 and len(steps) == 1 else {}
                    start = lambda write_ends, stdin=stdin, first_files=first_files: self.step_child(  # noqa: E731
                        last, first_files, os.environ, limit, write_ends, stdin=stdin
                    )
                else:
                    start = lambda write_ends, stdin=stdin: self.child(job, write_ends, stdin)  # noqa: E731
                try:
                    run = self.run_child(last, last["timeout"], start, limit, stop_on_overflow=True)
                finally:
                    os.close(stdin)
                output = run.pop("output")
                run["stdout"] = output.decode("utf-8", errors="replace")  # as printed, up to the limit
                run["test"] = index
                if run["stdout_overflow"] or run["timed_out"] or run["returncode"] != 0:
                    break
                run["matched"] = comparer.matches(index, output)
                if not run["matched"]:
                    break
            return {"io": True, "run": run, "duration": time.monotonic() - started}
        finally:
            comparer.close()
            self.cleanup()

    def run_child(self, job, timeout, start_child, output_limit=None, stop_on_overflow=False):
        """Fork ``start_child(write_ends)`` and watch it: its output, exit and time. With
        ``stop_on_overflow`` (a standard-input test), output beyond the limit ends it, and the
        result also has the raw ``output`` and whether it overflowed."""
        pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(3)]
        limit = output_limit or job["output_limit"]
        captures = {pipes[0][0]: Capture(limit), pipes[1][0]: Capture(limit), pipes[2][0]: Capture(REPORT_LIMIT)}
        poller = select.poll()
        for fd in captures:
            poller.register(fd, select.POLLIN)
        write_ends = [write_end for _, write_end in pipes]
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            start_child(write_ends)
        # As little as possible until the child ends: a page written while it lives is copied.
        for write_end in write_ends:
            os.close(write_end)
        _setpgid(pid)
        out, err, report = (captures[r] for r, _ in pipes)
        timed_out, status, cpu = self.watch(
            pid, poller, captures, started + timeout, overflow=out if stop_on_overflow else None
        )
        duration = time.monotonic() - started
        result = {
            "stdout": out.text(),
            "stderr": err.text(),
            "report": b"".join(report.chunks).decode("utf-8", errors="replace"),
            "report_overflow": bool(report.dropped),
            "returncode": _returncode(status),
            "timed_out": timed_out,
            "duration": duration,
            "cpu": cpu,
        }
        if stop_on_overflow:
            result["output"] = b"".join(out.chunks)
            result["stdout_overflow"] = bool(out.dropped)
        return result

    def watch(self, pid, poller, captures, deadline, open_fds=None, close=True, reap=True, overflow=None):
        """Read the pipes until the child exits or the deadline passes (or the ``overflow`` capture
        drops output); kill its group; reap (unless ``reap`` is false: then only wait, and return
        None for status and time)."""
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
        if open_fds is None:
            open_fds = set(captures)
        timed_out = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                events = poller.poll(remaining * 1000)
                exited = False
                for fd, _ in events:  # a plain loop: a generator here costs page faults too
                    if fd == pidfd:
                        exited = True
                if exited:
                    while self.read_ready(poller, captures, open_fds, 0):  # what is buffered
                        pass
                    break
                self.read_ready(poller, captures, open_fds, None, events)
                if overflow is not None and overflow.dropped:
                    break
        finally:
            poller.unregister(pidfd)
            status = usage = None
            if reap:
                _kill_child(pidfd)  # even if the child left its process group
                if not _killpg(pid) and self.plan.reaper is not None:
                    self.plan.reaper.sweep()  # no right to signal the uid: the helper does it
                _, status, usage = os.wait4(pid, 0)
            os.close(pidfd)
            if close:
                for fd in captures:
                    os.close(fd)
        return timed_out, status, usage and usage.ru_utime + usage.ru_stime

    def read_ready(self, poller, captures, open_fds, timeout, events=None):
        """Read once from each ready pipe; returns whether anything was read."""
        if events is None:
            events = poller.poll(timeout) if open_fds else []
        progressed = False
        for fd, _ in events:
            if fd not in open_fds:
                continue
            if captures[fd].read(fd):
                progressed = True
                continue
            poller.unregister(fd)  # end of file, or output past what we are willing to read
            open_fds.discard(fd)
        return progressed

    def run_judged(self, job):
        """A Python program judged apart: ``served.py`` in the program's child, ``judge.py`` in the
        judge's (the tests reach it through its memory, forked from the buffer)."""
        result = self.judged_pair(
            job,
            job["timeout"],
            job["output_limit"],
            lambda stdout, stderr, replies, requests: self.served_child(job, stdout, stderr, replies, requests),
            lambda size, report, requests, replies, tests: self.judge_child(job, size, report, requests, replies),
            feed_tests=False,
        )
        self.send_judged(result)

    def run_judged_steps(self, job):
        """A program of steps judged apart: the steps before the last run as usual; the last one
        serves the program beside the job's judge command, which reads the tests on its stdin."""
        files = job.pop("files")
        steps, judge_step = job["steps"], job["judge"]
        results = []
        for index, step in enumerate(steps[:-1]):
            result = self.run_child(
                step,
                step["timeout"],
                lambda write_ends, step=step, first=index == 0: self.step_child(
                    step, files if first else {}, os.environ, job["output_limit"], write_ends
                ),
                job["output_limit"],
            )
            result["name"] = step["name"]
            results.append(result)
            if result["timed_out"] or result["returncode"] != 0:
                self.skip_tests(job["tests_size"])
                self.cleanup()
                frames.write_all(self.results, frames.encode({"steps": results}))
                return
        last = steps[-1]
        served = self.judged_pair(
            job,
            last["timeout"],
            job["output_limit"],
            lambda stdout, stderr, replies, requests: self.step_child(
                last,
                files if len(steps) == 1 else {},
                os.environ,
                job["output_limit"],
                (stdout, stderr, replies),
                channels=(requests,),
            ),
            lambda size, report, requests, replies, tests: self.step_child(
                judge_step,
                {},
                os.environ,
                job["output_limit"],
                (self.devnull, self.devnull, report),
                channels=(requests, replies),
                stdin=tests,
                image=memoryview(self.tests)[:size] if job.get("tests_executable") else None,
            ),
            feed_tests=not job.get("tests_executable"),
        )
        served["name"] = last["name"]
        self.send_judged({"steps": results + [served], **{key: served.pop(key) for key in JUDGED_KEYS}})

    def skip_tests(self, size):
        """Take a job's tests off the pipe without keeping them (the job ended before its judge)."""
        self.read_tests(size)
        self.tests[:size] = bytes(size)

    def read_tests(self, size):
        """The job's tests, read straight into the buffer that is zeroed after use."""
        if len(self.tests) < size:
            self.tests = bytearray(size)
        with memoryview(self.tests) as view:
            got = 0
            while got < size:
                count = os.readv(self.jobs, [view[got:size]])
                if count == 0:
                    break
                got += count

    def judged_pair(self, job, timeout, output_limit, start_program, start_judge, feed_tests):
        """Fork the program's child, then read the tests, fork the judge's child (``feed_tests``:
        and write them on its stdin) and zero the tests; watch until the judge reports (or the
        deadline), then end the program."""
        stdout, stderr, requests, replies = (os.pipe2(os.O_CLOEXEC) for _ in range(4))
        started = time.monotonic()
        program = os.fork()
        if program == 0:
            start_program(stdout[1], stderr[1], replies[1], requests[0])
            os._exit(70)
        for fd in (stdout[1], stderr[1], replies[1], requests[0]):
            os.close(fd)
        _setpgid(program)
        size = job["tests_size"]
        self.read_tests(size)
        report_read, report_write = os.pipe2(os.O_CLOEXEC)
        tests_read = tests_write = None
        if feed_tests:
            tests_read, tests_write = os.pipe2(os.O_CLOEXEC)
            if size > 65536:  # room for all of it, so writing never waits on the judge
                fcntl.fcntl(tests_write, F_SETPIPE_SZ, min(size, 1 << 20))
        judge_pid = os.fork()
        if judge_pid == 0:
            start_judge(size, report_write, requests[1], replies[0], tests_read)
            os._exit(70)
        for fd in (report_write, requests[1], replies[0], tests_read):
            if fd is not None:
                os.close(fd)
        _setpgid(judge_pid)
        if tests_write is not None:
            try:  # the judge reads them first thing; one that dies unread gets no more
                with memoryview(self.tests) as view:
                    frames.write_all(tests_write, view[:size])
            except OSError:
                pass
            os.close(tests_write)
        self.tests[:size] = bytes(size)  # zeroed in place: later children inherit zeros
        verdict = RawCapture(self.verdict)
        captures = {stdout[0]: Capture(output_limit), stderr[0]: Capture(output_limit), report_read: verdict}
        poller = select.poll()
        for fd in captures:
            poller.register(fd, select.POLLIN)
        deadline = started + timeout
        open_fds = set(captures)
        timed_out, judge_status, judge_cpu = self.watch(judge_pid, poller, captures, deadline, open_fds, close=False)
        # the program flushes its output and exits once the judge closed the channel
        self.watch(
            program, poller, captures, min(deadline, time.monotonic() + EXIT_GRACE), open_fds, close=False, reap=False
        )
        _, status, cpu = self.watch(program, poller, captures, 0, open_fds)
        return {
            "stdout": captures[stdout[0]].text(),
            "stderr": captures[stderr[0]].text(),
            "returncode": _returncode(status),
            "cpu": cpu,
            "timed_out": timed_out,
            "duration": time.monotonic() - started,
            "judge_returncode": _returncode(judge_status),
            "judge_cpu": judge_cpu,
            "report_size": verdict.size,
        }

    def send_judged(self, result):
        """The result frame, then the judge's report as raw bytes, which are zeroed once sent."""
        self.cleanup()
        size = result["report_size"]
        frames.write_all(self.results, frames.encode(result))
        frames.write_all(self.results, memoryview(self.verdict)[:size])
        self.verdict[:size] = bytes(size)

    def cleanup(self):
        """Kill and reap whatever the program left, empty the work folder.

        The executor is a subreaper: every process the program started, wherever it moved,
        is reparented here when its parents die. So when ``waitpid`` finds no child, nothing
        is left running, and an empty work folder needs no cleaning (the common, fast path).
        """
        leftovers = _has_children()
        with os.scandir(self.plan.workdir) as entries:
            written = next(entries, None) is not None
        if not (leftovers or written):
            return
        if self.plan.reaper is not None:
            self.plan.reaper.sweep()  # kill by uid, empty the folder as that uid
        else:
            if leftovers and os.getpid() == 1:
                # pid 1 of a namespace of its own (a container): -1 is every other process in
                # it, and they are all the program's, wherever they moved (a new session too)
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
            layers.reaper.empty_folder(self.plan.workdir)
        _reap_orphans(time.monotonic() + 2.0)

    def step_child(self, step, files, env, output_limit, write_ends, channels=(), stdin=None, image=None):
        """Run a step; with ``image`` (a judge's executable), that image from memory instead of argv[0]."""
        try:
            if stdin is not None:
                os.dup2(stdin, 0)
            self.plan.harden(
                step["memory_mb"], step["cpu_seconds"], *write_ends, step["memory_limit"] == "data", channels=channels
            )
            for name, text in files.items():  # as the program's own uid, inside its limits
                with open(name, "x", encoding="utf-8") as handle:
                    handle.write(text)
            executable = step["argv"][0]
            if image is not None:  # never a file: the program shares this uid and the work folder
                executable = os.memfd_create("judge", os.MFD_CLOEXEC)
                frames.write_all(executable, image)
                image.release()
            os.execve(executable, step["argv"], env)
        except BaseException as error:
            try:
                os.write(2, ("leti sandbox: cannot run %s: %s\n" % (step["argv"][0], error)).encode())
            except OSError:
                pass
        os._exit(127)

    def served_child(self, job, stdout, stderr, replies, requests):
        try:
            self.plan.harden(job["memory_mb"], job["cpu_seconds"], stdout, stderr, replies, channels=(requests,))
            source = job.pop("source")
            del job
            served.execute(source, 4, 3)
        except BaseException:
            pass
        os._exit(70)

    def judge_child(self, job, size, report, requests, replies):
        try:
            layers.kernel.prctl(layers.kernel.PR_SET_DUMPABLE, 0)  # the program's process may not read this one
            self.plan.harden(
                job["memory_mb"], job["cpu_seconds"], self.devnull, self.devnull, report, channels=(requests, replies)
            )
            source, tests = job["source"], self.tests[:size].decode("utf-8", errors="replace")
            judge.execute(source, tests, 4, 5, 3)
        except BaseException:
            pass
        os._exit(70)

    def child(self, job, write_ends, stdin=None):
        try:
            if stdin is not None:  # a standard-input test's input
                os.dup2(stdin, 0)
            self.plan.harden(job["memory_mb"], job["cpu_seconds"], *write_ends)
            source, nonce = job.pop("source"), job.pop("nonce")
            del job, write_ends
            harness.execute(source, nonce, 3, stdin is not None)
        except BaseException:
            pass
        os._exit(70)


class Comparer:
    """A process of its own, forked before any run of a job with standard-input tests, that reads
    the job's expected outputs off the job pipe and compares each run's output with its test's.

    The expected outputs are never in this executor's memory, so no program (each forked from
    it) holds one, even in freed memory; the comparer is undumpable, and ends with the job. A
    comparer that cannot answer is a mismatch: never a pass.
    """

    def __init__(self, jobs, sizes, whitespace):
        self.whitespace = whitespace
        requests, replies = os.pipe2(os.O_CLOEXEC), os.pipe2(os.O_CLOEXEC)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(requests[1])
                os.close(replies[0])
                _compare(jobs, sizes, requests[0], replies[1])
            finally:
                os._exit(0)
        os.close(requests[0])
        os.close(replies[1])
        self.requests, self.replies = requests[1], replies[0]
        self.ready = os.read(self.replies, 1) == b"r"  # the expected outputs are off the job pipe

    def matches(self, index, output):
        """Whether ``output`` (a run's, as printed) is test ``index``'s expected output."""
        if not self.ready:
            return False
        if self.whitespace:
            output = b" ".join(output.split())
        try:
            frames.write_all(self.requests, index.to_bytes(4, "big") + len(output).to_bytes(8, "big"))
            frames.write_all(self.requests, output)
            return os.read(self.replies, 1) == b"1"
        except OSError:
            return False

    def close(self):
        os.close(self.requests)
        os.close(self.replies)
        os.waitpid(self.pid, 0)


def _compare(jobs, sizes, requests, replies):
    """The comparer's side: read the expected outputs, say so, then answer each request (a test's
    index and a run's normalized output) with b"1" when it equals that test's expected output."""
    layers.kernel.prctl(layers.kernel.PR_SET_DUMPABLE, 0)
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    expected = bytearray(offsets[-1])
    with memoryview(expected) as view:
        got = 0
        while got < len(expected):
            count = os.readv(jobs, [view[got:]])
            if count == 0:
                return
            got += count
    os.close(jobs)
    os.write(replies, b"r")
    while True:
        header = frames.read_exact(requests, 12)
        if header is None:
            return
        index, size = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")
        output = frames.read_exact(requests, size) if size else b""
        if output is None or not 0 <= index < len(sizes):
            return
        with memoryview(expected)[offsets[index] : offsets[index + 1]] as wanted:
            os.write(replies, b"1" if wanted == output else b"0")


def _setpgid(pid):
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass


def _high(fd):
    """Move ``fd`` above the descriptors a child rearranges (close-on-exec)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)
    os.close(fd)
    return moved


def _kill_child(pidfd):
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass  # already gone


def _killpg(pid):
    """SIGKILL the process group; False when not allowed to."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except PermissionError:
        return False
    except OSError:
        pass
    return True


def _has_children():
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _reap_orphans(deadline):
    """Reap reparented descendants until none is left (or ``deadline``)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)


def _returncode(status):
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def main():
    config = json.loads(sys.argv[1])
    layers.kernel.prctl(layers.kernel.PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the host
    os.environ.clear()
    os.environ.update(
        {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": config["workdir"], "TMPDIR": config["workdir"]}
    )
    for name in config.get("preload", ()):
        try:
            __import__(name)
        except ImportError:
            pass
    executor = Executor(config)
    del sys.modules["__main__"].__dict__["main"]
    executor.serve()


if __name__ == "__main__":
    main()
