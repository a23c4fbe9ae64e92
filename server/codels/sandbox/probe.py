"""Which backend confines programs on this machine: tried, not assumed.

A backend is trusted only after a probe program run through it fails at what it must not do,
each attempt checked from outside: writing a marker beside a secret in the caller's temporary
directory, reading that secret, writing into the interpreter's directory, connecting to a
listener of the caller's (an abstract Unix socket on Linux, which belongs to the network
namespace), and signalling the caller. The launcher's report must also
name every layer the backend promises (:attr:`Backend.required`). The first backend that
passes is used; when none does, :func:`advice` says what to install or enable.

``CODELS_SANDBOX`` names a backend to use instead of the first that works (``namespaces``,
``bubblewrap``, ``sandbox-exec``), or ``off`` for none; a named backend that fails its probe
is not replaced by another.

This module imports only the standard library and the sandbox's own modules.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from codels.sandbox.backends import Backend, Limits, backends
from codels.sandbox.runner import RunResult, SandboxError, run_with

CHOICE_VARIABLE = "CODELS_SANDBOX"

PROBE_PROGRAM = """
import json, os, socket, sys
found = {{"ran": True}}
try:
    with open({marker!r}, "w") as file:
        file.write("escaped")
    found["wrote_outside"] = True
except OSError:
    pass
try:
    found["secret"] = open({secret!r}).read()
except OSError:
    pass
try:
    with open({inside!r}, "w") as file:
        file.write("escaped")
    found["wrote_interpreter"] = True
except OSError:
    pass
try:
    connection = socket.socket(socket.AF_UNIX)
    connection.settimeout(2)
    connection.connect({address!r})
    connection.close()
    found["connected"] = True
except OSError:
    pass
try:
    os.kill({caller}, 0)
    found["signalled"] = True
except OSError:
    pass
print("codels-probe " + json.dumps(found), file=sys.stderr)
"""


@dataclass(frozen=True)
class Verdict:
    """What a probe found out about one backend."""

    backend: str
    works: bool
    isolation: tuple[str, ...] = ()
    problem: str = ""
    """Why it does not work (empty when it does)."""
    milliseconds: float = 0.0
    """What the probe's run took."""


@dataclass(frozen=True)
class Observations:
    """What the caller saw of a probe run, from outside and from the program's report."""

    ran: bool = False
    wrote_outside: bool = False
    read_secret: bool = False
    wrote_interpreter: bool = False
    connected: bool = False
    signalled: bool = False


def judge(backend: Backend, layers: tuple[str, ...], seen: Observations) -> str:
    """Why ``backend`` cannot be trusted after its probe; empty when it can."""
    if not seen.ran:
        return "the probe program did not run"
    escapes = [
        (seen.wrote_outside, "wrote a file outside its directory"),
        (seen.read_secret, "read a file of the caller's"),
        (seen.wrote_interpreter, "wrote into the interpreter's directory"),
        (seen.connected, "connected to a listener of the caller's"),
        (seen.signalled, "could signal the caller"),
    ]
    broken = [what for escaped, what in escapes if escaped]
    if broken:
        return "the probe program " + ", ".join(broken)
    missing = [layer for layer in backend.required if layer not in layers]
    if missing:
        return f"these layers did not take effect: {', '.join(missing)}"
    return ""


def probe(backend: Backend, visible: Path | None = None) -> Verdict:
    """Run the probe program through ``backend`` and judge it.

    ``visible`` is the directory the probe tries to write into: by default the interpreter's,
    which the sandbox shows (read-only).
    """
    if backend.problem:
        return Verdict(backend.name, False, problem=backend.problem)
    directory = Path(tempfile.mkdtemp(prefix="codels-probe-"))
    # A Unix socket, abstract on Linux: it lives in the network namespace, so reaching it
    # means the network is shared, and codels itself never opens an internet socket.
    address = f"\0codels-probe-{secrets.token_hex(8)}" if sys.platform.startswith("linux") else ""
    listener = socket.socket(socket.AF_UNIX)
    try:
        address = address or str(directory / "listener")
        listener.bind(address)
        listener.listen(1)
        listener.setblocking(False)
        secret = secrets.token_hex(16)
        (directory / "secret").write_text(secret, encoding="utf-8")
        inside = Path(visible or sys.prefix, f"codels-probe-{secrets.token_hex(8)}")
        program = PROBE_PROGRAM.format(
            marker=str(directory / "marker"),
            secret=str(directory / "secret"),
            inside=str(inside),
            address=address,
            caller=os.getpid(),
        )
        try:
            result = run_with(backend, program, Limits(timeout=10.0), tail_chars=4000)
        except SandboxError as error:
            return Verdict(backend.name, False, problem=str(error))
        seen = _observe(result, directory, secret, inside, listener)
        problem = judge(backend, result.isolation, seen)
        if not seen.ran:
            problem += f" ({result.reason})"
        return Verdict(
            backend.name, not problem, result.isolation, problem, round(result.seconds * 1000, 1)
        )
    finally:
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)


def _observe(
    result: RunResult, directory: Path, secret: str, inside: Path, listener: socket.socket
) -> Observations:
    report: dict[str, object] = {}
    for line in result.output.splitlines():
        if line.startswith("codels-probe "):
            with contextlib.suppress(ValueError):
                report = json.loads(line[len("codels-probe ") :])
    try:
        listener.accept()[0].close()
        connected = True
    except BlockingIOError:
        connected = bool(report.get("connected"))
    wrote_interpreter = inside.exists()
    if wrote_interpreter:
        inside.unlink()
    return Observations(
        ran=bool(report.get("ran")) and result.passed,
        wrote_outside=(directory / "marker").exists() or bool(report.get("wrote_outside")),
        read_secret=secret in result.output,
        wrote_interpreter=wrote_interpreter or bool(report.get("wrote_interpreter")),
        connected=connected,
        signalled=bool(report.get("signalled")),
    )


@dataclass(frozen=True)
class Isolation:
    """The sandbox of this machine: the backend in use and its layers, or why there is none."""

    backend: Backend | None
    isolation: tuple[str, ...] = ()
    problem: str = ""
    """Why no backend works (empty when one does)."""
    advice: str = ""
    """What to install or enable so that one does."""
    verdicts: tuple[Verdict, ...] = field(default=())

    @property
    def available(self) -> bool:
        """A backend works."""
        return self.backend is not None

    def message(self) -> str:
        """One sentence for the user when there is no sandbox."""
        return f"no OS sandbox works on this machine ({self.problem}); {self.advice}"


def find_isolation(candidates: list[Backend] | None = None) -> Isolation:
    """Probe the backends (or ``candidates``) as ``CODELS_SANDBOX`` says; the first that works."""
    choice = os.environ.get(CHOICE_VARIABLE, "auto").strip().lower() or "auto"
    every = backends() if candidates is None else candidates
    if choice == "off":
        return Isolation(None, problem=f"{CHOICE_VARIABLE}=off", advice=advice(choice, ()))
    if choice != "auto":
        every = [backend for backend in every if backend.name == choice]
        if not every:
            names = ", ".join(backend.name for backend in backends())
            problem = f"{CHOICE_VARIABLE}={choice} names no backend (known here: {names})"
            return Isolation(None, problem=problem, advice=advice(choice, ()))
    verdicts: list[Verdict] = []
    for backend in every:
        verdict = probe(backend)
        verdicts.append(verdict)
        if verdict.works:
            return Isolation(backend, verdict.isolation, verdicts=tuple(verdicts))
    problem = "; ".join(f"{v.backend}: {v.problem}" for v in verdicts) or "no backend"
    return Isolation(
        None, problem=problem, advice=advice(choice, verdicts), verdicts=tuple(verdicts)
    )


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def advice(
    choice: str, verdicts: tuple[Verdict, ...] | list[Verdict], system: str = sys.platform
) -> str:
    """What to install or enable so that a sandbox works on ``system`` (``sys.platform``)."""
    if choice == "off":
        return f"unset {CHOICE_VARIABLE} to let codels use one"
    if system == "darwin":
        return "codels needs /usr/bin/sandbox-exec, which macOS ships: check that it runs"
    if not system.startswith("linux"):
        return (
            f"codels has no sandbox for {system}: the examples check stays off "
            "(run codels on Linux or macOS, e.g. in WSL 2, to have it)"
        )
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return (
            "AppArmor keeps unprivileged user namespaces from working here (Ubuntu 23.10 and "
            "later): install bubblewrap (sudo apt install bubblewrap), whose AppArmor profile "
            "allows them, or allow them for everyone with "
            "sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0"
        )
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return "enable user namespaces: sudo sysctl kernel.unprivileged_userns_clone=1"
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        return "enable user namespaces: sudo sysctl user.max_user_namespaces=15000"
    return (
        "enable unprivileged user namespaces (Linux 5.12 or later works best), or install "
        "bubblewrap 0.7 or later (the bwrap command)"
    )


_lock = threading.Lock()
_found: list[Isolation] = []


def isolation() -> Isolation:
    """The sandbox of this machine, probed once per process (thread-safe)."""
    with _lock:
        if not _found:
            _found.append(find_isolation())
        return _found[0]


def forget() -> None:
    """Probe again next time (tests, and ``codels sandbox check``)."""
    with _lock:
        _found.clear()
