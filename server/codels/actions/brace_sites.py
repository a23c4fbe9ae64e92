"""Where code actions are offered in a brace language: **generate** and **docstring** only.

JavaScript, TypeScript, Go, Rust, Java, C and C++; tests and fixes stay Python's.

**generate** on a comment that describes code and is followed by no function, on a stub
(``todo!()``, ``panic("TODO")``, ``throw new Error("not implemented")``, a body that is only
a ``// TODO``) and on a ``// TODO`` in a function with code; **docstring** (a doc comment in the
language's style) on the header of a function that has no comment above it. Imports the
actions' site types, :mod:`codels.documents`, :mod:`codels.languages` and
:mod:`codels.positions`.
"""

from __future__ import annotations

from codels.actions.site_types import ActionKind, Site, Target
from codels.documents import DocumentSnapshot
from codels.languages import brace_functions
from codels.languages.brace_functions import BraceComment, BraceFunction
from codels.languages.python.functions import named_function
from codels.positions import LineIndex

GENERATE_COMMENT_TITLE = "Generate function from comment"


def brace_function_at(snapshot: DocumentSnapshot, offset: int) -> BraceFunction | None:
    """The innermost function of a brace-language snapshot around ``offset``."""
    language, tree = snapshot.language, snapshot.tree
    if language is None or tree is None:
        return None
    return brace_functions.function_at(language, tree, snapshot.lines, offset)


def find_brace_sites(snapshot: DocumentSnapshot, start: int) -> list[Site]:
    """The actions that apply at ``start`` (code points) of a brace-language snapshot."""
    language, tree = snapshot.language, snapshot.tree
    if language is None or tree is None or language.functions is None:
        return []
    lines = snapshot.lines
    row, _ = lines.position_at(start, "utf-32")
    block = brace_functions.comment_block_at(language, tree, lines, row)
    shape = brace_function_at(snapshot, start)
    if block is not None and (shape is None or not shape.start <= block.start < shape.end):
        return _comment_sites(snapshot, block)
    if block is not None and shape is not None and not shape.is_stub:
        return _todo_sites(shape, block)
    if shape is not None:
        return _function_sites(shape, row)
    return []


def _function_sites(shape: BraceFunction, row: int) -> list[Site]:
    """A stub's body anywhere in it; a doc comment on its header when it has none."""
    sites: list[Site] = []
    if shape.is_stub:
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
    if brace_functions.on_header(shape, row) and not shape.has_doc:
        sites.append(
            Site(
                ActionKind.DOCSTRING,
                Target.FUNCTION,
                f"Add doc comment to {shape.name}",
                shape.start,
                shape.end,
                shape.name,
                shape.indent,
            )
        )
    return sites


def _todo_sites(shape: BraceFunction, block: BraceComment) -> list[Site]:
    """A ``// TODO`` in a function with code (a stub's own action writes a stub's body)."""
    last_line = block.text.splitlines()[-1]
    if not (brace_functions.is_todo(last_line) or brace_functions.is_todo(block.text)):
        return []
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


def _comment_sites(snapshot: DocumentSnapshot, block: BraceComment) -> list[Site]:
    """A comment outside functions that describes code, with no code right below it."""
    language = snapshot.language
    assert language is not None
    if not brace_functions.describes_code(language, block):
        return []
    tree = snapshot.tree
    assert tree is not None
    scopes = language.enclosing_scopes(tree, snapshot.lines, block.start)
    if any(scope.kind == "function" for scope in scopes):
        return []  # in a closure or callback: code there is the completion's business
    lines = snapshot.lines
    following = _next_code_line(lines, block.last_row)
    if following is not None and following == block.last_row + 1:
        text = lines.line_text(following)
        width = len(text[: len(text) - len(text.lstrip())].expandtabs(8))
        if width >= len(block.indent.expandtabs(8)) and not text.strip().startswith("}"):
            return []  # the comment documents the code right below it
    name = named_function(brace_functions.comment_prose(block.text))
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


def _next_code_line(lines: LineIndex, row: int) -> int | None:
    """The first line after ``row`` that is not blank, or None at the end of the document."""
    for r in range(row + 1, lines.line_count):
        if lines.line_text(r).strip():
            return r
    return None
