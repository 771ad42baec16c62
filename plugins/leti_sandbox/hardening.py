"""What a forked child does to itself before it runs a program (standard library only).

What is the same for every program is set once in the executor and inherited by each fork:
no_new_privs and the limits that do not depend on the job (``set_shared``). Each child then
arranges its descriptors, sets its job's limits, switches to the unprivileged uid (which drops
every capability) and confines itself with Landlock (and seccomp, when the executor could not
install it for everyone), which stay in force for everything the program starts. Every step in a
child costs copy-on-write page faults, which is most of what a short program costs.
"""

import os
import resource
import signal

MIB = 1024 * 1024


class Plan:
    """The layers one executor applies to every child; built once, before any fork."""

    def __init__(self, workdir, uid=None, gid=None, ruleset=None, seccomp=None,
                 max_processes=16, max_open_files=256, file_bytes=16 * MIB, parent_death_signal=True):
        self.workdir = workdir
        self.uid, self.gid = uid, gid
        self.ruleset = ruleset          # Landlock ruleset fd, or None
        self.seccomp = seccomp          # BPF program bytes, or None
        self.max_processes = max_processes
        self.max_open_files = max_open_files
        self.file_bytes = file_bytes
        # False where the executor's PID namespace ends with it (bubblewrap, a container): the
        # kernel then kills every program with it, and children skip the prctl
        self.parent_death_signal = parent_death_signal


def _limit(which, value):
    resource.setrlimit(which, (value, value))


def set_shared(plan, kernel):
    """In the executor, once: no_new_privs and the limits every program gets (inherited)."""
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)  # the executor never executes anything
    _limit(resource.RLIMIT_FSIZE, plan.file_bytes)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, plan.max_open_files)
    _limit(resource.RLIMIT_MEMLOCK, 0)


def set_limits(plan, memory_mb, cpu_seconds):
    """In the child: the job's memory and CPU time, and processes for its uid."""
    _limit(resource.RLIMIT_AS, memory_mb * MIB)
    _limit(resource.RLIMIT_CPU, cpu_seconds)  # counts from zero in each child, not in the executor
    if plan.uid is not None:  # counts per real uid (and not for root): set after the fork, for the slot's uid
        _limit(resource.RLIMIT_NPROC, plan.max_processes)


def setup_descriptors(plan, stdout, stderr, report):
    """The capture pipes on 1 and 2, the report on 3, nothing else open but stdin, which is the
    executor's /dev/null."""
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    os.dup2(report, 3)
    if plan.ruleset is not None:
        os.dup2(plan.ruleset, 4)
        os.closerange(5, 1 << 20)
    else:
        os.closerange(4, 1 << 20)


def drop_privileges(plan, kernel, executor_pid):
    """Switch to the slot's uid and die with the executor."""
    if plan.uid is not None:
        os.setgroups([])
        os.setresgid(plan.gid, plan.gid, plan.gid)
        os.setresuid(plan.uid, plan.uid, plan.uid)
    if plan.parent_death_signal:
        kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)  # cleared by setuid: set it after
        if os.getppid() != executor_pid:  # the executor died before that
            os._exit(1)


def confine(plan, kernel):
    """Landlock (filesystem, TCP, signals) then the seccomp filter."""
    if plan.ruleset is not None:
        kernel.landlock_restrict(4)
        os.close(4)
    if plan.seccomp is not None:
        kernel.install_filter(plan.seccomp)


def harden(plan, kernel, executor_pid, memory_mb, cpu_seconds, fds):
    """The child's steps, in order; raises OSError if a layer cannot be applied."""
    setup_descriptors(plan, *fds)
    os.chdir(plan.workdir)
    set_limits(plan, memory_mb, cpu_seconds)
    drop_privileges(plan, kernel, executor_pid)
    confine(plan, kernel)
