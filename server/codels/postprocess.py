"""Turning what the model wrote into a completion worth showing.

Small code models rarely stop by themselves: asked to fill the middle, they go on and rewrite the
suffix. Stopping is the client's job, in this order:

1. cut at any stop token that came through as text;
2. single line: cut at the first line break; block: cut where a line falls below the block's
   indentation, where a line repeats the first non-blank line of the suffix, and at the third of
   three equal lines; a block cut short by the token limit loses its unfinished last line;
3. take back the whitespace that prompt building cut from the end of the prefix (the model
   writes the indentation itself; an answer indented less than the cursor is dropped);
4. drop what repeats the text right of the cursor (``foo(|)`` answered with ``x)``);
5. let the syntax judge cut the completion back to its longest prefix, at line ends, that adds
   no ERROR or MISSING node to the tree; drop what is left blank.

:func:`block_end` is also the generation-time stop rule, so the model stops decoding as soon
as the block has ended instead of filling the token budget.

This module imports :mod:`codels.context` and :mod:`codels.syntax`.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def first_suffix_line(context: CompletionContext) -> str:
    """The first non-blank line after the cursor line, stripped ("" if none)."""
    _, _, after = context.suffix.partition("\n")
    for line in after.splitlines():
        if line.strip():
            return line.strip()
    return ""


def block_end(text: str, base: str, suffix_line: str, *, complete_lines_only: bool) -> int | None:
    """Where a block completion should end, as an index into ``text``, or None to go on.

    ``base`` is what precedes ``text`` on its first line in the prompt (the model wrote the rest
    of that line); ``suffix_line`` is :func:`first_suffix_line`. With ``complete_lines_only``
    the rules that need a whole line look only at lines already ended by a line break (this is
    the generation-time check, called with partial text).
    """
    lines = (base + text).split("\n")
    starts: list[int] = []  # offset in `text` where each line starts
    position = -len(base)
    for line in lines:
        starts.append(max(0, position))
        position += len(line) + 1

    block_indent: int | None = None
    if base.strip() == "" and lines[0].strip():
        block_indent = indent_width(lines[0])
    for index, line in enumerate(lines):
        finished = index < len(lines) - 1
        stripped = line.strip()
        if index > 0 or base.strip() == "":
            whole = finished or not complete_lines_only
            if stripped and stripped == suffix_line and whole:
                return max(0, starts[index] - 1) if index > 0 else 0
            if (
                index >= 2
                and stripped
                and stripped == lines[index - 1].strip() == lines[index - 2].strip()
                and whole
            ):
                return starts[index - 1] - 1
        if index == 0 or not stripped:
            continue
        if block_indent is None:
            block_indent = indent_width(line)
            continue
        if indent_width(line) < block_indent:
            return starts[index] - 1
    return None


def _heal(text: str, healed: str, blank_line: bool) -> str | None:
    """Strip from the start of ``text`` the whitespace the prompt cut; None drops the answer."""
    if blank_line:
        text = text.lstrip("\n")
    if not healed:
        return text
    if text.startswith(healed):
        return text[len(healed) :]
    if blank_line:
        return None  # indented less than the cursor: inserting here would mis-indent it
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
    base = context.line_prefix[: len(context.line_prefix) - len(healed)]
    blank_line = not context.line_prefix.strip()
    if context.kind is CompletionKind.LINE:
        text = text.split("\n", 1)[0]
    else:
        end = block_end(text, base, first_suffix_line(context), complete_lines_only=False)
        if end is not None:
            text = text[:end]
        elif truncated and "\n" in text:
            text = text[: text.rfind("\n")]
    healed_text = _heal(text, healed, blank_line)
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
    base = context.line_prefix[: len(context.line_prefix) - len(healed)]
    return StopRule(context.kind, base, first_suffix_line(context))


@dataclass(frozen=True)
class StopRule:
    """Tells the engine, after each token, whether the completion is already over."""

    kind: CompletionKind
    base: str
    suffix_line: str

    def __call__(self, text: str) -> bool:
        """True when ``text`` (the answer so far) holds a complete completion."""
        if self.kind is CompletionKind.LINE:
            return "\n" in text
        return block_end(text, self.base, self.suffix_line, complete_lines_only=True) is not None
