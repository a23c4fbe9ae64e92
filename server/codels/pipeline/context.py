"""What the model needs to know at the cursor, read with tree-sitter.

:func:`build_context` turns a document snapshot and a cursor offset into a
:class:`CompletionContext`: bounded prefix and suffix windows, the enclosing functions and
classes (decorators, signature, docstring), the comment block above the cursor, the module's
imports, a syntax judge for the region around the cursor, and the *kind* of completion that fits:

* ``none``: inside a string or a comment, or with text (other than closing brackets and
  quotes) right of the cursor;
* ``block``: on a blank line (an empty body, after a comment that describes code, between
  statements) or at the end of a line that opens a block (``def f():``);
* ``line``: anywhere else in a line (after ``=``, ``(``, ``.``, mid-expression).

This module imports :mod:`codels.documents`, :mod:`codels.positions` and :mod:`codels.languages.syntax`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import tree_sitter

from codels.documents import DocumentSnapshot
from codels.languages.syntax import SyntaxJudge, unterminated_string_query
from codels.positions import LineIndex

PREFIX_WINDOW_CHARS = 24_000
"""Most text before the cursor handed to prompt fitting (well above any token budget)."""
SUFFIX_WINDOW_CHARS = 6_000
"""Most text after the cursor handed to prompt fitting."""
JUDGE_LINES_BEFORE = 300
"""Most lines before the cursor that the syntax judge parses."""
JUDGE_LINES_AFTER = 100
"""Most lines after the cursor that the syntax judge parses."""
JUDGE_MAX_CHARS_BEFORE = 20_000
JUDGE_MAX_CHARS_AFTER = 5_000
"""Most characters on either side of the cursor that the syntax judge parses."""
MAX_IMPORTS = 60
"""Most import statements collected as extra context."""
MAX_TOP_LEVEL_SCANNED = 400
"""Imports are looked for among this many top-level statements from the top of the file."""

# Characters that may stand right of the cursor without ruling a completion out: an editor
# that pairs brackets and quotes leaves ")", "):" or '")' there while the user types inside.
_CLOSING = frozenset(")]}:;,'\"")
_BLOCK_OPENER = re.compile(
    r"^\s*(?:async\s+)?(?:def|class|if|elif|else|for|while|try|except|finally|with|match|case)\b"
)
_SCOPE_TYPES = {"function_definition": "function", "class_definition": "class"}
_IMPORT_TYPES = frozenset({"import_statement", "import_from_statement", "future_import_statement"})


class CompletionKind(StrEnum):
    """What kind of completion fits at the cursor."""

    NONE = "none"
    LINE = "line"
    BLOCK = "block"


@dataclass(frozen=True)
class Snippet:
    """A piece of the document used as extra context, with where it starts."""

    start: int
    """Code-point offset of the snippet's first character in the document."""
    text: str


@dataclass(frozen=True)
class Scope:
    """An enclosing function or class."""

    kind: str
    """``function`` or ``class``."""
    name: str
    header: Snippet
    """Decorators, signature and docstring (without the rest of the body)."""
    indent: str
    """Indentation of the ``def``/``class`` line."""


@dataclass(frozen=True)
class CompletionContext:
    """Everything prompt building and post-processing need about one cursor position."""

    kind: CompletionKind
    reason: str
    """Why this kind was chosen, for logs and the CLI."""
    prefix: str
    """Text before the cursor, starting at a line start at most PREFIX_WINDOW_CHARS back."""
    suffix: str
    """Text after the cursor, ending at a line end at most SUFFIX_WINDOW_CHARS on."""
    prefix_start: int
    """Code-point offset in the document where :attr:`prefix` starts."""
    prefix_start_line: int
    """Line number (0-based) of :attr:`prefix_start`."""
    line_prefix: str
    """Text on the cursor line before the cursor."""
    line_suffix: str
    """Text on the cursor line after the cursor."""
    scopes: tuple[Scope, ...] = ()
    """Enclosing functions and classes, outermost first."""
    comment_above: str = ""
    """The comment block directly above the cursor line or above the innermost scope."""
    imports: tuple[Snippet, ...] = ()
    """Module-level import statements."""
    judge: SyntaxJudge | None = None
    """Judge for completions at this cursor; None when the language has no grammar."""

    @property
    def indent(self) -> str:
        """Indentation of the cursor line (its leading whitespace)."""
        return self.line_prefix[: len(self.line_prefix) - len(self.line_prefix.lstrip(" \t"))]


def build_context(
    snapshot: DocumentSnapshot,
    offset: int,
    *,
    complete_in_strings: bool = False,
    complete_in_comments: bool = False,
) -> CompletionContext:
    """Build the completion context for the cursor at code-point ``offset`` of ``snapshot``."""
    text = snapshot.text
    lines = snapshot.lines
    offset = max(0, min(offset, len(text)))
    line_number, _ = lines.position_at(offset, "utf-32")
    line_start = lines.starts[line_number]
    line_text = lines.line_text(line_number)
    line_prefix = text[line_start:offset]
    line_suffix = line_text[len(line_prefix) :]

    prefix_start = _line_start_at_or_after(lines, max(0, offset - PREFIX_WINDOW_CHARS))
    prefix_start = min(prefix_start, line_start)
    suffix_end = _line_end_at_or_before(lines, min(len(text), offset + SUFFIX_WINDOW_CHARS))
    suffix_end = max(suffix_end, line_start + len(line_text))

    tree = snapshot.tree
    inside = _inside_string_or_comment(tree, lines, offset) if tree is not None else None
    kind, reason = classify(
        line_prefix,
        line_suffix,
        inside=inside,
        complete_in_strings=complete_in_strings,
        complete_in_comments=complete_in_comments,
    )

    scopes: tuple[Scope, ...] = ()
    imports: tuple[Snippet, ...] = ()
    judge: SyntaxJudge | None = None
    if tree is not None and snapshot.language is not None:
        scopes = enclosing_scopes(tree, lines, offset)
        imports = module_imports(tree, lines)
        judge = _judge_for(snapshot.language, tree, lines, offset, line_number)
    anchor_line = line_number
    if scopes and not _comment_lines_above(lines, line_number):
        anchor_line, _ = lines.position_at(scopes[-1].header.start, "utf-32")
    comment_above = "\n".join(_comment_lines_above(lines, anchor_line))

    return CompletionContext(
        kind=kind,
        reason=reason,
        prefix=text[prefix_start:offset],
        suffix=text[offset:suffix_end],
        prefix_start=prefix_start,
        prefix_start_line=lines.position_at(prefix_start, "utf-32")[0],
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        scopes=scopes,
        comment_above=comment_above,
        imports=imports,
        judge=judge,
    )


def classify(
    line_prefix: str,
    line_suffix: str,
    *,
    inside: str | None,
    complete_in_strings: bool = False,
    complete_in_comments: bool = False,
) -> tuple[CompletionKind, str]:
    """Decide what kind of completion fits, from the cursor line and what the cursor is in.

    ``inside`` is ``"string"``, ``"comment"`` or None, as found in the syntax tree.
    """
    if inside == "comment" and not complete_in_comments:
        return CompletionKind.NONE, "inside a comment"
    if inside == "string" and not complete_in_strings:
        return CompletionKind.NONE, "inside a string"
    rest = line_suffix.strip()
    if any(ch not in _CLOSING for ch in rest):
        return CompletionKind.NONE, "text right of the cursor"
    if not line_prefix.strip():
        if rest:
            return CompletionKind.LINE, "blank line before closing brackets"
        return CompletionKind.BLOCK, "blank line"
    if not rest and opens_block(line_prefix):
        return CompletionKind.BLOCK, "end of a line that opens a block"
    return CompletionKind.LINE, "mid-line"


def opens_block(line: str) -> bool:
    """Whether ``line`` is the header of a compound statement (``if x:``, ``def f():``...)."""
    return line.rstrip().endswith(":") and _BLOCK_OPENER.match(line) is not None


def _line_start_at_or_after(lines: LineIndex, offset: int) -> int:
    line, column = lines.position_at(offset, "utf-32")
    if column == 0 or line + 1 >= lines.line_count:
        return lines.starts[line] if column == 0 else offset
    return lines.starts[line + 1]


def _line_end_at_or_before(lines: LineIndex, offset: int) -> int:
    line, column = lines.position_at(offset, "utf-32")
    if column >= len(lines.line_text(line)):
        return lines.starts[line] + len(lines.line_text(line))
    if line == 0:
        return offset
    return lines.starts[line - 1] + len(lines.line_text(line - 1))


def _node_before(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> tree_sitter.Node | None:
    """The smallest node that covers the character just before ``offset``."""
    if offset <= 0:
        return None
    byte = lines.byte_offset(offset)
    return tree.root_node.descendant_for_byte_range(byte - 1, byte - 1)


def _inside_string_or_comment(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> str | None:
    """Return ``"comment"`` or ``"string"`` when the cursor is inside one, else None."""
    node = _node_before(tree, lines, offset)
    cursor_byte = lines.byte_offset(offset)
    while node is not None:
        if node.type == "comment":
            return "comment"
        if node.type == "interpolation":
            return None  # code inside an f-string's braces
        if node.type == "string":
            last = node.children[-1] if node.children else None
            terminated = last is not None and last.type == "string_end" and not last.is_missing
            if cursor_byte < node.end_byte or not terminated:
                return "string"
            return None
        node = node.parent
    return "string" if _after_unterminated_string(tree, lines, offset) else None


def _after_unterminated_string(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> bool:
    """Whether an unterminated string opens before the cursor and runs on to it.

    tree-sitter does not make a ``string`` node of a string the user is still typing: it leaves
    an ERROR holding the ``string_start``. A single-quoted one runs to the end of its line; a
    triple-quoted one to the end of the file (looked for up to JUDGE_LINES_BEFORE lines back).
    """
    cursor_byte = lines.byte_offset(offset)
    row, _ = lines.point_at(offset)
    first_byte = lines.byte_offset(lines.starts[max(0, row - JUDGE_LINES_BEFORE)])
    query_cursor = tree_sitter.QueryCursor(unterminated_string_query(tree.language))
    query_cursor.set_byte_range(first_byte, cursor_byte)
    for start in query_cursor.captures(tree.root_node).get("start", []):
        if start.end_byte > cursor_byte:
            continue
        quote = (start.text or b"").lstrip(b"rRbBuUfFtT")
        if quote in (b'"""', b"'''") or start.start_point.row == row:
            return True
    return False


def _text_between(lines: LineIndex, start: tree_sitter.Point, end: tree_sitter.Point) -> Snippet:
    start_offset = lines.offset_of_point(start.row, start.column)
    end_offset = lines.offset_of_point(end.row, end.column)
    return Snippet(start_offset, lines.text[start_offset:end_offset])


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
    node = _node_before(tree, lines, anchor)
    found: list[Scope] = []
    while node is not None:
        kind = _SCOPE_TYPES.get(node.type)
        if kind is not None and node.start_point.column < cursor_column:
            found.append(_scope_of(node, kind, lines))
        node = node.parent
    return tuple(reversed(found))


def _scope_of(node: tree_sitter.Node, kind: str, lines: LineIndex) -> Scope:
    outer = (
        node.parent
        if node.parent is not None and node.parent.type == "decorated_definition"
        else node
    )
    header_end = node.end_point
    body = node.child_by_field_name("body")
    if body is not None:
        header_end = body.start_point
        first = body.named_children[0] if body.named_children else None
        if (
            first is not None
            and first.type == "expression_statement"
            and first.named_children
            and first.named_children[0].type == "string"
        ):
            header_end = first.end_point
    name_node = node.child_by_field_name("name")
    name = name_node.text.decode("utf-8", "replace") if name_node and name_node.text else ""
    header = _text_between(lines, outer.start_point, header_end)
    indent_line = lines.line_text(outer.start_point.row)
    return Scope(
        kind=kind,
        name=name,
        header=Snippet(header.start, header.text.rstrip()),
        indent=indent_line[: len(indent_line) - len(indent_line.lstrip(" \t"))],
    )


def module_imports(tree: tree_sitter.Tree, lines: LineIndex) -> tuple[Snippet, ...]:
    """Return the module-level import statements near the top of the file, in order."""
    found: list[Snippet] = []
    root = tree.root_node
    for index in range(min(root.child_count, MAX_TOP_LEVEL_SCANNED)):
        child = root.child(index)
        if child is not None and child.type in _IMPORT_TYPES and not child.has_error:
            found.append(_text_between(lines, child.start_point, child.end_point))
            if len(found) >= MAX_IMPORTS:
                break
    return tuple(found)


def _comment_lines_above(lines: LineIndex, line_number: int) -> list[str]:
    """The contiguous ``#`` comment lines directly above ``line_number``."""
    found: list[str] = []
    row = line_number - 1
    while row >= 0:
        stripped = lines.line_text(row).strip()
        if not stripped.startswith("#"):
            break
        found.append(stripped)
        row -= 1
    return list(reversed(found))


def _judge_for(
    language: str,
    tree: tree_sitter.Tree,
    lines: LineIndex,
    offset: int,
    line_number: int,
) -> SyntaxJudge:
    """A judge over the top-level statements around the cursor, bounded in lines."""
    text = lines.text
    cursor_byte = lines.byte_offset(offset)
    first_row = max(0, line_number - JUDGE_LINES_BEFORE)
    last_row = min(lines.line_count - 1, line_number + JUDGE_LINES_AFTER)
    root = tree.root_node
    start_row, end_row = line_number, line_number
    # The top-level statement that contains the cursor or comes after it. (Node methods
    # first_child_for_byte and child(-1) crash py-tree-sitter when there is no such child; the
    # cursor API answers None instead.)
    walker = tree.walk()
    following = walker.node if walker.goto_first_child_for_byte(cursor_byte) is not None else None
    if following is not None:
        previous = following.prev_sibling
    else:
        previous = root.child(root.child_count - 1) if root.child_count else None
    if previous is not None:
        start_row = previous.start_point.row
    if following is not None:
        if following.start_byte <= cursor_byte:
            start_row = min(start_row, following.start_point.row)
        end_row = max(end_row, following.end_point.row)
    start_row = max(first_row, min(start_row, line_number))
    end_row = min(last_row, end_row)
    start = lines.starts[start_row]
    end = lines.starts[end_row] + len(lines.line_text(end_row))
    end = max(end, offset)
    # Bounded in characters too: on a megabyte-long line, lines are no bound at all.
    start = max(start, offset - JUDGE_MAX_CHARS_BEFORE)
    end = min(end, offset + JUDGE_MAX_CHARS_AFTER)
    return SyntaxJudge(language=language, before=text[start:offset], after=text[offset:end])
