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

from collections.abc import Sequence
from dataclasses import dataclass

from codels.context import CompletionContext, CompletionKind, opens_block


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

    def end(self, text: str, *, complete_lines_only: bool) -> int | None:
        """Where the completion should end, as an index into ``text``, or None to go on.

        The completion ends before a line indented less than its first line, before a line that
        repeats the line after the cursor (whitespace aside), and before the third of three
        equal lines; and after a line that opens a block (``for ...:``) whose body is the line
        after the cursor, one level deeper.

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
        block_indent: int | None = None
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
            if block_indent is None:
                block_indent = width
            elif width < block_indent:
                return before
            if (
                whole
                and following is not None
                and following.indent - width == self.indent_unit
                and opens_block(stripped)
            ):
                return starts[index] + len(line) - (len(base) if index == 0 else 0)
        return None


def block_rules(context: CompletionContext, healed: str) -> BlockRules:
    """The block rules for a completion at ``context``."""
    return BlockRules(
        base=context.line_prefix[: len(context.line_prefix) - len(healed)],
        following=next_line(context),
        indent_unit=indent_unit(context.prefix),
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
