"""One llama.cpp KV sequence: the token at each position it holds, and the calls that change it.

Only the worker thread uses it. It drives llama-cpp-python's batch and context directly, so
that generated tokens are tracked the same way as prompt tokens. This module imports only
``llama_cpp`` (lazily).
"""

from __future__ import annotations

import threading
from typing import Any


class SequenceCells:
    """The cells of one sequence of a llama.cpp context, position by position."""

    def __init__(self, llm: Any, sequence: int = 0) -> None:
        self.llm = llm
        self.sequence = sequence
        """The llama.cpp sequence id whose cells this tracks."""
        self.tokens: list[int] = []
        """The token at each position of the cache (:data:`~codels.engines.kv_plan.HOLE` where
        it holds no cell)."""
        self.prompt_length = 0
        """How many of :attr:`tokens` are the last prompt (the rest were generated)."""
        self.approximate_from: int | None = None
        """The first position whose cell was kept across an edit before it (None: all exact).
        Cells from there on were computed after other text than the prompt's, and are
        evaluated again when the engine is idle."""

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

    def _remove(self, start: int, end: int = -1, sequence: int | None = None) -> None:
        self.llm._ctx.kv_cache_seq_rm(self.sequence if sequence is None else sequence, start, end)

    def clear(self) -> None:
        """Forget everything this sequence holds (its cells go back to the cache)."""
        self._remove(0)
        self.tokens, self.prompt_length = [], 0
        self.approximate_from = None

    def truncate(self, length: int) -> None:
        """Forget what this sequence holds from position ``length`` on."""
        if len(self.tokens) > length:
            self._remove(length)
            del self.tokens[length:]
            self.prompt_length = min(self.prompt_length, length)
        if self.approximate_from is not None and self.approximate_from >= length:
            self.approximate_from = None

    def _evaluate(
        self, tokens: list[int], start: int, end: int, stop: threading.Event, chunk_size: int
    ) -> bool:
        """Evaluate ``tokens[start:end]`` at their positions in chunks; False if stopped."""
        for chunk_start in range(start, end, chunk_size):
            if stop.is_set():
                return False
            chunk = tokens[chunk_start : min(chunk_start + chunk_size, end)]
            self._decode(chunk, chunk_start)
            self.tokens[chunk_start:] = chunk
        return True

    def export_state(self, limit: int) -> Any | None:
        """The cells of the sequence as llama.cpp writes them; None if over ``limit`` bytes."""
        import ctypes

        import llama_cpp

        ctx = self.llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, self.sequence)
        if size > limit:
            return None
        data = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(ctx, data, size, self.sequence) == 0:
            return None
        return data

    def import_state(self, data: Any) -> bool:
        """Replace this sequence's cells by ``data`` (from :meth:`export_state`); False if not.

        The caller sets :attr:`tokens`.
        """
        import llama_cpp

        self.clear()
        ctx = self.llm._ctx.ctx
        return bool(llama_cpp.llama_state_seq_set_data(ctx, data, len(data), self.sequence))

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
