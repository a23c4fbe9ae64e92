"""Turning what the model wrote into a completion worth showing.

Small code models rarely stop by themselves: asked to fill the middle, they go on and rewrite the
suffix. Stopping is the client's job, in this order:

1. cut at any stop token that came through as text;
2. single line: cut at the first line break; block: see :meth:`BlockRules.end`; a block cut
   short by the token limit loses its unfinished last line;
3. take back the whitespace character that prompt building cut from the end of the prefix (the
   model writes it again as part of its first token; an answer that starts on a new line
   indented less than the cursor is dropped);
4. drop what repeats the text right of the cursor (``foo(|)`` answered with ``x)``);
5. let the syntax judge cut the completion back to its longest prefix, at line ends, that adds
   no ERROR or MISSING node to the tree; drop what is left blank.

:class:`BlockRules` is also the generation-time stop rule, so the model stops decoding as soon
as the block has ended instead of filling the token budget.

This module imports :mod:`codels.pipeline.context` and :mod:`codels.languages.syntax`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from codels.pipeline.context import CompletionContext, CompletionKind, opens_block


@dataclass(frozen=True)
class Cleaned:
    """A post-processed completion, with why it was cut or dropped."""

    text: str
    note: str = ""


def indent_width(line: str) -> int:
    """Width of the leading whitespace of ``line`` (tabs count to the next multiple of 8)."""
    leading = line[: len(line) - len(line.lstrip(" \t"))]
    return len(leading.expandtabs(8))


def cut_at_stop_strings(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the first occurrence of any stop string."""
    end = len(text)
    for marker in stop:
        found = text.find(marker)
        if found != -1:
            end = min(end, found)
    return text[:end]


@dataclass(frozen=True)
class NextLine:
    """The first non-blank line after the cursor line: the code the completion leads into."""

    text: str
    """The line, stripped."""
    indent: int
    """Its indentation width."""


def next_line(context: CompletionContext) -> NextLine | None:
    """The first non-blank line after the cursor line, or None at the end of the window."""
    _, _, after = context.suffix.partition("\n")
    for line in after.splitlines():
        if line.strip():
            return NextLine(line.strip(), indent_width(line))
    return None


def indent_unit(code: str) -> int:
    """The indentation step of ``code``: the smallest indentation of an indented line (or 4)."""
    widths = {indent_width(line) for line in code.splitlines() if line.strip()}
    widths.discard(0)
    return min(widths) if widths else 4


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
        starts: list[int] = []  # offset in `text` where each line starts
        position = -len(base)
        for line in lines:
            starts.append(max(0, position))
            position += len(line) + 1

        following = self.following
        clause = following is not None and bool(_CONTINUATION.match(following.text))
        floor = 0
        started = False
        dead_end = False  # the last line would leave the following line unreachable
        for index, line in enumerate(lines):
            stripped = line.strip()
            if not stripped or (index == 0 and base.strip()):
                continue  # blank, or the user's own line before the cursor
            whole = index < len(lines) - 1 or not complete_lines_only
            before = max(0, starts[index] - 1)
            if whole and following is not None and _same_code(stripped, following.text):
                return before
            earlier = (lines[index - 1].strip(), lines[index - 2].strip()) if index >= 2 else ()
            if whole and earlier == (stripped, stripped):
                return starts[index - 1] - 1
            width = indent_width(line)
            if not started:
                started = True
                floor = width if self.floor is None else min(width, self.floor)
                if (
                    whole
                    and following is not None
                    and following.indent - width == self.indent_unit
                    and opens_block(stripped)
                ):
                    return starts[index] + len(line) - (len(base) if index == 0 else 0)
                dead_end = self._leaves_dead_code(stripped, width)
                continue
            if width < floor:
                if (
                    following is not None
                    and dead_end  # (never before a clause: then nothing is reachable)
                    and following.indent - width == self.indent_unit
                    and width >= self.least_header
                    and (_opens_inner_block(stripped) if whole else _may_open_block(stripped))
                ):
                    # The following line, unreachable after the line before, is this header's body.
                    return starts[index] + len(line) if whole else None
                return before
            if whole and self._leaves_dead_code(stripped, width):
                return before
            if (
                clause
                and following is not None
                and width == following.indent
                and not _CONTINUATION.match(stripped)
                and (whole or not any(word.startswith(stripped) for word in _CLAUSES))
            ):
                return before
            dead_end = self._leaves_dead_code(stripped, width)
        return None

    def _leaves_dead_code(self, line: str, width: int) -> bool:
        """Whether ``line`` (stripped, indented ``width``) leaves the following line unreachable."""
        return (
            self.reachable is not None
            and width <= self.reachable
            and _TERMINAL.match(line) is not None
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


def dedent_floor(context: CompletionContext, unit: int, following: NextLine | None) -> int | None:
    """How far a block completion on a blank line may dedent (see :attr:`BlockRules.floor`).

    A span of code that ends a block often goes on after it (``return False`` in an ``if``,
    then ``return True`` after it; an ``elif`` after a branch). The completion may go down to
    the indentation of the code that follows the cursor, or, at the end of a function, to the
    function's body; it never leaves the innermost enclosing function. At the end of a line
    that opens a block, or at module level with nothing after the cursor, the completion is
    the block in hand (None: not below its first line).
    """
    if context.line_prefix.strip():
        return None
    body = _function_body(context, unit)
    if following is None:
        return body
    return following.indent if body is None else max(following.indent, body)


def _function_body(context: CompletionContext, unit: int) -> int | None:
    """The indentation of the innermost enclosing function's body (None outside functions)."""
    for scope in reversed(context.scopes):
        if scope.kind == "function":
            return indent_width(scope.indent) + unit
    return None


_TERMINAL = re.compile(r"(return|raise|break|continue)\b")
_CONTINUATION = re.compile(rf"({'|'.join(_CLAUSES)})\b")


def block_rules(context: CompletionContext, healed: str) -> BlockRules:
    """The block rules for a completion at ``context``."""
    following = next_line(context)
    unit = indent_unit(context.prefix)
    floor = dedent_floor(context, unit, following)
    reachable = None
    if (
        following is not None
        and not _CONTINUATION.match(following.text)
        and following.indent >= (floor or 0)
    ):
        reachable = following.indent  # the following line is code of the same function
    return BlockRules(
        base=context.line_prefix[: len(context.line_prefix) - len(healed)],
        following=following,
        indent_unit=unit,
        floor=floor,
        reachable=reachable,
        least_header=_function_body(context, unit) or 0,
    )


def indent_settled(context: CompletionContext) -> bool:
    """Whether code typed at the cursor starts right there, with no more indentation.

    Mid-line it does. On a blank line it does unless the line above opens a block or a
    bracket and the cursor is not indented deeper than that line (an editor that kept the
    old indentation): then the model's extra indentation is wanted.
    """
    if context.line_prefix.strip():
        return True
    head = context.prefix[: len(context.prefix) - len(context.line_prefix)]
    above = next((line for line in reversed(head[-4000:].splitlines()) if line.strip()), "")
    opens = above.rstrip().endswith((":", "(", "[", "{", ",", "\\"))
    return not (opens and indent_width(above) >= indent_width(context.line_prefix))


def _heal(text: str, healed: str, indent: str, blank_line: bool, settled: bool) -> str | None:
    """Strip from the start of ``text`` the whitespace the prompt left out; None drops it.

    ``healed`` is the character cut from the prompt; ``indent`` the cursor line's indentation.
    When the indentation is ``settled`` (see :func:`indent_settled`), more whitespace the model
    put before its first line is dropped: the cursor already stands where code begins.
    """
    if blank_line and text.startswith("\n"):
        # The model began with an empty line: the next line carries its whole indentation.
        text = text.lstrip("\n")
        if not text.startswith(indent):
            return None  # indented less than the cursor: inserting here would mis-indent it
        return text[len(indent) :]
    if not healed:
        return text
    if text.startswith(healed):
        text = text[len(healed) :]
        return text.lstrip(" \t") if settled else text
    return text.lstrip(" \t")


def _without_suffix_overlap(text: str, context: CompletionContext) -> str:
    """Drop the end of ``text`` that repeats the start of the text right of the cursor."""
    rest = context.line_suffix.strip()
    if not rest or "\n" in text:
        return text
    body = text.rstrip()
    for size in range(len(rest), 0, -1):
        if body.endswith(rest[:size]):
            candidate = body[: len(body) - size]
            judge = context.judge
            if judge is None:
                excess = _bracket_balance(context.line_prefix + body + rest)[1]
                return candidate if excess > 0 else text
            if judge.adds_errors(text) and not judge.adds_errors(candidate):
                return candidate
            return text
    return text


def _bracket_balance(text: str) -> tuple[int, int]:
    """(brackets ``text`` leaves open, closing brackets it has with none open before them).

    Strings and comments are not told apart.
    """
    depth = 0
    excess = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth:
                depth -= 1
            else:
                excess += 1
    return depth, excess


def clean_completion(
    raw: str,
    context: CompletionContext,
    *,
    healed: str,
    stop: Sequence[str] = (),
    truncated: bool = False,
) -> Cleaned:
    """Post-process the model's ``raw`` answer for ``context``; see the module docstring.

    ``healed`` is :attr:`codels.pipeline.prompt.Prompt.healed`; ``truncated`` says generation ended at
    the token limit (so the last line may be unfinished).
    """
    text = cut_at_stop_strings(raw, stop)
    blank_line = not context.line_prefix.strip()
    if context.kind is CompletionKind.LINE:
        text = text.split("\n", 1)[0]
    else:
        end = block_rules(context, healed).end(text, complete_lines_only=False)
        if end is not None:
            text = text[:end]
        elif truncated and "\n" in text:
            text = text[: text.rfind("\n")]
    healed_text = _heal(text, healed, context.indent, blank_line, indent_settled(context))
    if healed_text is None:
        return Cleaned("", "indented less than the cursor")
    text = healed_text.rstrip()
    if not text.strip():
        return Cleaned("", "nothing left after cutting")
    text = _without_suffix_overlap(text, context)
    if context.judge is not None and context.judge.language == "python":
        text = _without_dangling_header(text, context)
        if not text.strip():
            return Cleaned("", "dropped: a block header without a body")
    if context.judge is not None:
        clean = context.judge.longest_clean_prefix(text)
        if clean != text:
            note = "cut back to parse" if clean.strip() else "dropped: adds a syntax error"
            return Cleaned(clean.rstrip() if clean.strip() else "", note)
    return Cleaned(text)


_COMPOUND = re.compile(
    r"(?:async\s+)?(?:if|elif|else|for|while|try|except|finally|with|def|class|match|case)\b"
)


def _without_dangling_header(text: str, context: CompletionContext) -> str:
    """``text`` without trailing Python block headers whose body nothing after them gives.

    A completion that ends with ``if x:`` needs the code after the cursor to be indented
    deeper, as that header's body; otherwise Python refuses the file ("expected an indented
    block"), which tree-sitter's error count does not see.
    """
    if context.line_suffix.strip():
        return text  # the cursor line goes on after the completion
    following = next_line(context)
    while text.strip():
        lines = (context.line_prefix + text).split("\n")
        last = lines[-1]
        code = last.strip()
        if not (code.endswith(":") and _COMPOUND.match(code)):
            return text
        if following is not None and following.indent > indent_width(last):
            return text  # the code after the cursor is its body
        cut = text.rfind("\n")
        text = text[:cut].rstrip() if cut >= 0 else ""
    return text


def needs_header(context: CompletionContext, text: str) -> bool:
    """Whether ``text`` at a blank cursor line leaves the code after it indented too deep.

    When the line after the cursor is indented deeper than the cursor, the completion's last
    line must open its block (``if ...:``) or reach its indentation; otherwise Python refuses
    the code after it ("unexpected indent").
    """
    if context.kind is not CompletionKind.BLOCK or context.line_prefix.strip():
        return False
    if context.line_suffix.strip():
        return False
    following = next_line(context)
    if following is None:
        return False
    last = (context.line_prefix + text).split("\n")[-1]
    if following.indent <= indent_width(last):
        return False
    if _bracket_balance(text)[0] or last.rstrip().endswith("\\"):
        return False  # the deeper line goes on an open bracket or a continued line
    return not last.rstrip().endswith(":")


def stop_rule(context: CompletionContext, healed: str) -> StopRule:
    """The generation-time stop rule for ``context``."""
    return StopRule(context.kind, block_rules(context, healed))


@dataclass(frozen=True)
class StopRule:
    """Tells the engine, after each token, whether the completion is already over."""

    kind: CompletionKind
    rules: BlockRules

    def __call__(self, text: str) -> bool:
        """True when ``text`` (the answer so far) holds a complete completion."""
        if self.kind is CompletionKind.LINE:
            return "\n" in text
        return self.rules.end(text, complete_lines_only=True) is not None
