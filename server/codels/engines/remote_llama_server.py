"""llama.cpp's ``llama-server``: infilling through ``/infill``, the rest through ``/completion``.

``/infill`` gets the stable context in ``input_extra`` and ``input_prefix`` and the cursor line
in ``prompt``, which the server places after its FIM middle token, so that its prompt cache keeps
all the rest; ``/health`` and ``/props`` tell readiness and the model. This module imports
httpx, :mod:`codels.engines.base`, :mod:`codels.engines.remote` and
:mod:`codels.models.catalogue`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx

from codels.engines.base import LLAMA_SERVER, GenerationRequest
from codels.engines.remote import RemoteEngine
from codels.models.catalogue import Family


class LlamaServerEngine(RemoteEngine):
    """A :class:`RemoteEngine` that speaks to ``llama-server``."""

    backend = LLAMA_SERVER
    health_path = "/health"

    def _probe(self, client: httpx.Client) -> tuple[str, int]:
        connection = self._connection
        deadline = time.monotonic() + connection.options.request_timeout_ms / 1000
        while True:
            health = client.get(connection.url("/health"))
            if health.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # the server is loading its model
        health.raise_for_status()
        props = client.get(connection.url("/props"))
        props.raise_for_status()
        data = props.json()
        name = os.path.basename(str(data.get("model_path") or data.get("model_alias") or "model"))
        settings = data.get("default_generation_settings") or {}
        context = int(settings.get("n_ctx") or data.get("n_ctx") or 0)
        return name, context

    def _family_reason(self, family: Family) -> str:
        return f"{family.name} (the server infills with the model's own FIM tokens)"

    def _request_body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        common: dict[str, Any] = {"temperature": request.temperature, "stream": True}
        # top_k 1 makes a greedy answer certain; a sampled one needs a choice of tokens.
        top_k = 1 if request.temperature <= 0 else 40
        common |= {"n_predict": request.max_tokens, "cache_prompt": True, "top_k": top_k}
        if request.seed is not None:
            common["seed"] = request.seed
        stop = [s for s in request.stop if s]
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
