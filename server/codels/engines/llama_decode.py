"""One generation on the worker thread: tokenize, prefill the KV cache, decode token by token.

The stop flag is read between prefill chunks and before every decoded token, so a cancel or a
supersession ends a generation within one token. This module imports :mod:`codels.models`,
:mod:`codels.engines.base`, the ``llama_*`` modules of this package and, through them,
``llama_cpp``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from codels.engines.base import GenerationRequest, GenerationResult, StopReason
from codels.engines.llama_detour import Detour
from codels.engines.llama_kv import (
    BACKGROUND_PREFILL_CHUNK,
    IDLE_PREFILL_CHUNK,
    PREFILL_CHUNK,
    KvCache,
    KvSequences,
)
from codels.engines.llama_loader import LoadedModel
from codels.engines.llama_tokens import ModelTokens, ban
from codels.models.catalogue import ModelError

log = logging.getLogger(__name__)

RANDOM_SEED = 0xFFFFFFFF
"""llama.cpp's ``LLAMA_DEFAULT_SEED``: each sampler seeds itself at random."""


def generate_on_worker(
    model: LoadedModel,
    kv: KvSequences,
    request: GenerationRequest,
    stop: threading.Event,
    submitted: float,
) -> GenerationResult:
    """Generate ``request`` with ``model``, whose cache sequences ``kv`` tracks."""
    llm = model.llm
    started = time.perf_counter()
    # The prompt is tokenized and evaluated here rather than through
    # Llama.create_completion(suffix=...), whose FIM path is broken in llama-cpp-python.
    tokens = model.tokens.tokenize_prompt(llm, request.prompt)
    room = llm.n_ctx() - request.max_tokens
    if len(tokens) > room:
        raise ModelError(
            f"the prompt takes {len(tokens)} tokens but the context holds {llm.n_ctx()} "
            f"with {request.max_tokens} for the answer; lower promptTokens or raise contextSize"
        )
    run = _Run(model, tokens, request, stop, started, submitted)
    if request.background and kv.background is not None:
        # A guess works in its own sequence, beside the one requests reuse: it starts from
        # what that one holds and leaves it as it was.
        try:
            return run.into(kv.background, source=kv.foreground)
        except RuntimeError as exc:  # no room left in the cache beside the requests' cells
            log.info("speculative generation dropped: %s", exc)
            return GenerationResult("", "cancelled")
        finally:
            kv.background.clear()
    kv.documents.switch(kv.foreground, request.document or request.key, tokens)
    # A guess's cells are dropped when it ends, so the background holds nothing here; passed
    # anyway, so that a cell moved for this prompt can never move under another sequence.
    sharing = [kv.background] if kv.background is not None else []
    return run.into(kv.foreground, source=None, sharing=sharing)


def repair_on_worker(
    model: LoadedModel, kv: KvSequences, stop: threading.Event, delay_ms: float
) -> GenerationResult:
    """After ``delay_ms`` of quiet, evaluate again the cells an answer kept across an edit.

    Any request stops it (at once while it waits, within a small chunk once it works); what
    it repaired stays, and the next answer's repair goes on from there.
    """
    if stop.wait(delay_ms / 1000):
        return GenerationResult("", "cancelled")
    cache = kv.foreground
    started = time.perf_counter()
    before = cache.approximate_from
    sharing = [kv.background] if kv.background is not None else []
    try:
        done = cache.repair(stop, BACKGROUND_PREFILL_CHUNK, sharing)
    except RuntimeError as exc:  # not expected: start again from an empty sequence
        log.warning("kept KV cells could not be evaluated again (%s); cache cleared", exc)
        cache.clear()
        return GenerationResult("", "cancelled")
    elapsed = (time.perf_counter() - started) * 1000
    after = cache.approximate_from if cache.approximate_from is not None else cache.prompt_length
    log.debug("repaired KV cells %s..%d in %.0f ms (%s)", before, after, elapsed, done)
    return GenerationResult(
        "", "length" if done else "cancelled", prefill_ms=elapsed, total_ms=elapsed
    )


def prefill_on_worker(
    model: LoadedModel,
    kv: KvSequences,
    request: GenerationRequest,
    stop: threading.Event,
    submitted: float,
) -> GenerationResult:
    """Evaluate ``request``'s prompt into the request sequence, generating nothing.

    Small chunks, so that the request which stops it waits little; what was evaluated when it
    stops stays, under the request's document.
    """
    llm = model.llm
    started = time.perf_counter()
    tokens = model.tokens.tokenize_prompt(llm, request.prompt)
    if len(tokens) > llm.n_ctx() - request.max_tokens:
        return GenerationResult("", "cancelled", prompt_tokens=len(tokens))
    kv.documents.switch(kv.foreground, request.document or request.key, tokens)
    sharing = [kv.background] if kv.background is not None else []
    reused = kv.foreground.prepare(
        tokens, stop, reuse=True, chunk=IDLE_PREFILL_CHUNK, sharing=sharing
    )
    now = time.perf_counter()
    return GenerationResult(
        text="",
        stop_reason="cancelled" if reused is None else "length",
        prompt_tokens=len(tokens),
        cached_tokens=reused or 0,
        prefill_ms=(now - started) * 1000,
        total_ms=(now - started) * 1000,
        queued_ms=(started - submitted) * 1000,
    )


class _Run:
    """A prompt's tokens and a request, brought into a cache sequence and decoded there."""

    def __init__(
        self,
        model: LoadedModel,
        tokens: list[int],
        request: GenerationRequest,
        stop: threading.Event,
        started: float,
        submitted: float,
    ) -> None:
        self.llm = model.llm
        self.model_tokens = model.tokens
        self.tokens = tokens
        self.request = request
        self.stop = stop
        self.started = started
        self.submitted = submitted

    def into(
        self, kv: KvCache, source: KvCache | None, sharing: list[KvCache] | None = None
    ) -> GenerationResult:
        """Prefill the prompt into ``kv`` (starting from ``source``'s, if given) and decode."""
        request = self.request
        chunk = BACKGROUND_PREFILL_CHUNK if request.background else PREFILL_CHUNK
        reused = kv.prepare(
            self.tokens,
            self.stop,
            reuse=request.reuse_cache,
            chunk=chunk,
            source=source,
            sharing=sharing or (),
        )
        prefill_end = time.perf_counter()
        if reused is None:
            return self._result("", "cancelled", 0, 0, prefill_end)
        text, reason, generated = _decode(self.llm, self.model_tokens, kv, request, self.stop)
        return self._result(text, reason, generated, reused, prefill_end)

    def _result(
        self, text: str, reason: StopReason, generated: int, reused: int, prefill_end: float
    ) -> GenerationResult:
        now = time.perf_counter()
        return GenerationResult(
            text=text,
            stop_reason=reason,
            prompt_tokens=len(self.tokens),
            cached_tokens=reused,
            generated_tokens=generated,
            prefill_ms=(prefill_end - self.started) * 1000,
            decode_ms=(now - prefill_end) * 1000,
            total_ms=(now - self.started) * 1000,
            queued_ms=(self.started - self.submitted) * 1000,
        )


def _decode(
    llm: Any,
    model_tokens: ModelTokens,
    kv: KvCache,
    request: GenerationRequest,
    stop: threading.Event,
) -> tuple[str, StopReason, int]:
    """Sample up to ``request.max_tokens`` tokens after what ``kv`` holds: (text, why, count).

    With :attr:`GenerationRequest.avoid_line`, an answer whose first line comes out as that line
    is rewound to the step where another first line cost the least, and goes on from there.
    """
    vocabulary = model_tokens.vocabulary
    start = len(kv.tokens)
    generated: list[int] = []
    text = ""
    reason: StopReason = "length"
    detour = _detour(llm, request)
    while len(generated) < request.max_tokens:
        if stop.is_set():
            reason = "cancelled"
            break
        banned = None
        if request.no_leading_space and not text.strip(" \t") and "\n" not in text:
            banned = vocabulary.after(text)
        if request.first_token_words and not generated:
            banned = vocabulary.not_beginning_with(request.first_token_words)
        if request.temperature > 0:
            # llama-cpp-python builds a sampler per call, seeded from the Llama object: a seed
            # per token keeps a seeded answer repeatable without repeating one random draw.
            seed = request.seed + len(generated) if request.seed is not None else RANDOM_SEED
            llm.set_seed(seed & 0xFFFFFFFF)
        watched = detour if detour is not None and detour.watching(text) else None
        token = llm.sample(
            temp=request.temperature,
            repeat_penalty=1.0,
            logits_processor=_processors(banned, watched, len(generated)),
        )
        if token in model_tokens.stop_ids:
            reason = "stop_token"
            break
        generated.append(token)
        text = llm.detokenize(generated).decode("utf-8", "ignore")
        if detour is not None and detour.repeats(text):
            turn = detour.turn(generated, lambda t: t in model_tokens.stop_ids)
            if turn is not None:
                log.debug("the answer repeated the next line; turned at token %d", turn.step)
                kv.truncate(start + turn.step)
                generated = [*generated[: turn.step], turn.token]
                text = llm.detokenize(generated).decode("utf-8", "ignore")
        if request.should_stop is not None and request.should_stop(text):
            reason = "rule"
            break
        kv.append(generated[-1])
    return text, reason, len(generated)


def _detour(llm: Any, request: GenerationRequest) -> Detour | None:
    """A watch for the line the answer should not repeat (greedy answers only)."""
    line = request.avoid_line.strip()
    if not line or request.temperature > 0:
        return None
    return Detour(line, lambda tokens: llm.detokenize(list(tokens)).decode("utf-8", "ignore"))


def _processors(banned: Any, detour: Detour | None, step: int) -> Any:
    """The logits processors for one step: the bans, then the detour's record of the best."""
    import llama_cpp
    import numpy

    if detour is None:
        return ban(banned) if banned is not None and len(banned) else None

    def processor(_input_ids: Any, scores: Any) -> Any:
        if banned is not None and len(banned):
            scores[banned] = -numpy.inf
        detour.record(step, scores)
        return scores

    return llama_cpp.LogitsProcessorList([processor])
