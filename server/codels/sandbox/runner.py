"""Running one program through a backend, and reading how it ended.

The caller's side of :mod:`codels.sandbox.launcher`: the program, the launcher's records and
the program's error output travel in unnamed temporary files (nothing the program could swap
for a symlink, and error output bounded by the file-size limit instead of a pipe the caller
would have to drain). The caller waits a little longer than the launcher's own deadline and
then kills the launcher's process group itself.

This module imports only the standard library and the sandbox's own modules.
"""

from __future__ import annotations

import marshal
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

from codels.sandbox.backends import Backend, Limits, launcher_command

GRACE_SECONDS = 10.0
"""How much longer than the time limit the caller waits for the launcher to end by itself."""
OUTPUT_TAIL_BYTES = 64 * 1024
"""The most of a program's error output ever read back."""


class SandboxError(Exception):
    """The sandbox could not start the program; the message says what failed."""


@dataclass(frozen=True)
class RunResult:
    """How a program run ended."""

    passed: bool
    """It exited with status 0 within the time limit."""
    reason: str
    """``passed``, ``timeout``, a limit that stopped it, or the last line of its error output."""
    seconds: float
    output: str = ""
    """The end of its error output (only when asked for, see :func:`run_with`)."""
    isolation: tuple[str, ...] = ()
    """The isolation layers that were in force (see ``codels sandbox check``)."""


_SIGNAL_REASONS: dict[int, str] = {
    signal.SIGKILL: "killed (the CPU time limit, or the memory killer)",
    signal.SIGXCPU: "the CPU time limit",
    signal.SIGXFSZ: "the file size limit",
    signal.SIGSEGV: "a segmentation fault",
    signal.SIGSYS: "a system call of another architecture",
}


def run_with(backend: Backend, program: str, limits: Limits, tail_chars: int = 0) -> RunResult:
    """Run ``program`` (Python source) under ``backend`` within ``limits``."""
    started = time.perf_counter()
    with (
        tempfile.TemporaryFile() as source,
        tempfile.TemporaryFile() as records,
        tempfile.TemporaryFile() as errors,
    ):
        source.write(program.encode("utf-8", "surrogatepass"))
        source.flush()
        source.seek(0)
        config = backend.config(limits) | {"fds": [records.fileno(), source.fileno()]}
        command = [*launcher_command(sys.executable), marshal.dumps(config).hex()]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            pass_fds=(records.fileno(), source.fileno()),
            env={},
            start_new_session=True,
        )
        try:
            process.wait(timeout=limits.timeout + GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        elapsed = time.perf_counter() - started
        return _outcome(_records(records), _tail(errors), elapsed, tail_chars)


def _records(file: IO[bytes]) -> list[dict[str, Any]]:
    """The launcher's records: marshalled dicts, each after its length (4 bytes)."""
    file.seek(0)
    data = file.read(OUTPUT_TAIL_BYTES)
    found, at = [], 0
    while at + 4 <= len(data):
        size = int.from_bytes(data[at : at + 4], "little")
        try:
            record = marshal.loads(data[at + 4 : at + 4 + size])
        except (EOFError, ValueError, TypeError):
            break
        if isinstance(record, dict):
            found.append(record)
        at += 4 + size
    return found


def _tail(file: IO[bytes]) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - OUTPUT_TAIL_BYTES))
    return file.read().decode("utf-8", "replace")


def _outcome(
    records: list[dict[str, Any]], errors: str, elapsed: float, tail_chars: int
) -> RunResult:
    ready = next((record for record in records if record.get("ready")), None)
    if ready is None:
        error = next((str(record["error"]) for record in records if "error" in record), "")
        lines = [line for line in errors.splitlines() if line.strip()]
        raise SandboxError(error or (lines[-1] if lines else "the launcher ended without a word"))
    layers = tuple(str(layer) for layer in ready.get("layers", ()))
    status = next((record for record in reversed(records) if "status" in record), None)
    output = errors[-tail_chars:] if tail_chars > 0 else ""
    if status is None:
        return RunResult(False, "the sandbox ended without a status", elapsed, output, layers)
    if status["status"] == "timeout":
        return RunResult(False, "timeout", elapsed, output, layers)
    if status["status"] == "signal":
        number = int(status["signal"])
        reason = _SIGNAL_REASONS.get(number, f"signal {number}")
        return RunResult(False, f"stopped by {reason}", elapsed, output, layers)
    code = int(status.get("code", 1))
    if code == 0:
        return RunResult(True, "passed", elapsed, output, layers)
    if code == 127 and any("error" in record for record in records):
        raise SandboxError(next(str(record["error"]) for record in records if "error" in record))
    lines = [line for line in errors.splitlines() if line.strip()]
    reason = lines[-1][:200] if lines else f"exit status {code}"
    return RunResult(False, reason, elapsed, output, layers)
