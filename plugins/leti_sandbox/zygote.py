"""The zygote: a copy of the warm executor whose only job is to fork program children.

Forking copies nothing at first, but afterwards every page the forking process writes is a
copy-on-write fault (about 2-3 us each on these VMs). The executor writes a few hundred pages
per program (pipes, polling, result frames); the zygote, idle between forks, writes a few
dozen. So the executor forks the zygote once, after warming up, and the zygote forks every
child; the executor keeps watching, killing and reporting.

Per program, over a SOCK_SEQPACKET pair (standard library only):
  executor -> zygote: ``"MEMORY_MB CPU_SECONDS NONCE"`` with four descriptors: the job pipe's
                      read end (the source arrives there) and the stdout, stderr and report
                      pipes' write ends;
  zygote -> executor: the child's pid and a pidfd for it (the executor watches that);
  executor -> zygote: ``"finish"``, once the child ended and its process group was killed;
  zygote -> executor: ``"STATUS LEFTOVERS"``: the wait status, and 1 if any other process
                      (an orphan the zygote adopted as subreaper) is still around.
The child is reaped only at ``finish``: until then its pid, also its process group's id,
cannot be reused, so the executor's group kill never reaches a stranger. ``"reap"`` reaps
adopted orphans once the executor killed them. The zygote dies with the executor.
"""

import os
import signal
import socket
import time

MESSAGE = 256


class Zygote:
    """The executor's handle on its zygote."""

    def __init__(self, kernel, start_child, keep_fds):
        """Fork the zygote; ``start_child(header, fds, zygote_pid)`` runs in each child and never
        returns; the zygote closes every descriptor above 2 but ``keep_fds``."""
        self.socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            try:
                self.socket.close()
                _serve(theirs, kernel, start_child, set(keep_fds) | {theirs.fileno()})
            finally:
                os._exit(70)
        theirs.close()
        self.pid = pid

    def start(self, header, fds):
        """Send a job's descriptors; returns the child's (pid, pidfd)."""
        socket.send_fds(self.socket, [header.encode()], fds)
        message, received, _, _ = socket.recv_fds(self.socket, MESSAGE, 1)
        if not message or len(received) != 1:
            for fd in received:
                os.close(fd)
            raise OSError("the zygote died")
        return int(message), received[0]

    def finish(self):
        """Reap the child; returns (wait status, whether other processes are left)."""
        return tuple(int(part) for part in self._ask(b"finish").split())

    def reap(self):
        """Reap the orphans the zygote adopted (after they were killed)."""
        self._ask(b"reap")

    def _ask(self, command):
        self.socket.send(command)
        answer = self.socket.recv(MESSAGE)
        if not answer:
            raise OSError("the zygote died")
        return answer

    def close(self):
        self.socket.close()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _serve(sock, kernel, start_child, keep):
    kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the executor
    kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)         # adopt what programs leave behind
    low = 3  # hold none of the executor's other descriptors (its pipes to the host, the reaper's)
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, 1 << 20)
    me = os.getpid()
    child = None
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, MESSAGE, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)  # the executor is gone
        if message == b"finish":
            _, status = os.waitpid(child, 0)
            child = None
            sock.send(b"%d %d" % (status, _has_children()))
            continue
        if message == b"reap":
            _reap_orphans(time.monotonic() + 2.0)
            sock.send(b"ok")
            continue
        child = os.fork()
        if child == 0:
            start_child(message.decode(), fds, me)
        for fd in fds:
            os.close(fd)
        try:
            os.setpgid(child, child)
        except OSError:  # cannot happen before the child runs its program; never run it in our group
            os.kill(child, signal.SIGKILL)
        pidfd = os.pidfd_open(child)
        socket.send_fds(sock, [b"%d" % child], [pidfd])
        os.close(pidfd)


def _has_children():
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _reap_orphans(deadline):
    """Reap adopted descendants until none is left (or ``deadline``)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
