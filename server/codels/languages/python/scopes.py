"""Enclosing functions and classes (decorators, signature, docstring) and module imports.

This module imports tree-sitter, :mod:`codels.languages` (base, grammar, trees) and
:mod:`codels.positions`.
"""

from __future__ import annotations

import tree_sitter

from codels.languages.base import Scope, Snippet
from codels.languages.python.grammar import DECORATED, NODES
from codels.languages.trees import node_before, text_between
from codels.positions import LineIndex

MAX_IMPORTS = 60
"""Most import statements collected as extra context."""
MAX_TOP_LEVEL_SCANNED = 400
"""Imports are looked for among this many top-level statements from the top of the file."""


def enclosing_scopes(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> tuple[Scope, ...]:
    """Return the functions and classes that enclose the cursor, outermost first.

    On a blank line a body has ended in the tree's eyes; a scope still encloses the cursor when
    its ``def``/``class`` line is indented less than the cursor, so the anchor is the last
    non-blank character before the cursor.
    """
    text = lines.text
    line_number, _ = lines.position_at(offset, "utf-32")
    line_prefix = text[lines.starts[line_number] : offset]
    if line_prefix.strip():
        cursor_column = len(line_prefix) - len(line_prefix.lstrip(" \t"))
    else:
        cursor_column = len(line_prefix)
    anchor = offset  # the end of the last non-blank text (no copy of a long prefix)
    while anchor > 0 and text[anchor - 1].isspace():
        anchor -= 1
    node = node_before(tree, lines, anchor)
    found: list[Scope] = []
    while node is not None:
        kind = NODES.scopes.get(node.type)
        if kind is not None and node.start_point.column < cursor_column:
            found.append(_scope_of(node, kind, lines))
        node = node.parent
    return tuple(reversed(found))


def _scope_of(node: tree_sitter.Node, kind: str, lines: LineIndex) -> Scope:
    outer = node.parent if node.parent is not None and node.parent.type == DECORATED else node
    header_end = node.end_point
    body = node.child_by_field_name("body")
    if body is not None:
        header_end = body.start_point
        first = body.named_children[0] if body.named_children else None
        if (
            first is not None
            and first.type == "expression_statement"
            and first.named_children
            and first.named_children[0].type in NODES.strings
        ):
            header_end = first.end_point  # the docstring
    name_node = node.child_by_field_name("name")
    name = name_node.text.decode("utf-8", "replace") if name_node and name_node.text else ""
    header = text_between(lines, outer.start_point, header_end)
    indent_line = lines.line_text(outer.start_point.row)
    return Scope(
        kind=kind,
        name=name,
        header=Snippet(header.start, header.text.rstrip()),
        indent=indent_line[: len(indent_line) - len(indent_line.lstrip(" \t"))],
        last_line=node.end_point.row,
    )


def module_imports(tree: tree_sitter.Tree, lines: LineIndex) -> tuple[Snippet, ...]:
    """Return the module-level import statements near the top of the file, in order."""
    found: list[Snippet] = []
    root = tree.root_node
    for index in range(min(root.child_count, MAX_TOP_LEVEL_SCANNED)):
        child = root.child(index)
        if child is not None and child.type in NODES.imports and not child.has_error:
            found.append(text_between(lines, child.start_point, child.end_point))
            if len(found) >= MAX_IMPORTS:
                break
    return tuple(found)
