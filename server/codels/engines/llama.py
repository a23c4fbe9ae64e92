"""The in-process engine: one resident ``llama_cpp.Llama``, owned by one worker thread.

llama.cpp contexts are not thread-safe, so every generation and every model swap is a job of a
:class:`~codels.engines.worker.WorkerQueue`; a newer request with the same key (the document
URI) supersedes a queued one and stops a running one. The KV cache keeps the longest common
token prefix of the previous prompt and the unchanged chunks after the edit, shifted
(:mod:`codels.engines.llama_kv`, planned in :mod:`codels.engines.kv_plan`). With ``model:
auto`` the model is the one :mod:`codels.engines.llama_machine` picks for the machine. This
module imports
:mod:`codels.models`, :mod:`codels.engines.base`, :mod:`codels.engines.worker` and the
``llama_*`` modules of this package (which import ``llama_cpp`` lazily).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codels.engines.base import (
    LOCAL,
    EngineCapabilities,
    EngineOptions,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from codels.engines.llama_decode import generate_on_worker, prefill_on_worker, repair_on_worker
from codels.engines.llama_kv import (
    REPAIR_AFTER_MS,
    REUSE_MIN_CHUNK,
    REUSE_REFRESH,
    KvSequences,
    sequences,
)
from codels.engines.llama_loader import LoadedModel, build_model, check_memory, new_llama
from codels.engines.llama_machine import auto_choice
from codels.engines.llama_states import DOCUMENT_STATES
from codels.engines.worker import WorkerQueue
from codels.models.auto import AutoChoice, wants_auto
from codels.models.catalogue import (
    Catalogue,
    ProgressCallback,
    ResolvedModel,
    load_catalogue,
    resolve_catalogue_model,
    resolve_model,
)

log = logging.getLogger(__name__)

_STILL_BUSY: list[LlamaEngine] = []
"""Engines whose worker would not stop when closed: kept, so that their model is never freed."""


class LlamaEngine:
    """The in-process engine: llama-cpp-python on one worker thread."""

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        cache_reuse: int = REUSE_MIN_CHUNK,
        cache_refresh: int = REUSE_REFRESH,
        document_states: int = DOCUMENT_STATES,
        cache_repair_ms: int = REPAIR_AFTER_MS,
    ) -> None:
        self._catalogue = catalogue
        self._cache_reuse = cache_reuse
        """Shortest run of cached tokens after an edit kept shifted (0: the common prefix only)."""
        self._cache_refresh = cache_refresh
        """Leading tokens of each kept run evaluated again (where the edit's effect is)."""
        self._document_states = document_states
        """Documents whose KV state is kept beside the current one's."""
        self._cache_repair_ms = cache_repair_ms
        """Quiet time after an answer that kept cells across an edit before they are evaluated
        again in the background (0: never; they stay approximate until the text changes)."""
        self._model: LoadedModel | None = None
        self._kv: KvSequences | None = None
        # Held while tokenizing (from the event loop) and while the model is replaced or freed
        # (on the worker), so a reload never frees a model that is being read.
        self._model_lock = threading.Lock()
        self._worker = WorkerQueue()
        self.on_health: Callable[[str, bool], None] | None = None
        """Never called: a model in process does not go away."""

    @property
    def info(self) -> ModelInfo | None:
        """The loaded model, or None."""
        return self._model.info if self._model is not None else None

    @property
    def capabilities(self) -> EngineCapabilities:
        """In process, with banned tokens; a background sequence once a context has one."""
        model = self._model
        return EngineCapabilities(
            backend=LOCAL,
            in_process=True,
            constrains_tokens=True,
            streams_text=True,
            background_sequence=model is not None and sequences(model.llm) > 1,
            document_states=model is not None and self._document_states > 0,
        )

    def kept_states(self) -> tuple[int, int]:
        """How many documents' KV states are kept, and their bytes (for benchmarks)."""
        kv = self._kv
        if kv is None:
            return 0, 0
        return len(kv.documents.documents), kv.documents.bytes

    def close(self) -> None:
        """Stop the worker after the job in hand and free the model."""
        if not self._worker.close():
            # Freeing a model the worker is still evaluating with would crash the process;
            # leave it to the process's end.
            log.warning("the model was still busy when the engine closed; it is not freed")
            _STILL_BUSY.append(self)
            return
        with self._model_lock:
            model, self._model = self._model, None
        if model is not None:
            model.llm.close()

    # -- loading ------------------------------------------------------------------------------

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        """Resolve, verify and load the model; blocks until done (call it from a thread).

        The new model is built in the calling thread while the worker goes on serving the old
        one, then swapped in by the worker between two generations, so a model switch drops
        no request. A model that does not fit in the memory available (counting what freeing
        the old one gives back) is refused with :class:`ModelError` and the old one stays.
        """
        catalogue = self._catalogue or load_catalogue()
        previous = self.info
        serving = Path(previous.path) if previous else None
        resolved, choice, probe = _resolve(options, catalogue, serving, progress)
        if probe is None and not check_memory(resolved, serving):
            # Not enough memory for both at once: free the old model first (a short gap).
            log.info("freeing the old model before loading %s (memory)", resolved.name)
            self._worker.submit(lambda _stop: self._install(None), None).future.result()
        if progress:
            progress(f"loading {resolved.name}", None)
        loaded = build_model(resolved, catalogue, options, auto=choice, llm=probe)
        try:
            self._worker.submit(lambda _stop: self._install(loaded), None).future.result()
        except BaseException:
            loaded.llm.close()
            raise
        return loaded.info

    def _install(self, loaded: LoadedModel | None) -> None:
        """On the worker, between generations: make ``loaded`` the model and free the old one."""
        with self._model_lock:
            previous, self._model = self._model, loaded
            self._kv = None
        if previous is not None and (loaded is None or previous.llm is not loaded.llm):
            previous.llm.close()

    # -- generation ---------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (without special tokens)."""
        with self._model_lock:
            if self._model is None:
                raise RuntimeError("no model is loaded")
            data = text.encode("utf-8", "replace")
            return len(self._model.llm.tokenize(data, add_bos=False, special=False))

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Queue ``request`` for the worker and wait; cancelling the await stops the work."""
        if self._model is None:
            raise RuntimeError("no model is loaded")
        submitted = time.perf_counter()
        job = self._worker.submit(
            lambda stop: self._generate_on_worker(request, stop, submitted),
            request.key,
            request.background,
        )
        try:
            result: GenerationResult = await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            self._worker.cancel(job)
            log.info("request for %s cancelled: generation stopped", request.key or "?")
            raise
        return result

    async def prefill(self, request: GenerationRequest) -> GenerationResult:
        """Evaluate ``request``'s prompt in the background (see :meth:`Engine.prefill`)."""
        if self._model is None:
            return GenerationResult("", "cancelled")
        submitted = time.perf_counter()
        job = self._worker.submit(
            lambda stop: self._on_worker(prefill_on_worker, request, stop, submitted),
            request.key,
            background=True,
        )
        try:
            result: GenerationResult = await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            self._worker.cancel(job)
            raise
        return result

    def _generate_on_worker(
        self, request: GenerationRequest, stop: threading.Event, submitted: float
    ) -> GenerationResult:
        result = self._on_worker(generate_on_worker, request, stop, submitted)
        kv = self._kv
        if (
            self._cache_repair_ms > 0
            and not request.background
            and not result.cancelled
            and kv is not None
            and kv.foreground.approximate_from is not None
        ):
            # Queued before the answer is handed back, so that a guess its requester starts
            # next supersedes it (a background job of the same key).
            self._worker.submit(
                lambda stop: self._repair_on_worker(kv, stop), request.key, background=True
            )
        return result

    def _repair_on_worker(self, kv: KvSequences, stop: threading.Event) -> GenerationResult:
        model = self._model
        if model is None or self._kv is not kv or kv.llm is not model.llm:
            return GenerationResult("", "cancelled")  # another model came in meanwhile
        return repair_on_worker(model, kv, stop, self._cache_repair_ms)

    def _on_worker(
        self,
        work: Callable[
            [LoadedModel, KvSequences, GenerationRequest, threading.Event, float],
            GenerationResult,
        ],
        request: GenerationRequest,
        stop: threading.Event,
        submitted: float,
    ) -> GenerationResult:
        model = self._model
        if model is None:
            raise RuntimeError("no model is loaded")
        return work(model, self._sequences(model), request, stop, submitted)

    def _sequences(self, model: LoadedModel) -> KvSequences:
        kv = self._kv
        if kv is None or kv.llm is not model.llm:
            kv = self._kv = KvSequences(
                model.llm, self._cache_reuse, self._cache_refresh, self._document_states
            )
        return kv


def _resolve(
    options: EngineOptions,
    catalogue: Catalogue,
    serving: Path | None,
    progress: ProgressCallback | None,
) -> tuple[ResolvedModel, AutoChoice | None, Any]:
    """The model the settings name, or (``auto``) the one picked for this machine, and why.

    The third item is that model already loaded (by the speed probe), or None.
    """
    if not wants_auto(options.model):
        return resolve_model(options.model, catalogue, progress), None, None

    def open_probe(resolved: ResolvedModel) -> Any:
        if not check_memory(resolved, serving):
            return None  # not beside the model in use: no measurement this time
        return new_llama(resolved, options, options.resolved_threads())

    measured = auto_choice(catalogue, options, progress, open_model=open_probe)
    choice = measured.choice
    log.info("model auto: %s", choice.reason)
    if choice.hint:
        log.info("model auto: %s", choice.hint)
    if measured.llm is not None and measured.resolved is not None:
        return measured.resolved, choice, measured.llm
    entry = catalogue.model(choice.name)
    resolved = resolve_catalogue_model(entry, progress, is_default=entry.name == catalogue.default)
    return resolved, choice, None
