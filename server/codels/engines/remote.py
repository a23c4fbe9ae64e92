"""Remote engines: what every inference server codels is a client of shares.

:class:`RemoteEngine` holds what the dialects share: loading (the server's model and family),
streaming with supersession by key (closing the stream stops the server generating), withholding
secret-looking lines (:func:`codels.privacy.withhold_secrets`; a request whose cursor line looks
like one is not sent) and health (after a failure it answers at once with
:class:`~codels.models.catalogue.ModelError` while it probes the server with back-off). Each
dialect (:mod:`codels.engines.remote_llama_server`, :mod:`codels.engines.remote_openai`) says
how to probe the server and what to send.

This module imports httpx, :mod:`codels.engines.base`, :mod:`codels.engines.remote_http`,
:mod:`codels.models.catalogue` and :mod:`codels.privacy`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import httpx

from codels.engines.base import (
    EngineCapabilities,
    EngineOptions,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    StopReason,
)
from codels.engines.remote_http import (
    ServerConnection,
    ServerHealth,
    event_finish_reason,
    event_piece,
)
from codels.models.catalogue import Catalogue, Family, ModelError, ProgressCallback, load_catalogue
from codels.privacy import looks_secret, withhold_secrets

log = logging.getLogger(__name__)

_FAMILY_HINTS = (
    ("qwen2.5-coder", "qwen2.5-coder"),
    ("qwen", "qwen2.5-coder"),
    ("deepseek-coder", "deepseek-coder"),
    ("starcoder", "starcoder"),
    ("codellama", "codellama"),
    ("code-llama", "codellama"),
    ("codegemma", "codegemma"),
    ("codestral", "codestral"),
)


def guess_family(model_name: str, catalogue: Catalogue) -> Family | None:
    """The family a served model's name suggests (catalogue file names first)."""
    base = os.path.basename(model_name)
    entry = catalogue.by_file_name(base)
    if entry is not None:
        return catalogue.families[entry.family]
    lowered = model_name.lower()
    for hint, family in _FAMILY_HINTS:
        if hint in lowered and family in catalogue.families:
            return catalogue.families[family]
    return None


def served_family(name: str, options: EngineOptions, catalogue: Catalogue) -> Family | None:
    """The family ``codels.remoteFamily`` names, or else the one the model's ``name`` suggests."""
    if not options.remote_family:
        return guess_family(name, catalogue)
    family = catalogue.families.get(options.remote_family)
    if family is None:
        known = ", ".join(sorted(catalogue.families))
        raise ModelError(
            f"codels.remoteFamily {options.remote_family!r} is not a family; use one of {known}"
        )
    return family


def estimate_tokens(text: str) -> int:
    """A conservative token count without the server's tokenizer (about 3 bytes per token)."""
    return max(1, -(-len(text.encode("utf-8", "replace")) // 3))


class RemoteEngine(ABC):
    """An :class:`~codels.engines.base.Engine` backed by an inference server over HTTP."""

    backend: str
    """The dialect's name, one of :data:`~codels.engines.base.BACKENDS`."""
    health_path: str
    """What :meth:`_check_health` asks while the server is down."""

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        on_health: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._info: ModelInfo | None = None
        self._connection = ServerConnection(EngineOptions())
        self._family: Family | None = None
        self._remote_model = ""
        self._health = ServerHealth()
        self._running: dict[str, asyncio.Task[Any]] = {}
        self.on_health = on_health
        """Called with a message and True (back) or False (gone) when health changes."""

    @property
    def info(self) -> ModelInfo | None:
        """The served model, or None before :meth:`load` succeeded."""
        return self._info

    @property
    def capabilities(self) -> EngineCapabilities:
        """On a server, which samples its own tokens: no bans, no background sequence.

        Its answer is streamed, piece by piece, so what it wrote so far is known.
        """
        return EngineCapabilities(backend=self.backend, streams_text=True)

    # -- the dialect ----------------------------------------------------------------------------

    @abstractmethod
    def _probe(self, client: httpx.Client) -> tuple[str, int]:
        """Check the server is ready: (the served model's name, its context size or 0)."""

    @abstractmethod
    def _family_reason(self, family: Family) -> str:
        """Why completions with ``family`` infill, for the user."""

    @abstractmethod
    def _request_body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        """Where to send ``request`` and what: (path, JSON body)."""

    # -- loading (blocking, from a thread) -----------------------------------------------------

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        """Check the server and learn its model; raises :class:`ModelError` with the reason."""
        if not options.endpoint:
            raise ModelError(
                f"codels.backend is {options.backend} but codels.endpoint is empty; set it to "
                "the server's address, e.g. http://127.0.0.1:8080"
            )
        connection = self._connection
        connection.options = options
        catalogue = self._catalogue or load_catalogue()
        if progress:
            progress(f"connecting to {options.endpoint}", None)
        try:
            with httpx.Client(timeout=connection.timeout(), headers=connection.headers()) as client:
                name, context = self._probe(client)
        except ModelError:
            raise
        except (httpx.HTTPError, ValueError) as exc:
            raise ModelError(connection.describe(exc)) from exc
        family = served_family(name, options, catalogue)
        if family is None:
            reason = (
                f"cannot tell the family of {name} from its name, so completions use the text "
                "before the cursor only; set codels.remoteFamily to infill"
            )
        else:
            reason = self._family_reason(family)
        self._family, self._remote_model = family, name
        self._health = ServerHealth()
        self._info = ModelInfo(
            name=f"{name} @ {options.endpoint}",
            path=options.endpoint,
            family=family,
            verified=False,
            sha256="",
            context_size=context,
            threads=0,
            gpu_layers=0,
            build=options.backend,
            family_reason=reason,
        )
        log.info(
            "using %s at %s: model %s, family %s", options.backend, options.endpoint, name, reason
        )
        return self._info

    def count_tokens(self, text: str) -> int:
        """An estimate (the server's tokenizer is a network call away)."""
        return estimate_tokens(text)

    # -- generation ---------------------------------------------------------------------------

    async def prefill(self, request: GenerationRequest) -> GenerationResult:
        """Nothing: the server keeps its own cache."""
        return GenerationResult("", "cancelled")

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Stream a completion; cancelling the await closes the connection."""
        if self._info is None:
            raise RuntimeError("no server is connected")
        safe = self._without_secrets(request)
        if safe is None:
            log.info("request for %s not sent: the cursor line looks like a secret", request.key)
            return GenerationResult("", "withheld")
        request = safe
        await self._check_health()
        previous = self._running.get(request.key) if request.key else None
        if previous is not None and not previous.done():
            previous.cancel()  # a newer keystroke in the same document supersedes it
        task = asyncio.ensure_future(self._generate(request))
        if request.key:
            self._running[request.key] = task
        try:
            return await task
        except asyncio.CancelledError:
            task.cancel()
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                log.info("request for %s cancelled: stream closed", request.key or "?")
                raise
            return GenerationResult("", "superseded")  # a newer request for the document
        finally:
            if request.key and self._running.get(request.key) is task and task.done():
                del self._running[request.key]

    def _without_secrets(self, request: GenerationRequest) -> GenerationRequest | None:
        """``request`` with secret-looking lines withheld; None if they cannot be withheld."""
        tokens = self._family.cut_strings if self._family else ()
        prompt, withheld = withhold_secrets(request.prompt, tokens)
        parts = request.parts
        if parts is not None:
            cursor_line = (parts.prefix + parts.volatile).rsplit("\n", 1)[-1]
            cursor_line += parts.suffix.split("\n", 1)[0]
            if looks_secret(cursor_line):
                return None
            parts = dataclasses.replace(
                parts,
                prefix=withhold_secrets(parts.prefix)[0],
                suffix=withhold_secrets(parts.suffix)[0],
                volatile=withhold_secrets(parts.volatile)[0],
                extra=tuple((name, withhold_secrets(text)[0]) for name, text in parts.extra),
            )
        chat = request.chat
        if chat is not None:
            chat = (withhold_secrets(chat[0])[0], withhold_secrets(chat[1])[0])
        if withheld:
            log.info("withheld %d secret-looking lines from the remote server", withheld)
        return dataclasses.replace(request, prompt=prompt, parts=parts, chat=chat)

    async def _generate(self, request: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        path, body = self._request_body(request)
        text = ""
        reason: StopReason = "length"
        timings: dict[str, Any] = {}
        first_token = 0.0
        pieces = 0  # streamed chunks: one token each from llama.cpp servers
        try:
            async for event in self._connection.stream(path, body):
                piece = event_piece(event)
                if piece:
                    pieces += 1
                    if not first_token:
                        first_token = time.perf_counter()
                    text += piece
                    if request.should_stop is not None and request.should_stop(text):
                        reason = "rule"
                        break
                if event.get("timings"):
                    timings = event["timings"]
                finish = event_finish_reason(event)
                if finish:
                    reason = "length" if finish == "length" else "stop_token"
                    if not event.get("timings"):
                        continue
                    break
        except (httpx.HTTPError, ValueError) as exc:
            message = self._connection.describe(exc)
            self._mark_down(message)
            raise ModelError(message) from exc
        self._mark_up()
        now = time.perf_counter()
        return GenerationResult(
            text=text,
            stop_reason=reason,
            prompt_tokens=int(timings.get("prompt_n", 0)) + int(timings.get("cache_n", 0)),
            cached_tokens=int(timings.get("cache_n", 0)),
            generated_tokens=int(timings.get("predicted_n", 0)) or pieces,
            prefill_ms=((first_token or now) - started) * 1000,
            decode_ms=(now - (first_token or now)) * 1000,
            total_ms=(now - started) * 1000,
        )

    # -- health -------------------------------------------------------------------------------

    async def _check_health(self) -> None:
        """While the server is down, answer at once, probing it now and then (back-off)."""
        health = self._health
        if health.ok:
            return
        if time.monotonic() < health.next_probe:
            raise ModelError(health.last_error)
        health.next_probe = time.monotonic() + health.backoff()
        connection = self._connection
        try:
            answer = await connection.async_client().get(
                connection.url(self.health_path), headers=connection.headers()
            )
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            self._mark_down(connection.describe(exc))
            raise ModelError(self._health.last_error) from exc
        self._mark_up()

    def _mark_down(self, message: str) -> None:
        health = self._health
        health.failures += 1
        health.last_error = message
        health.next_probe = time.monotonic() + health.backoff()
        if health.ok:
            health.ok = False
            log.warning("%s", message)
            if self.on_health is not None:
                self.on_health(message, False)

    def _mark_up(self) -> None:
        health, endpoint = self._health, self._connection.options.endpoint
        if not health.ok:
            log.info("the server at %s answers again", endpoint)
            if self.on_health is not None:
                self.on_health(f"codels: the server at {endpoint} is back", True)
        self._health = ServerHealth()

    def close(self) -> None:
        """Drop the connection pool (requests in flight are cancelled by their owners)."""
        self._connection.close()
        self._info = None
