"""Remote engines: llama.cpp's ``llama-server`` and OpenAI-compatible completion servers.

A team points codels at an inference server that already exists; codels stays a client of it.

* ``llama-server``: infilling through ``/infill``, with the stable context in ``input_extra``
  and ``input_prefix`` and the cursor line (the part that changes with every keystroke) in
  ``prompt``, which the server places after its FIM middle token, so the server's prompt cache
  keeps everything before it. Prompts without FIM parts (instructions, baselines) go to
  ``/completion``. ``/health`` and ``/props`` tell readiness and the model.
* ``openai``: ``/v1/completions`` with the FIM prompt codels builds for the model's family (vLLM,
  llama-cpp-python's server, Ollama's OpenAI API, ...), and ``/v1/chat/completions`` for the
  instructions of code actions (the server applies the model's chat template); ``/v1/models``
  for readiness and the model name.

Every request streams (server-sent events), so cancelling it — a newer keystroke, the editor's
``$/cancelRequest``, a stop rule — closes the connection and the server stops generating. The API
key is read from the environment variable the settings name; it is never logged or stored.

Nothing that looks like a secret leaves the machine: every line of a prompt that looks like a
key, token or password is replaced by a comment first (:func:`codels.privacy.withhold_secrets`),
and when such a line holds the cursor (or a template token), the request is not sent at all.

Failures never hang the editor: requests have timeouts, and after a failure the engine answers
at once with :class:`~codels.models.catalogue.ModelError` while it probes the server's health with
back-off in the background; ``on_health`` tells the server (which tells the user) when the
server goes away and when it is back.

This module imports httpx, :mod:`codels.engines.llama` (types) and :mod:`codels.models.catalogue`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from codels.engines.base import (
    EngineOptions,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    StopReason,
)
from codels.models.catalogue import Catalogue, Family, ModelError, ProgressCallback, load_catalogue
from codels.privacy import looks_secret, withhold_secrets

log = logging.getLogger(__name__)

BACKENDS = ("local", "llama-server", "openai")
"""The values of the ``backend`` setting."""

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
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0


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


def estimate_tokens(text: str) -> int:
    """A conservative token count without the server's tokenizer (about 3 bytes per token)."""
    return max(1, -(-len(text.encode("utf-8", "replace")) // 3))


@dataclasses.dataclass
class _Health:
    ok: bool = True
    failures: int = 0
    next_probe: float = 0.0
    last_error: str = ""


class RemoteEngine:
    """An :class:`~codels.engines.base.Engine` backed by an inference server over HTTP."""

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        on_health: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._info: ModelInfo | None = None
        self._options = EngineOptions()
        self._family: Family | None = None
        self._remote_model = ""
        self._health = _Health()
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._running: dict[str, asyncio.Task[Any]] = {}
        self.on_health = on_health
        """Called with a message and True (back) or False (gone) when health changes."""

    @property
    def info(self) -> ModelInfo | None:
        """The served model, or None before :meth:`load` succeeded."""
        return self._info

    # -- connection ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        name = self._options.api_key_env
        if not name:
            return {}
        key = os.environ.get(name, "")
        if not key:
            raise ModelError(
                f"codels.apiKeyEnv names {name}, but that environment variable is empty; "
                "set it where the editor starts codels"
            )
        return {"Authorization": f"Bearer {key}"}

    def _timeout(self) -> httpx.Timeout:
        seconds = self._options.request_timeout_ms / 1000
        return httpx.Timeout(seconds, connect=min(seconds, 3.0))

    def _url(self, path: str) -> str:
        return self._options.endpoint.rstrip("/") + path

    def _describe(self, exc: BaseException) -> str:
        """One sentence for a failed request: unreachable, refused key, timeout, ..."""
        where = self._options.endpoint
        if isinstance(exc, httpx.HTTPStatusError):
            status = exc.response.status_code
            if status in (401, 403):
                key = self._options.api_key_env or "codels.apiKeyEnv"
                return (
                    f"the {self._options.backend} server at {where} refused the API key "
                    f"(HTTP {status}); put the right key in {key}"
                )
            return f"the {self._options.backend} server at {where} answered HTTP {status}"
        if isinstance(exc, httpx.TimeoutException):
            return (
                f"the {self._options.backend} server at {where} did not answer within "
                f"{self._options.request_timeout_ms} ms (codels.requestTimeoutMs)"
            )
        if isinstance(exc, httpx.TransportError):
            return (
                f"cannot reach the {self._options.backend} server at {where} "
                f"({type(exc).__name__}); is it running, and is codels.endpoint right?"
            )
        return f"the {self._options.backend} server at {where} failed: {exc}"

    # -- loading (blocking, from a thread) -----------------------------------------------------

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        """Check the server and learn its model; raises :class:`ModelError` with the reason."""
        if not options.endpoint:
            raise ModelError(
                f"codels.backend is {options.backend} but codels.endpoint is empty; set it to "
                "the server's address, e.g. http://127.0.0.1:8080"
            )
        self._options = options
        catalogue = self._catalogue or load_catalogue()
        if progress:
            progress(f"connecting to {options.endpoint}", None)
        try:
            with httpx.Client(timeout=self._timeout(), headers=self._headers()) as client:
                if options.backend == "llama-server":
                    name, context = self._probe_llama_server(client)
                else:
                    name, context = self._probe_openai(client)
        except ModelError:
            raise
        except (httpx.HTTPError, ValueError) as exc:
            raise ModelError(self._describe(exc)) from exc
        family = (
            catalogue.families.get(options.remote_family)
            if options.remote_family
            else guess_family(name, catalogue)
        )
        if options.remote_family and family is None:
            known = ", ".join(sorted(catalogue.families))
            raise ModelError(
                f"codels.remoteFamily {options.remote_family!r} is not a family; use one of {known}"
            )
        if family is None:
            reason = (
                f"cannot tell the family of {name} from its name, so completions use the text "
                "before the cursor only; set codels.remoteFamily to infill"
            )
        elif options.backend == "llama-server":
            reason = f"{family.name} (the server infills with the model's own FIM tokens)"
        else:
            reason = f"{family.name} (codels builds the FIM prompt)"
        self._family, self._remote_model = family, name
        self._health = _Health()
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

    def _probe_llama_server(self, client: httpx.Client) -> tuple[str, int]:
        deadline = time.monotonic() + self._options.request_timeout_ms / 1000
        while True:
            health = client.get(self._url("/health"))
            if health.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # the server is loading its model
        health.raise_for_status()
        props = client.get(self._url("/props"))
        props.raise_for_status()
        data = props.json()
        name = os.path.basename(str(data.get("model_path") or data.get("model_alias") or "model"))
        settings = data.get("default_generation_settings") or {}
        context = int(settings.get("n_ctx") or data.get("n_ctx") or 0)
        return name, context

    def _probe_openai(self, client: httpx.Client) -> tuple[str, int]:
        answer = client.get(self._url("/v1/models"))
        answer.raise_for_status()
        models = [str(m.get("id", "")) for m in answer.json().get("data", [])]
        wanted = self._options.remote_model
        if wanted:
            if models and wanted not in models:
                raise ModelError(
                    f"the server at {self._options.endpoint} does not serve {wanted!r} "
                    f"(it serves {', '.join(models)}); fix codels.remoteModel"
                )
            return wanted, 0
        if not models:
            raise ModelError(
                f"the server at {self._options.endpoint} lists no models; set codels.remoteModel"
            )
        return models[0], 0

    def count_tokens(self, text: str) -> int:
        """An estimate (the server's tokenizer is a network call away)."""
        return estimate_tokens(text)

    # -- generation ---------------------------------------------------------------------------

    def _async_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(timeout=self._timeout())
            self._client_loop = loop
        return self._client

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
            async for event in self._stream(path, body):
                piece = self._piece(event)
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
                finish = self._finish_reason(event)
                if finish:
                    reason = "length" if finish == "length" else "stop_token"
                    if not event.get("timings"):
                        continue
                    break
        except (httpx.HTTPError, ValueError) as exc:
            message = self._describe(exc)
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

    def _request_body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        common: dict[str, Any] = {"temperature": request.temperature, "stream": True}
        stop = [s for s in request.stop if s]
        if self._options.backend == "llama-server":
            common |= {"n_predict": request.max_tokens, "cache_prompt": True, "top_k": 1}
            if stop:
                common["stop"] = stop
            parts = request.parts
            if parts is not None and self._family is not None:
                infill: dict[str, Any] = {
                    "input_prefix": parts.prefix,
                    "input_suffix": parts.suffix,
                    "prompt": parts.volatile,
                    "input_extra": [
                        {"filename": name, "text": text} for name, text in parts.extra if text
                    ],
                }
                return "/infill", common | infill
            return "/completion", common | {"prompt": request.prompt}
        body: dict[str, Any] = {"model": self._remote_model, "max_tokens": request.max_tokens}
        if request.chat is not None:
            # An instruction (code actions): the server applies the model's own chat template.
            system, user = request.chat
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            return "/v1/chat/completions", common | body | {"messages": messages}
        body["prompt"] = request.prompt
        if stop:
            body["stop"] = stop
        return "/v1/completions", common | body

    async def _stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        client = self._async_client()
        async with client.stream(
            "POST", self._url(path), json=body, headers=self._headers()
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                yield json.loads(payload)

    @staticmethod
    def _piece(event: dict[str, Any]) -> str:
        if "content" in event:
            return str(event.get("content") or "")
        choices = event.get("choices") or []
        if not choices:
            return ""
        delta = choices[0].get("delta")
        if isinstance(delta, dict):  # /v1/chat/completions
            return str(delta.get("content") or "")
        return str(choices[0].get("text") or "")

    @staticmethod
    def _finish_reason(event: dict[str, Any]) -> str:
        if event.get("stop") is True:
            stop_type = str(event.get("stop_type", ""))
            return "length" if stop_type == "limit" else "stop"
        choices = event.get("choices") or []
        return str(choices[0].get("finish_reason") or "") if choices else ""

    # -- health -------------------------------------------------------------------------------

    async def _check_health(self) -> None:
        """While the server is down, answer at once, probing it now and then (back-off)."""
        health = self._health
        if health.ok:
            return
        if time.monotonic() < health.next_probe:
            raise ModelError(health.last_error)
        health.next_probe = time.monotonic() + self._backoff()
        probe = "/health" if self._options.backend == "llama-server" else "/v1/models"
        try:
            answer = await self._async_client().get(self._url(probe), headers=self._headers())
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            self._mark_down(self._describe(exc))
            raise ModelError(self._health.last_error) from exc
        self._mark_up()

    def _backoff(self) -> float:
        return float(min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** max(0, self._health.failures - 1)))

    def _mark_down(self, message: str) -> None:
        health = self._health
        health.failures += 1
        health.last_error = message
        health.next_probe = time.monotonic() + self._backoff()
        if health.ok:
            health.ok = False
            log.warning("%s", message)
            if self.on_health is not None:
                self.on_health(message, False)

    def _mark_up(self) -> None:
        health = self._health
        if not health.ok:
            log.info("the server at %s answers again", self._options.endpoint)
            if self.on_health is not None:
                self.on_health(f"codels: the server at {self._options.endpoint} is back", True)
        self._health = _Health()

    def close(self) -> None:
        """Drop the connection pool (requests in flight are cancelled by their owners)."""
        client, self._client = self._client, None
        if client is not None and self._client_loop is not None:
            with contextlib.suppress(RuntimeError):
                if self._client_loop.is_running():
                    self._client_loop.call_soon_threadsafe(
                        lambda: asyncio.ensure_future(client.aclose())
                    )
        self._info = None
