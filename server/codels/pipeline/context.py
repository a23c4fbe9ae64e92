"""What the model needs to know at the cursor: :func:`build_context` makes the context.

Bounded prefix and suffix windows, enclosing scopes, the comment above, imports, a syntax judge
and the kind of completion that fits; what is language-specific is asked of the snapshot's
:class:`~codels.languages.base.Language`. Imports :mod:`codels.documents`, :mod:`codels.languages`
and :mod:`codels.positions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import tree_sitter

from codels.documents import DocumentSnapshot
from codels.languages.base import Language, Scope, Snippet
from codels.languages.syntax import SyntaxJudge
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
WIDER_JUDGE_CHARS = 200_000
"""Most characters on either side of the cursor that the wider judge parses (see
:attr:`~codels.languages.syntax.SyntaxJudge.wider`): whole files of a few thousand lines."""

# Characters that may stand right of the cursor without ruling a completion out (the language
# says which: its closing_chars): an editor that pairs brackets and quotes leaves ")", "):" or
# '")' there while the user types inside. This set serves where codels reads no language.
_CLOSING = frozenset(")]}:;,'\"")


class CompletionKind(StrEnum):
    """What kind of completion fits at the cursor."""

    NONE = "none"
    LINE = "line"
    BLOCK = "block"


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
    language: Language | None = None
    """The document's language (None: codels reads none, so no block model either)."""
    code_parses: bool = False
    """Whether the code around the cursor parses as it is (the judge's window has no syntax
    error): then a blank line between statements is a gap for one more statement, not a hole
    that a span of missing code left."""
    suffix_to_end: bool = False
    """Whether :attr:`suffix` runs to the end of the document (then a bracket it does not
    close is closed by nothing)."""

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
    line_prefix = text[lines.starts[line_number] : offset]
    line_suffix = lines.line_text(line_number)[len(line_prefix) :]

    prefix_start, suffix_end = _windows(lines, offset, line_number)

    tree = snapshot.tree
    language = snapshot.language
    inside = None
    if tree is not None and language is not None:
        inside = language.inside_string_or_comment(tree, lines, offset)
    kind, reason = classify(
        line_prefix,
        line_suffix,
        inside=inside,
        language=language,
        complete_in_strings=complete_in_strings,
        complete_in_comments=complete_in_comments,
    )

    scopes: tuple[Scope, ...] = ()
    imports: tuple[Snippet, ...] = ()
    judge: SyntaxJudge | None = None
    comment_above = ""
    if tree is not None and language is not None:
        scopes = language.enclosing_scopes(tree, lines, offset)
        imports = language.module_imports(tree, lines)
        judge = _judge_for(language, tree, lines, offset, line_number)
    if language is not None:
        markers = language.comment_starts or (language.line_comment,)
        comment_above = _comment_above(lines, line_number, markers, scopes)

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
        language=language,
        code_parses=(
            judge is not None
            and kind is CompletionKind.BLOCK
            and _parses_around(judge, lines, offset, line_number, scopes)
        ),
        suffix_to_end=suffix_end >= len(text),
    )


def classify(
    line_prefix: str,
    line_suffix: str,
    *,
    inside: str | None,
    language: Language | None,
    complete_in_strings: bool = False,
    complete_in_comments: bool = False,
) -> tuple[CompletionKind, str]:
    """Decide what kind of completion fits, from the cursor line and what the cursor is in.

    * ``none``: inside a string or a comment, or with text (other than closing brackets and
      quotes) right of the cursor;
    * ``block``: on a blank line (an empty body, after a comment that describes code, between
      statements) or at the end of a line that opens a block (``def f():`` in Python);
    * ``line``: anywhere else in a line (after ``=``, ``(``, ``.``, mid-expression).

    ``inside`` is ``"string"``, ``"comment"`` or None, as found in the syntax tree; the
    ``language`` says what may stand right of the cursor and (its block model) which lines
    open a block.
    """
    if inside == "comment" and not complete_in_comments:
        return CompletionKind.NONE, "inside a comment"
    if inside == "string" and not complete_in_strings:
        return CompletionKind.NONE, "inside a string"
    rest = line_suffix.strip()
    closing = language.closing_chars if language is not None else _CLOSING
    if any(ch not in closing for ch in rest):
        return CompletionKind.NONE, "text right of the cursor"
    if not line_prefix.strip():
        if rest:
            return CompletionKind.LINE, "blank line before closing brackets"
        return CompletionKind.BLOCK, "blank line"
    if not rest and language is not None and language.blocks.opens_block(line_prefix):
        return CompletionKind.BLOCK, "end of a line that opens a block"
    return CompletionKind.LINE, "mid-line"


def _windows(lines: LineIndex, offset: int, line_number: int) -> tuple[int, int]:
    """Where the prefix window starts and the suffix window ends, at line bounds.

    The prefix starts at a line start at most PREFIX_WINDOW_CHARS back (never after the cursor
    line's start); the suffix ends at a line end at most SUFFIX_WINDOW_CHARS on (never before
    the cursor line's end).
    """
    line_start = lines.starts[line_number]
    line_end = line_start + len(lines.line_text(line_number))
    prefix_start = _line_start_at_or_after(lines, max(0, offset - PREFIX_WINDOW_CHARS))
    suffix_end = _line_end_at_or_before(lines, min(len(lines.text), offset + SUFFIX_WINDOW_CHARS))
    return min(prefix_start, line_start), max(suffix_end, line_end)


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


def _comment_lines_above(lines: LineIndex, line_number: int, markers: tuple[str, ...]) -> list[str]:
    """The contiguous comment lines directly above ``line_number``.

    A comment line begins with one of ``markers`` once stripped (or is one, stripped: a lone
    ``*`` in a doc comment).
    """
    found: list[str] = []
    row = line_number - 1
    while row >= 0:
        stripped = lines.line_text(row).strip()
        if not any(stripped.startswith(m) or stripped == m.strip() for m in markers):
            break
        found.append(stripped)
        row -= 1
    return list(reversed(found))


def _comment_above(
    lines: LineIndex, line_number: int, markers: tuple[str, ...], scopes: tuple[Scope, ...]
) -> str:
    """The comment block above the cursor line, else the one above the innermost scope."""
    anchor_line = line_number
    if scopes and not _comment_lines_above(lines, line_number, markers):
        anchor_line, _ = lines.position_at(scopes[-1].header.start, "utf-32")
    return "\n".join(_comment_lines_above(lines, anchor_line, markers))


def _parses_around(
    judge: SyntaxJudge, lines: LineIndex, offset: int, line_number: int, scopes: tuple[Scope, ...]
) -> bool:
    """Whether the code around the cursor parses as it is.

    Judged on the outermost enclosing scope that fits the judge's bounds, whole: from its
    first line to its last (or the cursor line, and the lines indented under it after that),
    shifted left by its indentation. The judge's own window, cut by those bounds inside a long
    class, starts indented or ends mid-statement, and so fails to parse for no fault of the
    code at the cursor. With no enclosing scope, or none short enough, the judge's window
    decides.
    """
    for scope in scopes:
        if scope.last_line < 0:
            continue
        first, _ = lines.position_at(scope.header.start, "utf-32")
        last = _last_line_within(lines, max(scope.last_line, line_number), len(scope.indent))
        start = lines.starts[first]
        end = lines.starts[last] + len(lines.line_text(last))
        if offset - start <= JUDGE_MAX_CHARS_BEFORE and end - offset <= JUDGE_MAX_CHARS_AFTER:
            window = _dedented(lines.text[start:end], len(scope.indent))
            return SyntaxJudge(language=judge.language, before=window, after="").parses
    return judge.parses


def _last_line_within(lines: LineIndex, last: int, indent: int) -> int:
    """``last``, or a later line up to which every non-blank line is indented beyond ``indent``.

    Lines indented under a scope belong to it in the text even where the tree ends the scope
    early (the rest of a statement whose first line is missing).
    """
    row = last + 1
    while row < lines.line_count:
        line = lines.line_text(row)
        if line.strip():
            if len(line) - len(line.lstrip(" \t")) <= indent:
                break
            last = row
        row += 1
    return last


def _dedented(text: str, width: int) -> str:
    """``text`` with up to ``width`` leading spaces or tabs taken off each line."""
    return "\n".join(
        line[min(width, len(line) - len(line.lstrip(" \t"))) :] for line in text.split("\n")
    )


def _judge_for(
    language: Language,
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
    start_row, end_row = line_number, line_number
    following, previous = _children_around(tree.root_node, cursor_byte)
    part = _part_window(language, following, lines, offset, (first_row, last_row))
    if part is not None:
        start, end = part
    else:
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
    wide_start = max(0, offset - WIDER_JUDGE_CHARS)
    wide_end = min(len(text), offset + WIDER_JUDGE_CHARS)
    wider = None
    if start > wide_start or end < wide_end:
        wider = SyntaxJudge(
            language=language, before=text[wide_start:offset], after=text[offset:wide_end]
        )
    return SyntaxJudge(
        language=language, before=text[start:offset], after=text[offset:end], wider=wider
    )


def _part_window(
    language: Language,
    top: tree_sitter.Node | None,
    lines: LineIndex,
    offset: int,
    rows: tuple[int, int],
) -> tuple[int, int] | None:
    """Where the judge's window starts and ends inside a declaration longer than ``rows``.

    A cut-off window has errors of its own; where the grammar reads the statements or members
    of a node on their own (its :attr:`~codels.languages.base.NodeTypes.standalone_parts`),
    the window is the child around the cursor and the one before it, in the innermost such
    node whose child fits. None where there is none (the window is cut at ``rows``).
    """
    parts = language.nodes.standalone_parts
    cursor_byte = lines.byte_offset(offset)

    def too_long(node: tree_sitter.Node) -> bool:
        return node.start_point.row < rows[0] or node.end_point.row > rows[1]

    if not parts or top is None or top.start_byte > cursor_byte or not too_long(top):
        return None
    found: tuple[tree_sitter.Node | None, tree_sitter.Node | None] | None = None
    node: tree_sitter.Node | None = top
    while node is not None and node.start_byte <= cursor_byte and node.child_count:
        inner, before = _children_around(node, cursor_byte)
        if node.type in parts:
            found = (inner, before)
            if inner is None or inner.start_byte > cursor_byte or not too_long(inner):
                break
        node = inner
    if found is None:
        return None
    following, previous = found
    # Not the part's own brackets: its header stands before the opening one.
    start = offset
    if previous is not None:
        point = previous.start_point if previous.is_named else previous.end_point
        start = min(offset, lines.offset_of_point(point.row, point.column))
    end = offset
    if following is not None:
        point = following.end_point if following.is_named else following.start_point
        end = max(offset, lines.offset_of_point(point.row, point.column))
    return start, end


def _children_around(
    parent: tree_sitter.Node, cursor_byte: int
) -> tuple[tree_sitter.Node | None, tree_sitter.Node | None]:
    """The child of ``parent`` that contains the cursor or comes after it, and the one before.

    (Node methods first_child_for_byte and child(-1) crash py-tree-sitter when there is no
    such child; the cursor API answers None instead.)
    """
    walker = parent.walk()
    following = walker.node if walker.goto_first_child_for_byte(cursor_byte) is not None else None
    if following is not None:
        return following, following.prev_sibling
    last = parent.child(parent.child_count - 1) if parent.child_count else None
    return None, last
