"""A fake engine for unit tests: scripted answers, token by token, no model."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable

from codels.engines.base import (
    LOCAL,
    EngineCapabilities,
    EngineOptions,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from codels.models.catalogue import Family, ModelError, ProgressCallback, load_catalogue

QWEN = load_catalogue().families["qwen2.5-coder"]
_TOKEN = re.compile(r"\w+|[^\w\s]|\s+")


def count_tokens(text: str) -> int:
    """Words, punctuation marks and runs of whitespace count one token each."""
    return len(_TOKEN.findall(text))


class FakeEngine:
    """Answers every request with ``respond(request)``, streamed in small tokens."""

    def __init__(
        self,
        respond: Callable[[GenerationRequest], str] | str = "",
        *,
        token_delay: float = 0.0,
        load_delay: float = 0.0,
        prefill_delay: float = 0.0,
        fim: bool = True,
        family: Family | None = None,
    ) -> None:
        self._respond = respond if callable(respond) else (lambda _request: respond)
        self.token_delay = token_delay
        self.load_delay = load_delay
        self.prefill_delay = prefill_delay
        self.fim = fim
        self.family = family or QWEN
        self.requests: deque[GenerationRequest] = deque(maxlen=50)
        """The latest requests (bounded: storm tests measure the server's memory)."""
        self.prefills: deque[GenerationRequest] = deque(maxlen=50)
        """The latest background prefills."""
        self._info: ModelInfo | None = None
        self.closed = False
        self.on_health: Callable[[str, bool], None] | None = None
        self.capabilities = EngineCapabilities(
            LOCAL, in_process=True, constrains_tokens=True, streams_text=True, document_states=True
        )
        """Like the in-process engine's, so the block-header retry and prefills are asked for."""

    @property
    def info(self) -> ModelInfo | None:
        return self._info

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        if options.model == "missing":
            raise ModelError("the model missing is not installed: install it")
        if options.model == "huge":
            raise ModelError("huge needs about 99.0 GB of memory but only 20.0 GB is available")
        if progress:
            progress("loading fake", 0.5)
        time.sleep(self.load_delay)
        self._info = ModelInfo(
            name="fake" if options.model in ("", "auto") else options.model,
            path="/dev/null",
            family=self.family if self.fim else None,
            verified=False,
            sha256="",
            context_size=options.context_size,
            threads=1,
            gpu_layers=0,
            build="CPU",
        )
        return self._info

    def count_tokens(self, text: str) -> int:
        return count_tokens(text)

    async def prefill(self, request: GenerationRequest) -> GenerationResult:
        """Counts the prompt as evaluated (``prefills`` keeps the requests), after a pause."""
        self.prefills.append(request)
        if self.prefill_delay:
            await asyncio.sleep(self.prefill_delay)
        tokens = count_tokens(request.prompt)
        return GenerationResult("", "length", prompt_tokens=tokens, total_ms=1.0)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        started = time.perf_counter()
        answer = self._respond(request)
        text = ""
        generated = 0
        reason = "length"
        for token in _TOKEN.findall(answer):
            if generated >= request.max_tokens:
                break
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            text += token
            generated += 1
            if request.should_stop is not None and request.should_stop(text):
                reason = "rule"
                break
        else:
            reason = "stop_token"
        return GenerationResult(
            text=text,
            stop_reason=reason,  # type: ignore[arg-type]
            prompt_tokens=count_tokens(request.prompt),
            generated_tokens=generated,
            total_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        self.closed = True
