"""Thin ctypes wrappers over the Linux calls the executor needs: prctl and Landlock.

Standard library only: the warm executor loads this file by path inside a bare interpreter
(``python -I -S``). Every function either works or raises OSError; callers decide what a
missing feature means.
"""

import ctypes
import os
import struct

SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

# Landlock filesystem rights, by the ABI that introduced them.
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FILE_ONLY_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (1 << 14) | (1 << 15)
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2  # ABI 4
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2  # ABI 6

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


def _check(result):
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    """prctl(2); raises OSError on failure."""
    args = (
        ctypes.c_ulong(arg2) if isinstance(arg2, int) else arg2,
        ctypes.c_ulong(arg3) if isinstance(arg3, int) else arg3,
        ctypes.c_ulong(arg4),
        ctypes.c_ulong(arg5),
    )
    return _check(_libc.prctl(ctypes.c_int(option), *args))


def syscall(number, *args):
    """A raw system call with integer or pointer arguments."""
    converted = [ctypes.c_long(arg) if isinstance(arg, int) else arg for arg in args]
    return _check(_libc.syscall(ctypes.c_long(number), *converted))


def landlock_abi():
    """The kernel's Landlock ABI version (0 when Landlock is absent or disabled)."""
    try:
        return syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    except OSError:
        return 0


def fs_rights(abi):
    """Every filesystem right the given ABI can restrict."""
    return FS_RIGHTS_BY_ABI[max(level for level in FS_RIGHTS_BY_ABI if level <= abi)]


def create_ruleset(abi, read_paths, write_paths):
    """A Landlock ruleset fd: read (and execute) under ``read_paths``, everything under
    ``write_paths``, nothing elsewhere; no TCP bind/connect (ABI 4+); no signals or abstract
    UNIX sockets outside the sandbox (ABI 6+). Paths that do not exist are skipped."""
    handled_fs = fs_rights(abi)
    handled_net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("<QQQ", handled_fs, handled_net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    buffer = ctypes.create_string_buffer(attr[:size], size)
    ruleset = syscall(SYS_LANDLOCK_CREATE_RULESET, buffer, size, 0)
    try:
        for paths, rights in ((read_paths, FS_READ), (write_paths, handled_fs)):
            for path in paths:
                _add_path_rule(ruleset, path, rights & handled_fs)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def _add_path_rule(ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= FILE_ONLY_RIGHTS
        rule = ctypes.create_string_buffer(struct.pack("<Qi", rights, fd), 12)  # packed struct
        syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, rule, 0)
    finally:
        os.close(fd)


def landlock_restrict(ruleset):
    """Confine the calling thread (and its future children) to ``ruleset``; needs no_new_privs."""
    syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0)


def install_filter(program):
    """Install a seccomp BPF program (bytes of sock_filter records); needs no_new_privs."""
    count = len(program) // 8
    filters = ctypes.create_string_buffer(program, len(program))
    fprog = ctypes.create_string_buffer(struct.pack("<HxxxxxxQ", count, ctypes.addressof(filters)), 16)
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def seccomp_available():
    """Whether the kernel accepts seccomp filters (checked without installing one)."""
    try:
        with open("/proc/sys/kernel/seccomp/actions_avail") as handle:
            return "errno" in handle.read().split()
    except OSError:
        return False


CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 0x4000, 1 << 18
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def private_mounts():
    """Give this process a mount namespace of its own (needs root): later mounts stay private."""
    _check(_libc.unshare(CLONE_NEWNS))
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None))


def mount_tmpfs(path, options):
    _check(_libc.mount(b"leti-work", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()))


def blocked_ancestor(path, uid, gid):
    """The first folder above ``path`` that ``uid`` cannot enter, or None."""
    current = "/"
    for part in path.strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        info = os.stat(current)
        bit = 0o100 if info.st_uid == uid else 0o010 if info.st_gid == gid else 0o001
        if not info.st_mode & bit:
            return current
    return None


def expose_read_only(paths, uid, gid):
    """Make each of ``paths`` reachable (read-only) by ``uid`` in this mount namespace: a
    folder on the way that ``uid`` cannot enter (``/root`` for a pyenv Python) is covered by
    an empty tmpfs, and only ``path`` is bind-mounted back into it. Returns the covered folders."""
    blocked = {}
    for path in paths:
        ancestor = blocked_ancestor(path, uid, gid) if os.path.isdir(path) else None
        if ancestor is not None:
            blocked.setdefault(ancestor, []).append((path, os.open(path, os.O_PATH | os.O_CLOEXEC)))
    for ancestor, entries in blocked.items():
        mount_tmpfs(ancestor, "mode=0755,size=1m")
        for path, fd in entries:
            os.makedirs(path, exist_ok=True)
            source = ("/proc/self/fd/%d" % fd).encode()
            _check(_libc.mount(source, path.encode(), None, MS_BIND | MS_REC, None))
            _check(_libc.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, None))
            os.close(fd)
    return sorted(blocked)
