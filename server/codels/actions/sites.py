"""Where each code action is offered: the :class:`Site` s of a range, found without the model.

**generate** on a comment that describes code, a stub or a ``# TODO``; **docstring** and
**tests** on a function's header; **fix** on a function with the request's diagnostics.
Imports :mod:`codels.documents`, :mod:`codels.languages`, :mod:`codels.positions` and
:mod:`codels.privacy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

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


class ActionKind(StrEnum):
    """The code actions codels offers."""

    GENERATE = "generate"
    DOCSTRING = "docstring"
    TESTS = "tests"
    FIX = "fix"

    @property
    def command(self) -> str:
        """The namespaced command (and ``data`` tag) of this action."""
        return _COMMANDS[self]

    @property
    def lsp_kind(self) -> str:
        """The LSP code action kind (a sub-kind of ``refactor.rewrite`` or ``quickfix``)."""
        return _LSP_KINDS[self]


_COMMANDS = {
    ActionKind.GENERATE: "codels.generateFunction",
    ActionKind.DOCSTRING: "codels.addDocstring",
    ActionKind.TESTS: "codels.writeTests",
    ActionKind.FIX: "codels.fixFunction",
}
_LSP_KINDS = {
    ActionKind.GENERATE: "refactor.rewrite.codels.generate",
    ActionKind.DOCSTRING: "refactor.rewrite.codels.docstring",
    ActionKind.TESTS: "refactor.rewrite.codels.tests",
    ActionKind.FIX: "quickfix.codels.fix",
}


def action_for_command(command: str) -> ActionKind | None:
    """The action whose command is ``command`` (None for an unknown one)."""
    return next((kind for kind, name in _COMMANDS.items() if name == command), None)


class Target(StrEnum):
    """What an action works on."""

    COMMENT = "comment"
    """A comment block describing a function to write."""
    STUB = "stub"
    """A function whose body is only a docstring, ``...`` or ``pass``."""
    TODO = "todo"
    """A ``# TODO`` comment inside a function."""
    FUNCTION = "function"
    """A whole function (docstring, tests, fix)."""


@dataclass(frozen=True)
class Site:
    """Where one action applies: everything needed to run it later, without the model."""

    action: ActionKind
    target: Target
    title: str
    start: int
    """Start of the region the action anchors on (comment block or function)."""
    end: int
    """End of that region."""
    name: str = ""
    """The function's name ("" for a comment that does not name one)."""
    indent: str = ""
    """Indentation the generated code takes (comment or ``def`` line)."""
    diagnostics: tuple[str, ...] = ()
    """For **fix**: the problems to address, one sentence each, with function-relative lines."""


@dataclass(frozen=True)
class Problem:
    """A diagnostic from the request: where (code points) and what."""

    start: int
    end: int
    message: str
    source: str = ""
    code: str = ""


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
    if snapshot.tree is None or snapshot.language != PYTHON:
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
