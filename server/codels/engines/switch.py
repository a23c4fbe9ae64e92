"""The engine the server and the commands use: in process or remote, as the settings say.

:class:`BackendEngine` is an :class:`~codels.engines.base.Engine` that hands every call to the
in-process :class:`~codels.engines.llama.LlamaEngine` or to a :class:`~codels.engines.remote.RemoteEngine`,
according to the ``backend`` setting at the last successful :meth:`~BackendEngine.load`. A load
that fails leaves the previous backend serving.

This module imports :mod:`codels.engines.llama` and :mod:`codels.engines.remote`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from codels.engines.base import (
    Engine,
    EngineOptions,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from codels.engines.llama import LlamaEngine
from codels.engines.remote import RemoteEngine
from codels.models.catalogue import Catalogue, ProgressCallback

log = logging.getLogger(__name__)


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
    def backend(self) -> str:
        """``local``, ``llama-server`` or ``openai`` (``none`` before a load)."""
        if self._current is None:
            return "none"
        return "local" if self._current is self._local else self._options_backend

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        """Load the model in process, or connect to the server; the old one serves on failure."""
        if options.backend == "local":
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
        remote = RemoteEngine(self._catalogue, self._tell_health)
        info = remote.load(options, progress)
        previous_remote, self._remote = self._remote, remote
        self._options_backend = options.backend
        self._current = remote
        if previous_remote is not None:
            previous_remote.close()
        if self._local is not None:
            log.info("freeing the in-process model: %s serves now", options.endpoint)
            self._local.close()
            self._local = None
        return info

    _options_backend = "local"

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

    def close(self) -> None:
        """Free the model and close connections."""
        for engine in (self._local, self._remote):
            if engine is not None:
                engine.close()
        self._local = self._remote = self._current = None
