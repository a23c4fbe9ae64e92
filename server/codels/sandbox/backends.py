"""The ways codels can confine a program, and the launcher config each one needs.

``namespaces`` (Linux, nothing to install: the kernel's user, mount, PID, network, IPC and UTS
namespaces, made by :mod:`codels.sandbox.launcher`), ``bubblewrap`` (Linux, the ``bwrap``
command, which Ubuntu's AppArmor lets make namespaces where it stops everything else),
``sandbox-exec`` (macOS, a deny-by-default profile) and ``plain`` (no isolation, only for
``--unsafe-exec``). On Linux both namespace backends show the program the same files: the
system directories and the interpreter read-only, a private ``/dev`` and ``/proc``, and a
fresh size-limited ``/tmp`` that is its directory and the one place it may write; Landlock
(where the kernel has it) lets it execute only the interpreter, and the seccomp filter of
:mod:`codels.sandbox.seccomp` removes what it never needs.

This module imports only the standard library and the sandbox's own modules.
"""

from __future__ import annotations

import functools
import marshal
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codels.sandbox.launcher import BOOTSTRAP, DEVICES, LANDLOCK_RIGHTS
from codels.sandbox.seccomp import SYSCALLS, seccomp_filter

SYSTEM_DIRECTORIES = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/nix",
)
"""Shown read-only where they exist (symlinks, as on merged-/usr systems, are recreated)."""

NAMESPACE_LAYERS = ("user-ns", "mount-ns", "pid-ns", "net-ns", "ipc-ns", "uts-ns")
"""What bubblewrap's ``--unshare-*`` options make (the launcher reports its own)."""

BUBBLEWRAP_OLDEST = (0, 7)
"""``--size`` (a size-limited ``/tmp``) came with bubblewrap 0.7."""


@dataclass(frozen=True)
class Limits:
    """What a program may use."""

    timeout: float = 10.0
    """Wall-clock seconds, set-up included; then the whole process tree is killed."""
    memory_bytes: int = 1024 * 1024 * 1024
    """Address space of each process."""
    processes: int = 16
    """Processes and threads of the sandbox's user, the program's first included."""
    file_bytes: int = 16 * 1024 * 1024
    """Largest file it may write (its error output included)."""
    open_files: int = 64
    tmp_bytes: int = 64 * 1024 * 1024
    """Size of its ``/tmp`` (and ``/dev/shm``) on Linux."""

    def launcher(self) -> dict[str, int]:
        """The limits as the launcher reads them."""
        return {
            "cpu_seconds": max(1, int(self.timeout) + 1),
            "memory_bytes": self.memory_bytes,
            "processes": self.processes,
            "file_bytes": self.file_bytes,
            "open_files": self.open_files,
            "tmp_bytes": self.tmp_bytes,
        }


@dataclass(frozen=True)
class View:
    """The machine's files a Linux sandbox shows, read-only, at their own paths."""

    binds: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]
    """(link, what it points to) for system directories that are symlinks."""


Describe = Callable[[str], tuple[str, str]]
"""``path -> (kind, symlink target)``, kind ``dir``, ``file``, ``link`` or ``""`` (missing)."""


def describe_path(path: str) -> tuple[str, str]:
    """What ``path`` is on this machine (see :data:`Describe`)."""
    if os.path.islink(path):
        return "link", os.readlink(path)
    if os.path.isdir(path):
        return "dir", ""
    return ("file", "") if os.path.exists(path) else ("", "")


def interpreter_paths() -> list[str]:
    """The real directories this Python needs: its prefixes and its executable's directory."""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates.append(os.path.dirname(os.path.realpath(sys.executable)))
    return [os.path.realpath(path) for path in candidates]


def interpreter_inside() -> str:
    """The path the sandbox runs the interpreter by: its directory's real path, its own name.

    A virtual environment's ``bin/python`` is a symlink that must keep its name and directory
    for Python to find ``pyvenv.cfg``; only the directories above it are resolved.
    """
    return os.path.join(
        os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable)
    )


def plan_view(interpreter: Sequence[str], home: str, describe: Describe = describe_path) -> View:
    """The binds and symlinks that show the system and ``interpreter`` (real paths).

    A path that is the root, a home directory or above one, ``/tmp`` itself, or below
    ``/dev`` or ``/proc`` is never shown whole; a path below one already shown is left out.
    """
    binds: list[str] = []
    symlinks: list[tuple[str, str]] = []
    for directory in SYSTEM_DIRECTORIES:
        kind, target = describe(directory)
        if kind == "link":
            symlinks.append((directory, target))
        elif kind == "dir":
            binds.append(directory)
    homes = {os.path.normpath(home), "/home", "/root", "/tmp", "/"}
    for path in sorted({os.path.normpath(path) for path in interpreter}):
        kind, _ = describe(path)
        if kind not in ("dir", "file"):
            continue
        if any(_within(other, path) for other in homes) or _within(path, "/dev"):
            continue
        if _within(path, "/proc") or any(_within(path, shown) for shown in binds):
            continue
        binds.append(path)
    return View(tuple(binds), tuple(symlinks))


def _within(path: str, directory: str) -> bool:
    """``path`` is ``directory`` or below it."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def elf_interpreter(path: str) -> str | None:
    """The program interpreter (``PT_INTERP``, the dynamic loader) an ELF executable names."""
    try:
        with open(path, "rb") as file:
            header = file.read(64)
            if header[:4] != b"\x7fELF" or header[4] not in (1, 2):
                return None
            wide, order = header[4] == 2, "<" if header[5] == 1 else ">"
            if wide:
                offset, size, count = struct.unpack_from(order + "Q14xHH", header, 32)
            else:
                offset, size, count = struct.unpack_from(order + "I10xHH", header, 28)
            for index in range(count):
                file.seek(offset + index * size)
                entry = file.read(size)
                if struct.unpack_from(order + "I", entry)[0] != 3:  # PT_INTERP
                    continue
                if wide:
                    start, length = struct.unpack_from(order + "Q16xQ", entry, 8)
                else:
                    start, length = struct.unpack_from(order + "I8xI", entry, 4)
                file.seek(start)
                return file.read(length).rstrip(b"\0").decode() or None
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    return None


def landlock_rules(executables: Sequence[str]) -> list[list[Any]]:
    """Read everywhere, write in ``/tmp``, ``/dev/shm`` and the devices, execute ``executables``.

    With no executable known (a static or non-ELF interpreter), everything may be executed.
    """
    read = ["read_file", "read_dir"]
    rules: list[list[Any]] = [["/", read if executables else [*read, "execute"]]]
    rules += [[path, list(LANDLOCK_RIGHTS)] for path in ("/tmp", "/dev/shm")]
    device = ["read_file", "write_file", "truncate", "ioctl_dev"]
    rules += [[f"/dev/{name}", device] for name in DEVICES]
    rules += [[path, ["execute", "read_file"]] for path in executables]
    return rules


ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "HOME": "@DIRECTORY@",
    "TMPDIR": "@DIRECTORY@",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
}
"""The program's whole environment: nothing of the caller's (no keys, no tokens)."""


@dataclass(frozen=True)
class Backend:
    """One way to confine a program."""

    name: str
    required: tuple[str, ...]
    """Layers it must report before its isolation is trusted."""
    problem: str = ""
    """Why it cannot be used here, known without trying (not installed, another system)."""
    bwrap: str = ""
    bwrap_version: tuple[int, ...] = ()

    def config(self, limits: Limits) -> dict[str, Any]:
        """The launcher's config for one run under ``limits``."""
        base: dict[str, Any] = {
            "mode": "plain",
            "timeout": limits.timeout,
            "limits": limits.launcher(),
            "argv": [interpreter_inside(), "-I", "-B"],
            "env": ENVIRONMENT,
            "linux": False,
        }
        if self.name in ("namespaces", "bubblewrap"):
            machine = platform.machine()
            executable = os.path.realpath(sys.executable)
            loader = elf_interpreter(executable)
            executables = [executable, os.path.realpath(loader)] if loader else []
            view = plan_view(interpreter_paths(), os.path.expanduser("~"))
            seccomp = seccomp_filter(machine)
            base |= {
                "mode": self.name,
                "linux": True,
                "binds": list(view.binds),
                "symlinks": [list(pair) for pair in view.symlinks],
                "landlock": landlock_rules(executables),
                "seccomp": seccomp.hex() if seccomp else "",
                "syscalls": {"pivot_root": SYSCALLS.get(machine, {}).get("pivot_root", 155)},
            }
            if self.name == "bubblewrap":
                base |= {
                    "command": self._bwrap_command(view, limits),
                    "layers": [*NAMESPACE_LAYERS],
                }
        elif self.name == "sandbox-exec":
            base["layers"] = ["sandbox-exec"]
            base["argv"] = [
                "/usr/bin/sandbox-exec",
                "-D",
                "WORKDIR=@DIRECTORY@",
                "-p",
                macos_profile(interpreter_paths()),
                *base["argv"],
            ]
        return base

    def _bwrap_command(self, view: View, limits: Limits) -> list[str]:
        command = [self.bwrap, "--unshare-user", "--unshare-ipc", "--unshare-pid"]
        command += ["--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        command += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        command += ["--hostname", "codels-sandbox"]
        if self.bwrap_version >= (0, 8):
            command.append("--disable-userns")
        size = str(limits.tmp_bytes)
        command += ["--dev", "/dev", "--proc", "/proc", "--size", size, "--tmpfs", "/tmp"]
        command += ["--size", size, "--tmpfs", "/dev/shm"]
        for path in view.binds:
            command += ["--ro-bind", path, path]
        for link, pointee in view.symlinks:
            command += ["--symlink", pointee, link]
        command += ["--remount-ro", "/", "--chdir", "/tmp", "--"]
        return [*command, interpreter_inside(), "-I", "-S", "-B"]  # the launcher adds its code


def launcher_command(python: str) -> list[str]:
    """The command that runs the launcher (its config is added as the last argument)."""
    return [python, "-I", "-S", "-B", "-c", BOOTSTRAP, _launcher_code()]


@functools.cache
def _launcher_code() -> str:
    """The launcher's code object, marshalled, in hex (compiled once per process)."""
    source = Path(__file__).with_name("launcher.py").read_text(encoding="utf-8")
    code = compile(source, "codels-sandbox-launcher", "exec", optimize=2)  # no docstrings
    return marshal.dumps(code).hex()


def macos_profile(interpreter: Sequence[str]) -> str:
    """A deny-by-default ``sandbox-exec`` profile: read the system and Python, write WORKDIR."""
    reads = ["/usr/lib", "/usr/share", "/System", "/Library/Apple", "/private/var/db/dyld"]
    reads += [path for path in interpreter if path != "/"]
    quoted = " ".join(f'(subpath "{path}")' for path in reads)
    return f"""(version 1)
(deny default)
(allow process-exec (subpath "{os.path.realpath(sys.base_prefix)}"))
(allow file-read-metadata)
(allow file-read* {quoted} (subpath (param "WORKDIR")) (literal "/dev/null")
  (literal "/dev/urandom") (literal "/dev/random"))
(allow file-write* (subpath (param "WORKDIR")) (literal "/dev/null"))
(allow sysctl-read)
(allow signal (target self))
"""


def _bwrap_version(command: str) -> tuple[int, ...]:
    try:
        text = subprocess.run(
            [command, "--version"], capture_output=True, text=True, timeout=10, env={}
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part) for part in found.groups() if part) if found else ()


LINUX_REQUIRED = (*NAMESPACE_LAYERS[:5], "no-caps", "no-new-privs", "rlimits")
"""What a Linux backend must report: without these nothing stops the escapes of the issue."""


def backends() -> list[Backend]:
    """Every backend, in order of preference, with what already rules one out here."""
    system = sys.platform
    found: list[Backend] = []
    if system.startswith("linux"):
        found.append(Backend("namespaces", LINUX_REQUIRED))
        bwrap = shutil.which("bwrap") or ""
        version = _bwrap_version(bwrap) if bwrap else ()
        problem = ""
        if not bwrap:
            problem = "bubblewrap is not installed (the bwrap command)"
        elif version < BUBBLEWRAP_OLDEST:
            shown = ".".join(map(str, version)) or "unknown"
            problem = f"bubblewrap {shown} is older than 0.7, which codels needs"
        elif os.geteuid() == 0:
            problem = "not used as root (root gets the namespaces backend, as nobody)"
        found.append(Backend("bubblewrap", LINUX_REQUIRED, problem, bwrap, version))
    else:
        found.append(Backend("namespaces", LINUX_REQUIRED, "Linux only"))
    if system == "darwin":
        missing = "" if os.path.exists("/usr/bin/sandbox-exec") else "sandbox-exec is missing"
        found.append(Backend("sandbox-exec", ("sandbox-exec", "rlimits"), missing))
    return found


PLAIN = Backend("plain", ("rlimits",))
"""No isolation: resource limits and a process group only (``--unsafe-exec``)."""
