"""Kills everything a program left running, by uid (standard library only).

A helper process runs as the slot's unprivileged uid, detached from the executor (so the
executor's ``waitpid(-1)`` only ever sees program processes) and listening on a pipe. Each
``sweep()`` makes it call ``kill(-1, SIGKILL)``, which reaches every process of that uid but
itself, wherever the program moved them (new sessions, new process groups). The helper starts
before the executor enters its Landlock domain, so the signal scope keeps programs from killing
it; if one does anyway, ``sweep`` falls back to a one-off helper for each sweep from then on (a
helper started later would share the programs' domain, and they could stop it).
"""

import os
import signal


class UidReaper:
    def __init__(self, uid, gid, workdir, kernel):
        self.uid, self.gid, self.workdir, self.kernel = uid, gid, workdir, kernel
        self.commands = self.acks = -1
        self.confined = False  # set once the executor entered the programs' Landlock domain
        self.start()
        self.sweep()  # whatever a previous executor of this uid left, if it died without cleaning up

    def start(self):
        """Start the helper; the executor stops being a subreaper meanwhile, so that the helper
        is adopted by init, never by the executor (whose children are program processes only)."""
        self.kernel.prctl(self.kernel.PR_SET_CHILD_SUBREAPER, 0)
        try:
            self._start()
        finally:
            self.kernel.prctl(self.kernel.PR_SET_CHILD_SUBREAPER, 1)

    def _start(self):
        command_read, command_write = os.pipe2(os.O_CLOEXEC)
        ack_read, ack_write = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            try:
                if os.fork() == 0:  # detach: the helper is nobody's child here
                    os.close(command_write)
                    os.close(ack_read)
                    self._serve(command_read, ack_write)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        os.close(command_read)
        os.close(ack_write)
        self.commands, self.acks = command_write, ack_read

    def _serve(self, commands, acks):
        os.dup2(commands, 0)
        os.dup2(acks, 1)
        os.closerange(2, 1 << 20)  # hold none of the executor's pipes open
        commands, acks = 0, 1
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)
        while os.read(commands, 1):  # end of file: the executor is gone
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            empty_folder(self.workdir)  # as the uid that wrote there
            os.write(acks, b"k")
        os._exit(0)

    def sweep(self):
        """SIGKILL every other process of the uid and empty the work folder; returns once done."""
        try:
            os.write(self.commands, b"s")
            if os.read(self.acks, 1):
                return
        except OSError:
            pass
        self.close()
        kill_uid(self.uid)
        empty_folder(self.workdir)
        if not self.confined:
            self.start()

    def close(self):
        for fd in (self.commands, self.acks):
            if fd >= 0:
                os.close(fd)
        self.commands = self.acks = -1


def kill_uid(uid):
    """SIGKILL every process running as ``uid`` (a forked helper that becomes ``uid``)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def empty_folder(path):
    """Remove everything inside ``path`` (not ``path`` itself)."""
    try:
        with os.scandir(path) as entries:
            names = [entry.name for entry in entries]
    except OSError:
        return
    for name in names:
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            import shutil  # here, not at the top: it loads zlib, bz2 and lzma, 30 more mappings
            #                to copy at every fork of the executor

            shutil.rmtree(target, ignore_errors=True)
        else:
            try:
                os.unlink(target)
            except OSError:
                pass
