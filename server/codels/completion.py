"""One completion through the whole pipeline: context, prompt, engine, post-processing.

The server, the ``codels complete`` command and (later) the benchmark and evaluation commands
all call :func:`complete`, so what is measured is what users get.

This module imports the pipeline stages and :mod:`codels.engine`; nothing of LSP.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from codels.config import Settings
from codels.context import CompletionKind, build_context
from codels.documents import DocumentSnapshot
from codels.engine import Engine, GenerationRequest, GenerationResult
from codels.postprocess import clean_completion, stop_rule
from codels.prompt import TokenCounter, build_prompt

log = logging.getLogger(__name__)

LINE_MAX_TOKENS = 64
"""Most tokens for a single-line completion (a line rarely takes more)."""


@dataclass(frozen=True)
class CompletionOutcome:
    """The completion to show ("" for none) and how it came about."""

    text: str
    kind: CompletionKind
    note: str
    """Why there is no completion, or how it was cut; "" when nothing needs saying."""
    generation: GenerationResult | None = None
    context_ms: float = 0.0
    total_ms: float = 0.0


class CompletionService:
    """Completes at a cursor with one engine; keeps a token counter cache across requests."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._counter = TokenCounter(engine.count_tokens)

    async def complete(
        self, snapshot: DocumentSnapshot, offset: int, settings: Settings
    ) -> CompletionOutcome:
        """Complete at code-point ``offset`` of ``snapshot``."""
        started = time.perf_counter()
        info = self.engine.info
        if info is None:
            return CompletionOutcome("", CompletionKind.NONE, "the model is not loaded yet")
        context = build_context(
            snapshot,
            offset,
            complete_in_strings=settings.complete_in_strings,
            complete_in_comments=settings.complete_in_comments,
        )
        if context.kind is CompletionKind.NONE:
            return CompletionOutcome("", context.kind, context.reason)
        prompt = build_prompt(context, info.family, self._counter, settings.prompt_budget())
        context_ms = (time.perf_counter() - started) * 1000
        max_tokens = settings.max_tokens
        if context.kind is CompletionKind.LINE:
            max_tokens = min(max_tokens, LINE_MAX_TOKENS)
        stop = info.family.stop if info.family else ()
        request = GenerationRequest(
            prompt=prompt.text,
            max_tokens=max_tokens,
            key=snapshot.uri,
            stop=stop,
            should_stop=stop_rule(context, prompt.healed),
        )
        result = await self.engine.generate(request)
        if result.cancelled:
            return CompletionOutcome("", context.kind, result.stop_reason, result, context_ms)
        cleaned = clean_completion(
            result.text,
            context,
            healed=prompt.healed,
            stop=stop,
            truncated=result.stop_reason == "length",
        )
        total_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s: %s, prompt %d tokens (%d reused), generated %d, prefill %.0f ms, "
            "decode %.0f ms, total %.0f ms, stop %s%s",
            snapshot.uri.rsplit("/", 1)[-1],
            context.kind.value,
            f"{len(cleaned.text)} chars" if cleaned.text else "empty",
            result.prompt_tokens,
            result.cached_tokens,
            result.generated_tokens,
            result.prefill_ms,
            result.decode_ms,
            total_ms,
            result.stop_reason,
            f" ({cleaned.note})" if cleaned.note else "",
        )
        return CompletionOutcome(
            cleaned.text, context.kind, cleaned.note, result, context_ms, total_ms
        )
