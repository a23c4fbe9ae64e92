"""Python's block model: indentation. Where a block completion ends, and the headers it needs.

:class:`BlockRules` ends a block completion (and stops generation as soon as the block has
ended); :class:`IndentationBlocks` is the :class:`~codels.languages.base.BlockModel` that the
pipeline asks. This module imports :mod:`codels.languages` (base, lines) only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codels.languages.base import BlockEnd, CursorText
from codels.languages.lines import (
    NextLine,
    bracket_balance,
    indent_unit,
    indent_width,
    line_starts,
    next_line,
)

_BLOCK_OPENER = re.compile(
    r"^\s*(?:async\s+)?(?:def|class|if|elif|else|for|while|try|except|finally|with|match|case)\b"
)


def opens_block(line: str) -> bool:
    """Whether ``line`` is the header of a compound statement (``if x:``, ``def f():``...)."""
    return line.rstrip().endswith(":") and _BLOCK_OPENER.match(line) is not None


_ENDS_BLOCK = re.compile(r"(return|raise|pass|break|continue)\b")


def next_line_indent(text: str, end: int) -> str:
    """The indentation an editor gives the line opened by Enter at ``end`` (a line's end).

    The line's own indentation, one level deeper after a line that opens a block or a
    bracket, one level shallower after ``return``, ``raise``, ``pass``, ``break`` or
    ``continue`` (what VS Code's Python rules and Neovim's Python indent do).
    """
    line = text[text.rfind("\n", 0, end) + 1 : end]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    unit = "\t" if indent.startswith("\t") else "    "
    code = line.strip()
    if code.endswith((":", "(", "[", "{")):
        return indent + unit
    if _ENDS_BLOCK.match(code) and indent.endswith(unit):
        return indent[: -len(unit)]
    return indent


def _same_code(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


@dataclass(frozen=True)
class BlockRules:
    """Where a block completion ends; see :meth:`end`."""

    base: str
    """What precedes the model's text on its first line in the prompt."""
    following: NextLine | None = None
    """The first non-blank line after the cursor line."""
    indent_unit: int = 4
    """The file's indentation step."""
    floor: int | None = None
    """The least indentation a line may have once the block has begun; None: the first
    line's (see :func:`dedent_floor`)."""
    reachable: int | None = None
    """A ``return``, ``raise``, ``break`` or ``continue`` indented this much or less would make
    the following line dead code (None: no such line; see :func:`block_rules`)."""
    least_header: int = 0
    """The least indentation of a header below the floor that takes the following line as its
    body: the innermost function's body (a completion never leaves its function)."""
    one_statement: bool = False
    """A gap between statements of complete code (see :func:`is_gap`): the completion is one
    statement, its own body and continuation lines included."""

    def end(self, text: str, *, complete_lines_only: bool) -> int | None:
        """Where the completion should end, as an index into ``text``, or None to go on.

        The completion ends before a line indented less than :attr:`floor` (and never less than
        its own first line when there is no floor), before a line that repeats the line after
        the cursor (whitespace aside), and before the third of three equal lines. A first line
        that opens a block (``for x in xs:``) whose body is the line after the cursor, one level
        deeper, is the whole completion; a later such line is not (the code after the cursor is
        as often a later statement of its block as the first), unless it is indented less than
        the floor right after a ``return`` (``raise``, ``break``, ``continue``) that would leave
        the following line unreachable: then that line is its body (``return 0`` in
        ``if n == 0:``, then ``if n == 1:`` over the ``return 1`` after the cursor). It also ends
        before such a ``return`` after its first line: the model finishing the function its own
        way. When the
        following line is an ``elif``, ``else``, ``except`` or ``finally``, a line at its
        indentation must be another such clause: any other statement there would take the
        following clause away from the statement it belongs to.

        With ``complete_lines_only`` the rules that need a whole line look only at lines already
        ended by a line break (the generation-time check, called with partial text).
        """
        base = self.base
        lines = (base + text).split("\n")
        starts = line_starts(lines, len(base))
        clause = self.following is not None and bool(_CONTINUATION.match(self.following.text))
        floor = 0
        first_width = 0
        compound = False  # the first line opens a compound statement (it may have clauses)
        decorated = False  # only decorators so far: the statement is the definition after them
        started = False
        dead_end = False  # the last line would leave the following line unreachable
        for index, line in enumerate(lines):
            stripped = line.strip()
            if not stripped or (index == 0 and base.strip()):
                continue  # blank, or the user's own line before the cursor
            whole = index < len(lines) - 1 or not complete_lines_only
            before = max(0, starts[index] - 1)
            repeated = self._end_before_repeat(lines, starts, index) if whole else None
            if repeated is not None:
                return repeated
            width = indent_width(line)
            if not started:
                started = True
                first_width = width
                compound = opens_block(stripped)
                # Decorators go on to the definition they decorate, unless that is the
                # code after the cursor.
                decorated = stripped.startswith("@") and not self._decorates_following()
                floor = width if self.floor is None else min(width, self.floor)
                if whole and self._heads_following(stripped, width):
                    return starts[index] + len(line) - (len(base) if index == 0 else 0)
                dead_end = self._leaves_dead_code(stripped, width)
                continue
            if (
                self.one_statement
                and not dead_end  # (then the code after it needs a new header: a block fits)
                and not decorated
                and _statement_done(lines, index, first_width, compound)
            ):
                return before
            decorated = decorated and stripped.startswith("@")  # the definition they decorate
            if width < floor:
                # (Never before a clause: then nothing is reachable.)
                if dead_end and self._takes_following(stripped, width, whole):
                    # The following line, unreachable after the line before, is this header's body.
                    return starts[index] + len(line) if whole else None
                return before
            if whole and self._leaves_dead_code(stripped, width):
                return before
            if clause and self._parts_clause(stripped, width, whole):
                return before
            dead_end = self._leaves_dead_code(stripped, width)
        return None

    def _decorates_following(self) -> bool:
        """Whether the line after the cursor is what a decorator at the cursor decorates."""
        following = self.following
        return following is not None and (
            following.text.startswith("@") or bool(_DEFINITION.match(following.text))
        )

    def _end_before_repeat(self, lines: list[str], starts: list[int], index: int) -> int | None:
        """Where to end when line ``index`` repeats the following line or two lines before it.

        A line that repeats the line after the cursor (whitespace aside) is cut with what
        follows; of three equal lines, the third is.
        """
        stripped = lines[index].strip()
        if self.following is not None and _same_code(stripped, self.following.text):
            return max(0, starts[index] - 1)
        earlier = (lines[index - 1].strip(), lines[index - 2].strip()) if index >= 2 else ()
        if earlier == (stripped, stripped):
            return starts[index - 1] - 1
        return None

    def _heads_following(self, line: str, width: int) -> bool:
        """Whether ``line`` (stripped, indented ``width``) heads the following line's block."""
        following = self.following
        return (
            following is not None
            and following.indent - width == self.indent_unit
            and opens_block(line)
        )

    def _takes_following(self, line: str, width: int, whole: bool) -> bool:
        """Whether ``line``, below the floor, is the header of the following line's block.

        Asked after a line that leaves the following line unreachable; a line not ``whole``
        yet is asked whether it may still become such a header.
        """
        following = self.following
        return (
            following is not None
            and following.indent - width == self.indent_unit
            and width >= self.least_header
            and (_opens_inner_block(line) if whole else _may_open_block(line))
        )

    def _parts_clause(self, line: str, width: int, whole: bool) -> bool:
        """Whether ``line``, at the following clause's indentation, is not a clause itself.

        Such a line would part the following clause from its statement; a line not ``whole``
        yet may still become a clause.
        """
        following = self.following
        return (
            following is not None
            and width == following.indent
            and not _CONTINUATION.match(line)
            and (whole or not any(word.startswith(line) for word in _CLAUSES))
        )

    def _leaves_dead_code(self, line: str, width: int) -> bool:
        """Whether ``line`` (stripped, indented ``width``) leaves the following line unreachable."""
        return (
            self.reachable is not None
            and width <= self.reachable
            and _TERMINAL.match(line) is not None
        )


def _statement_done(lines: list[str], index: int, first_width: int, compound: bool) -> bool:
    """Whether the statement begun on the completion's first line is complete before line ``index``.

    It is when that line is indented no deeper than the first, is not a clause of a compound
    first line, and no bracket is left open before it.
    """
    line = lines[index]
    width = indent_width(line)
    return (
        width <= first_width
        and not (width == first_width and compound and _CONTINUATION.match(line.strip()))
        and not _open(lines[:index])
    )


_CLAUSES = ("elif", "else", "except", "finally")
_HEADER_WORDS = ("async", "for", "if", "match", "try", "while", "with", *_CLAUSES)
_DEFINITION = re.compile(r"(async\s+)?(def|class)\b")


def _opens_inner_block(line: str) -> bool:
    """Whether ``line`` (stripped) opens a block of statements: not a ``def`` or ``class``."""
    return opens_block(line) and not _DEFINITION.match(line)


def _may_open_block(partial: str) -> bool:
    """Whether ``partial``, the start of a line, may still become such a block header."""
    word, *rest = re.split(r"\W", partial, maxsplit=1)
    if not rest:
        return any(header.startswith(word) for header in _HEADER_WORDS)
    return word in _HEADER_WORDS


def dedent_floor(cursor: CursorText, unit: int, following: NextLine | None) -> int | None:
    """How far a block completion on a blank line may dedent (see :attr:`BlockRules.floor`).

    A span of code that ends a block often goes on after it (``return False`` in an ``if``,
    then ``return True`` after it; an ``elif`` after a branch). The completion may go down to
    the indentation of the code that follows the cursor, or, at the end of a function, to the
    function's body; it never leaves the innermost enclosing function. At the end of a line
    that opens a block, or at module level with nothing after the cursor, the completion is
    the block in hand (None: not below its first line).
    """
    if cursor.line_prefix.strip():
        return None
    body = _function_body(cursor, unit)
    if following is None:
        return body
    return following.indent if body is None else max(following.indent, body)


def _function_body(cursor: CursorText, unit: int) -> int | None:
    """The indentation of the innermost enclosing function's body (None outside functions)."""
    for scope in reversed(cursor.scopes):
        if scope.kind == "function":
            return indent_width(scope.indent) + unit
    return None


_TERMINAL = re.compile(r"(return|raise|break|continue)\b")
_CONTINUATION = re.compile(rf"({'|'.join(_CLAUSES)})\b")


def _open(lines: list[str]) -> bool:
    """Whether ``lines`` leave a bracket open or end in a backslash continuation."""
    text = "\n".join(lines)
    return bool(bracket_balance(text)[0]) or text.rstrip().endswith("\\")


def is_gap(cursor: CursorText, following: NextLine | None) -> bool:
    """Whether the cursor stands on a blank line between statements of one block.

    The code around parses as it is and the line after the cursor is a statement at the
    cursor's own indentation (not an ``elif``/``else``/``except``/``finally``): one more
    statement fits there, and a longer answer would rewrite the code that follows. (A hole
    that missing code left, an ``else`` without its ``if`` or a deeper line with no header,
    does not parse, and is a place for a block.)
    """
    return (
        cursor.code_parses
        and not cursor.line_prefix.strip()
        and not cursor.line_suffix.strip()
        and following is not None
        and following.indent == indent_width(cursor.line_prefix)
        and not _CONTINUATION.match(following.text)
    )


def block_rules(cursor: CursorText, healed: str) -> BlockRules:
    """The block rules for a completion at ``cursor``."""
    following = next_line(cursor)
    unit = indent_unit(cursor.prefix)
    floor = dedent_floor(cursor, unit, following)
    reachable = None
    if (
        following is not None
        and not _CONTINUATION.match(following.text)
        and following.indent >= (floor or 0)
    ):
        reachable = following.indent  # the following line is code of the same function
    return BlockRules(
        base=cursor.line_prefix[: len(cursor.line_prefix) - len(healed)],
        following=following,
        indent_unit=unit,
        floor=floor,
        reachable=reachable,
        least_header=_function_body(cursor, unit) or 0,
        one_statement=is_gap(cursor, following),
    )


def indent_settled(cursor: CursorText) -> bool:
    """Whether code typed at the cursor starts right there, with no more indentation.

    Mid-line it does. On a blank line it does unless the line above opens a block or a
    bracket and the cursor is not indented deeper than that line (an editor that kept the
    old indentation): then the model's extra indentation is wanted.
    """
    if cursor.line_prefix.strip():
        return True
    head = cursor.prefix[: len(cursor.prefix) - len(cursor.line_prefix)]
    above = next((line for line in reversed(head[-4000:].splitlines()) if line.strip()), "")
    opens = above.rstrip().endswith((":", "(", "[", "{", ",", "\\"))
    return not (opens and indent_width(above) >= indent_width(cursor.line_prefix))


_COMPOUND = re.compile(
    r"(?:async\s+)?(?:if|elif|else|for|while|try|except|finally|with|def|class|match|case)\b"
)


def without_dangling_header(text: str, cursor: CursorText) -> str:
    """``text`` without trailing Python block headers whose body nothing after them gives.

    A completion that ends with ``if x:`` needs the code after the cursor to be indented
    deeper, as that header's body; otherwise Python refuses the file ("expected an indented
    block"), which tree-sitter's error count does not see.
    """
    if cursor.line_suffix.strip():
        return text  # the cursor line goes on after the completion
    following = next_line(cursor)
    while text.strip():
        lines = (cursor.line_prefix + text).split("\n")
        last = lines[-1]
        code = last.strip()
        if not (code.endswith(":") and _COMPOUND.match(code)):
            return text
        if following is not None and following.indent > indent_width(last):
            return text  # the code after the cursor is its body
        cut = text.rfind("\n")
        text = text[:cut].rstrip() if cut >= 0 else ""
    return text


def needs_header(cursor: CursorText, text: str) -> bool:
    """Whether ``text`` at a blank cursor line leaves the code after it indented too deep.

    When the line after the cursor is indented deeper than the cursor, the completion's last
    line must open its block (``if ...:``) or reach its indentation; otherwise Python refuses
    the code after it ("unexpected indent").
    """
    if cursor.line_prefix.strip() or cursor.line_suffix.strip():
        return False
    following = next_line(cursor)
    if following is None:
        return False
    last = (cursor.line_prefix + text).split("\n")[-1]
    if following.indent <= indent_width(last):
        return False
    if bracket_balance(text)[0] or last.rstrip().endswith("\\"):
        return False  # the deeper line goes on an open bracket or a continued line
    return not last.rstrip().endswith(":")


class IndentationBlocks:
    """Python's :class:`~codels.languages.base.BlockModel`: blocks are indented under headers."""

    def opens_block(self, line: str) -> bool:
        """See :func:`opens_block`."""
        return opens_block(line)

    def block_end(self, cursor: CursorText, healed: str) -> BlockEnd:
        """See :func:`block_rules`."""
        return block_rules(cursor, healed)

    def indent_settled(self, cursor: CursorText) -> bool:
        """See :func:`indent_settled`."""
        return indent_settled(cursor)

    def needs_header(self, cursor: CursorText, text: str) -> bool:
        """See :func:`needs_header`."""
        return needs_header(cursor, text)

    def without_dangling_header(self, text: str, cursor: CursorText) -> str:
        """See :func:`without_dangling_header`."""
        return without_dangling_header(text, cursor)

    def next_line_indent(self, text: str, end: int) -> str:
        """See :func:`next_line_indent`."""
        return next_line_indent(text, end)
