"""Running code the model wrote, only where the operating system confines it.

The examples check of the generate action and ``codels eval`` both run programs through
:func:`run_program`. On Linux the program runs in new user, mount, PID, network, IPC and UTS
namespaces (made by codels itself, or by bubblewrap), sees the system and the interpreter
read-only and nothing of the home directory, the project or the caller's temporary files,
writes only to a fresh, size-limited ``/tmp``, holds no capability, runs under Landlock rules
and a seccomp filter where the kernel has them, with resource limits and an empty environment;
on macOS it runs under ``sandbox-exec`` with a deny-by-default profile. The backend is chosen by
probing (:mod:`codels.sandbox.probe`); when none works, :func:`run_program` raises
:class:`SandboxUnavailable` and nothing runs, unless the caller passes ``unsafe=True``.

This package imports only the standard library.
"""

from __future__ import annotations

from codels.sandbox.backends import PLAIN, Limits
from codels.sandbox.probe import Isolation, Verdict, find_isolation, forget, isolation
from codels.sandbox.runner import RunResult, SandboxError, run_with

__all__ = [
    "Isolation",
    "Limits",
    "RunResult",
    "SandboxError",
    "SandboxUnavailable",
    "Verdict",
    "find_isolation",
    "forget",
    "isolation",
    "run_program",
    "run_with",
]


class SandboxUnavailable(Exception):
    """No OS sandbox works on this machine; the message says why and what to install."""


def run_program(
    program: str,
    *,
    timeout: float = 10.0,
    memory_bytes: int = 1024 * 1024 * 1024,
    tail_chars: int = 0,
    unsafe: bool = False,
) -> RunResult:
    """Run ``program`` in the sandbox; passed means exit status 0 within ``timeout`` seconds.

    ``tail_chars`` keeps that much of the end of its error output in :attr:`RunResult.output`.
    Raises :class:`SandboxUnavailable` when no sandbox works here, unless ``unsafe`` (then it
    runs with resource limits only), and :class:`SandboxError` when the sandbox fails to start.
    """
    limits = Limits(timeout=timeout, memory_bytes=memory_bytes)
    found = isolation()
    if found.backend is not None:
        return run_with(found.backend, program, limits, tail_chars)
    if not unsafe:
        raise SandboxUnavailable(found.message())
    return run_with(PLAIN, program, limits, tail_chars)
