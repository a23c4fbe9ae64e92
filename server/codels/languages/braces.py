"""The block model of brace languages: JavaScript, TypeScript, Go, Rust, Java, C and C++.

A block completion ends where its own brackets balance into the code after it: before a
closing bracket that the code after the cursor already provides, or at the end of the line that
closes an enclosing block nothing after the cursor closes. A declaration keyword at column 0
(``func``, ``fn``, ``export``, ``public class``) ends it too, and so does a line indented below
the block it is in. :class:`BraceSyntax` holds what differs between the languages (how their
comments and literals are spelled, the keywords that begin a declaration, the lines that go on
with a statement); :class:`BraceBlocks` is the :class:`~codels.languages.base.BlockModel` the
pipeline asks. This module imports :mod:`codels.languages` (base, lines) only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from codels.languages.base import BlockEnd, CursorText
from codels.languages.lines import NextLine, indent_unit, indent_width, line_starts, next_line


@dataclass(frozen=True)
class Literal:
    """One spelling of a comment or a literal: its opening, what stands inside, its close.

    Each is a regular expression; ``body`` matches the whole inside (with its quantifier).
    """

    kind: str
    """``comment`` or ``string``."""
    opening: str
    body: str
    closing: str
    may_stay_open: bool = True
    """Whether an unclosed one runs on (False: a ``'`` that is not a character literal, such as
    a Rust lifetime, is code)."""


def line_comment(marker: str = "//") -> Literal:
    """A comment from ``marker`` to the end of its line."""
    return Literal("comment", re.escape(marker), r"[^\n]*", r"(?=\n)")


BLOCK_COMMENT = Literal("comment", r"/\*", r"(?:[^*]|\*(?!/))*", r"\*/")
"""``/* ... */`` (doc comments ``/** ... */`` too)."""


def quoted(quote: str, *, multiline: bool = False, prefix: str = "") -> Literal:
    """A string quoted by ``quote`` with backslash escapes (on one line unless ``multiline``).

    ``prefix`` is a regular expression for what may stand before the opening quote.
    """
    mark = re.escape(quote)
    inside = f"[^{mark}\\\\]" if multiline else f"[^{mark}\\\\\\n]"
    return Literal("string", prefix + mark, rf"(?:{inside}|\\[\s\S])*", mark)


@dataclass(frozen=True)
class BraceSyntax:
    """What a brace language's block model reads: literals, declaration keywords, continuations."""

    literals: tuple[Literal, ...]
    """Comments and literals, longest opening first (``\"\"\"`` before ``\"``)."""
    top_level: re.Pattern[str]
    """A line (stripped) at column 0 that begins a new declaration: a block ends before it."""
    continuation: re.Pattern[str] = re.compile(
        r"(else|catch|finally|while)\b|[.?:)\]}]|&&|\|\||[-+*/%|&^<>=,]"
    )
    """A line (stripped) that goes on with the statement above it (``else``, ``.then(...)``)."""
    below_block: re.Pattern[str] = re.compile(r"(case\b|default\b)")
    """A line (stripped) that may stand indented below the block it is in (``case`` labels,
    preprocessor lines, access labels)."""
    tabs: bool = False
    """Whether the language is indented with tabs (Go)."""
    opener_words: tuple[str, ...] = ()
    """The keywords a block header begins with."""

    @functools.cached_property
    def _scanner(self) -> re.Pattern[str]:
        parts = [
            f"(?P<l{index}>{literal.opening}{literal.body}"
            f"(?P<c{index}>{literal.closing}){'?' if literal.may_stay_open else ''})"
            for index, literal in enumerate(self.literals)
        ]
        return re.compile("|".join([*parts, r"(?P<open>[(\[{])", r"(?P<close>[)\]}])"]))

    def tokens(self, text: str) -> Iterator[tuple[str, int, int]]:
        """``(what, start, end)`` of each bracket and literal in ``text``, in order.

        ``what`` is ``open``, ``close``, or a literal's kind (``comment``, ``string``) with
        ``-open`` appended when the text ends before it closes.
        """
        for match in self._scanner.finditer(text):
            name = match.lastgroup or ""
            if name in ("open", "close"):
                yield name, match.start(), match.end()
                continue
            index = int(name[1:])
            closed = match.group(f"c{index}") is not None
            kind = self.literals[index].kind
            yield (kind if closed else kind + "-open"), match.start(), match.end()

    def open_literal(self, text: str) -> str | None:
        """``"comment"`` or ``"string"`` when ``text`` ends inside one, else None."""
        last = None
        for what, _, end in self.tokens(text):
            last = (what, end)
        if last is None or last[1] != len(text):
            return None
        what = last[0]
        if what.endswith("-open"):
            return what.removesuffix("-open")
        return None

    def brackets(self, text: str) -> Iterator[tuple[int, int]]:
        """``(position, +1 or -1)`` of each bracket of ``text`` outside comments and literals."""
        for what, start, _ in self.tokens(text):
            if what == "open":
                yield start, 1
            elif what == "close":
                yield start, -1

    def open_brackets(self, text: str) -> int:
        """How many brackets ``text`` leaves open (closing ones with none open are ignored)."""
        depth = 0
        for _, step in self.brackets(text):
            depth = max(0, depth + step)
        return depth

    def closed_before_opened(self, text: str) -> int:
        """How many closing brackets ``text`` has with none of its own open before them."""
        depth = 0
        excess = 0
        for _, step in self.brackets(text):
            if step < 0 and depth == 0:
                excess += 1
            else:
                depth += step
        return excess

    def code_of(self, line: str) -> str:
        """``line`` without a comment at its end, stripped."""
        for what, start, _ in self.tokens(line):
            if what.startswith("comment"):
                return line[:start].strip()
        return line.strip()


_CLOSER = re.compile(r"[)\]}]")
_CLAUSE = re.compile(r"(else|catch|finally|while)\b")
_WORD = re.compile(r"\w")
_COMMENT_LINE = re.compile(r"(//|/\*|\*(\s|/|$))")
_OPEN_END = re.compile(r"(?:[,(\[{=+\-*/%&|^<>!?:.]|=>)$")
"""A line whose code ends like this goes on on the next line."""


def closable_brackets(syntax: BraceSyntax, cursor: CursorText) -> int:
    """How many brackets open at the cursor nothing after the cursor closes.

    Counted only when the text after the cursor runs to the end of the document (otherwise
    the code further on is taken to close them).
    """
    if not cursor.suffix_to_end:
        return 0
    opened = syntax.open_brackets(cursor.prefix)
    return max(0, opened - syntax.closed_before_opened(cursor.suffix))


@dataclass(frozen=True)
class BraceRules:
    """Where a brace language's block completion ends; see :meth:`end`."""

    syntax: BraceSyntax
    base: str
    """What precedes the model's text on its first line in the prompt."""
    following: NextLine | None = None
    """The first non-blank line after the cursor line."""
    closable: int = 0
    """Brackets open at the cursor that nothing after it closes: the completion may close them."""
    floor: int | None = None
    """The least indentation a line may have (closing brackets and labels aside); None: any."""
    one_statement: bool = False
    """A gap between statements of code that parses: the completion is one statement."""
    one_member: bool = False
    """A blank line in a class, impl or interface body: the completion ends after its first
    member with a body (a method, not a field)."""

    def end(self, text: str, *, complete_lines_only: bool) -> int | None:
        """Where the completion should end, as an index into ``text``, or None to go on.

        It ends before a closing bracket that would close what the code after the cursor
        closes; after the line that closes an enclosing block nothing after the cursor closes;
        before a line that repeats the line after the cursor, or the third of three equal
        lines; before a declaration keyword at column 0; before a line indented less than
        :attr:`floor`; in a gap, after its first statement; in a class body, after its first
        member with a body.

        With ``complete_lines_only`` the rules that need a whole line look only at lines already
        ended by a line break (the generation-time check, called with partial text).
        """
        base = self.base
        lines = (base + text).split("\n")
        starts = line_starts(lines, len(base))
        steps = list(self.syntax.brackets(text))
        depth = 0
        step_index = 0
        started = False
        previous_code = ""
        for index, line in enumerate(lines):
            segment_start = starts[index]
            segment_end = segment_start + len(line) - (len(base) if index == 0 else 0)
            whole = index < len(lines) - 1 or not complete_lines_only
            before = max(0, segment_start - 1)
            stripped = line.strip()
            own = bool(stripped) and not (index == 0 and base.strip())
            if own and started:
                cut = self._ends_before(lines, index, stripped, depth, previous_code, whole)
                if cut is None:
                    return None  # the line may yet become one to end before: wait for it
                if cut:
                    return before
            if own and not started and not _is_comment(stripped):
                started = True
            closed_enclosing = False
            while step_index < len(steps) and steps[step_index][0] < segment_end:
                position, step = steps[step_index]
                step_index += 1
                depth += step
                if depth >= 0:
                    continue
                if -depth > self.closable:
                    # The code after the cursor closes this one: end before it.
                    if not text[segment_start:position].strip():
                        return before
                    return position
                closed_enclosing = True
            if closed_enclosing and depth < 0:
                # It closed an enclosing block nothing else closes: the block in hand is done.
                return segment_end if whole else None
            if own and not _is_comment(stripped):
                previous_code = self.syntax.code_of(line)
        return None

    def _ends_before(
        self,
        lines: Sequence[str],
        index: int,
        stripped: str,
        depth: int,
        previous_code: str,
        whole: bool,
    ) -> bool | None:
        """Whether the completion ends before line ``index`` (True) or not (False).

        None: it may yet (the line is not whole and may still become one the rules end before).
        """
        line = lines[index]
        width = indent_width(line)
        if whole and self._repeats(lines, index, stripped):
            return True
        if width == 0 and depth <= 0:
            if self.syntax.top_level.match(stripped):
                return True
            if not whole and _may_become(stripped, self.syntax.top_level):
                return None
        if (
            whole
            and self.floor is not None
            and width < self.floor
            and not _CLOSER.match(stripped)
            and not self.syntax.below_block.match(stripped)
        ):
            return True
        if (
            self.one_member
            and depth == 0
            and previous_code.endswith("}")
            and not _continues(self.syntax, stripped, previous_code)
        ):
            return True
        if self.one_statement and depth == 0 and previous_code and _statement_done(previous_code):
            if _continues(self.syntax, stripped, previous_code):
                return False
            if not whole and len(stripped) < 8 and _may_continue(stripped):
                return None
            return True
        return False

    def _repeats(self, lines: Sequence[str], index: int, stripped: str) -> bool:
        """Whether line ``index`` repeats the following line, or is the third of three equal.

        Only lines with a word in them: a lone ``}`` is the bracket rules' business.
        """
        if not _WORD.search(stripped):
            return False
        following = self.following
        if following is not None and _same_code(stripped, following.text):
            return True
        return index >= 2 and lines[index - 1].strip() == lines[index - 2].strip() == stripped


def _is_comment(stripped: str) -> bool:
    return bool(_COMMENT_LINE.match(stripped))


def _continues(syntax: BraceSyntax, stripped: str, above: str = "") -> bool:
    """Whether a line (stripped) goes on with the statement above it (a comment does not).

    After a ``;`` (``above``: the code of the line above) only a clause does (``else``): a
    line that begins with ``*`` there is a C dereference, not a product.
    """
    if _is_comment(stripped):
        return False
    if above.endswith(";"):
        return bool(_CLAUSE.match(stripped))
    return bool(syntax.continuation.match(stripped))


def _statement_done(code: str) -> bool:
    """Whether a line whose code is ``code`` may end a statement (no operator or open end)."""
    return not _OPEN_END.search(code)


def _may_continue(partial: str) -> bool:
    """Whether ``partial``, the start of a line, may still become ``else``, ``catch``..."""
    return any(word.startswith(partial) for word in ("else", "catch", "finally", "while"))


def _may_become(partial: str, pattern: re.Pattern[str]) -> bool:
    """Whether the start of a line may still grow into a match of ``pattern``.

    A rough test: one word typed so far, the start of a word of the pattern.
    """
    if not re.fullmatch(r"[A-Za-z_]\w*", partial):
        return False
    words = re.findall(r"[A-Za-z_]\w*", pattern.pattern)
    return any(word.startswith(partial) and word != partial for word in words)


def _same_code(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def is_gap(syntax: BraceSyntax, cursor: CursorText, following: NextLine | None) -> bool:
    """Whether the cursor stands on a blank line between statements of one block.

    The code around parses as it is and the line after the cursor is a statement at the
    cursor's own indentation (not a closing bracket or an ``else``): one more statement fits.
    """
    return (
        cursor.code_parses
        and not cursor.line_prefix.strip()
        and not cursor.line_suffix.strip()
        and following is not None
        and following.indent == indent_width(cursor.line_prefix)
        and not _CLOSER.match(following.text)
        and not _continues(syntax, following.text)
    )


def dedent_floor(cursor: CursorText, following: NextLine | None) -> int | None:
    """How far left a block completion on a blank line may write (None: at a line's end).

    The cursor's own indentation, or the following line's where that is less and it is code
    of the same block going on (not a closing bracket): a span may end a block and go on.
    """
    if cursor.line_prefix.strip():
        return None
    floor = indent_width(cursor.line_prefix)
    if following is not None and not _CLOSER.match(following.text):
        floor = min(floor, following.indent)
    return floor


def brace_rules(syntax: BraceSyntax, cursor: CursorText, healed: str) -> BraceRules:
    """The block rules for a completion at ``cursor``."""
    following = next_line(cursor)
    return BraceRules(
        syntax=syntax,
        base=cursor.line_prefix[: len(cursor.line_prefix) - len(healed)],
        following=following,
        closable=closable_brackets(syntax, cursor),
        floor=dedent_floor(cursor, following),
        one_statement=is_gap(syntax, cursor, following),
        one_member=not cursor.line_prefix.strip()
        and bool(cursor.scopes)
        and cursor.scopes[-1].kind == "class",
    )


def opens_block(syntax: BraceSyntax, line: str) -> bool:
    """Whether ``line`` ends by opening a block (``{``), comments aside."""
    return syntax.code_of(line).endswith("{")


def indent_settled(cursor: CursorText) -> bool:
    """Whether code typed at the cursor starts right there, with no more indentation.

    Mid-line it does. On a blank line it does unless the line above opens a bracket and the
    cursor is not indented deeper than that line (an editor that kept the old indentation).
    """
    if cursor.line_prefix.strip():
        return True
    head = cursor.prefix[: len(cursor.prefix) - len(cursor.line_prefix)]
    above = next((line for line in reversed(head[-4000:].splitlines()) if line.strip()), "")
    opens = above.rstrip().endswith(("{", "(", "[", ","))
    return not (opens and indent_width(above) >= indent_width(cursor.line_prefix))


def next_line_indent(syntax: BraceSyntax, text: str, end: int) -> str:
    """The indentation an editor gives the line opened by Enter at ``end`` (a line's end).

    The line's own, one level deeper after a line that opens a bracket or a ``case`` label;
    a level is a tab where the language or the line uses tabs, else the file's step in spaces.
    """
    line = text[text.rfind("\n", 0, end) + 1 : end]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if syntax.tabs or indent.startswith("\t"):
        unit = "\t"
    else:
        unit = " " * indent_unit(text[max(0, end - 4000) : end])
    code = syntax.code_of(line)
    if code.endswith(("{", "(", "[")) or (code.endswith(":") and syntax.below_block.match(code)):
        return indent + unit
    return indent


@dataclass(frozen=True)
class BraceBlocks:
    """A brace language's :class:`~codels.languages.base.BlockModel`."""

    syntax: BraceSyntax

    def opens_block(self, line: str) -> bool:
        """See :func:`opens_block`."""
        return opens_block(self.syntax, line)

    def block_end(self, cursor: CursorText, healed: str) -> BlockEnd:
        """See :func:`brace_rules`."""
        return brace_rules(self.syntax, cursor, healed)

    def indent_settled(self, cursor: CursorText) -> bool:
        """See :func:`indent_settled`."""
        return indent_settled(cursor)

    def needs_header(self, cursor: CursorText, text: str) -> bool:
        """Never: a block's braces, not its indentation, say where it is."""
        return False

    def without_dangling_header(self, text: str, cursor: CursorText) -> str:
        """``text`` as it is: a header whose block is left open is the syntax judge's to cut."""
        return text

    def next_line_indent(self, text: str, end: int) -> str:
        """See :func:`next_line_indent`."""
        return next_line_indent(self.syntax, text, end)
