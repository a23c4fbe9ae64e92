"""Whether the cursor stands inside a Python string or comment, finished or still being typed.

This module imports tree-sitter, :mod:`codels.languages` (grammar, trees) and
:mod:`codels.positions`.
"""

from __future__ import annotations

import tree_sitter

from codels.languages.python.grammar import NODES, STRING_END, unterminated_string_query
from codels.languages.trees import node_before
from codels.positions import LineIndex

UNTERMINATED_LOOKBACK_LINES = 300
"""How far back an unterminated triple-quoted string is looked for (the judge's window)."""
_STRING_PREFIXES = b"rRbBuUfFtT"


def inside_string_or_comment(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> str | None:
    """Return ``"comment"`` or ``"string"`` when the cursor is inside one, else None."""
    node = node_before(tree, lines, offset)
    cursor_byte = lines.byte_offset(offset)
    while node is not None:
        if node.type in NODES.comments:
            return "comment"
        if node.type in NODES.string_code:
            return None  # code inside an f-string's braces
        if node.type in NODES.strings:
            last = node.children[-1] if node.children else None
            terminated = last is not None and last.type == STRING_END and not last.is_missing
            if cursor_byte < node.end_byte or not terminated:
                return "string"
            return None
        node = node.parent
    return "string" if _after_unterminated_string(tree, lines, offset) else None


def _after_unterminated_string(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> bool:
    """Whether an unterminated string opens before the cursor and runs on to it.

    tree-sitter does not make a ``string`` node of a string the user is still typing: it leaves
    an ERROR holding the ``string_start``. A single-quoted one runs to the end of its line; a
    triple-quoted one to the end of the file (looked for UNTERMINATED_LOOKBACK_LINES back).
    """
    cursor_byte = lines.byte_offset(offset)
    row, _ = lines.point_at(offset)
    first_byte = lines.byte_offset(lines.starts[max(0, row - UNTERMINATED_LOOKBACK_LINES)])
    query_cursor = tree_sitter.QueryCursor(unterminated_string_query(tree.language))
    query_cursor.set_byte_range(first_byte, cursor_byte)
    for start in query_cursor.captures(tree.root_node).get("start", []):
        if start.end_byte > cursor_byte:
            continue
        quote = (start.text or b"").lstrip(_STRING_PREFIXES)
        if quote in (b'"""', b"'''") or start.start_point.row == row:
            return True
    return False
