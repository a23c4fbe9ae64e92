"""OpenAI-compatible servers (vLLM, llama-cpp-python's server, Ollama's OpenAI API, ...).

``/v1/completions`` gets the FIM prompt codels builds for the model's family,
``/v1/chat/completions`` the instructions of code actions (the server applies the model's chat
template), and ``/v1/models`` tells readiness and the model name. This module imports httpx,
:mod:`codels.engines.base`, :mod:`codels.engines.remote` and :mod:`codels.models.catalogue`.
"""

from __future__ import annotations

from typing import Any

import httpx

from codels.engines.base import OPENAI, GenerationRequest
from codels.engines.remote import RemoteEngine
from codels.models.catalogue import Family, ModelError


class OpenAIEngine(RemoteEngine):
    """A :class:`RemoteEngine` that speaks the OpenAI completions API."""

    backend = OPENAI
    health_path = "/v1/models"

    def _probe(self, client: httpx.Client) -> tuple[str, int]:
        options = self._connection.options
        answer = client.get(self._connection.url("/v1/models"))
        answer.raise_for_status()
        models = [str(m.get("id", "")) for m in answer.json().get("data", [])]
        wanted = options.remote_model
        if wanted:
            if models and wanted not in models:
                raise ModelError(
                    f"the server at {options.endpoint} does not serve {wanted!r} "
                    f"(it serves {', '.join(models)}); fix codels.remoteModel"
                )
            return wanted, 0
        if not models:
            raise ModelError(
                f"the server at {options.endpoint} lists no models; set codels.remoteModel"
            )
        return models[0], 0

    def _family_reason(self, family: Family) -> str:
        return f"{family.name} (codels builds the FIM prompt)"

    def _request_body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        common: dict[str, Any] = {"temperature": request.temperature, "stream": True}
        if request.seed is not None:
            common["seed"] = request.seed
        body: dict[str, Any] = {"model": self._remote_model, "max_tokens": request.max_tokens}
        if request.chat is not None:
            # An instruction (code actions): the server applies the model's own chat template.
            system, user = request.chat
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            return "/v1/chat/completions", common | body | {"messages": messages}
        body["prompt"] = request.prompt
        stop = [s for s in request.stop if s]
        if stop:
            body["stop"] = stop
        return "/v1/completions", common | body
