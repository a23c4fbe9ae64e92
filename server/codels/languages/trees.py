"""Reading a tree-sitter tree at a cursor, the same way for every language.

This module imports tree-sitter, :mod:`codels.languages.base` and :mod:`codels.positions`.
"""

from __future__ import annotations

import tree_sitter

from codels.languages.base import Snippet
from codels.positions import LineIndex


def node_before(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> tree_sitter.Node | None:
    """The smallest node that covers the character just before code-point ``offset``."""
    if offset <= 0:
        return None
    byte = lines.byte_offset(offset)
    return tree.root_node.descendant_for_byte_range(byte - 1, byte - 1)


def text_between(lines: LineIndex, start: tree_sitter.Point, end: tree_sitter.Point) -> Snippet:
    """The document's text between two tree-sitter points, with where it starts."""
    start_offset = lines.offset_of_point(start.row, start.column)
    end_offset = lines.offset_of_point(end.row, end.column)
    return Snippet(start_offset, lines.text[start_offset:end_offset])
