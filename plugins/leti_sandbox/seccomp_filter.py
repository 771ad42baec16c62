"""The seccomp filter for sandboxed programs, built as raw BPF (standard library only).

Raw BPF rather than libseccomp: the filter is small and fixed and needs no native dependency.
Installing a filter costs about 0.25 ms here whatever its size (the kernel compiles it), so a
root executor installs it once on itself and every child inherits it; otherwise each child
installs it with a single prctl. It denies with EPERM:

- ``socket`` (every family: Landlock does not cover UDP or pathname UNIX sockets), ``connect``;
  ``socketpair`` stays allowed (a private pair, nothing on the host);
- ``setsid``/``setpgid`` (when leftovers are found by process group), so every process the
  program starts stays in its group and dies with it;
- ``ptrace``, ``process_vm_*``, namespaces (``unshare``, ``setns``, namespace flags to ``clone``;
  ``clone3`` answers ENOSYS so libc falls back to ``clone``), mounts, ``bpf``,
  ``perf_event_open``, ``userfaultfd``, ``io_uring`` (it can open sockets without ``socket``),
  keyrings, modules, ``kexec``, ``pidfd_getfd``.

Any other architecture than the one the table was built for is killed, as are x32 calls.
"""

import errno
import os
import struct

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X86_64 = {
    "socket": 41,
    "connect": 42,
    "ptrace": 101,
    "setpgid": 109,
    "setsid": 112,
    "unshare": 272,
    "setns": 308,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "bpf": 321,
    "perf_event_open": 298,
    "userfaultfd": 323,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "open_by_handle_at": 304,
    "personality": 135,
    "clone": 56,
}
_AARCH64 = {
    "socket": 198,
    "connect": 203,
    "ptrace": 117,
    "setpgid": 154,
    "setsid": 157,
    "unshare": 97,
    "setns": 268,
    "mount": 40,
    "umount2": 39,
    "pivot_root": 41,
    "chroot": 51,
    "bpf": 280,
    "perf_event_open": 241,
    "userfaultfd": 282,
    "process_vm_readv": 270,
    "process_vm_writev": 271,
    "kexec_load": 104,
    "kexec_file_load": 294,
    "keyctl": 219,
    "add_key": 217,
    "request_key": 218,
    "init_module": 105,
    "finit_module": 273,
    "delete_module": 106,
    "open_by_handle_at": 265,
    "personality": 92,
    "clone": 220,
}
SYSCALLS = {"x86_64": _X86_64, "aarch64": _AARCH64}
# New-style syscalls share their numbers across architectures.
COMMON = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}
CLONE3 = 435
NAMESPACE_FLAGS = (
    0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
)  # CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET

_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000


def _op(code, k, jt=0, jf=0):
    return struct.pack("<HBBI", code, jt, jf, k)


def supported_machine():
    """The architecture name when a syscall table exists for this machine, else None."""
    machine = os.uname().machine  # not platform.machine(): the platform module is large
    return machine if machine in SYSCALLS else None


def build(machine=None, process_groups=True):
    """The filter program as bytes of ``struct sock_filter`` for ``machine`` (default: this one).

    ``process_groups=False`` leaves ``setsid``/``setpgid`` allowed, for an executor that
    installs the filter on itself once and kills leftovers by uid instead.
    """
    machine = machine or supported_machine()
    if machine not in SYSCALLS:
        raise OSError(errno.ENOSYS, "no seccomp syscall table for " + str(machine))
    table = dict(SYSCALLS[machine])
    clone = table.pop("clone")
    if not process_groups:
        del table["setsid"], table["setpgid"]
    denied = sorted(set(table.values()) | set(COMMON.values()))
    eperm, enosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    program = [
        _op(_LD_ABS_W, 4),  # seccomp_data.arch
        _op(_JEQ, AUDIT_ARCH[machine], 1, 0),
        _op(_RET, RET_KILL_PROCESS),
        _op(_LD_ABS_W, 0),  # seccomp_data.nr
        _op(_JGE, 0x40000000, 0, 1),  # x32 ABI
        _op(_RET, RET_KILL_PROCESS),
        _op(_JEQ, CLONE3, 0, 1),
        _op(_RET, enosys),
        _op(_JEQ, clone, 0, 4),
        _op(_LD_ABS_W, 16),  # clone flags (low 32 bits of args[0])
        _op(_JSET, NAMESPACE_FLAGS, 0, 1),
        _op(_RET, eperm),
        _op(_RET, RET_ALLOW),
    ]
    for index, number in enumerate(denied):
        program.append(_op(_JEQ, number, len(denied) - index, 0))
    program.append(_op(_RET, RET_ALLOW))
    program.append(_op(_RET, eperm))
    return b"".join(program)
