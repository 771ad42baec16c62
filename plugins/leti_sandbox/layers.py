"""Which isolation layers the executor can apply here, and the plan that applies them.

Standard library only. The executor calls ``prepare``: it builds each layer the host asked for,
then proves the whole plan in a throw-away child before any program runs, so a layer the kernel
(or a container runtime) refuses is reported as off, with the reason, instead of failing later.
"""

import json
import os

try:
    from . import hardening, kernel, reaper, seccomp_filter
except ImportError:  # loaded by path inside the executor
    import importlib.util

    def _sibling(name):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
        spec = importlib.util.spec_from_file_location("leti_sandbox_" + name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    hardening, kernel, reaper, seccomp_filter = (
        _sibling(name) for name in ("hardening", "kernel", "reaper", "seccomp_filter")
    )

LAYERS = ("rlimits", "uid", "tmpfs", "landlock-fs", "landlock-net", "landlock-scope", "seccomp")
DEVICE_PATHS = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def _on(detail):
    return {"on": True, "detail": detail}


def _off(detail):
    return {"on": False, "detail": detail}


def prepare(config, keep_fd=lambda fd: fd):
    """The Plan for this executor and a report ``{layer: {"on", "detail"}}``."""
    off = set(config.get("disable", ()))
    report = {"rlimits": _on("address space, CPU time, file size, open files, core dumps")}
    uid, gid, workdir = config.get("uid"), config.get("gid"), config["workdir"]
    if "uid" in off:
        report["uid"], uid = _off("disabled by option"), None
    elif uid is None:
        report["uid"] = _off(config.get("uid_reason") or "no unprivileged uid was allotted")
    elif os.geteuid() != 0:
        report["uid"], uid = _off("not running as root: cannot switch to an unprivileged uid"), None
    else:
        report["uid"] = _on("uid %d of its own, process limit %d" % (uid, config["max_processes"]))
        report["rlimits"]["detail"] += ", processes"
    report["tmpfs"] = _tmpfs(config, uid, gid, off)
    ruleset = None
    abi = kernel.landlock_abi()
    if "landlock" in off or "landlock-fs" in off:
        report["landlock-fs"] = _off("disabled by option")
    elif abi <= 0:
        report["landlock-fs"] = _off("the kernel has no Landlock (or it is disabled at boot)")
    else:
        try:
            read_paths = list(config.get("read_paths", ())) + list(DEVICE_PATHS[1:])
            ruleset = keep_fd(kernel.create_ruleset(abi, read_paths, [workdir, "/dev/null"]))
            report["landlock-fs"] = _on(
                "ABI %d: read-only system and Python paths, writes only in the work folder" % abi
            )
        except OSError as error:
            report["landlock-fs"] = _off("ruleset refused: %s" % error)
    net_on = ruleset is not None and abi >= 4
    report["landlock-net"] = (
        _on("no TCP bind or connect")
        if net_on
        else _off(
            "needs Landlock ABI 4 (kernel has %d)" % abi if ruleset is not None and abi < 4 else "needs landlock-fs"
        )
    )
    scope_on = ruleset is not None and abi >= 6
    report["landlock-scope"] = (
        _on("no signals or abstract UNIX sockets outside the sandbox")
        if scope_on
        else _off(
            "needs Landlock ABI 6 (kernel has %d)" % abi if ruleset is not None and abi < 6 else "needs landlock-fs"
        )
    )
    bpf = None
    if "seccomp" in off:
        report["seccomp"] = _off("disabled by option")
    elif not kernel.seccomp_available():
        report["seccomp"] = _off("the kernel does not offer seccomp filters")
    elif seccomp_filter.supported_machine() is None:
        report["seccomp"] = _off("no syscall table for this architecture")
    else:
        bpf = seccomp_filter.build(process_groups=uid is None)
        report["seccomp"] = _on(
            "no sockets, io_uring, namespaces, ptrace" + ("" if uid is not None else ", setsid/setpgid")
        )
    plan = hardening.Plan(
        workdir,
        uid,
        gid,
        ruleset,
        bpf,
        config.get("max_processes", 16),
        config.get("max_open_files", 256),
        config.get("file_mb", 16) * 1024 * 1024,
        parent_death_signal=not config.get("pid_namespace"),
    )
    try:
        hardening.set_shared(plan, kernel)
    except OSError as error:  # no sandbox without them: the executor does not start
        raise OSError("no_new_privs or the shared rlimits were refused: %s" % error) from None
    _prove(plan, report)
    if plan.uid is not None:
        # started before the executor confines itself: programs cannot signal it (Landlock scope)
        plan.reaper = reaper.UidReaper(plan.uid, plan.gid, workdir, kernel)  # leftovers are killed by uid
        if plan.ruleset is not None:
            _confine_executor(plan, report)
        if plan.seccomp is not None:  # inherited by every child: installed once, here
            try:
                kernel.install_filter(plan.seccomp)
                report["seccomp"]["detail"] += " (installed once in the executor, inherited)"
            except OSError as error:
                report["seccomp"] = _off("refused in the executor: %s" % error)
            plan.seccomp = None
    try:
        kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass
    plan.harden = hardening.child_hardening(plan, kernel, os.getpid())
    return plan, report


def _confine_executor(plan, report):
    """With a uid of its own, the executor enters the Landlock domain itself, once, and every
    child inherits it instead of creating one (a child's ctypes call costs about 20 page
    faults). Programs then share the executor's domain, so the scope would let them signal it:
    the uid forbids that, as it forbids signalling any root process."""
    try:
        kernel.landlock_restrict(plan.ruleset)
    except OSError:
        return  # each child creates its own domain, as the proof did
    for name in ("landlock-fs", "landlock-net", "landlock-scope"):
        if report[name]["on"]:
            report[name]["detail"] += " (the executor's domain, inherited)"
    os.close(plan.ruleset)
    plan.ruleset = None
    plan.reaper.confined = True  # a helper started from now on would be in the programs' domain


def _tmpfs(config, uid, gid, off):
    """As root: a mount namespace of the executor's own, with a size-limited tmpfs work folder
    and the Python installation reachable by the unprivileged uid (folders it cannot enter,
    such as /root for a pyenv Python, are covered by an empty tmpfs)."""
    size = config.get("tmpfs_mb", 64)
    if "tmpfs" in off:
        return _off("disabled by option: work folder %s" % config["workdir"])
    if config.get("private_tmpfs") and os.geteuid() == 0:
        try:
            kernel.private_mounts()
            kernel.mount_tmpfs(
                config["workdir"],
                "size=%dm,mode=0700,uid=%d,gid=%d"
                % (size, uid if uid is not None else 0, gid if gid is not None else 0),
            )
            covered = kernel.expose_read_only(config.get("read_paths", ()), uid, gid) if uid is not None else []
            hidden = " (%s hidden)" % ", ".join(covered) if covered else ""
            return _on("private %d MiB tmpfs, gone when the executor exits%s" % (size, hidden))
        except OSError as error:
            return _off("private tmpfs refused (%s): work folder %s" % (error, config["workdir"]))
    if config.get("tmpfs_reason"):
        return _on(config["tmpfs_reason"])
    return _off("work folder %s, file size limited by rlimit only" % config["workdir"])


def _prove(plan, report):
    """Run the children's hardening in a throw-away child; switch off each layer it refuses and
    try again, until it passes. Raises OSError when a child cannot be hardened at all."""
    refused_before = set()
    while True:
        refused = _refused_layer(plan)
        if refused is None:
            return
        layer, reason = refused
        if layer is None or layer == "rlimits" or layer in refused_before:
            raise OSError("a child could not be hardened (%s): %s" % (layer or "before any layer", reason))
        refused_before.add(layer)
        report[layer] = _off("refused here: %s" % reason)
        if layer == "uid":
            plan.uid = plan.gid = None
            if plan.seccomp is not None:
                # built for a uid of its own (leftovers killed by uid); without one, they are
                # found by process group, so programs must not leave theirs
                plan.seccomp = seccomp_filter.build(process_groups=True)
                report["seccomp"]["detail"] += ", setsid/setpgid"
        elif layer == "landlock-fs":
            os.close(plan.ruleset)
            plan.ruleset = None
            report["landlock-net"] = report["landlock-scope"] = _off("needs landlock-fs")
        elif layer == "seccomp":
            plan.seccomp = None


def _refused_layer(plan):
    """None if a child accepts every layer of ``plan``, else (layer or None, reason)."""
    harden = hardening.child_hardening(plan, kernel, os.getpid())
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            outcome = {}
            try:
                harden(64, 5, write_end, write_end, write_end)
            except hardening.Refused as refusal:
                outcome = {"layer": refusal.layer, "reason": refusal.reason}
            except BaseException as error:
                outcome = {"layer": None, "reason": str(error)}
            os.write(3, json.dumps(outcome).encode())  # the pipe, if the descriptors were arranged
        finally:
            os._exit(0)  # never back into the executor's code
    os.close(write_end)
    data = b""
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    if not data:
        return ("uid" if plan.uid is not None else None), "the probe child died"
    outcome = json.loads(data)
    return (outcome["layer"], outcome["reason"]) if outcome else None
