"""Where each code action is offered: the :class:`Site` s of a range, found without the model.

**generate** on a comment that describes code, a stub or a ``# TODO``; **docstring** and
**tests** on a function's header; **fix** on a function with the request's diagnostics. The
brace languages get **generate** and **docstring** only (:mod:`.brace_sites`). Imports the
actions' site types and brace sites, :mod:`codels.documents`, :mod:`codels.languages`,
:mod:`codels.positions` and :mod:`codels.privacy`.
"""

from __future__ import annotations

from collections.abc import Sequence

from codels.actions import brace_sites
from codels.actions.site_types import ActionKind as ActionKind
from codels.actions.site_types import Problem as Problem
from codels.actions.site_types import Site as Site
from codels.actions.site_types import Target as Target
from codels.actions.site_types import action_for_command as action_for_command
from codels.documents import DocumentSnapshot
from codels.languages.python import PYTHON
from codels.languages.python import functions as python
from codels.languages.python.functions import (
    CommentBlock,
    FunctionShape,
    comment_block_at,
    comment_prose,
    describes_code,
    is_todo,
    leading_whitespace,
    may_write_tests_for,
    named_function,
    on_header,
)
from codels.languages.python.scopes import enclosing_scopes
from codels.positions import LineIndex
from codels.privacy import path_of


def function_at(snapshot: DocumentSnapshot, offset: int) -> FunctionShape | None:
    """The innermost function whose definition covers ``offset`` (decorators included)."""
    tree = snapshot.tree
    return python.function_at(tree, snapshot.lines, offset) if tree is not None else None


def functions_in(snapshot: DocumentSnapshot) -> list[FunctionShape]:
    """Every function of the document (methods and nested functions too), in order."""
    tree = snapshot.tree
    return python.functions_in(tree, snapshot.lines) if tree is not None else []


def _next_code_line(lines: LineIndex, row: int) -> int | None:
    """The first line after ``row`` that is not blank, or None at the end of the document."""
    for r in range(row + 1, lines.line_count):
        if lines.line_text(r).strip():
            return r
    return None


# -- where actions are offered -----------------------------------------------------------------

GENERATE_COMMENT_TITLE = "Generate function from comment"


def find_sites(
    snapshot: DocumentSnapshot,
    start: int,
    end: int | None = None,
    *,
    problems: Sequence[Problem] = (),
    can_write_tests: bool = True,
) -> list[Site]:
    """The actions that apply to the range ``start``..``end`` (code points) of ``snapshot``.

    Cheap: tree-sitter lookups only. ``problems`` are the request's diagnostics (for **fix**);
    ``can_write_tests`` is False when there is nowhere to put tests (no file on disk, or no
    test file and a client that cannot create one).
    """
    if snapshot.tree is None:
        return []
    if snapshot.language is not None and snapshot.language.functions is not None:
        return brace_sites.find_brace_sites(snapshot, start)  # no tests, no fix
    if snapshot.language != PYTHON:
        return []
    lines = snapshot.lines
    end = start if end is None else end
    row, _ = lines.position_at(start, "utf-32")
    sites: list[Site] = []

    block = comment_block_at(lines, row)
    shape = function_at(snapshot, start)
    if block is not None:
        sites.extend(_comment_sites(snapshot, block))
    elif shape is not None:
        sites.extend(_function_sites(snapshot, shape, row, can_write_tests))
    sites.extend(_fix_sites(snapshot, start, end, problems))
    return sites


def _function_sites(
    snapshot: DocumentSnapshot, shape: FunctionShape, row: int, can_write_tests: bool
) -> list[Site]:
    """The actions on the function ``shape`` from ``row``: its body, docstring and tests."""
    sites: list[Site] = []
    if shape.is_stub and not shape.body_on_header_line:
        sites.append(
            Site(
                ActionKind.GENERATE,
                Target.STUB,
                f"Generate the body of {shape.name}",
                shape.start,
                shape.end,
                shape.name,
                shape.indent,
            )
        )
    if not on_header(shape, row):
        return sites
    if shape.docstring is None and not shape.body_on_header_line:
        sites.append(
            Site(
                ActionKind.DOCSTRING,
                Target.FUNCTION,
                f"Add docstring to {shape.name}",
                shape.start,
                shape.end,
                shape.name,
                shape.indent,
            )
        )
    if can_write_tests and not shape.is_stub and _testable(snapshot.uri, shape):
        sites.append(
            Site(
                ActionKind.TESTS,
                Target.FUNCTION,
                f"Write tests for {shape.name}",
                shape.start,
                shape.end,
                shape.name,
                shape.indent,
            )
        )
    return sites


def _comment_sites(snapshot: DocumentSnapshot, block: CommentBlock) -> list[Site]:
    lines = snapshot.lines
    tree = snapshot.tree
    assert tree is not None
    scopes = enclosing_scopes(tree, lines, block.start)
    in_function = any(scope.kind == "function" for scope in scopes)
    if in_function:
        if not is_todo(block.text.splitlines()[-1]) and not is_todo(block.text):
            return []
        shape = function_at(snapshot, block.start)
        if shape is None or shape.is_stub:
            return []  # a stub's own action writes its body
        return [
            Site(
                ActionKind.GENERATE,
                Target.TODO,
                f"Implement the TODO in {shape.name}",
                block.start,
                block.end,
                shape.name,
                block.indent,
            )
        ]
    if not describes_code(block):
        return []
    following = _next_code_line(lines, block.last_row)
    if following is not None and following == block.last_row + 1:
        width = len(leading_whitespace(lines.line_text(following)).expandtabs(8))
        if width >= len(block.indent.expandtabs(8)):
            return []  # the comment documents the code right below it
    name = named_function(comment_prose(block.text))
    return [
        Site(
            ActionKind.GENERATE,
            Target.COMMENT,
            GENERATE_COMMENT_TITLE,
            block.start,
            block.end,
            name,
            block.indent,
        )
    ]


def _testable(uri: str, shape: FunctionShape) -> bool:
    path = path_of(uri)
    return path is not None and may_write_tests_for(path, shape.name)


def _fix_sites(
    snapshot: DocumentSnapshot, start: int, end: int, problems: Sequence[Problem]
) -> list[Site]:
    found: dict[int, tuple[FunctionShape, list[Problem]]] = {}
    # The client sends the diagnostics that concern the range; each names its function.
    for problem in problems:
        shape = function_at(snapshot, problem.start)
        if shape is None:
            continue
        found.setdefault(shape.start, (shape, []))[1].append(problem)
    sites = []
    lines = snapshot.lines
    for shape, issues in found.values():
        first_row = lines.position_at(shape.start, "utf-32")[0]
        described = tuple(_describe_problem(lines, first_row, issue) for issue in issues)
        sites.append(
            Site(
                ActionKind.FIX,
                Target.FUNCTION,
                f"Fix with codels: {_short(issues[0].message)}",
                shape.start,
                shape.end,
                shape.name,
                shape.indent,
                described,
            )
        )
    return sites


def _describe_problem(lines: LineIndex, first_row: int, problem: Problem) -> str:
    row = lines.position_at(problem.start, "utf-32")[0]
    origin = " ".join(part for part in (problem.source, problem.code) if part)
    where = f"line {row - first_row + 1}"
    return f"{where}: {problem.message}" + (f" ({origin})" if origin else "")


def _short(message: str, limit: int = 50) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "problem"
    return first if len(first) <= limit else first[: limit - 1] + "…"
