"""HTTP to one inference server: the API key, timeouts, streamed events and one-sentence errors.

The API key is read from the environment variable the settings name when a request is made; it
is never logged or stored. This module imports httpx, :mod:`codels.engines.base` and
:mod:`codels.models.catalogue`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx

from codels.engines.base import EngineOptions
from codels.models.catalogue import ModelError

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0


class ServerConnection:
    """The address, key and timeouts of a server, and a connection pool per event loop."""

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header, if the settings name a key; raises if it is empty."""
        name = self.options.api_key_env
        if not name:
            return {}
        key = os.environ.get(name, "")
        if not key:
            raise ModelError(
                f"codels.apiKeyEnv names {name}, but that environment variable is empty; "
                "set it where the editor starts codels"
            )
        return {"Authorization": f"Bearer {key}"}

    def timeout(self) -> httpx.Timeout:
        """The request timeout of the settings (connecting takes at most 3 s of it)."""
        seconds = self.options.request_timeout_ms / 1000
        return httpx.Timeout(seconds, connect=min(seconds, 3.0))

    def url(self, path: str) -> str:
        """``path`` on the server."""
        return self.options.endpoint.rstrip("/") + path

    def describe(self, exc: BaseException) -> str:
        """One sentence for a failed request: unreachable, refused key, timeout, ..."""
        where = self.options.endpoint
        backend = self.options.backend
        if isinstance(exc, httpx.HTTPStatusError):
            status = exc.response.status_code
            if status in (401, 403):
                key = self.options.api_key_env or "codels.apiKeyEnv"
                return (
                    f"the {backend} server at {where} refused the API key "
                    f"(HTTP {status}); put the right key in {key}"
                )
            return f"the {backend} server at {where} answered HTTP {status}"
        if isinstance(exc, httpx.TimeoutException):
            return (
                f"the {backend} server at {where} did not answer within "
                f"{self.options.request_timeout_ms} ms (codels.requestTimeoutMs)"
            )
        if isinstance(exc, httpx.TransportError):
            return (
                f"cannot reach the {backend} server at {where} "
                f"({type(exc).__name__}); is it running, and is codels.endpoint right?"
            )
        return f"the {backend} server at {where} failed: {exc}"

    def async_client(self) -> httpx.AsyncClient:
        """The connection pool of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(timeout=self.timeout())
            self._client_loop = loop
        return self._client

    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """POST ``body`` to ``path`` and yield the server-sent events' JSON payloads."""
        client = self.async_client()
        async with client.stream(
            "POST", self.url(path), json=body, headers=self.headers()
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

    def close(self) -> None:
        """Drop the connection pool (requests in flight are cancelled by their owners)."""
        client, self._client = self._client, None
        if client is not None and self._client_loop is not None:
            with contextlib.suppress(RuntimeError):
                if self._client_loop.is_running():
                    self._client_loop.call_soon_threadsafe(
                        lambda: asyncio.ensure_future(client.aclose())
                    )


@dataclasses.dataclass
class ServerHealth:
    """Whether the server answers, with a back-off between probes while it does not."""

    ok: bool = True
    failures: int = 0
    next_probe: float = 0.0
    last_error: str = ""

    def backoff(self) -> float:
        """Seconds until the next probe: doubling from 1 s with each failure, at most 30 s."""
        return float(min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** max(0, self.failures - 1)))


def event_piece(event: dict[str, Any]) -> str:
    """The text of one streamed event (llama-server's ``content`` or an OpenAI choice)."""
    if "content" in event:
        return str(event.get("content") or "")
    choices = event.get("choices") or []
    if not choices:
        return ""
    delta = choices[0].get("delta")
    if isinstance(delta, dict):  # /v1/chat/completions
        return str(delta.get("content") or "")
    return str(choices[0].get("text") or "")


def event_finish_reason(event: dict[str, Any]) -> str:
    """Why the stream ends at this event (``length``, ``stop``, ...), or empty."""
    if event.get("stop") is True:
        stop_type = str(event.get("stop_type", ""))
        return "length" if stop_type == "limit" else "stop"
    choices = event.get("choices") or []
    return str(choices[0].get("finish_reason") or "") if choices else ""
