"""``python -m codels.tools.actionbench``: the generate action on small real-looking files.

Each case is a top-level function of a pinned real-code module (:mod:`codels.tools.realcode`)
in a small file: the module's imports, the function before it, the function written as a
two-line comment that names and describes it (``comment``) or as its ``def`` line and
docstring (``stub``), and the function after it. The action runs as a person would get it
(every fallback); a case succeeds when the file parses, holds exactly one function of the
wanted name with a real body, and still holds both neighbours once. ``--actions`` also times
the docstring and tests actions on the original function. This module imports the actions,
:mod:`codels.config` and :mod:`codels.tools`.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from codels.actions.errors import ActionError
from codels.actions.runner import ActionOutcome, ActionRunner
from codels.actions.sites import ActionKind, Target, find_sites
from codels.config import Settings
from codels.documents import Document
from codels.tools.command_line import load_engine
from codels.tools.realcode import PYTHON_SOURCES, modules

MAX_BODY_LINES = 10
"""Functions of a few lines after their docstring: what a comment can describe."""


@dataclass(frozen=True)
class Case:
    """A file with one function to write, and the names that must be there after."""

    path: str
    name: str
    form: str
    """``comment`` or ``stub``."""
    text: str
    at: int
    """An offset on the comment or the ``def`` line."""
    neighbours: tuple[str, str]
    original: str
    """The file with the function as written (for the docstring and tests actions)."""


@dataclass
class Result:
    """What one action did on one case."""

    case: str
    action: str
    ok: bool
    ms: float
    tokens: int = 0
    attempts: int = 0
    form: str = ""
    why: str = ""
    shown: str = ""


def _segment(text: str, node: ast.stmt) -> str:
    return ast.get_source_segment(text, node) or ""


def _summary(docstring: str) -> tuple[str, str] | None:
    """Two comment lines from the docstring's first sentences, or None if it has too little."""
    words = " ".join(docstring.split("\n\n")[0].split())
    if len(words.split()) < 5:
        return None
    lines = textwrap.wrap(words, 88)
    if len(lines) < 2:
        rest = [part for part in docstring.split("\n\n")[1:] if part.strip()]
        if not rest or rest[0].lstrip().startswith((":", ">>>", "..")) or rest[0].endswith(":"):
            return None
        lines.append(textwrap.wrap(" ".join(rest[0].split()), 88)[0])
    return lines[0], lines[1]


def cases(count: int) -> Iterator[Case]:
    """Up to ``count`` cases of each form, one function per module, in a fixed order."""
    made = 0
    for path, text in modules(PYTHON_SOURCES):
        if made >= count:
            return
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        imports = "\n".join(
            _segment(text, node)
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
        )
        functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        for before, target, after in zip(functions, functions[1:], functions[2:], strict=False):
            case = _case(path, text, imports, before, target, after)
            if case is not None:
                made += 1
                yield from case
                break


def _case(
    path: str,
    text: str,
    imports: str,
    before: ast.FunctionDef,
    target: ast.FunctionDef,
    after: ast.FunctionDef,
) -> tuple[Case, Case] | None:
    docstring = ast.get_docstring(target)
    body = target.body[1:]
    if target.decorator_list or docstring is None or len(body) < 2 or target.name[0] == "_":
        return None
    if (body[-1].end_lineno or 0) - body[0].lineno + 1 > MAX_BODY_LINES:
        return None
    summary = _summary(docstring)
    if summary is None:
        return None
    source = _segment(text, target)
    header_end = source.index(_segment(text, target.body[0]))
    header = source[:header_end].rstrip()
    arguments = ", ".join(a.arg for a in target.args.args)
    comment = f"# {target.name}({arguments}): {summary[0]}\n# {summary[1]}"
    stub = header + "\n    " + _segment(text, target.body[0])
    head = f"{imports}\n\n\n{_segment(text, before)}\n\n\n"
    tail = f"\n\n\n{_segment(text, after)}\n"
    names = (before.name, after.name)
    original = head + source + tail
    return (
        Case(path, target.name, "comment", head + comment + tail, len(head), names, original),
        Case(path, target.name, "stub", head + stub + tail, len(head), names, original),
    )


def judge(case: Case, result: str) -> str:
    """Why the edited file misses (empty: it has what the case wants)."""
    try:
        tree = ast.parse(result)
    except SyntaxError:
        return "does not parse"
    names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    if names.count(case.name) != 1:
        return f"{names.count(case.name)} functions named {case.name} ({', '.join(names)})"
    if any(names.count(n) != 1 for n in case.neighbours):
        return f"neighbours repeated or lost ({', '.join(names)})"
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == case.name)
    statements = [
        s
        for s in function.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        and not isinstance(s, ast.Pass)
    ]
    return "" if statements else "no body"


async def run_case(runner: ActionRunner, case: Case, settings: Settings) -> Result:
    """The generate action on ``case``."""
    snapshot = Document(f"file:///bench/{case.name}.py", "python", 1, case.text).snapshot()
    wanted = Target.COMMENT if case.form == "comment" else Target.STUB
    site = next(
        (
            s
            for s in find_sites(snapshot, case.at)
            if s.action is ActionKind.GENERATE and s.target is wanted
        ),
        None,
    )
    label = f"{case.form}:{case.path}:{case.name}"
    if site is None:
        return Result(label, "generate", False, 0.0, why="no generate action offered")
    started = time.perf_counter()
    try:
        outcome = await runner.run(snapshot, site, settings)
    except ActionError as exc:
        return Result(label, "generate", False, _since(started), why=str(exc))
    why = judge(case, outcome.edit.changes[0].result)
    return _result(label, "generate", outcome, not why, why)


async def run_other(
    runner: ActionRunner, case: Case, settings: Settings, kind: ActionKind, folder: Path
) -> Result:
    """The docstring (on the function without it) or tests action on the original function."""
    text = case.original
    if kind is ActionKind.DOCSTRING:
        tree = ast.parse(text)
        node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == case.name)
        docstring = node.body[0]
        lines = text.splitlines(keepends=True)
        text = "".join(lines[: docstring.lineno - 1] + lines[docstring.end_lineno or 0 :])
    path = folder / f"{case.name}.py"
    path.write_text(text, encoding="utf-8")
    snapshot = Document(path.as_uri(), "python", 1, text).snapshot()
    at = text.index(f"def {case.name}(")
    site = next((s for s in find_sites(snapshot, at) if s.action is kind), None)
    label = f"{kind.value}:{case.path}:{case.name}"
    if site is None:
        return Result(label, kind.value, False, 0.0, why="not offered")
    started = time.perf_counter()
    try:
        outcome = await runner.run(snapshot, site, settings)
    except ActionError as exc:
        return Result(label, kind.value, False, _since(started), why=str(exc))
    return _result(label, kind.value, outcome, True, "")


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _result(label: str, action: str, outcome: ActionOutcome, ok: bool, why: str) -> Result:
    return Result(
        label,
        action,
        ok,
        outcome.total_ms,
        outcome.generated_tokens,
        outcome.attempts,
        outcome.form,
        why,
        outcome.edit.shown,
    )


def summary(results: list[Result], max_tokens: int) -> dict[str, dict[str, float]]:
    """Per action and form: successes, median and worst latency, answers at the token cap."""
    groups: dict[str, list[Result]] = {}
    for result in results:
        form = result.case.split(":")[0]
        key = f"generate/{form}" if result.action == "generate" else result.action
        groups.setdefault(key, []).append(result)
    return {
        key: {
            "cases": len(group),
            "ok": sum(r.ok for r in group),
            "median_ms": round(statistics.median(r.ms for r in group)),
            "max_ms": round(max(r.ms for r in group)),
            "at_token_cap": sum(r.tokens >= max_tokens * max(1, r.attempts) for r in group),
        }
        for key, group in groups.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print one line per case, then a JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m codels.tools.actionbench")
    parser.add_argument("--cases", type=int, default=10, help="functions (each gives two cases)")
    parser.add_argument("--form", choices=("comment", "stub"), help="only this form")
    parser.add_argument("--actions", action="store_true", help="also docstring and tests")
    parser.add_argument("--json", type=Path, help="write every result here")
    args = parser.parse_args(argv)
    settings = Settings()
    engine, info = load_engine(settings)
    runner = ActionRunner(engine)
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for case in cases(args.cases):
                if args.form and case.form != args.form:
                    continue
                jobs = [run_case(runner, case, settings)]
                if args.actions and case.form == "stub":
                    jobs += [
                        run_other(runner, case, settings, kind, Path(folder))
                        for kind in (ActionKind.DOCSTRING, ActionKind.TESTS)
                    ]
                for job in jobs:
                    result = asyncio.run(job)
                    results.append(result)
                    mark = "ok " if result.ok else "MISS"
                    print(
                        f"{mark} {result.case} {result.action} {result.ms:.0f} ms "
                        f"{result.tokens} tok {result.form}#{result.attempts} {result.why}",
                        flush=True,
                    )
                    if args.json:  # after each case: a long run stopped early keeps its results
                        rows = [asdict(r) for r in results]
                        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    finally:
        engine.close()
    table = summary(results, settings.action_max_tokens)
    print(json.dumps({"model": info.name, "summary": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
