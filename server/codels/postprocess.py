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

This module imports :mod:`codels.context` and :mod:`codels.syntax`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from codels.context import CompletionContext, CompletionKind


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
    """A non-blank line after the cursor line: code the completion leads into."""

    text: str
    """The line, stripped."""
    indent: int
    """Its indentation width."""


SUFFIX_MATCH_LINES = 3
"""A completion line equal to one of this many lines after the cursor ends the completion."""
DEDENT_FLOOR = "scope"
"""``scope``: a block completion may dedent down to the level of the code that follows the cursor
(and never out of the enclosing function or class); ``block``: not below its first line."""
ONE_STATEMENT_INSIDE_A_BLOCK = False
"""Inside a block that goes on below the cursor and parses without the completion, complete one
statement, not several."""
SYNTAX_CLOSURE = False
"""Where the code around the cursor does not parse without the completion, stop at the first
statement boundary at which it does."""

_CONTINUATIONS = ("else", "elif", "except", "finally", ")", "]", "}")


def next_lines(context: CompletionContext, count: int = SUFFIX_MATCH_LINES) -> tuple[NextLine, ...]:
    """The first ``count`` non-blank lines after the cursor line."""
    _, _, after = context.suffix.partition("\n")
    found: list[NextLine] = []
    for line in after.splitlines():
        if line.strip():
            found.append(NextLine(line.strip(), indent_width(line)))
            if len(found) == count:
                break
    return tuple(found)


def bracket_depth(code: str, depth: int = 0) -> int:
    """Open brackets after ``code``, starting from ``depth`` (strings and comments skipped)."""
    index, length, quote = 0, len(code), ""
    while index < length:
        char = code[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if code.startswith(quote, index):
                index += len(quote)
                quote = ""
                continue
            if char == "\n" and len(quote) == 1:
                quote = ""  # an unterminated one-line string ends with its line
        elif char == "#":
            newline = code.find("\n", index)
            index = length if newline == -1 else newline
            continue
        elif char in "'\"":
            quote = code[index : index + 3] if code[index : index + 3] in ('"""', "'''") else char
            index += len(quote)
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        index += 1
    return depth


def _same_code(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


@dataclass(frozen=True)
class BlockRules:
    """Where a block completion ends; see :meth:`end`."""

    base: str
    """What precedes the model's text on its first line in the prompt."""
    following: tuple[NextLine, ...] = ()
    """The first non-blank lines after the cursor line."""
    floor: int = 0
    """The least indentation the completion may reach (inside the enclosing scope)."""
    open_brackets: int = 0
    """Brackets open at the cursor."""
    gap_visible: bool = False
    """The code around the cursor does not parse without a completion."""
    closes_gap: Callable[[str], bool] | None = None
    """Given the model's text, whether inserting it makes the code around the cursor parse."""

    def end(self, text: str, *, complete_lines_only: bool) -> int | None:
        """Where the completion should end, as an index into ``text``, or None to go on.

        The completion ends before a line that goes below the floor (out of the enclosing scope,
        or below the code that follows), that repeats one of the lines after the cursor, or
        that is the third of three equal lines; after a line that opens a block (``...:``) whose
        body already follows the cursor; and at a statement boundary where the code has become
        whole (see SYNTAX_CLOSURE and ONE_STATEMENT_INSIDE_A_BLOCK).

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

        block_indent: int | None = None
        floor = self.floor
        depth = self.open_brackets
        statements = 0
        for index, line in enumerate(lines):
            stripped = line.strip()
            depth_before = depth
            depth = bracket_depth(line + "\n", depth)
            if not stripped or (index == 0 and base.strip()):
                continue  # blank, or the user's own line before the cursor
            whole = index < len(lines) - 1 or not complete_lines_only
            before = max(0, starts[index] - 1)
            if whole and any(_same_code(stripped, line.text) for line in self.following):
                return before
            earlier = (lines[index - 1].strip(), lines[index - 2].strip()) if index >= 2 else ()
            if whole and earlier == (stripped, stripped):
                return starts[index - 1] - 1
            width = indent_width(line)
            if block_indent is None:
                block_indent = width
                floor = min(floor, width) if DEDENT_FLOOR == "scope" else width
            elif width < floor:
                return before
            boundary = depth_before == 0 and not stripped.startswith(_CONTINUATIONS)
            if boundary and statements:
                if SYNTAX_CLOSURE and self.gap_visible and self.closes_gap is not None:
                    if self.closes_gap(text[:before]):
                        return before
                elif (
                    ONE_STATEMENT_INSIDE_A_BLOCK
                    and not self.gap_visible
                    and self.following
                    and self.following[0].indent == block_indent
                    and width == block_indent
                    and self.open_brackets == 0
                ):
                    return before
            if boundary:
                statements += 1
            body_follows = bool(self.following) and self.following[0].indent > width
            if whole and stripped.endswith(":") and body_follows and depth == 0:
                return starts[index] + len(line) - (len(base) if index == 0 else 0)
        return None


def block_rules(context: CompletionContext, healed: str) -> BlockRules:
    """The block rules for a completion at ``context``."""
    base = context.line_prefix[: len(context.line_prefix) - len(healed)]
    following = next_lines(context)
    floor = indent_width(context.scopes[-1].indent) + 1 if context.scopes else 0
    if base.strip().endswith(":"):  # the end of a line that opens a block: write its body
        floor = max(floor, indent_width(base) + 1)
    if following and following[0].indent >= floor:
        floor = max(floor, following[0].indent)
    judge = context.judge
    blank_line = not context.line_prefix.strip()
    closes_gap: Callable[[str], bool] | None = None
    gap_visible = False
    if judge is not None and SYNTAX_CLOSURE:
        gap_visible = judge.baseline_errors > 0

        def closes_gap(raw: str) -> bool:
            healed_text = _heal(raw, healed, context.indent, blank_line)
            return healed_text is not None and judge.errors_with(healed_text.rstrip()) == 0

    return BlockRules(
        base=base,
        following=following,
        floor=floor,
        open_brackets=bracket_depth(judge.before) if judge is not None else 0,
        gap_visible=gap_visible,
        closes_gap=closes_gap,
    )


def _heal(text: str, healed: str, indent: str, blank_line: bool) -> str | None:
    """Strip from the start of ``text`` the whitespace the prompt left out; None drops it.

    ``healed`` is the character cut from the prompt; ``indent`` the cursor line's indentation.
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
        return text[len(healed) :]
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
                return candidate if _bracket_excess(context.line_prefix + body + rest) > 0 else text
            if judge.adds_errors(text) and not judge.adds_errors(candidate):
                return candidate
            return text
    return text


def _bracket_excess(text: str) -> int:
    """How many more closing than opening brackets ``text`` has (0 if balanced or fewer)."""
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
    return excess


def clean_completion(
    raw: str,
    context: CompletionContext,
    *,
    healed: str,
    stop: Sequence[str] = (),
    truncated: bool = False,
) -> Cleaned:
    """Post-process the model's ``raw`` answer for ``context``; see the module docstring.

    ``healed`` is :attr:`codels.prompt.Prompt.healed`; ``truncated`` says generation ended at
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
    healed_text = _heal(text, healed, context.indent, blank_line)
    if healed_text is None:
        return Cleaned("", "indented less than the cursor")
    text = healed_text.rstrip()
    if not text.strip():
        return Cleaned("", "nothing left after cutting")
    text = _without_suffix_overlap(text, context)
    if context.judge is not None:
        clean = context.judge.longest_clean_prefix(text)
        if clean != text:
            note = "cut back to parse" if clean.strip() else "dropped: adds a syntax error"
            return Cleaned(clean.rstrip() if clean.strip() else "", note)
    return Cleaned(text)


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
