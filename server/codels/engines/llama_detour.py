"""The likeliest answer whose first line is not a given line: a detour off the greedy path.

On a blank line between two statements a small model often answers with the statement that
already follows the cursor: it would insert nothing, and post-processing drops the repeat, so
the person sees no suggestion where they were about to type one. :class:`Detour` follows the
greedy answer while its first line is still the start of that line, remembers at each step the
best token that leaves it, and when the repeat is complete names the step where leaving cost
the least (the smallest logit gap). The decode loop rewinds there and goes on with that token:
the answer is then the likeliest different first line of a one-turn search, for the price of
the tokens decoded again. Pure: the caller hands it logits and a detokenizer. Imports numpy
lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

CANDIDATES = 6
"""Tokens looked at per step for the best one that leaves the avoided line."""


@dataclass(frozen=True)
class Turn:
    """Where to leave the greedy path: after ``step`` generated tokens, with ``token``."""

    step: int
    token: int
    gap: float
    """The greedy token's logit minus this token's (the smaller, the likelier the turn)."""


@dataclass
class Detour:
    """Watches one generation for a first line equal to :attr:`line` (stripped)."""

    line: str
    text_of: Callable[[Sequence[int]], str]
    """The text of generated tokens (the engine's detokenizer)."""
    _candidates: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    taken: bool = False
    """A turn was taken (there is one per generation)."""

    def watching(self, text: str) -> bool:
        """Whether ``text``, the answer so far, may still become the avoided line."""
        if self.taken:
            return False
        head = text.lstrip(" \t")
        return "\n" not in head and f"{self.line}\n".startswith(head)

    def record(self, step: int, logits: Any) -> None:
        """Remember the best tokens at ``step`` from its ``logits`` (indexed by token id)."""
        import numpy

        count = min(CANDIDATES, len(logits))
        top = numpy.argpartition(logits, -count)[-count:]
        ordered = sorted(top.tolist(), key=lambda token: -float(logits[token]))
        # A token ruled out at this step has an infinitely low logit: never a turn.
        self._candidates[step] = [
            (token, float(logits[token])) for token in ordered if numpy.isfinite(logits[token])
        ]

    def repeats(self, text: str) -> bool:
        """Whether the first line of ``text`` is complete and is the avoided line."""
        if self.taken:
            return False
        head = text.lstrip(" \t")
        if "\n" not in head:
            return False
        return head.split("\n", 1)[0].strip() == self.line

    def turn(self, generated: Sequence[int], banned: Callable[[int], bool]) -> Turn | None:
        """The cheapest turn off the avoided line along ``generated`` (None: none found).

        A candidate leaves the line when the text with it is no longer the start of the line
        (another spelling of the same text stays on it); it must not make the first line
        empty, nor be ``banned`` (the tokens that end the answer). Tokens ruled out at a step
        never reach :meth:`record`'s list.
        """
        best: Turn | None = None
        target = f"{self.line}\n"
        for step, candidates in sorted(self._candidates.items()):
            if step >= len(generated):
                break
            if not candidates:
                continue
            chosen = generated[step]
            top = dict(candidates).get(chosen, candidates[0][1])
            for token, logit in candidates:
                if token == chosen or banned(token):
                    continue
                head = self.text_of([*generated[:step], token]).lstrip(" \t")
                if not head.strip() or target.startswith(head):
                    continue
                gap = top - logit
                if best is None or gap < best.gap:
                    best = Turn(step, token, gap)
                break
        self.taken = best is not None
        return best
