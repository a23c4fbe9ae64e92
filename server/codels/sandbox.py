"""Running untrusted generated code to score it: a separate process, limits, a temporary folder.

:func:`run_program` runs the program with the same Python in isolated mode, in a fresh temporary
directory, its own process group (killed whole on timeout) and an empty environment; a guard in
the child sets resource limits and disables sockets, starting processes and writes outside that
directory. This is defence in depth for scoring completions on a developer machine, not a
security boundary. This module imports only the standard library.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_GUARD = r"""
import builtins, os, pathlib, resource, shutil, socket, subprocess, sys

_cpu, _memory = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_CPU, (_cpu, _cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (_memory, _memory))
resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
_HOME = os.path.realpath(os.getcwd())


def _refuse(*args, **kwargs):
    raise PermissionError("codels sandbox: not allowed while scoring")


def _inside(path):
    try:
        real = os.path.realpath(os.fspath(path))
    except TypeError:
        return True  # a file descriptor
    return real == _HOME or real.startswith(_HOME + os.sep)


_open = builtins.open


def _guarded_open(file, mode="r", *args, **kwargs):
    if any(flag in mode for flag in "wax+") and not _inside(file):
        raise PermissionError(f"codels sandbox: writing {file!r} outside the sandbox")
    return _open(file, mode, *args, **kwargs)


builtins.open = _guarded_open
pathlib.Path.write_text = lambda self, *a, **k: (_guarded_open(self, "w").write(*a, **k))
pathlib.Path.write_bytes = lambda self, data: (_guarded_open(self, "wb").write(data))


def _path_guard(function):
    def guarded(path, *args, **kwargs):
        if not _inside(path):
            raise PermissionError(f"codels sandbox: {function.__name__} {path!r} outside")
        return function(path, *args, **kwargs)

    return guarded


for _name in ("remove", "unlink", "rmdir", "mkdir", "makedirs", "removedirs", "chmod", "truncate"):
    if hasattr(os, _name):
        setattr(os, _name, _path_guard(getattr(os, _name)))
for _name in ("rename", "replace", "link", "symlink"):
    setattr(os, _name, _refuse)
shutil.rmtree = _path_guard(shutil.rmtree)
shutil.move = _refuse
for _name in ("system", "popen", "fork", "forkpty", "execv", "execve", "execvp", "execvpe",
              "spawnv", "spawnve", "posix_spawn", "posix_spawnp", "kill", "killpg", "putenv"):
    if hasattr(os, _name):
        setattr(os, _name, _refuse)
subprocess.Popen = _refuse
subprocess.run = _refuse
subprocess.call = _refuse
subprocess.check_output = _refuse
socket.socket = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
del _name

_source = _open("program.py", encoding="utf-8").read()
exec(compile(_source, "program.py", "exec"), {"__name__": "__main__"})
"""


@dataclass(frozen=True)
class RunResult:
    """How a program run ended."""

    passed: bool
    """It exited with status 0 within the time limit."""
    reason: str
    """``passed``, ``timeout``, or the last line of its error output."""
    seconds: float
    output: str = ""
    """The end of its error output (only when asked for, see :func:`run_program`)."""


def run_program(
    program: str,
    *,
    timeout: float = 10.0,
    memory_bytes: int = 1024 * 1024 * 1024,
    tail_chars: int = 0,
) -> RunResult:
    """Run ``program`` in the sandbox; passed means exit status 0 within ``timeout`` seconds.

    ``tail_chars`` keeps that much of the end of its error output in :attr:`RunResult.output`.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codels-eval-") as directory:
        Path(directory, "program.py").write_text(program, encoding="utf-8")
        Path(directory, "guard.py").write_text(_GUARD, encoding="utf-8")
        cpu = max(1, int(timeout) + 1)
        process = subprocess.Popen(
            [sys.executable, "-I", "-B", "guard.py", str(cpu), str(memory_bytes)],
            cwd=directory,
            env={"PATH": "", "HOME": directory, "TMPDIR": directory, "PYTHONHASHSEED": "0"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.communicate()
            return RunResult(False, "timeout", time.perf_counter() - started)
        elapsed = time.perf_counter() - started
        errors = stderr.decode("utf-8", "replace")
        output = errors[-tail_chars:] if tail_chars > 0 else ""
        if process.returncode == 0:
            return RunResult(True, "passed", elapsed, output)
        lines = [line for line in errors.splitlines() if line.strip()]
        reason = lines[-1][:200] if lines else f"exit status {process.returncode}"
        return RunResult(False, reason, elapsed, output)
