"""``codels sandbox …``: which isolation works here, and running a file as the examples check would.

``codels sandbox check`` probes every backend afresh and says which layers each made work;
``codels sandbox run FILE`` runs a Python file with the examples check's limits and prints the
verdict. Both print JSON with ``--json``. :func:`sandbox_facts` is what ``codels info`` shows.

This module imports :mod:`codels.sandbox` and the examples check's limits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from codels.languages.python.examples import EXAMPLES_TIMEOUT_SECONDS
from codels.sandbox import (
    Isolation,
    Limits,
    SandboxError,
    SandboxUnavailable,
    find_isolation,
    forget,
    isolation,
    run_program,
    run_with,
)
from codels.sandbox.backends import backends
from codels.sandbox.probe import probe


def add_sandbox_parser(commands: Any) -> None:
    """Register ``codels sandbox`` and its subcommands on the main parser's subparsers."""
    sandbox = commands.add_parser(
        "sandbox", help="which OS isolation runs generated code here; run a file inside it"
    )
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="probe every isolation backend and its layers")
    check.add_argument("--json", action="store_true", help="print JSON")
    run = actions.add_parser("run", help="run a Python file as the examples check would")
    run.add_argument("file", type=Path, help="the Python file")
    run.add_argument("--json", action="store_true", help="print the verdict as JSON")


def run_sandbox(args: argparse.Namespace) -> int:
    """``codels sandbox check`` or ``codels sandbox run``."""
    if args.sandbox_command == "check":
        return _check(args.json)
    return _run(args.file, args.json)


def sandbox_facts(found: Isolation | None = None) -> dict[str, Any]:
    """The sandbox in use here, for ``codels info`` and ``sandbox check --json``."""
    found = found or isolation()
    return {
        "backend": found.backend.name if found.backend else None,
        "isolation": list(found.isolation),
        "problem": found.problem or None,
        "advice": found.advice or None,
    }


def describe(facts: dict[str, Any]) -> str:
    """One line for people: the backend and its layers, or why there is none."""
    if facts["backend"]:
        return f"{facts['backend']} ({', '.join(facts['isolation'])})"
    return f"none: {facts['problem']}; {facts['advice']}"


def _check(as_json: bool) -> int:
    forget()
    found = find_isolation()
    facts = sandbox_facts(found)
    tried = {verdict.backend for verdict in found.verdicts}
    verdicts = list(found.verdicts) + [probe(b) for b in backends() if b.name not in tried]
    facts["backends"] = [
        {
            "name": verdict.backend,
            "works": verdict.works,
            "isolation": list(verdict.isolation),
            "problem": verdict.problem or None,
        }
        for verdict in verdicts
    ]
    if found.backend is not None:
        facts["run_ms"] = _cost(found)
    if as_json:
        print(json.dumps(facts, indent=2))
    else:
        print(f"sandbox: {describe(facts)}")
        if "run_ms" in facts:
            print(f"cost per run: {facts['run_ms']:.0f} ms (median of 5 runs of an empty program)")
        for entry in facts["backends"]:
            state = "works" if entry["works"] else f"does not work: {entry['problem']}"
            print(f"  {entry['name']:<13} {state}")
    return 0 if found.backend is not None else 1


def _cost(found: Isolation) -> float:
    """Milliseconds per run of an empty program through the backend in use."""
    assert found.backend is not None
    times = [run_with(found.backend, "pass", Limits(timeout=10.0)).seconds for _ in range(5)]
    return round(statistics.median(times) * 1000, 1)


def _run(file: Path, as_json: bool) -> int:
    try:
        program = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"codels: cannot read {file}: {exc}", file=sys.stderr)
        return 2
    try:
        result = run_program(program, timeout=EXAMPLES_TIMEOUT_SECONDS, tail_chars=4000)
    except (SandboxUnavailable, SandboxError) as exc:
        print(f"codels: {file} was not run: {exc}", file=sys.stderr)
        return 1
    if as_json:
        verdict = {
            "passed": result.passed,
            "reason": result.reason,
            "isolation": list(result.isolation),
            "seconds": round(result.seconds, 3),
            "output": result.output,
        }
        print(json.dumps(verdict, indent=2))
    else:
        if result.output.strip():
            print(result.output.rstrip("\n"), file=sys.stderr, flush=True)
        print("passed" if result.passed else f"failed: {result.reason}")
        print(f"isolation: {', '.join(result.isolation)}")
    return 0 if result.passed else 1
