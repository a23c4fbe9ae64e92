"""The prompt: a completion context laid out in the model family's FIM template, within budget.

:func:`build_prompt` puts stable material first, so that consecutive keystrokes reuse the KV
cache. Imports :mod:`codels.pipeline.context` and :mod:`codels.models.catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codels.models.catalogue import Family
from codels.pipeline.context import CompletionContext

WINDOW_STEP_LINES = 32
"""The prefix window starts on a line number divisible by this, so it rarely moves (a smaller
power of two when few lines fit: see :func:`window_step`)."""
TEMPLATE_MARGIN_TOKENS = 16
"""Tokens kept free for the template's markers and for per-line counting error."""


@dataclass(frozen=True)
class PromptBudget:
    """How many tokens the prompt may take."""

    total_tokens: int = 1536
    suffix_tokens: int = 384


@dataclass(frozen=True)
class Prompt:
    """A prompt ready for the engine."""

    text: str
    healed: str
    """The whitespace character cut from the end of the prefix ("" if none)."""
    window_start: int
    """Code-point offset in the document where the prefix window starts."""
    extra: str
    """Extra context placed before the prefix window ("" when the whole prefix fits)."""
    prefix: str
    """The prefix window as placed in the prompt (without extra context or healed spaces)."""
    suffix: str
    """The suffix as placed in the prompt."""
    estimated_tokens: int


class TokenCounter:
    """Counts tokens line by line with the model's tokenizer, remembering recent lines."""

    def __init__(self, count: Callable[[str], int], capacity: int = 50_000) -> None:
        self._count = count
        self._capacity = capacity
        self._cache: dict[str, int] = {}

    def __call__(self, line: str) -> int:
        """Number of tokens of ``line`` (a line with its line break, or any text)."""
        cached = self._cache.get(line)
        if cached is None:
            if len(self._cache) >= self._capacity:
                self._cache.clear()
            cached = self._cache[line] = self._count(line)
        return cached


def build_prompt(
    context: CompletionContext,
    family: Family | None,
    count: TokenCounter,
    budget: PromptBudget,
) -> Prompt:
    """Lay ``context`` out in ``family``'s FIM template within ``budget``.

    Stable material comes first (the engine keeps the longest common token prefix of two
    prompts)::

        FIM prefix marker
          extra context  imports and enclosing signatures/docstrings, only when they lie before
                         the prefix window (stable while the user types in one function)
          prefix window  whole lines up to the cursor; its first line moves only in steps of
                         WINDOW_STEP_LINES, so it stays put while the user types
        FIM suffix marker
          suffix         the rest of the cursor line and the lines after it, within
                         budget.suffix_tokens (taken from the prefix window's room): a
                         new line edits before it, and the engine keeps its cached chunks
        FIM middle marker

    Token counts come line by line from ``count``; the line sums agree with whole-text counts
    to within a few tokens, and TEMPLATE_MARGIN_TOKENS keeps a margin for that. With no family
    (a model that cannot infill), the prompt is the prefix alone.
    """
    healed = _healed(context.line_prefix)
    prefix_text = context.prefix[: len(context.prefix) - len(healed)]

    suffix = _fit_suffix(context.suffix, count, budget.suffix_tokens) if family else ""
    suffix_tokens = _tokens(suffix, count)
    room = budget.total_tokens - TEMPLATE_MARGIN_TOKENS - suffix_tokens

    lines = prefix_text.splitlines(keepends=True)
    counts = [count(line) for line in lines]
    first, extra = _prefix_window(context, lines, counts, room, count)
    window = "".join(lines[first:])
    window_start = _offset_of_line(context, lines, first)
    volatile = ""
    if family is not None and family.middle_last:
        cut = window.rfind("\n") + 1
        window, volatile = window[:cut], window[cut:]
    estimated = sum(counts[first:]) + suffix_tokens + _tokens(extra, count)
    text = (
        extra + window if family is None else family.fim_prompt(extra + window, suffix) + volatile
    )
    return Prompt(
        text=text,
        healed=healed,
        window_start=window_start,
        extra=extra,
        prefix=window + volatile,
        suffix=suffix,
        estimated_tokens=estimated,
    )


def _healed(line_prefix: str) -> str:
    """The whitespace character cut from the end of the prefix ("" if it ends in none)."""
    # Whitespace at the end of the prefix (an editor leaves the cursor after the indentation of
    # a new line) is a trap: the tokenizer merges the last space of a run into the word that
    # follows, so a prompt ending in the whole run ends in a token the model never saw there.
    # Keep all but the last whitespace character (Prompt.healed); the model writes it again as
    # the start of its first token and post-processing strips it. (Ending the prompt at the line
    # start instead was measured worse: the model often jumped to the end of the function.)
    return line_prefix[-1] if line_prefix[-1:] in (" ", "\t") else ""


def _tokens(text: str, count: TokenCounter) -> int:
    """Tokens of ``text``, counted line by line."""
    return sum(count(line) for line in text.splitlines(keepends=True))


def _prefix_window(
    context: CompletionContext,
    lines: list[str],
    counts: list[int],
    room: int,
    count: TokenCounter,
) -> tuple[int, str]:
    """The prefix window's first line and the extra context before it, within ``room``.

    The whole prefix, with no extra context, when it fits and starts the document; else the
    window is chosen twice: once to find what extra context lies before it, then again in the
    room that extra context leaves.
    """
    if sum(counts) <= room and context.prefix_start <= 0:
        return 0, ""
    first = _window_first_line(counts, room, context)
    extra = _extra_context(context, _offset_of_line(context, lines, first))
    first = _window_first_line(counts, room - _tokens(extra, count), context)
    return first, _extra_context(context, _offset_of_line(context, lines, first))


def _fit_suffix(suffix: str, count: TokenCounter, limit: int) -> str:
    """The suffix cut at a line end so that it takes at most ``limit`` tokens.

    The rest of the cursor line is always kept (it is what the completion must lead into).
    """
    kept: list[str] = []
    used = 0
    for index, line in enumerate(suffix.splitlines(keepends=True)):
        tokens = count(line)
        if index > 0 and used + tokens > limit:
            break
        kept.append(line)
        used += tokens
    return "".join(kept)


def _window_first_line(counts: list[int], room: int, context: CompletionContext) -> int:
    """The first line of the prefix window: the earliest step-aligned line that fits.

    Lines are numbered in the document, so the window start does not move while the user types
    on the cursor line; it jumps :func:`window_step` lines at a time when the prefix outgrows
    the room. The cursor line itself is always in the window.
    """
    total = 0
    first_fitting = len(counts) - 1
    for index in range(len(counts) - 1, -1, -1):
        total += counts[index]
        if total > room and index < len(counts) - 1:
            break
        first_fitting = index
    step = window_step(len(counts) - first_fitting)
    base = context.prefix_start_line
    aligned = -(-(base + first_fitting) // step) * step - base
    return min(max(aligned, first_fitting), len(counts) - 1) if counts else 0


def window_step(lines_that_fit: int) -> int:
    """How many lines the window's start moves at a time, when ``lines_that_fit`` fit the room.

    WINDOW_STEP_LINES when at least twice that many fit (a default budget: unchanged), else the
    largest power of two within half of them. Aligning a window of a small budget (about 15
    lines at 256 tokens) to 32 lines often left it the cursor line alone: python-line exact
    match at promptTokens 256 went from 1 to 3 of 40 with a smaller step.
    """
    step = WINDOW_STEP_LINES
    while step > 1 and step * 2 > lines_that_fit:
        step //= 2
    return step


def _offset_of_line(context: CompletionContext, lines: list[str], index: int) -> int:
    return context.prefix_start + sum(len(line) for line in lines[:index])


def _extra_context(context: CompletionContext, window_start: int) -> str:
    """Imports and enclosing headers that lie before the window, as source text."""
    parts: list[str] = []
    imports = [snippet.text for snippet in context.imports if snippet.start < window_start]
    if imports:
        parts.append("\n".join(imports) + "\n\n")
    for scope in context.scopes:
        if scope.header.start < window_start:
            parts.append(scope.indent + scope.header.text + "\n")
    return "".join(parts)
