"""Which cached cells a new prompt can keep: the common prefix, and shifted chunks after it.

Given the tokens a KV sequence holds (position by position) and the tokens of the next prompt,
:func:`plan_reuse` says which runs of held cells are kept, where each lands in the new prompt,
and so which positions must be evaluated. It mirrors llama-server's ``--cache-reuse``, but also
finds chunks that moved right (text was inserted before them), which is what typing does to the
suffix of a fill-in-the-middle prompt. Pure: this module imports nothing of codels or llama.cpp.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

HOLE = -1
"""What a cache's token list holds at a position with no cell (never equal to a token)."""
SEED_TOKENS = 8
"""Length of the runs that locate a chunk's candidates (at most the minimum chunk length)."""
MAX_CANDIDATES = 4
"""Held positions tried per seed: repetitive code makes a seed common, and each try costs."""


@dataclass(frozen=True)
class Chunk:
    """A run of held cells kept for the new prompt: ``length`` cells moved by ``shift``."""

    source: int
    """Position of its first cell in what is held."""
    target: int
    """Position of its first token in the new prompt."""
    length: int

    @property
    def shift(self) -> int:
        """How far its cells move (negative: left)."""
        return self.target - self.source


@dataclass(frozen=True)
class ReusePlan:
    """How to bring a held sequence to a new prompt of :attr:`total` tokens."""

    common: int
    """Leading tokens held in place (the common prefix)."""
    chunks: tuple[Chunk, ...]
    """Runs of later held cells kept, in order of position (sources and targets increase)."""
    total: int

    @property
    def reused(self) -> int:
        """Prompt tokens not evaluated."""
        return self.common + sum(chunk.length for chunk in self.chunks)

    @property
    def evaluated(self) -> int:
        """Prompt tokens evaluated."""
        return self.total - self.reused

    def gaps(self) -> list[tuple[int, int]]:
        """The ranges ``[start, end)`` of new-prompt positions that must be evaluated."""
        ranges = []
        cursor = self.common
        for chunk in self.chunks:
            if chunk.target > cursor:
                ranges.append((cursor, chunk.target))
            cursor = chunk.target + chunk.length
        if self.total > cursor:
            ranges.append((cursor, self.total))
        return ranges


def common_prefix(held: Sequence[int], tokens: Sequence[int]) -> int:
    """How many leading ``tokens`` ``held`` has, leaving the last token to evaluate again."""
    common = 0
    limit = min(len(held), len(tokens) - 1)  # the last token is always evaluated (its logits)
    while common < limit and held[common] == tokens[common]:
        common += 1
    return common


def plan_reuse(
    held: Sequence[int], tokens: Sequence[int], min_chunk: int, refresh: int = 0
) -> ReusePlan:
    """Keep the common prefix, then every run of at least ``min_chunk`` held tokens found again.

    Runs are matched left to right, each after the previous one in both sequences (a cell is
    kept once and the kept cells keep their order). Where a seed of the new prompt occurs
    several times in what is held, the longest run wins. ``min_chunk`` <= 0 keeps the prefix
    only. The last token is never kept (its logits are needed).

    The first ``refresh`` tokens of each run are evaluated all the same: a kept cell saw the
    old text before it, and the cells right after an edit are those that looked at it most
    (the start of the suffix of a fill-in-the-middle prompt tells the model how the prefix
    ends).
    """
    common = common_prefix(held, tokens)
    end = len(tokens) - 1
    if min_chunk <= 0 or end - common < min_chunk or len(held) - common < min_chunk:
        return ReusePlan(common, (), len(tokens))
    seed = min(min_chunk, SEED_TOKENS)
    index: dict[tuple[int, ...], list[int]] = {}
    for position in range(common, len(held) - seed + 1):
        index.setdefault(tuple(held[position : position + seed]), []).append(position)
    chunks: list[Chunk] = []
    held_at, at = common, common
    while at + min_chunk <= end:
        best_length, best_source = 0, -1
        candidates = index.get(tuple(tokens[at : at + seed]), [])
        first = bisect_left(candidates, held_at)
        for source in candidates[first : first + MAX_CANDIDATES]:
            length = _run(held, source, tokens, at, end)
            if length > best_length:
                best_length, best_source = length, source
        if best_length >= min_chunk:
            chunks.append(Chunk(best_source, at, best_length))
            at += best_length
            held_at = best_source + best_length
        else:
            at += 1
    if refresh > 0:
        chunks = [
            Chunk(chunk.source + refresh, chunk.target + refresh, chunk.length - refresh)
            for chunk in chunks
            if chunk.length > refresh
        ]
    return ReusePlan(common, tuple(chunks), len(tokens))


def _run(held: Sequence[int], source: int, tokens: Sequence[int], target: int, end: int) -> int:
    """How many tokens from ``target`` (before ``end``) equal those held from ``source``."""
    length = 0
    limit = min(len(held) - source, end - target)
    while length < limit and held[source + length] == tokens[target + length]:
        length += 1
    return length


def shift_order(chunks: Sequence[Chunk]) -> list[Chunk]:
    """The order to move ``chunks`` to their targets within one sequence without collisions.

    A chunk is moved by selecting the cells in its source range, so that range must hold only
    its own cells, and its target range must be free. Chunks moving right go first, rightmost
    first; then chunks moving left, leftmost first. (Sources and targets are both ordered and
    disjoint, so neither a moved chunk nor one still to move lies in the way.)
    """
    right = [chunk for chunk in chunks if chunk.shift > 0]
    left = [chunk for chunk in chunks if chunk.shift < 0]
    return [*reversed(right), *left]
