"""What the llama.cpp KV cache holds, sequence by sequence, and the second (background) sequence.

Only the worker thread uses these. This module imports ``llama_cpp`` (lazily).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

PREFILL_CHUNK = 128
"""Prompt tokens evaluated between two looks at the stop flag (~1 s on two slow cores)."""
BACKGROUND_PREFILL_CHUNK = 8
"""Prefill chunk of a background request (a stop waits for at most one chunk)."""


class KvCache:
    """What the llama.cpp KV cache (sequence 0) holds, position by position.

    A request's prompt is brought into the cache by keeping the longest common token prefix
    with what the cache holds and evaluating the rest in chunks, looking at the stop flag
    between chunks. (Keeping the cached *end* of the previous prompt across an edit before it
    would need out-of-order positions, which this llama.cpp refuses for one sequence.)

    Only the worker thread uses it. It drives llama-cpp-python's batch and context directly,
    so that generated tokens are tracked the same way as prompt tokens.
    """

    def __init__(self, llm: Any, sequence: int = 0) -> None:
        self.llm = llm
        self.sequence = sequence
        """The llama.cpp sequence id whose cells this tracks."""
        self.tokens: list[int] = []
        """The token at each position of the cache."""
        self.prompt_length = 0
        """How many of :attr:`tokens` are the last prompt (the rest were generated)."""

    def _decode(self, chunk: list[int], position: int) -> None:
        batch = self.llm._batch
        fields = batch.batch
        fields.n_tokens = len(chunk)
        for index, token in enumerate(chunk):
            fields.token[index] = token
            fields.pos[index] = position + index
            fields.seq_id[index][0] = self.sequence
            fields.n_seq_id[index] = 1
            fields.logits[index] = False
        fields.logits[len(chunk) - 1] = True
        self.llm._ctx.decode(batch)

    def _remove(self, start: int, end: int = -1) -> None:
        self.llm._ctx.kv_cache_seq_rm(self.sequence, start, end)

    def clear(self) -> None:
        """Forget everything this sequence holds (its cells go back to the cache)."""
        self._remove(0)
        self.tokens, self.prompt_length = [], 0

    def _evaluate(
        self, tokens: list[int], start: int, stop: threading.Event, chunk_size: int
    ) -> bool:
        """Evaluate ``tokens[start:]`` at their positions in chunks; False if stopped."""
        for chunk_start in range(start, len(tokens), chunk_size):
            if stop.is_set():
                self._remove(chunk_start)
                self.tokens = self.tokens[:chunk_start]
                self.prompt_length = len(self.tokens)
                return False
            chunk = tokens[chunk_start : chunk_start + chunk_size]
            self._decode(chunk, chunk_start)
            self.tokens[chunk_start:] = chunk
        return True

    def prepare(
        self,
        tokens: list[int],
        stop: threading.Event,
        *,
        reuse: bool,
        chunk: int = PREFILL_CHUNK,
        source: KvCache | None = None,
    ) -> int | None:
        """Bring the cache to ``tokens`` with logits for the last one.

        With ``source`` (another sequence of the same context), a longer common prefix held
        there is shared into this sequence first (llama.cpp shares the cells, no copy).
        Returns how many prompt tokens were reused rather than evaluated, or None when
        ``stop`` was set first.
        """
        if not reuse:
            self.clear()
        common = common_prefix(self.tokens, tokens)
        if source is not None and reuse:
            shared = common_prefix(source.tokens, tokens)
            if shared > common:
                self.clear()
                self.llm._ctx.kv_cache_seq_cp(source.sequence, self.sequence, 0, shared)
                self.tokens = source.tokens[:shared]
                common = shared
        self._remove(common)
        self.tokens = self.tokens[:common]
        if not self._evaluate(tokens, common, stop, chunk):
            return None
        self.prompt_length = len(tokens)
        self._sync()
        return common

    def append(self, token: int) -> None:
        """Evaluate one generated token after what the cache holds."""
        self._decode([token], len(self.tokens))
        self.tokens.append(token)
        self._sync()

    def _sync(self) -> None:
        """Keep llama-cpp-python's own bookkeeping in step (``sample`` asserts on it)."""
        count = len(self.tokens)
        self.llm.n_tokens = count
        self.llm.input_ids[:count] = self.tokens


def common_prefix(held: list[int], tokens: list[int]) -> int:
    """How many leading ``tokens`` ``held`` has, leaving the last token to evaluate again."""
    common = 0
    limit = min(len(held), len(tokens) - 1)  # the last token is always evaluated (its logits)
    while common < limit and held[common] == tokens[common]:
        common += 1
    return common


BACKGROUND_SEQUENCE = 1
"""The llama.cpp sequence speculative generations use (requests use sequence 0)."""


def add_background_sequence(llm: Any) -> None:
    """Give ``llm`` a context with a second sequence for background work.

    llama-cpp-python makes a one-sequence context and has no option for more, so the context is
    made again with two sequences over one unified cache (cells of a shared prefix are held
    once). If llama.cpp refuses, ``llm`` keeps its context and guesses share sequence 0.
    """
    from llama_cpp import _internals

    params = llm.context_params
    params.n_seq_max = 2
    params.kv_unified = True
    try:
        context = _internals.LlamaContext(model=llm._model, params=params, verbose=llm.verbose)
    except (ValueError, RuntimeError) as exc:
        params.n_seq_max = 1
        log.warning("no second KV sequence for speculative completions (%s)", exc)
        return
    previous, llm._ctx = llm._ctx, context
    llm._stack.enter_context(contextlib.closing(context))
    previous.close()


def sequences(llm: Any) -> int:
    """How many KV sequences ``llm``'s context was made with."""
    return int(getattr(llm.context_params, "n_seq_max", 1))


class KvSequences:
    """The sequence requests reuse and, if the context has one, the background sequence."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.foreground = KvCache(llm)
        self.background = KvCache(llm, BACKGROUND_SEQUENCE) if sequences(llm) > 1 else None
        """None when llama.cpp gave no second sequence (guesses then share the foreground)."""
