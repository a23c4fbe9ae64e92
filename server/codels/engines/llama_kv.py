"""What the llama.cpp KV cache holds, sequence by sequence: requests, background, scratch.

Only the worker thread uses these. This module imports :mod:`codels.engines.kv_plan`,
:mod:`codels.engines.llama_cells`, :mod:`codels.engines.llama_states` and ``llama_cpp``
(lazily).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

from codels.engines.kv_plan import HOLE, Chunk, ReusePlan, common_prefix, plan_reuse, shift_order
from codels.engines.llama_cells import SequenceCells
from codels.engines.llama_states import DOCUMENT_STATES, DocumentStates

log = logging.getLogger(__name__)

PREFILL_CHUNK = 128
"""Prompt tokens evaluated between two looks at the stop flag (~1 s on two slow cores)."""
BACKGROUND_PREFILL_CHUNK = 8
"""Prefill chunk of a background request (a stop waits for at most one chunk)."""
IDLE_PREFILL_CHUNK = 16
"""Prefill chunk of a prompt evaluated ahead of requests (larger chunks evaluate faster)."""
REUSE_MIN_CHUNK = 64
"""Shortest run of cached tokens after an edit that is kept (shifted) rather than evaluated."""
REUSE_REFRESH = 16
"""Leading tokens of a kept run evaluated again all the same: they attend most to the edit."""
REPAIR_AFTER_MS = 300
"""Idle time after an answer that used kept cells before they are evaluated again, exactly."""

BACKGROUND_SEQUENCE = 1
"""The llama.cpp sequence speculative generations use (requests use sequence 0)."""
SCRATCH_SEQUENCE = 2
"""The sequence that holds kept cells while the tokens before them are evaluated."""


class KvCache(SequenceCells):
    """What the llama.cpp KV cache (one sequence) holds, position by position.

    A request's prompt is brought into the cache by keeping the longest common token prefix
    with what the cache holds and, with a scratch sequence, the runs of held cells found again
    later in the prompt (:func:`~codels.engines.kv_plan.plan_reuse`); the rest is evaluated in
    chunks, looking at the stop flag between chunks.

    This llama.cpp requires a sequence's next batch to start right after the highest position
    the sequence holds, so kept cells cannot wait in place for the tokens before them: they are
    moved to the scratch sequence (the cache is unified, so this tags cells and copies
    nothing), shifted to their new positions there, and tagged back once the tokens before them
    are evaluated. Kept cells were computed after the old text before them: an approximation,
    the same llama-server's ``--cache-reuse`` makes.

    Only the worker thread uses it.
    """

    def __init__(
        self,
        llm: Any,
        sequence: int = 0,
        *,
        scratch: int | None = None,
        min_chunk: int = REUSE_MIN_CHUNK,
        refresh: int = REUSE_REFRESH,
    ) -> None:
        super().__init__(llm, sequence)
        self.scratch = scratch
        """The sequence kept cells wait in while they move; None: keep the common prefix only."""
        self.min_chunk = min_chunk
        self.refresh = refresh
        """Leading tokens of each kept run that are evaluated again (see :func:`plan_reuse`)."""
        self.last_plan: ReusePlan | None = None
        """How the last :meth:`prepare` reused the cache (for logs and benchmarks)."""

    def plan(self, tokens: list[int]) -> ReusePlan:
        """What :meth:`prepare` would keep of what the cache holds for ``tokens``."""
        return self.plan_for(self.tokens, tokens)

    def plan_for(self, held: list[int], tokens: list[int]) -> ReusePlan:
        """What :meth:`prepare` would keep for ``tokens`` if the cache held ``held``."""
        if self.scratch is None:
            return ReusePlan(common_prefix(held, tokens), (), len(tokens))
        return plan_reuse(held, tokens, self.min_chunk, self.refresh)

    def prepare(
        self,
        tokens: list[int],
        stop: threading.Event,
        *,
        reuse: bool,
        chunk: int = PREFILL_CHUNK,
        source: KvCache | None = None,
        sharing: Sequence[KvCache] = (),
    ) -> int | None:
        """Bring the cache to ``tokens`` with logits for the last one.

        With ``source`` (another sequence of the same context), a longer common prefix held
        there is shared into this sequence first (llama.cpp shares the cells, no copy).
        ``sharing`` are the other sequences that may share this one's cells: a cell that moves
        moves for them too, so they forget what they held from the first moved cell on.
        Returns how many prompt tokens were reused rather than evaluated, or None when
        ``stop`` was set first.
        """
        if not reuse:
            self.clear()
        plan = self.plan(tokens)
        if source is not None and reuse:
            shared = common_prefix(source.tokens, tokens)
            if shared > plan.reused:
                self.clear()
                self.llm._ctx.kv_cache_seq_cp(source.sequence, self.sequence, 0, shared)
                self.tokens = source.tokens[:shared]
                plan = ReusePlan(shared, (), len(tokens))
        self.last_plan = plan
        if plan.chunks:
            mark = plan.chunks[0].target
            if self.approximate_from is not None and self.approximate_from < plan.common:
                mark = self.approximate_from  # kept in place, and all after it saw it
            try:
                done = self._prepare_moved(tokens, plan, stop, chunk, sharing)
                self.approximate_from = mark
            except RuntimeError as exc:
                # Not expected; a cache in an unknown state is cleared, and this context keeps
                # the common prefix only from now on.
                log.warning("cached cells could not be moved (%s): evaluating the prompt", exc)
                self._remove(0, -1, self.scratch)
                self.scratch = None
                self.clear()
                plan = self.last_plan = ReusePlan(0, (), len(tokens))
                done = self._evaluate(tokens, 0, len(tokens), stop, chunk)
        else:
            self.truncate(plan.common)
            done = self._evaluate(tokens, plan.common, len(tokens), stop, chunk)
        if not done:
            self.prompt_length = len(self.tokens)
            return None
        self.prompt_length = len(tokens)
        self._sync()
        return plan.reused

    def _prepare_moved(
        self,
        tokens: list[int],
        plan: ReusePlan,
        stop: threading.Event,
        chunk_size: int,
        sharing: Sequence[KvCache],
    ) -> bool:
        """Carry out a plan with chunks: park them in scratch, evaluate the gaps, put them back."""
        ctx, scratch = self.llm._ctx, self.scratch
        assert scratch is not None
        if plan.chunks:
            first_moved = min(chunk.source for chunk in plan.chunks)
            for other in sharing:
                other.truncate(first_moved)
        ctx.kv_cache_seq_rm(scratch, -1, -1)
        for chunk in plan.chunks:
            end = chunk.source + chunk.length
            ctx.kv_cache_seq_cp(self.sequence, scratch, chunk.source, end)
        self.truncate(plan.common)
        for chunk in shift_order(plan.chunks):
            end = chunk.source + chunk.length
            ctx.kv_cache_seq_shift(scratch, chunk.source, end, chunk.shift)
        cursor = plan.common
        for index, chunk in enumerate(plan.chunks):
            if not self._evaluate(tokens, cursor, chunk.target, stop, chunk_size):
                self._park(tokens, plan.chunks[index:])
                return False
            self._place(tokens, chunk)
            cursor = chunk.target + chunk.length
        return self._evaluate(tokens, cursor, len(tokens), stop, chunk_size)

    def repair(
        self,
        stop: threading.Event,
        chunk_size: int = BACKGROUND_PREFILL_CHUNK,
        sharing: Sequence[KvCache] = (),
    ) -> bool:
        """Evaluate the approximate cells of the last prompt again, in place; False if stopped.

        Chunk by chunk from :attr:`approximate_from`: the cells still to repair wait in scratch
        (unshifted) while a chunk before them is evaluated, and come back after it, so a stop
        leaves the cache whole and a later repair goes on from there. The generated tokens
        after the prompt go first (they followed approximate cells).
        """
        start = self.approximate_from
        if start is None or self.scratch is None:
            return True
        end = self.prompt_length
        self.truncate(end)
        tokens = list(self.tokens)
        if HOLE in tokens[start:]:
            self.truncate(tokens.index(HOLE, start))
            tokens, end = list(self.tokens), len(self.tokens)
        never = threading.Event()
        while start < end:
            if stop.is_set():
                return False
            step = min(start + chunk_size, end)
            rest = (Chunk(step, step, end - step),) if step < end else ()
            self._prepare_moved(tokens, ReusePlan(start, rest, end), never, chunk_size, sharing)
            start = step
            self.approximate_from = start if start < end else None
        self._sync()
        return True

    def _place(self, tokens: list[int], chunk: Chunk) -> None:
        """Tag a chunk's cells (waiting in scratch at their targets) back into this sequence."""
        assert self.scratch is not None
        end = chunk.target + chunk.length
        self.llm._ctx.kv_cache_seq_cp(self.scratch, self.sequence, chunk.target, end)
        self._remove(chunk.target, end, self.scratch)
        self.tokens[chunk.target :] = [HOLE] * (chunk.target - len(self.tokens))
        self.tokens.extend(tokens[chunk.target : end])

    def _park(self, tokens: list[int], chunks: Sequence[Chunk]) -> None:
        """After a stop: keep the chunks not yet placed, with holes before them.

        The next prompt finds them again (a hole matches no token), so a stop in the middle
        does not cost the kept cells. Nothing decodes into this sequence until the next
        :meth:`prepare`, which moves everything after its common prefix out first, so the
        holes never meet llama.cpp's rule that a batch follows the highest position.
        """
        for chunk in chunks:
            self._place(tokens, chunk)


def add_sequences(llm: Any) -> int:
    """Give ``llm`` a context with a background and a scratch sequence; how many it has.

    llama-cpp-python makes a one-sequence context and has no option for more, so the context is
    made again with more sequences over one unified cache (cells of a shared prefix are held
    once, and moving cells between sequences copies nothing). If llama.cpp refuses three, two
    are tried (no moved cells), then ``llm`` keeps its context (guesses share sequence 0).
    """
    from llama_cpp import _internals

    params = llm.context_params
    params.kv_unified = True
    failure: Exception | None = None
    for count in (3, 2):
        params.n_seq_max = count
        try:
            context = _internals.LlamaContext(model=llm._model, params=params, verbose=llm.verbose)
        except (ValueError, RuntimeError) as exc:
            failure = exc
            continue
        previous, llm._ctx = llm._ctx, context
        llm._stack.enter_context(contextlib.closing(context))
        previous.close()
        if count < 3:
            log.warning("no scratch KV sequence: cached cells after an edit are not kept")
        return count
    params.n_seq_max = 1
    log.warning("no second KV sequence for speculative completions (%s)", failure)
    return 1


def sequences(llm: Any) -> int:
    """How many KV sequences ``llm``'s context was made with."""
    return int(getattr(llm.context_params, "n_seq_max", 1))


def can_shift(llm: Any) -> bool:
    """Whether ``llm``'s cache can move cells to other positions (RoPE models can)."""
    import llama_cpp

    memory = getattr(llm._ctx, "memory", None)
    return memory is not None and bool(llama_cpp.llama_memory_can_shift(memory))


class KvSequences:
    """The sequences of one context, and the documents' kept states.

    The request sequence; the background and scratch sequences if the context has them; the
    kept states of the documents the request sequence held before.
    """

    def __init__(
        self,
        llm: Any,
        min_chunk: int = REUSE_MIN_CHUNK,
        refresh: int = REUSE_REFRESH,
        documents: int = DOCUMENT_STATES,
    ) -> None:
        self.llm = llm
        count = sequences(llm)
        scratch = SCRATCH_SEQUENCE if count > SCRATCH_SEQUENCE and min_chunk > 0 else None
        if scratch is not None and not can_shift(llm):
            log.info("this model's KV cache cannot shift: cached cells after an edit are not kept")
            scratch = None
        self.foreground = KvCache(llm, scratch=scratch, min_chunk=min_chunk, refresh=refresh)
        self.background = KvCache(llm, BACKGROUND_SEQUENCE) if count > 1 else None
        """None when llama.cpp gave no second sequence (guesses then share the foreground)."""
        self.documents = DocumentStates(documents)
