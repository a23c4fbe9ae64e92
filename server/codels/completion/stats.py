"""What a completion service did since it started, for ``codels/stats`` and ``codels bench``.

Imports :mod:`codels.completion.outcome` and :mod:`codels.engines.base`.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from codels.completion.outcome import CompletionOutcome
from codels.engines.base import GenerationResult

KEPT_TIMINGS = 10_000
"""Timings kept for the percentiles: a server that runs for days must not grow with them."""


@dataclass
class Stats:
    """Counters of one service, since it started."""

    requests: int = 0
    typed_ahead: int = 0
    cache_hits: int = 0
    continued: int = 0
    """Answers from a generation that an earlier, cancelled request started."""
    early: int = 0
    """Answers given before their generation ended, from the lines it had written (setting
    ``showEarlyMs``); the generation went on."""
    speculative_runs: int = 0
    """Generations finished for a state guessed ahead (not in model_runs; their tokens are in
    the token counts)."""
    speculative_hits: int = 0
    """Answers such a generation gave (the suggestion was accepted or typed out)."""
    model_runs: int = 0
    cancelled: int = 0
    prefills: int = 0
    """Prompts evaluated ahead, in the background, for a document opened or focused (started)."""
    prefills_stopped: int = 0
    """Of those, the ones a request stopped before they finished (what they evaluated stays)."""
    prefill_tokens: int = 0
    """Prompt tokens the finished ones evaluated (not counting what the cache already held)."""
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    decode_ms: float = 0.0
    overhead_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per model run (the latest KEPT_TIMINGS): time outside the engine (context, prompt,
    post-processing, the event loop), not counting the wait for the model in :attr:`queued_ms`
    nor the wait for an earlier generation the request hoped to continue."""
    answer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per request (the latest KEPT_TIMINGS): time to the answer."""
    queued_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per model run: time waiting for the model (the run before it stopping)."""
    without_model_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per request answered by typing-ahead or from the result cache: time to the answer."""
    model_answer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per request answered by a model run it started (not cancelled), or early by one still
    running: time to the answer."""

    def record(self, outcome: CompletionOutcome) -> None:
        """Count one answered request."""
        self.requests += 1
        self.answer_ms.append(outcome.total_ms)
        if outcome.source in ("typed-ahead", "cache", "speculative"):
            self.without_model_ms.append(outcome.total_ms)
        elif outcome.source == "early" or (
            outcome.source == "model"
            and outcome.generation is not None
            and not outcome.generation.cancelled
        ):
            self.model_answer_ms.append(outcome.total_ms)
        if outcome.source == "typed-ahead":
            self.typed_ahead += 1
        elif outcome.source == "cache":
            self.cache_hits += 1
        elif outcome.source == "continued":
            self.continued += 1
        elif outcome.source == "speculative":
            self.speculative_hits += 1
        elif outcome.source == "early":
            self.early += 1

    def record_generation(
        self, result: GenerationResult, overhead_ms: float, speculative: bool = False
    ) -> None:
        """Count one run of the model (however many requests waited for it)."""
        if result.cancelled:
            self.cancelled += 1
            return
        self.prompt_tokens += result.prompt_tokens
        self.cached_tokens += result.cached_tokens
        self.generated_tokens += result.generated_tokens
        self.decode_ms += result.decode_ms
        if speculative:
            self.speculative_runs += 1
            return
        self.model_runs += 1
        self.overhead_ms.append(max(0.0, overhead_ms - result.queued_ms))
        self.queued_ms.append(result.queued_ms)

    def record_prefill(self, result: GenerationResult) -> None:
        """Count how a background evaluation of a prompt ended (started: :attr:`prefills`)."""
        if result.cancelled:
            self.prefills_stopped += 1
            return
        self.prefill_tokens += max(0, result.prompt_tokens - result.cached_tokens)

    def summary(self) -> dict[str, Any]:
        """The counters and derived figures, JSON-ready."""

        def p95(values: deque[float]) -> float | None:
            return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else None

        return {
            "server_requests": self.requests,
            "typed_ahead": self.typed_ahead,
            "cache_hits": self.cache_hits,
            "continued": self.continued,
            "early": self.early,
            "speculative_runs": self.speculative_runs,
            "speculative_hits": self.speculative_hits,
            "model_runs": self.model_runs,
            "cancelled_runs": self.cancelled,
            "prefills": self.prefills,
            "prefills_stopped": self.prefills_stopped,
            "prefill_tokens": self.prefill_tokens,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "kv_reuse": self.cached_tokens / self.prompt_tokens if self.prompt_tokens else None,
            "generated_tokens": self.generated_tokens,
            "decode_tokens_per_second": (
                self.generated_tokens / (self.decode_ms / 1000) if self.decode_ms else None
            ),
            "overhead_p50_ms": statistics.median(self.overhead_ms) if self.overhead_ms else None,
            "overhead_p95_ms": p95(self.overhead_ms),
            "queued_p95_ms": p95(self.queued_ms),
            "without_model_p95_ms": p95(self.without_model_ms),
            "model_answer_p50_ms": (
                statistics.median(self.model_answer_ms) if self.model_answer_ms else None
            ),
            "model_answer_p95_ms": p95(self.model_answer_ms),
            "server_answer_p50_ms": statistics.median(self.answer_ms) if self.answer_ms else None,
        }
