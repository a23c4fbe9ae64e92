"""The engine the server and the commands use: in process or remote, as the settings say.

:class:`BackendEngine` is an :class:`~codels.engines.base.Engine` that hands every call to the
in-process :class:`~codels.engines.llama.LlamaEngine` or to the remote engine of the dialect the
``backend`` setting names at the last successful :meth:`~BackendEngine.load`. A load that fails
leaves the previous backend serving. This module imports :mod:`codels.engines.base`, the llama
engine, the remote engines and :mod:`codels.models.catalogue`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from codels.engines.base import (
    LLAMA_SERVER,
    LOCAL,
    NOTHING_LOADED,
    OPENAI,
    Engine,
    EngineCapabilities,
    EngineOptions,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from codels.engines.llama import LlamaEngine
from codels.engines.remote import RemoteEngine
from codels.engines.remote_llama_server import LlamaServerEngine
from codels.engines.remote_openai import OpenAIEngine
from codels.models.catalogue import Catalogue, ProgressCallback

log = logging.getLogger(__name__)

REMOTE_ENGINES: dict[str, type[RemoteEngine]] = {
    LLAMA_SERVER: LlamaServerEngine,
    OPENAI: OpenAIEngine,
}
"""The remote engine of each remote backend."""


class BackendEngine:
    """Delegates to the in-process engine or a remote server."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue
        self._local: LlamaEngine | None = None
        self._remote: RemoteEngine | None = None
        self._current: Engine | None = None
        self.on_health: Callable[[str, bool], None] | None = None
        """Told when a remote server goes away or comes back (message, back?)."""

    @property
    def info(self) -> ModelInfo | None:
        """The model in use, wherever it runs."""
        return self._current.info if self._current is not None else None

    @property
    def capabilities(self) -> EngineCapabilities:
        """What the engine in use can do (:data:`NOTHING_LOADED` before a load)."""
        return self._current.capabilities if self._current is not None else NOTHING_LOADED

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        """Load the model in process, or connect to the server; the old one serves on failure."""
        if options.backend == LOCAL:
            local = self._local or LlamaEngine(self._catalogue)
            try:
                info = local.load(options, progress)
            except BaseException:
                if local is not self._local:
                    local.close()
                raise
            self._local, self._current = local, local
            if self._remote is not None:
                self._remote.close()
                self._remote = None
            return info
        # Settings validation admits only BACKENDS; anything else is spoken to as OpenAI.
        remote_engine = REMOTE_ENGINES.get(options.backend, OpenAIEngine)
        remote = remote_engine(self._catalogue, self._tell_health)
        info = remote.load(options, progress)
        previous_remote, self._remote = self._remote, remote
        self._current = remote
        if previous_remote is not None:
            previous_remote.close()
        if self._local is not None:
            log.info("freeing the in-process model: %s serves now", options.endpoint)
            self._local.close()
            self._local = None
        return info

    def _tell_health(self, message: str, ok: bool) -> None:
        if self.on_health is not None:
            self.on_health(message, ok)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for the model in use."""
        if self._current is None:
            raise RuntimeError("no model is loaded")
        return self._current.count_tokens(text)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate with the model in use."""
        if self._current is None:
            raise RuntimeError("no model is loaded")
        return await self._current.generate(request)

    async def prefill(self, request: GenerationRequest) -> GenerationResult:
        """Prefill with the engine in use (nothing where it keeps no documents' state)."""
        if self._current is None:
            return GenerationResult("", "cancelled")
        return await self._current.prefill(request)

    def close(self) -> None:
        """Free the model and close connections."""
        for engine in (self._local, self._remote):
            if engine is not None:
                engine.close()
        self._local = self._remote = self._current = None
