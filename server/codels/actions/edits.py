"""The edits code actions make: text edits, file changes, and where generated code goes.

Imports :mod:`codels.actions.sites`, :mod:`codels.documents` and :mod:`codels.languages`;
nothing of LSP or of the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from codels.actions.sites import Site
from codels.documents import DocumentSnapshot
from codels.languages.python.functions import (
    FunctionShape,
    after_module_docstring,
    indent_block,
    is_wildcard_import,
)
from codels.languages.python.scopes import module_imports


@dataclass(frozen=True)
class TextEdit:
    """Replace ``start``..``end`` (code points of the file's text) with ``text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class FileChange:
    """The edits of one file; ``create`` makes the file first (empty ``base``)."""

    uri: str
    base: str
    """The text the edit offsets refer to."""
    edits: tuple[TextEdit, ...]
    version: int | None = None
    """The document version the edits are for (None: as the file is on disk)."""
    create: bool = False

    @property
    def result(self) -> str:
        """The file's text after the edits."""
        return apply_edits(self.base, self.edits)


@dataclass(frozen=True)
class ActionEdit:
    """What an action does: the file changes and, for people, the code it wrote."""

    changes: tuple[FileChange, ...]
    shown: str
    """The edited function (or the tests) as they will read, for the CLI and logs."""
    notes: tuple[str, ...] = field(default=())


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping ``edits`` to ``text``."""
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def missing_imports(snapshot: DocumentSnapshot, imports: Sequence[str]) -> list[str]:
    """The import statements of ``imports`` that the document does not have yet.

    Wildcard imports (``from typing import *``, which small models like to write) are never
    added: they hide where names come from and can shadow the file's own.
    """
    tree = snapshot.tree
    have = (
        {" ".join(s.text.split()) for s in module_imports(tree, snapshot.lines)} if tree else set()
    )
    wanted = []
    for statement in imports:
        normal = " ".join(statement.split())
        if is_wildcard_import(normal):
            continue
        if normal not in have and normal not in wanted:
            wanted.append(normal)
    return wanted


def import_edit(snapshot: DocumentSnapshot, statements: Sequence[str]) -> TextEdit | None:
    """Insert ``statements`` after the module's last import (or at the top of the file)."""
    if not statements:
        return None
    tree = snapshot.tree
    existing = module_imports(tree, snapshot.lines) if tree else ()
    block = "\n".join(statements)
    if existing:
        last = existing[-1]
        at = last.start + len(last.text)
        return TextEdit(at, at, "\n" + block)
    at = after_module_docstring(tree, snapshot.lines) if tree is not None else 0
    return TextEdit(at, at, block + "\n" + ("\n" if snapshot.text[at:].strip() else ""))


def body_edit(snapshot: DocumentSnapshot, shape: FunctionShape, body: str) -> TextEdit:
    """Put ``body`` (dedented statements) in place of a stub's placeholder statements."""
    lines = snapshot.lines
    new_body = indent_block(body, shape.body_indent)
    if shape.statements:
        first_start = shape.statements[0][0]
        row, _ = lines.position_at(first_start, "utf-32")
        if shape.body_on_header_line:
            return TextEdit(shape.header_end, shape.end, "\n" + new_body)
        return TextEdit(lines.starts[row], shape.statements[-1][1], new_body)
    assert shape.docstring is not None
    return TextEdit(shape.docstring[1], shape.docstring[1], "\n" + new_body)


def function_edit(snapshot: DocumentSnapshot, shape: FunctionShape, function: str) -> TextEdit:
    """Replace the whole function (decorators included) with ``function`` (dedented)."""
    lines = snapshot.lines
    row, _ = lines.position_at(shape.start, "utf-32")
    return TextEdit(lines.starts[row], shape.end, indent_block(function, shape.indent))


def comment_edit(site: Site, function: str) -> TextEdit:
    """Put a new function right below the comment that describes it."""
    return TextEdit(site.end, site.end, "\n" + indent_block(function, site.indent))


def docstring_edit(shape: FunctionShape, docstring: str) -> TextEdit:
    """Insert ``docstring`` (a string literal, possibly several lines) as the first statement."""
    text = indent_block(docstring, shape.body_indent)
    return TextEdit(shape.header_end, shape.header_end, "\n" + text)
