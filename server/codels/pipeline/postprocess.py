"""Turning what the model wrote into a completion worth showing: :func:`clean_completion`.

Small code models rarely stop by themselves (asked to fill the middle, they go on and rewrite
the suffix), so stopping is the client's job; :class:`StopRule` applies the same block end at
generation time. Imports :mod:`codels.pipeline.context` and :mod:`codels.languages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from codels.languages.base import BlockEnd
from codels.languages.lines import bracket_balance
from codels.pipeline.context import CompletionContext, CompletionKind


@dataclass(frozen=True)
class Cleaned:
    """A post-processed completion, with why it was cut or dropped."""

    text: str
    note: str = ""


def cut_at_stop_strings(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the first occurrence of any stop string."""
    end = len(text)
    for marker in stop:
        found = text.find(marker)
        if found != -1:
            end = min(end, found)
    return text[:end]


def indent_settled(context: CompletionContext) -> bool:
    """Whether code typed at the cursor starts right there, with no more indentation.

    The language's block model decides; with none, it does.
    """
    return context.language is None or context.language.blocks.indent_settled(context)


def _block_end(context: CompletionContext, healed: str) -> BlockEnd | None:
    """The language's rule for where a block completion at ``context`` ends (None: none)."""
    language = context.language
    return language.blocks.block_end(context, healed) if language is not None else None


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


_QUOTES = "\"'`"


def repeats_what_follows(candidate: str, end: str, line_prefix: str) -> bool:
    """Whether ``end`` of a completion closes only what stood open before it (``candidate``).

    ``end`` is what the text right of the cursor starts with; it repeats what follows when it
    holds only closing brackets that ``candidate`` did not open, a quote
    that the line opened before the cursor, and ``;``, ``,`` or ``:``.
    """
    own_open = bracket_balance(candidate)[0]
    for ch in end:
        if ch in "([{":
            return False
        if ch in ")]}":
            if own_open:
                return False  # it closes the completion's own bracket
        elif ch in _QUOTES and (candidate.count(ch) % 2 or not line_prefix.count(ch) % 2):
            return False  # it closes the completion's own string, or no string is open
    return True


def _without_suffix_overlap(text: str, context: CompletionContext) -> str:
    """Drop the end of ``text`` that repeats the start of the text right of the cursor.

    What closes only what was open before the completion goes (``f(a, key=|)`` answered with
    ``1)`` gives ``1``); otherwise the syntax judge decides whether the overlap is a repeat.
    """
    rest = context.line_suffix.strip()
    if not rest or "\n" in text:
        return text
    body = text.rstrip()
    sizes = [size for size in range(len(rest), 0, -1) if body.endswith(rest[:size])]
    for size in sizes:
        candidate = body[: len(body) - size]
        if candidate.strip() and repeats_what_follows(candidate, rest[:size], context.line_prefix):
            return candidate
    if not sizes:
        return text
    candidate = body[: len(body) - sizes[0]]
    judge = context.judge
    if judge is None:
        excess = bracket_balance(context.line_prefix + body + rest)[1]
        return candidate if excess > 0 else text
    if judge.adds_errors(text) and not judge.adds_errors(candidate):
        return candidate
    return text


def clean_completion(
    raw: str,
    context: CompletionContext,
    *,
    healed: str,
    stop: Sequence[str] = (),
    truncated: bool = False,
) -> Cleaned:
    """Post-process the model's ``raw`` answer for ``context``, in this order.

    1. cut at any stop token that came through as text;
    2. single line: cut at the first line break; block: where the language's block model ends
       it; a block cut short by the token limit loses its unfinished last line;
    3. take back the whitespace character that prompt building cut from the end of the prefix
       (the model writes it again as part of its first token; an answer that starts on a new
       line indented less than the cursor is dropped);
    4. drop what repeats the text right of the cursor (``foo(|)`` answered with ``x)``);
    5. drop trailing block headers without a body (the block model's rule);
    6. let the syntax judge cut the completion back to its longest prefix, at line ends, that
       adds no ERROR or MISSING node to the tree; drop what is left blank.

    ``healed`` is :attr:`codels.pipeline.prompt.Prompt.healed`; ``truncated`` says generation
    ended at the token limit (so the last line may be unfinished).
    """
    text = cut_at_stop_strings(raw, stop)
    blank_line = not context.line_prefix.strip()
    if context.kind is CompletionKind.LINE:
        text = text.split("\n", 1)[0]
    else:
        rules = _block_end(context, healed)
        end = rules.end(text, complete_lines_only=False) if rules is not None else None
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
    if context.language is not None:
        text = context.language.blocks.without_dangling_header(text, context)
        if not text.strip():
            return Cleaned("", "dropped: a block header without a body")
    if context.judge is not None:
        clean = context.judge.longest_clean_prefix(text)
        if clean != text:
            note = "cut back to parse" if clean.strip() else "dropped: adds a syntax error"
            return Cleaned(clean.rstrip() if clean.strip() else "", note)
    return Cleaned(text)


def needs_header(context: CompletionContext, text: str) -> bool:
    """Whether block completion ``text`` leaves the code after the cursor without its header.

    The language's block model decides (in Python: the line after a blank cursor line is
    indented deeper than the completion's last line, which does not open a block).
    """
    if context.kind is not CompletionKind.BLOCK or context.language is None:
        return False
    return context.language.blocks.needs_header(context, text)


def stop_rule(context: CompletionContext, healed: str) -> StopRule:
    """The generation-time stop rule for ``context``."""
    return StopRule(context.kind, _block_end(context, healed))


@dataclass(frozen=True)
class StopRule:
    """Tells the engine, after each token, whether the completion is already over."""

    kind: CompletionKind
    rules: BlockEnd | None
    """Where a block ends (None: the language has no block model, so only the budget does)."""

    def __call__(self, text: str) -> bool:
        """True when ``text`` (the answer so far) holds a complete completion."""
        if self.kind is CompletionKind.LINE:
            return "\n" in text
        return self.rules is not None and self.rules.end(text, complete_lines_only=True) is not None
