"""The sandbox's launcher: the code that runs in the child processes, never in the caller.

The caller runs this file, compiled and marshalled, as ``python -I -S -B -c BOOTSTRAP CODE
CONFIG`` (:data:`BOOTSTRAP`; CODE and CONFIG marshalled, in hex), with descriptors 0 and 1 on
``/dev/null``, 2 on a capture file, and two more (named in the config) on a report file and on
the program's source. ``CONFIG`` (a dict, built by :mod:`codels.sandbox.backends`) names
the mode:

``namespaces``
    The supervisor forks a child that unshares user, mount, PID, network, IPC, UTS and cgroup
    namespaces; the supervisor, still outside, writes the child's uid and gid maps (to the
    caller's own ids, or to 65534 when the caller is root, so the program is nobody to the
    kernel). The child forks the namespace's PID 1, which builds a new root on a tmpfs (the
    system directories and the interpreter bound read-only, a private ``/dev``, ``/proc`` and
    ``/tmp``), pivots into it and confines itself (below) before it becomes the program.
``bubblewrap``
    The supervisor runs ``bwrap`` with the arguments in the config; bwrap runs this file again
    as ``inner``, which confines itself and becomes the program.
``plain``
    The program runs in a process group of its own with resource limits, in a temporary
    directory, either under the command the config puts first (macOS's ``sandbox-exec`` and
    its profile) or with nothing else around it (``--unsafe-exec``).

Confining is the same everywhere: resource limits, every capability dropped, ``no_new_privs``,
Landlock rules and a seccomp filter when the config carries them, and an empty environment.
The supervisor kills what it started when the time is up, so the tree ends even if the caller
is gone. Before the program starts, the launcher reports the layers that took effect.

This module imports only the standard library: it runs before anything of codels could.
"""

from __future__ import annotations

import ctypes
import marshal
import os
import resource
import select
import signal
import sys
import time
from typing import Any, NoReturn

BOOTSTRAP = "import marshal, sys; exec(marshal.loads(bytes.fromhex(sys.argv[1])))"
"""What ``python -c`` runs: the launcher's code object, given as the first argument."""
REPORT_FD = 3
"""Where the records go; the caller names the real descriptors in the config (``fds``)."""
PROGRAM_FD = 4
PROGRAM_NAME = "program.py"
SANDBOX_UID = 65534
"""The kernel-side user the program runs as when the caller is root (nobody)."""

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
MOUNT_SETATTR = 442
"""The number of ``mount_setattr`` and of the three Landlock calls below is the same on every
architecture the seccomp filter knows (the unified table of Linux 5.x)."""
LANDLOCK_SYSCALLS = (444, 445, 446)
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 1
MOUNT_ATTR_NOSUID = 2
MOUNT_ATTR_NODEV = 4
PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_IS_SET = 1
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
SECUREBITS_LOCKED_NOROOT = 0xEF
"""NOROOT, NO_SETUID_FIXUP and NO_CAP_AMBIENT_RAISE set, KEEP_CAPS cleared, all four locked:
root inside the namespace gets no capabilities back from ``execve``."""
LINUX_CAPABILITY_VERSION_3 = 0x20080522
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_RIGHTS = {
    "execute": 1 << 0,
    "write_file": 1 << 1,
    "read_file": 1 << 2,
    "read_dir": 1 << 3,
    "remove_dir": 1 << 4,
    "remove_file": 1 << 5,
    "make_char": 1 << 6,
    "make_dir": 1 << 7,
    "make_reg": 1 << 8,
    "make_sock": 1 << 9,
    "make_fifo": 1 << 10,
    "make_block": 1 << 11,
    "make_sym": 1 << 12,
    "refer": 1 << 13,
    "truncate": 1 << 14,
    "ioctl_dev": 1 << 15,
}
LANDLOCK_FILE_RIGHTS = ("execute", "write_file", "read_file", "truncate", "ioctl_dev")
LANDLOCK_NET_TCP = 0b11
"""Binding and connecting TCP sockets (ABI 4)."""
LANDLOCK_SCOPES = 0b11
"""Abstract Unix sockets and signals outside the domain (ABI 6)."""
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """A step of building the sandbox failed; the message says which and why."""


def _call(result: int, what: str) -> int:
    if result < 0:
        number = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(number)}")
    return result


def report(**items: object) -> None:
    """Append one record to the report file (best effort: it may be closed).

    A record is a marshalled dict after its length (4 bytes, little-endian); marshal, unlike
    json, is built into the interpreter, and importing json would double the start-up time.
    """
    data = marshal.dumps(items)
    try:  # noqa: SIM105 (contextlib would cost the launcher's start-up more than it saves)
        os.write(REPORT_FD, len(data).to_bytes(4, "little") + data)
    except OSError:
        pass


def fail(stage: str, error: BaseException) -> NoReturn:
    """Report why ``stage`` failed (and where, for an unexpected error), then end this process."""
    if isinstance(error, SetupError):
        report(error=f"{stage}: {error}")
    else:
        import traceback  # only on this path: a bug or a kernel that says no unexpectedly

        where = traceback.extract_tb(error.__traceback__)[-1]
        report(error=f"{stage}: {where.name} (line {where.lineno}): {error!r}")
    os._exit(125)


def _prctl(option: int, value: int = 0, what: str = "prctl") -> None:
    prctl = _libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    _call(prctl(option, value, 0, 0, 0), what)


def _syscall(number: int, *args: int | bytes | ctypes.Array[Any] | None) -> int:
    syscall = _libc.syscall
    syscall.restype = ctypes.c_long
    converted: list[object] = [ctypes.c_long(number)]
    for argument in args:
        converted.append(ctypes.c_long(argument) if isinstance(argument, int) else argument)
    return int(syscall(*converted))


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    mount = _libc.mount
    mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    encoded = [value.encode() if value is not None else None for value in (source, target, fstype)]
    result = mount(*encoded, flags, data.encode() if data else None)
    _call(result, f"mount {fstype or source or ''} on {target}")


def _umount(target: str) -> None:
    _call(_libc.umount2(target.encode(), MNT_DETACH), f"unmount {target}")


def _cloexec(descriptor: int) -> None:
    os.set_inheritable(descriptor, False)


# -- the supervisor, outside the sandbox ------------------------------------------------------


def supervise(pid: int, deadline: float, *, group: bool = False) -> int | None:
    """Wait for ``pid`` until ``deadline``, then kill it (its process group if ``group``).

    Returns its wait status, or None when it was killed for running out of time.
    """
    try:
        waiter: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):  # macOS, or a kernel before 5.3
        waiter = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            try:  # noqa: SIM105 (see report)
                os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return None
        if waiter is not None:
            select.select([waiter], [], [], remaining)
        else:
            time.sleep(min(remaining, 0.005))


def report_status(status: int | None) -> None:
    """Report how the program ended: its exit code, the signal that ended it, or timeout."""
    if status is None:
        report(status="timeout")
    elif os.WIFSIGNALED(status):
        report(status="signal", signal=os.WTERMSIG(status))
    else:
        report(status="exit", code=os.waitstatus_to_exitcode(status))


def run_namespaces(config: dict[str, Any], deadline: float) -> None:
    """The supervisor of the ``namespaces`` mode (see the module docstring)."""
    unshared_read, unshared_write = os.pipe()
    mapped_read, mapped_write = os.pipe()
    supervisor = os.getpid()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the sandbox come to us, not to init
    child = os.fork()
    if child == 0:
        os.close(unshared_read)
        os.close(mapped_write)
        try:
            namespace_child(config, supervisor, unshared_write, mapped_read)
        except BaseException as error:
            fail("sandbox", error)
    os.close(unshared_write)
    os.close(mapped_read)
    init = None
    if os.read(unshared_read, 1) == b"u":
        try:
            write_id_maps(child)
            os.write(mapped_write, b"m")
        except OSError as error:
            report(error=f"writing the uid/gid map: {error}")
        init = watch_init(unshared_read, child, deadline)
    os.close(mapped_write)
    status = supervise(child, deadline)
    if status is None:
        report_status(None)
    wait_gone(init)


def watch_init(channel: int, parent: int, deadline: float, *, text: bool = False) -> int | None:
    """A pidfd of the namespace's PID 1, whose pid its parent sends on ``channel``.

    Its end is the end of the whole namespace: the kernel kills and reaps every other process
    of a PID namespace before its PID 1 is gone. The pid comes as 4 bytes from the launcher's
    child, or (``text``) in bubblewrap's JSON status. It is trusted only while ``parent`` is
    alive: until the parent reaps it, the pid cannot be reused.
    """
    data = b""
    while not (found := _pid_in(data, text)):
        if not select.select([channel], [], [], max(0.0, deadline - time.monotonic()))[0]:
            return None
        chunk = os.read(channel, 4096)
        if not chunk:
            return None
        data += chunk
    try:
        watcher = os.pidfd_open(found)
    except (AttributeError, OSError):
        return None
    if os.waitpid(parent, os.WNOHANG) != (0, 0):
        os.close(watcher)
        return None
    return watcher


def _pid_in(data: bytes, text: bool) -> int:
    if not text:
        return int.from_bytes(data[:4], "little") if len(data) >= 4 else 0
    key = data.find(b'"child-pid"')
    if key < 0:
        return 0
    digits = data[key + 11 :].lstrip(b" :\t\n")
    number = digits[: len(digits) - len(digits.lstrip(b"0123456789"))]
    return int(number) if number and len(number) < len(digits) else 0


def wait_gone(watcher: int | None, seconds: float = 5.0) -> None:
    """Wait (a bounded time) until the process behind the pidfd ``watcher`` has ended."""
    if watcher is not None:
        select.select([watcher], [], [], seconds)
        os.close(watcher)
    try:  # PID 1 of the namespace, orphaned when its parent was killed, came to us: reap it
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def write_id_maps(child: int) -> None:
    """Map the child's root to the caller's ids, or to nobody's when the caller is root."""
    if os.geteuid() == 0:
        uid = gid = SANDBOX_UID
    else:
        uid, gid = os.geteuid(), os.getegid()
        with open(f"/proc/{child}/setgroups", "w") as setgroups:
            setgroups.write("deny")
    with open(f"/proc/{child}/uid_map", "w") as uid_map:
        uid_map.write(f"0 {uid} 1\n")
    with open(f"/proc/{child}/gid_map", "w") as gid_map:
        gid_map.write(f"0 {gid} 1\n")


def namespace_child(config: dict[str, Any], supervisor: int, unshared: int, mapped: int) -> None:
    """In the new namespaces, outside the new PID namespace: start its PID 1 and wait for it."""
    root_caller = os.geteuid() == 0  # asked now: once mapped, everyone is root inside
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
    flags |= CLONE_NEWUTS
    if _libc.unshare(flags) != 0:
        number = ctypes.get_errno()
        why = {
            1: "the kernel does not let this user make them (EPERM)",
            28: "the limit of user namespaces, or of their nesting, is reached (ENOSPC)",
        }.get(number, os.strerror(number))
        raise SetupError(f"cannot make user, mount, pid, network and ipc namespaces: {why}")
    layers = ["user-ns", "mount-ns", "pid-ns", "net-ns", "ipc-ns", "uts-ns"]
    if _libc.unshare(CLONE_NEWCGROUP) == 0:
        layers.append("cgroup-ns")
    # The sources are opened now, as the caller's user, before the switch to the sandbox's
    # user below (which may not be allowed to walk to them, e.g. an interpreter under /root).
    sources = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in config["binds"]}
    os.write(unshared, b"u")
    if os.read(mapped, 1) != b"m":
        raise SetupError("the supervisor could not map the sandbox's user")
    os.close(mapped)
    os.setresgid(0, 0, 0)
    if root_caller:
        os.setgroups([])
    os.setresuid(0, 0, 0)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # set after the uid change, which clears it
    if os.getppid() != supervisor:
        os._exit(1)
    lifeline_read, lifeline_write = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(lifeline_write)
        os.close(unshared)
        try:
            namespace_init(config, sources, lifeline_read, layers)
        except BaseException as error:
            fail("sandbox", error)
    os.close(lifeline_read)
    os.write(unshared, init.to_bytes(4, "little"))  # for the supervisor's watch_init
    os.close(unshared)
    for descriptor in sources.values():
        os.close(descriptor)
    _, status = os.waitpid(init, 0)
    report_status(status)
    os._exit(0)


def namespace_init(
    config: dict[str, Any], sources: dict[str, int], lifeline: int, layers: list[str]
) -> NoReturn:
    """PID 1 of the new PID namespace: build the root, confine, become the program."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if select.select([lifeline], [], [], 0)[0]:  # the parent died before the line above
        os._exit(1)
    _cloexec(lifeline)
    os.setsid()  # a session of its own: kill(0) and killpg reach nothing outside
    program = read_program()
    proc = build_root(config, sources)
    if not proc:
        layers.append("no-proc")
    _libc.sethostname(b"codels-sandbox", 14)  # cosmetic: a failure changes nothing
    confine(config, program, layers)


def build_root(config: dict[str, Any], sources: dict[str, int]) -> bool:
    """Build the new root on a tmpfs and pivot into it; whether ``/proc`` could be mounted."""
    new_root = "/tmp"
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    _make_mountpoint(new_root + "/tmp", directory=True)
    size = int(config["limits"]["tmp_bytes"])
    _mount("tmpfs", new_root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={size}")
    _build_dev(new_root, config)
    proc = _build_proc(new_root)
    for path in sorted(config["binds"]):  # sorted: a directory is shown before what is in it
        target, source = new_root + path, f"/proc/self/fd/{sources[path]}"
        _make_mountpoint(target, directory=os.path.isdir(source))
        _mount(source, target, None, MS_BIND | _recursive())
        _read_only(target)
    for link, pointee in config["symlinks"]:
        _make_parents(new_root + link)
        os.symlink(pointee, new_root + link)
    os.chdir(new_root)
    _call(_syscall(int(config["syscalls"]["pivot_root"]), b".", b"."), "pivot_root")
    _umount(".")  # the old root, stacked on the new one by pivot_root(".", ".")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return proc


def _recursive() -> int:
    return MS_REC if _mount_setattr_works() else 0


_setattr_state: list[bool] = []


def _mount_setattr_works() -> bool:
    """Whether ``mount_setattr`` exists (Linux 5.12): binds can then be made read-only whole."""
    if not _setattr_state:
        missing = _syscall(MOUNT_SETATTR, -1, b"", 0, None, 0) == -1 and ctypes.get_errno() == 38
        _setattr_state.append(not missing)
    return _setattr_state[0]


def _read_only(target: str) -> None:
    """Make the bind at ``target`` (and every mount below it) read-only, nosuid and nodev."""
    if _mount_setattr_works():
        attributes = (ctypes.c_uint64 * 4)(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
        _call(
            _syscall(MOUNT_SETATTR, AT_FDCWD, target.encode(), AT_RECURSIVE, attributes, 32),
            f"make {target} read-only",
        )
        return
    # Without mount_setattr the bind was not recursive; remount it, keeping the flags the
    # kernel locks (a user namespace may not clear nosuid, nodev, noexec or the atime mode).
    kept = os.statvfs(target).f_flag
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
    for statvfs_flag, mount_flag in ((8, MS_NOEXEC), (1024, 1024), (2048, 2048), (4096, 1 << 21)):
        if kept & statvfs_flag:
            flags |= mount_flag
    _mount(None, target, None, flags)


def _make_parents(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)


def _make_mountpoint(path: str, *, directory: bool) -> None:
    _make_parents(path)
    if directory:
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def _build_dev(new_root: str, config: dict[str, Any]) -> None:
    dev = new_root + "/dev"
    _make_mountpoint(dev, directory=True)
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name in DEVICES:
        _make_mountpoint(f"{dev}/{name}", directory=False)
        _mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, pointee in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(pointee, f"{dev}/{name}")
    os.mkdir(f"{dev}/shm", 0o755)
    size = int(config["limits"]["tmp_bytes"])
    _mount("tmpfs", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={size}")
    _mount(None, dev, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _build_proc(new_root: str) -> bool:
    """A ``/proc`` of the new PID namespace (none when the kernel refuses it)."""
    proc = new_root + "/proc"
    _make_mountpoint(proc, directory=True)
    try:
        _mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except SetupError:  # e.g. inside a container whose /proc is partly masked
        return False
    for name in ("sys", "sysrq-trigger", "irq", "bus"):
        path = f"{proc}/{name}"
        if os.path.exists(path):
            try:
                _mount(path, path, None, MS_BIND | _recursive())
                _read_only(path)
            except SetupError:
                pass  # the program holds no capability to write there anyway
    return True


# -- confining, the same in every mode ------------------------------------------------------


def read_program() -> bytes:
    """The program's source, from its descriptor (then closed)."""
    chunks = []
    while chunk := os.read(PROGRAM_FD, 1 << 16):
        chunks.append(chunk)
    os.close(PROGRAM_FD)
    return b"".join(chunks)


def set_limits(limits: dict[str, Any]) -> None:
    """CPU seconds, address space, file size, open files, processes, no core files."""
    cpu = int(limits["cpu_seconds"])
    for which, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (int(limits["memory_bytes"]),) * 2),
        (resource.RLIMIT_FSIZE, (int(limits["file_bytes"]),) * 2),
        (resource.RLIMIT_NOFILE, (int(limits["open_files"]),) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(which, value)
    if hasattr(resource, "RLIMIT_NPROC"):
        resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["processes"]),) * 2)


def drop_capabilities() -> None:
    """Drop every capability, for good: bounding set, ambient set, and root's exec rule."""
    try:
        _prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_NOROOT, "lock the securebits")
        for capability in range(_last_capability() + 1):
            _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    except SetupError:
        pass  # no CAP_SETPCAP: nothing to drop (bubblewrap did it); verified below
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _call(_libc.capset(header, data), "drop capabilities")


def capabilities_gone() -> bool:
    """Whether the kernel says this process holds no capability in any set (no /proc needed)."""
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if _libc.capget(header, data) != 0 or any(data):  # effective, permitted, inheritable
        return False
    for capability in range(_last_capability() + 1):
        if _libc.prctl(PR_CAPBSET_READ, capability, 0, 0, 0) == 1:
            return False
        if _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, capability, 0, 0) == 1:
            return False
    return True


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as file:
            return int(file.read())
    except (OSError, ValueError):
        return 63  # asking about capabilities the kernel does not have is harmless


def apply_landlock(rules: list[list[Any]]) -> list[str]:
    """Restrict the files this process may reach to ``rules``; the layers that took effect."""
    create, add_rule, restrict = LANDLOCK_SYSCALLS
    abi = _syscall(create, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 1:
        return []
    usable = {name: bit for name, bit in LANDLOCK_RIGHTS.items() if _landlock_abi(name) <= abi}
    handled = sum(usable.values())
    attributes = (ctypes.c_uint64 * 3)(handled, LANDLOCK_NET_TCP, LANDLOCK_SCOPES)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _call(_syscall(create, attributes, size, 0), "landlock_create_ruleset")
    for path, rights in rules:
        try:
            parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        allowed = sum(usable.get(name, 0) for name in rights)
        if not os.path.isdir(path):
            allowed &= sum(usable.get(name, 0) for name in LANDLOCK_FILE_RIGHTS)
        beneath = (ctypes.c_uint8 * 12).from_buffer_copy(
            allowed.to_bytes(8, sys.byteorder) + parent.to_bytes(4, sys.byteorder, signed=True)
        )
        _call(_syscall(add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, beneath, 0), f"rule {path}")
        os.close(parent)
    _call(_syscall(restrict, ruleset, 0), "landlock_restrict_self")
    os.close(ruleset)
    layers = ["landlock-fs"]
    if abi >= 4:
        layers.append("landlock-tcp")
    if abi >= 6:
        layers.append("landlock-scope")
    return layers


def _landlock_abi(right: str) -> int:
    return {"refer": 2, "truncate": 3, "ioctl_dev": 5}.get(right, 1)


def apply_seccomp(program: bytes) -> None:
    """Install the seccomp filter ``program`` (packed ``sock_filter`` instructions)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = (ctypes.c_uint64 * 2)(len(program) // 8, ctypes.addressof(buffer))
    prctl = _libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    _call(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0), "seccomp")


def confine(config: dict[str, Any], program: bytes, layers: list[str]) -> NoReturn:
    """Write the program into /tmp, confine this process, and exec the interpreter on it."""
    directory = config.get("directory") or "/tmp"
    path = os.path.join(directory, PROGRAM_NAME)
    with open(path, "wb") as file:
        file.write(program)
    os.chdir(directory)
    os.closerange(3, REPORT_FD)  # every inherited descriptor but 0, 1, 2 and the report
    os.closerange(REPORT_FD + 1, 1 << 20)
    _cloexec(REPORT_FD)
    try:
        with open("/proc/self/oom_score_adj", "w") as oom:
            oom.write("1000")  # the kernel's out-of-memory killer takes the sandbox first
    except OSError:
        pass
    set_limits(config["limits"])
    layers.append("rlimits")
    if config.get("linux", True):
        drop_capabilities()
        _prctl(PR_SET_NO_NEW_PRIVS, 1, "no_new_privs")
        layers.append("no-new-privs")
        layers.extend(apply_landlock(config["landlock"]) if config["landlock"] else [])
        if config["seccomp"]:
            apply_seccomp(bytes.fromhex(config["seccomp"]))
            layers.append("seccomp")
        if capabilities_gone():
            layers.append("no-caps")
    report(ready=True, layers=layers)
    argv = [part.replace("@DIRECTORY@", directory) for part in config["argv"]] + [path]
    environment = {
        name: value.replace("@DIRECTORY@", directory) for name, value in config["env"].items()
    }
    try:
        os.execve(argv[0], argv, environment)
    except OSError as error:
        report(error=f"starting {argv[0]}: {error}")
        os._exit(127)


# -- the other modes --------------------------------------------------------------------------


def run_command(config: dict[str, Any], deadline: float, *, bubblewrap: bool) -> None:
    """The supervisor of ``bubblewrap`` and ``plain``: fork, start the command, wait."""
    import shutil  # imported here: the namespaces mode, the common one, needs neither
    import tempfile

    # sandbox-exec matches real paths (macOS's temporary directory is under a symlink).
    directory = "" if bubblewrap else os.path.realpath(tempfile.mkdtemp(prefix="codels-sandbox-"))
    status_read, status_write = os.pipe()
    if bubblewrap:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)  # bubblewrap's PID 1, orphaned, comes to us
    try:
        child = os.fork()
        if child == 0:
            try:
                os.setpgid(0, 0)
                if bubblewrap:
                    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                    os.set_inheritable(status_write, True)
                    inner = {**config, "stage": "inner", "command": []}
                    bwrap, *options = config["command"]
                    command = [bwrap, "--json-status-fd", str(status_write), *options]
                    # This launcher's own code (argv[1]) runs again inside bubblewrap.
                    command += ["-c", BOOTSTRAP, sys.argv[1], marshal.dumps(inner).hex()]
                    os.execv(command[0], command)
                else:
                    layers = list(config.get("layers", []))
                    confine({**config, "directory": directory}, read_program(), layers)
            except BaseException as error:
                fail("sandbox", error)
        os.close(PROGRAM_FD)
        os.close(status_write)
        init = watch_init(status_read, child, deadline, text=True) if bubblewrap else None
        report_status(supervise(child, deadline, group=True))
        wait_gone(init)
        os.close(status_read)
    finally:
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    """Read the config and run the stage it names."""
    global REPORT_FD, PROGRAM_FD
    config = marshal.loads(bytes.fromhex(sys.argv[-1]))
    REPORT_FD, PROGRAM_FD = config["fds"]
    deadline = time.monotonic() + float(config["timeout"])
    try:
        if config.get("stage") == "inner":  # inside bubblewrap
            confine(config, read_program(), list(config["layers"]))
        elif config["mode"] == "namespaces":
            run_namespaces(config, deadline)
        else:
            run_command(config, deadline, bubblewrap=config["mode"] == "bubblewrap")
    except BaseException as error:
        fail("sandbox", error)


if __name__ == "__main__":  # under BOOTSTRAP, whose globals are those of ``-c``
    main()
    os._exit(0)  # nothing to finalise: the interpreter's shutdown would only cost time
