"""The sandbox escape suite: every attempt a program could make, each checked from outside.

:func:`run_suite` runs each :data:`ATTEMPTS` program through a runner (``run_program`` of
:mod:`codels.sandbox`, or any function with its signature) inside an :class:`Arena` the caller
owns: marker files go to a directory outside the program's, a secret waits in a fake home
directory and another in the caller's environment, a workspace and a read-only directory the
sandbox shows must stay unchanged, the files of the caller's real home must stay unread,
loopback listeners (TCP, UDP, a Unix socket file and an abstract one) record what reaches
them, and a sentinel process records the signals it gets.
After each attempt every one of these is looked at, whatever the attempt aimed at; attempts
that signal their caller run under a separate caller process, which must survive.

Run as a script (``python sandbox_escapes.py [--json]``) it runs the suite with
``codels.sandbox.run_program`` as the user running it, which is how the tests run it as an
ordinary user (``CODELS_SANDBOX`` picks the backend).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Runner = Callable[..., Any]
"""``run_program(program, *, timeout, tail_chars) -> RunResult`` (passed, reason, output)."""

ENV_NAME = "CODELS_ESCAPE_SECRET"
OPENAT = {"x86_64": 257, "aarch64": 56}.get(platform.machine(), -1)
SOCKET = {"x86_64": 41, "aarch64": 198}.get(platform.machine(), -1)


@dataclass(frozen=True)
class Attempt:
    """One thing a program might try."""

    name: str
    group: str
    program: str
    """Python source; ``{placeholders}`` name the arena's paths, ports and pids."""
    timeout: float = 5.0
    separate_caller: bool = False
    """Run under a caller process of its own (the attempt signals its caller)."""
    limit_seconds: float | None = None
    """The run must end within this many seconds (runaway programs)."""


def _attempt(name: str, group: str, program: str, **options: Any) -> Attempt:
    return Attempt(name, group, textwrap.dedent(program).strip() + "\n", **options)


# A program can send the caller nothing but its error output and its exit status, so what an
# attempt reads goes there. Programs say ESCAPED there when they can see for themselves that
# something worked (a signal that was allowed); everything else is checked from outside.
ATTEMPTS = [
    _attempt("open() a file outside", "files", "open({marker!r}, 'w').write('x')"),
    _attempt(
        "os.open(O_CREAT) outside",
        "files",
        """
        import os
        os.write(os.open({marker!r}, os.O_CREAT | os.O_WRONLY, 0o644), b'x')
        """,
    ),
    _attempt("io.FileIO(path, 'w')", "files", "import io; io.FileIO({marker!r}, 'w').write(b'x')"),
    _attempt(
        "pathlib write_text", "files", "import pathlib; pathlib.Path({marker!r}).write_text('x')"
    ),
    _attempt(
        "posix.open + posix.write",
        "files",
        """
        import posix
        posix.write(posix.open({marker!r}, posix.O_CREAT | posix.O_WRONLY, 0o644), b'x')
        """,
    ),
    _attempt(
        "ctypes libc open + write",
        "files",
        """
        import ctypes
        libc = ctypes.CDLL(None)
        fd = libc.open({marker!r}.encode(), 0o101, 0o644)
        libc.write(fd, b'x', 1)
        """,
    ),
    _attempt(
        "raw openat system call",
        "files",
        f"""
        import ctypes
        libc = ctypes.CDLL(None)
        fd = libc.syscall({OPENAT}, -100, {{marker!r}}.encode(), 0o101, 0o644)
        libc.write(fd, b'x', 1)
        """,
    ),
    _attempt(
        "append to the workspace",
        "files",
        "open({workspace_file!r}, 'a').write('# escaped\\n')",
    ),
    _attempt(
        "replace, then delete the workspace",
        "files",
        """
        import os, shutil
        try:
            os.replace({workspace_file!r}, {marker!r})
        finally:
            shutil.rmtree({workspace!r})
        """,
    ),
    _attempt(
        "write into a directory the sandbox shows",
        "files",
        "open({visible_marker!r}, 'w').write('x')",
    ),
    _attempt(
        "new user+mount namespace, remount rw, write",
        "files",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
        if libc.unshare(0x10020000) == 0:
            target = os.path.dirname({visible_marker!r}).encode()
            libc.mount(None, target, None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND: rw
        open({visible_marker!r}, 'w').write('x')
        """,
    ),
    _attempt(
        "read the raw disk",
        "files",
        """
        import os, sys
        for name in sorted(os.listdir('/dev')):
            if name.startswith(('sd', 'vd', 'nvme', 'xvd', 'hd', 'mmcblk', 'dm-', 'loop')):
                try:
                    with open('/dev/' + name, 'rb') as disk:
                        if disk.read(4096):
                            print('ESCAPED read /dev/' + name, file=sys.stderr)
                except OSError:
                    pass
        """,
    ),
    _attempt(
        "symlink to a path outside, write through it",
        "symlinks",
        "import os; os.symlink({marker!r}, 'link'); open('link', 'w').write('x')",
    ),
    _attempt(
        "symlink to the home secret, read through it",
        "symlinks",
        "import os, sys; os.symlink({home_secret!r}, 'l'); sys.stderr.write(open('l').read())",
    ),
    _attempt(
        "hard link to the caller's secret",
        "symlinks",
        "import os, sys; os.link({secret!r}, 'hard'); sys.stderr.write(open('hard').read())",
    ),
    _attempt(
        "/proc/<caller>/root/…",
        "proc",
        "import os; os.open('/proc/{caller_pid}/root' + {marker!r}, os.O_CREAT | os.O_WRONLY)",
    ),
    _attempt(
        "/proc/1/root/… and /proc/self/root/…",
        "proc",
        """
        for root in ('/proc/1/root', '/proc/self/root'):
            try:
                open(root + {marker!r}, 'w').write('x')
            except OSError:
                pass
        import sys
        sys.stderr.write(open('/proc/1/root' + {secret!r}).read())
        """,
    ),
    _attempt(
        "/proc/<caller>/mem: the caller's memory",
        "proc",
        """
        import re, sys
        with open('/proc/{caller_pid}/maps') as maps:
            stack = next(line for line in maps if '[stack]' in line)
        start, end = (int(part, 16) for part in stack.split()[0].split('-'))
        with open('/proc/{caller_pid}/mem', 'rb') as memory:
            memory.seek(start)
            data = memory.read(end - start)
        found = re.search(rb'env-secret-[0-9a-f]{{24}}', data)
        sys.stderr.write(found.group().decode() if found else 'not found')
        """,
        separate_caller=True,
    ),
    _attempt(
        "inherited descriptors",
        "descriptors",
        """
        import os
        for fd in range(3, 1024):
            for attempt in (lambda: os.write(fd, b'ESCAPED'),
                            lambda: open('/proc/self/fd/%d' % fd, 'a').write('ESCAPED')):
                try:
                    attempt()
                except OSError:
                    pass
        """,
    ),
    _attempt(
        "read the home secret",
        "home",
        "import sys; sys.stderr.write(open({home_secret!r}).read())",
    ),
    _attempt(
        "read every file in the caller's home",
        "home",
        """
        import os, sys
        for name in os.listdir({real_home!r}):
            try:
                with open(os.path.join({real_home!r}, name), errors='replace') as file:
                    sys.stderr.write(file.read(4096) + '\\n')
            except OSError:
                pass
        """,
    ),
    _attempt(
        "read the caller's secret file",
        "home",
        "import sys; sys.stderr.write(open({secret!r}).read())",
    ),
    _attempt(
        "the caller's environment, here and in /proc",
        "home",
        """
        import glob, os, sys
        print(dict(os.environ), file=sys.stderr)
        for path in [*glob.glob('/proc/[0-9]*/environ'), '/proc/{caller_pid}/environ']:
            try:
                print(open(path, 'rb').read(), file=sys.stderr)
            except OSError:
                pass
        """,
        separate_caller=True,
    ),
    _attempt("os.system", "processes", "import os; os.system('echo x > {marker}')"),
    _attempt("posix.system", "processes", "import posix; posix.system('echo x > {marker}')"),
    _attempt(
        "ctypes system()",
        "processes",
        "import ctypes; ctypes.CDLL(None).system(b'echo x > {marker}')",
    ),
    _attempt(
        "subprocess.run(['/bin/sh', …])",
        "processes",
        "import subprocess; subprocess.run(['/bin/sh', '-c', 'echo x > {marker}'])",
    ),
    _attempt(
        "posix.fork + posix.execv",
        "processes",
        """
        import posix
        pid = posix.fork()
        if pid == 0:
            posix.execv('/bin/sh', ['/bin/sh', '-c', 'echo x > {marker}'])
        posix.waitpid(pid, 0)
        """,
    ),
    _attempt(
        "os.posix_spawn",
        "processes",
        """
        import os
        pid = os.posix_spawn('/bin/sh', ['/bin/sh', '-c', 'echo x > {marker}'], {{}})
        os.waitpid(pid, 0)
        """,
    ),
    _attempt(
        "a new interpreter, unguarded",
        "processes",
        """
        import subprocess, sys
        code = "open(%r, 'w').write('x')" % {marker!r}
        subprocess.run([sys.executable, '-c', code])
        """,
    ),
    _attempt(
        "socket.create_connection to loopback",
        "sockets",
        "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)",
    ),
    _attempt(
        "_socket.socket().connect",
        "sockets",
        "import _socket; _socket.socket().connect(('127.0.0.1', {port}))",
    ),
    _attempt(
        "a socket made through ctypes",
        "sockets",
        f"""
        import ctypes, socket, struct
        libc = ctypes.CDLL(None)
        fd = libc.syscall({SOCKET}, 2, 1, 0)
        address = struct.pack('<HH4s8x', 2, socket.htons({{port}}), bytes([127, 0, 0, 1]))
        libc.connect(fd, address, len(address))
        """,
    ),
    _attempt(
        "UDP datagram to loopback",
        "sockets",
        """
        import socket
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {udp_port}))
        """,
    ),
    _attempt(
        "Unix socket file of the caller",
        "sockets",
        "import socket; socket.socket(socket.AF_UNIX).connect({unix_path!r})",
    ),
    _attempt(
        "abstract Unix socket",
        "sockets",
        "import socket; socket.socket(socket.AF_UNIX).connect('\\0' + {abstract!r})",
    ),
    _attempt(
        "DNS, then the internet",
        "sockets",
        """
        import socket, sys
        address = socket.getaddrinfo('example.com', 80)[0][4]
        socket.create_connection(address[:2], timeout=3)
        print('ESCAPED reached example.com', file=sys.stderr)
        """,
    ),
    _attempt(
        "kill(getppid(), SIGKILL)",
        "signals",
        "import os, signal; os.kill(os.getppid(), signal.SIGKILL)",
        separate_caller=True,
    ),
    _attempt(
        "posix.kill(posix.getppid(), SIGKILL)",
        "signals",
        "import posix, signal; posix.kill(posix.getppid(), signal.SIGKILL)",
        separate_caller=True,
    ),
    _attempt(
        "kill(caller pid, SIGKILL)",
        "signals",
        "import os, signal; os.kill({caller_pid}, signal.SIGKILL)",
        separate_caller=True,
    ),
    _attempt(
        "kill(sentinel) and killpg(sentinel)",
        "signals",
        """
        import os, signal
        for send in (lambda: os.kill({sentinel}, signal.SIGUSR1),
                     lambda: os.killpg({sentinel}, signal.SIGUSR1)):
            try:
                send()
            except OSError:
                pass
        """,
    ),
    _attempt(
        "ctypes kill() and pidfd_send_signal",
        "signals",
        """
        import ctypes, os, signal
        libc = ctypes.CDLL(None)
        libc.kill({sentinel}, signal.SIGUSR1)
        signal.pidfd_send_signal(os.pidfd_open({sentinel}), signal.SIGUSR1)
        """,
    ),
    _attempt(
        "kill(-1, 0): can anything outside be signalled",
        "signals",
        """
        import os, sys
        os.kill(-1, 0)
        print('ESCAPED kill(-1) reached other processes', file=sys.stderr)
        """,
    ),
    _attempt(
        "ptrace(ATTACH) the sentinel",
        "signals",
        """
        import ctypes, sys
        if ctypes.CDLL(None).ptrace(16, {sentinel}, None, None) == 0:
            print('ESCAPED ptrace attached', file=sys.stderr)
        """,
    ),
    _attempt(
        "fork bomb",
        "runaway",
        """
        import os, sys
        while True:
            try:
                if os.fork() == 0:
                    os.execv(sys.executable, [sys.executable, '-c', {bomb!r}, {token!r}])
            except OSError:
                pass
        """,
        timeout=3.0,
        limit_seconds=12.0,
    ),
    _attempt(
        "memory bomb (8 GiB at once)",
        "runaway",
        "x = bytearray(8 * 1024 ** 3)",
        limit_seconds=10.0,
    ),
    _attempt(
        "memory growth",
        "runaway",
        """
        chunks = []
        while True:
            chunks.append(bytearray(64 * 1024 * 1024))
        """,
        limit_seconds=10.0,
    ),
    _attempt("endless loop", "runaway", "while True:\n    pass", timeout=2.0, limit_seconds=8.0),
    _attempt(
        "children leave the session and sleep",
        "runaway",
        """
        import posix, sys, time
        for _ in range(3):
            if posix.fork() == 0:
                posix.setsid()
                if posix.fork() == 0:
                    posix.execv(sys.executable,
                                [sys.executable, '-c', 'import time; time.sleep(60)', {token!r}])
                posix._exit(0)
        time.sleep(60)
        """,
        timeout=2.0,
        limit_seconds=8.0,
    ),
    _attempt(
        "floods its error output",
        "runaway",
        """
        import os
        block = b'x' * (1 << 20)
        for _ in range(300):
            os.write(2, block)
        """,
        limit_seconds=20.0,
    ),
    _attempt(
        "closes its pipes, then loops",
        "runaway",
        """
        import os
        for fd in (0, 1, 2):
            os.close(fd)
        while True:
            pass
        """,
        timeout=2.0,
        limit_seconds=8.0,
    ),
    _attempt(
        "stops itself (SIGSTOP)",
        "runaway",
        "import os, signal; os.kill(os.getpid(), signal.SIGSTOP)",
        timeout=2.0,
        limit_seconds=8.0,
    ),
    _attempt(
        "fills the disk",
        "runaway",
        """
        import os, sys
        written = 0
        try:
            for index in range(64):
                with open('fill-%d' % index, 'wb') as file:
                    for _ in range(8):
                        file.write(b'x' * (1 << 20))
                        written += 1 << 20
        finally:
            if written > 96 * (1 << 20):
                print('ESCAPED wrote %d MiB' % (written >> 20), file=sys.stderr)
        """,
        limit_seconds=20.0,
    ),
]
"""The suite; ``group`` is what the README's table calls it."""

BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


@dataclass
class Outcome:
    """What one attempt achieved."""

    name: str
    group: str
    escaped: list[str] = field(default_factory=list)
    """Every effect seen outside (empty: stopped)."""
    reason: str = ""
    """How the run ended, as the sandbox says (the error that stopped it)."""
    seconds: float = 0.0


class Arena:
    """Everything outside the program that an attempt might reach, and how to look at it."""

    def __init__(self, root: Path, visible: Path) -> None:
        self.root = root
        self.outside = root / "outside"
        self.outside.mkdir()
        self.home = root / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.token = secrets.token_hex(12)
        """Names the arena's things (paths, a socket, runaway processes)."""
        self.hidden = secrets.token_hex(12)
        """What each secret holds: seen in a program's output, it was read."""
        self.home_secret = self.home / ".ssh" / "id_ed25519"
        self.home_secret.write_text(f"home-secret-{self.hidden}\n")
        self.secret = self.outside / "secret.txt"
        self.secret.write_text(f"caller-secret-{self.hidden}\n")
        self.workspace = root / "workspace"
        self.workspace.mkdir()
        self.workspace_file = self.workspace / "module.py"
        self.workspace_file.write_text("def add(a, b):\n    return a + b\n")
        self.workspace_digest = self._digest(self.workspace)
        self.visible = visible
        """A directory the sandbox shows read-only (the interpreter's prefix by default)."""
        self._listeners: list[tuple[socket.socket, str]] = []
        self.port = self._listen(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0), "tcp")
        self.udp_port = self._listen(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0), "udp")
        self.unix_path = str(root / "caller.sock")
        self._listen(socket.AF_UNIX, socket.SOCK_STREAM, self.unix_path, "unix")
        self.abstract = f"codels-escape-{self.token}"
        self._listen(socket.AF_UNIX, socket.SOCK_STREAM, "\0" + self.abstract, "abstract")
        self.home_samples = _home_samples(Path(os.path.expanduser("~")))
        """A line of each file in the caller's real home: if one shows up, it was read."""
        self.fd_target = self.outside / "descriptor-target"
        self.fd_target.write_text("unchanged\n")
        self.sentinel_marker = self.outside / "sentinel-signalled"
        self.sentinel = subprocess.Popen(
            [sys.executable, "-c", _SENTINEL, str(self.sentinel_marker)],
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.sentinel.stdout is not None
        self.sentinel.stdout.readline()  # "ready": its handler is installed

    def _listen(self, family: int, kind: int, address: Any, name: str) -> int:
        listener = socket.socket(family, kind)
        listener.bind(address)
        if kind == socket.SOCK_STREAM:
            listener.listen(8)
        listener.setblocking(False)  # what reached it waits in its queue until effects() looks
        self._listeners.append((listener, name))
        return listener.getsockname()[1] if family == socket.AF_INET else 0

    def _reached(self) -> list[str]:
        """The listeners that something connected or sent to since the last look."""
        reached = []
        for listener, name in self._listeners:
            try:
                if listener.type == socket.SOCK_STREAM:
                    listener.accept()[0].close()
                else:
                    listener.recv(64)
            except BlockingIOError:
                continue
            reached.append(name)
            while True:  # empty the queue for the next attempt
                try:
                    if listener.type == socket.SOCK_STREAM:
                        listener.accept()[0].close()
                    else:
                        listener.recv(64)
                except BlockingIOError:
                    break
        return reached

    @staticmethod
    def _digest(directory: Path) -> str:
        digest = hashlib.sha256()
        for path in sorted(directory.rglob("*")) if directory.exists() else []:
            digest.update(str(path).encode())
            if path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest() if directory.exists() else "missing"

    def values(self, attempt: Attempt, caller_pid: int) -> dict[str, Any]:
        """The placeholders of ``attempt``'s program."""
        slug = "".join(c if c.isalnum() else "-" for c in attempt.name)[:40]
        return {
            "marker": str(self.outside / f"marker-{slug}"),
            "visible_marker": str(self.visible / f"codels-escape-{self.token}"),
            "secret": str(self.secret),
            "home_secret": str(self.home_secret),
            "real_home": os.path.expanduser("~"),
            "workspace": str(self.workspace),
            "workspace_file": str(self.workspace_file),
            "port": self.port,
            "udp_port": self.udp_port,
            "unix_path": self.unix_path,
            "abstract": self.abstract,
            "sentinel": self.sentinel.pid,
            "caller_pid": caller_pid,
            "token": self.token,
            "bomb": BOMB,
        }

    def effects(self, output: str) -> list[str]:
        """Every effect an attempt had outside, from the last look until now."""
        seen = []
        originals = {"secret.txt", "descriptor-target"}
        written = sorted(p.name for p in self.outside.iterdir() if p.name not in originals)
        seen += [f"wrote {name} outside its directory" for name in written]
        if self._digest(self.workspace) != self.workspace_digest:
            seen.append("changed the workspace")
        visible_marker = self.visible / f"codels-escape-{self.token}"
        if visible_marker.exists():
            seen.append(f"wrote into {self.visible}")
        if self.fd_target.read_text() != "unchanged\n":
            seen.append("wrote through an inherited descriptor")
        seen += [f"reached the {name} listener" for name in self._reached()]
        if self.hidden in output:
            seen.append("read a secret of the caller's")
        read = [name for name, line in self.home_samples.items() if line in output]
        if read:
            seen.append(f"read {', '.join(sorted(read)[:3])} in the caller's home")
        if self.sentinel.poll() is not None:
            seen.append("killed the sentinel process")
        elif _traced_or_stopped(self.sentinel.pid):
            seen.append("stopped or traced the sentinel process")
        seen += [line.strip() for line in output.splitlines() if line.startswith("ESCAPED")]
        leftovers = _processes_with(self.token)
        if leftovers:
            seen.append(f"{len(leftovers)} of its processes outlived the run")
        return seen

    def reset(self) -> None:
        """Undo what an attempt did, so the next one is judged alone."""
        for path in self.outside.iterdir():
            if path.name not in ("secret.txt", "descriptor-target"):
                path.unlink()
        if self._digest(self.workspace) != self.workspace_digest:
            shutil.rmtree(self.workspace, ignore_errors=True)
            self.workspace.mkdir()
            self.workspace_file.write_text("def add(a, b):\n    return a + b\n")
        (self.visible / f"codels-escape-{self.token}").unlink(missing_ok=True)
        self.fd_target.write_text("unchanged\n")
        for pid in _processes_with(self.token):
            _kill(pid)
        if self.sentinel.poll() is not None or _traced_or_stopped(self.sentinel.pid):
            self.sentinel.kill()
            self.sentinel = subprocess.Popen(
                [sys.executable, "-c", _SENTINEL, str(self.sentinel_marker)],
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            assert self.sentinel.stdout is not None
            self.sentinel.stdout.readline()

    def close(self) -> None:
        """Stop the listeners and the sentinel."""
        for listener, _ in self._listeners:
            listener.close()
        self.sentinel.kill()
        self.sentinel.wait()
        if self.sentinel.stdout is not None:
            self.sentinel.stdout.close()


_SENTINEL = """
import signal, sys, time
marker = sys.argv[1]
signal.signal(signal.SIGUSR1, lambda *_: open(marker, 'w').write('signalled'))
print('ready', flush=True)
while True:
    time.sleep(3600)
"""

_CALLER = """
import importlib, json, os, sys
module, function, path = sys.argv[1:4]
program = open(path).read().replace('{caller_pid}', str(os.getpid()))
run = getattr(importlib.import_module(module), function)
result = run(program, timeout=5.0, tail_chars=200_000)
print(json.dumps({'reason': result.reason, 'output': result.output}))
"""


def _home_samples(home: Path) -> dict[str, str]:
    samples = {}
    for path in home.iterdir() if home.is_dir() else []:
        try:
            if path.is_file():
                lines = path.read_text(errors="replace").splitlines()
                line = next((text.strip() for text in lines if len(text.strip()) >= 12), "")
                if line:
                    samples[path.name] = line
        except OSError:
            continue
    return samples


def _traced_or_stopped(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return fields.get("TracerPid", "0").strip() != "0" or fields["State"].strip()[0] in "Tt"


def _processes_with(token: str) -> list[int]:
    """Live (not zombie) processes whose command line holds ``token``."""
    found = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            if token.encode() not in Path(path).read_bytes():
                continue
            state = Path(path).with_name("stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(path.split("/")[2]))
    return found


def _kill(pid: int) -> None:
    with suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _run_in_caller(
    attempt: Attempt, program: str, runner: tuple[str, str], secret: str
) -> tuple[str, str]:
    """Run ``program`` from a caller process of its own; (reason, output), or why it died.

    The caller's environment holds a secret from its start (so it is in /proc/PID/environ).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(program)
    try:
        caller = subprocess.run(
            [sys.executable, "-c", _CALLER, *runner, file.name],
            capture_output=True,
            text=True,
            timeout=attempt.timeout + 60,
            # The caller imports the runner as this process would (sys.path, not the
            # environment's: a script may have set it itself), and holds the secret.
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),
                ENV_NAME: f"env-secret-{secret}",
            },
        )
    finally:
        os.unlink(file.name)
    if caller.returncode != 0:
        died = f"the caller process died (exit status {caller.returncode})"
        return died, caller.stderr[-2000:]
    answer = json.loads(caller.stdout.strip().splitlines()[-1])
    return str(answer["reason"]), str(answer["output"])


def run_attempt(arena: Arena, attempt: Attempt, run: Runner, runner: tuple[str, str]) -> Outcome:
    """Run one attempt and look at everything it may have touched."""
    program = attempt.program.format(**arena.values(attempt, os.getpid()))
    descriptor = os.open(arena.fd_target, os.O_RDWR)
    os.set_inheritable(descriptor, True)
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    try:
        if attempt.separate_caller:
            template = attempt.program.format_map(_Keep(arena.values(attempt, 0)))
            reason, output = _run_in_caller(attempt, template, runner, arena.hidden)
            if reason.startswith("the caller process died"):
                output += "\nESCAPED " + reason
        else:
            result = run(program, timeout=attempt.timeout, tail_chars=200_000)
            reason, output = result.reason, result.output
    finally:
        os.close(descriptor)
    seconds = time.monotonic() - started
    outcome = Outcome(attempt.name, attempt.group, arena.effects(output), reason, seconds)
    if attempt.limit_seconds is not None and seconds > attempt.limit_seconds:
        outcome.escaped.append(f"ran {seconds:.1f} s, past its {attempt.limit_seconds:.0f} s")
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before
    if grown > 100 * 1024:  # KiB: the flood reached the caller's memory
        outcome.escaped.append(f"the caller's memory grew by {grown // 1024} MiB")
    arena.reset()
    return outcome


class _Keep(dict[str, Any]):
    """Format values, but leave ``{caller_pid}`` for the caller process to fill in."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"

    def __getitem__(self, key: str) -> Any:
        if key == "caller_pid":
            return "{caller_pid}"
        return super().__getitem__(key)


@contextmanager
def arena(root: Path | None = None, visible: Path | None = None) -> Iterator[Arena]:
    """An :class:`Arena` in ``root`` (a new temporary directory by default)."""
    base = root or Path(tempfile.mkdtemp(prefix="codels-escapes-"))
    place = Arena(base, visible or Path(sys.prefix))
    try:
        yield place
    finally:
        place.close()
        if root is None:
            shutil.rmtree(base, ignore_errors=True)


def run_suite(
    run: Runner,
    runner: tuple[str, str] = ("codels.sandbox", "run_program"),
    *,
    visible: Path | None = None,
    attempts: list[Attempt] | None = None,
) -> list[Outcome]:
    """Every attempt through ``run`` (``runner`` names it for separate caller processes)."""
    with arena(visible=visible) as place:
        return [run_attempt(place, attempt, run, runner) for attempt in attempts or ATTEMPTS]


def main() -> int:
    """Run the suite with codels's sandbox as this user; print the outcomes."""
    from codels.sandbox import run_program

    outcomes = run_suite(run_program)
    if "--json" in sys.argv:
        print(json.dumps([dataclasses.asdict(outcome) for outcome in outcomes]))
    else:
        for outcome in outcomes:
            state = "ESCAPED: " + "; ".join(outcome.escaped) if outcome.escaped else "stopped"
            print(f"{outcome.group:<12} {outcome.name:<48} {state} ({outcome.reason})")
    return 1 if any(outcome.escaped for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
