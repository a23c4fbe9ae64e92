"""The model's life in the server: loading off the event loop with progress, switching, health.

:class:`ModelLifecycle` owns where the model stands (:class:`ModelState`), loads and reloads
it in a daemon thread, and tells the user what happened. It reaches the server only through
:class:`ModelHost`. This module imports lsprotocol, pygls's progress type, config, engines and
models.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol, TypeVar

from lsprotocol import types
from pygls.progress import Progress

from codels.config import Settings
from codels.engines.base import Engine, EngineOptions, ModelInfo
from codels.models.catalogue import ModelError

log = logging.getLogger(__name__)

T = TypeVar("T")


class ModelState(StrEnum):
    """Where the model stands."""

    NOT_LOADED = "not loaded"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class ModelHost(Protocol):
    """What the model lifecycle needs of the server: settings, messages and progress."""

    @property
    def settings(self) -> Settings:
        """The settings in force (they may change while a model loads)."""

    @property
    def work_done_progress(self) -> Progress:
        """The work-done progress of pygls."""

    def tell(self, kind: types.MessageType, message: str) -> None:
        """Show ``message`` to the user."""

    async def begin_progress(self, title: str) -> str | None:
        """Begin work-done progress; its token, or None where the client shows none."""


class ModelLifecycle:
    """Loads, reloads and watches the engine's model for one server."""

    def __init__(self, host: ModelHost, engine: Engine) -> None:
        self.host = host
        self.engine = engine
        self.state = ModelState.NOT_LOADED
        self.error = ""
        """The last failure (or remote outage) in one sentence; empty when all is well."""
        self.loading: str | None = None
        """The model being loaded (while another may still serve), for ``codels/status``."""
        self._loaded_options: EngineOptions | None = None
        self._load_task: asyncio.Task[None] | None = None
        engine.on_health = self.remote_health

    def start_loading(self) -> None:
        """Load (or reload) the model in the background unless it is loaded or loading."""
        if self._load_task is not None and not self._load_task.done():
            return  # the running load looks at the settings again when it ends
        if self._loaded_options == self.host.settings.engine_options():
            return
        if self.engine.info is None:
            self.state = ModelState.LOADING  # from now on, requests get an empty answer
        # (with a model loaded, it goes on serving until the new one replaces it)
        self._load_task = asyncio.ensure_future(self._load())

    async def _load(self) -> None:
        token = await self.host.begin_progress("codels: loading model")
        progress = self._progress_reporter(token)
        while True:
            options = self.host.settings.engine_options()
            serving = self.engine.info
            self.loading = options.model or "default"
            if serving is None:
                self.state = ModelState.LOADING
            try:
                info = await in_daemon_thread(
                    functools.partial(self.engine.load, options, progress)
                )
            except Exception as exc:
                self._load_failed(exc)
            else:
                self._loaded(info, serving)
            self.loading = None
            self._loaded_options = options
            if self.host.settings.engine_options() == options:
                break
        if token is not None:
            message = f"ready: {self.engine.info.name}" if self.engine.info else self.error
            self.host.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    def _progress_reporter(self, token: str | None) -> Callable[[str, float | None], None]:
        """The engine's progress callback (called from the loading thread)."""
        loop = asyncio.get_running_loop()
        last_report = [0.0]

        def progress(message: str, fraction: float | None) -> None:
            now = time.monotonic()
            # At most four reports a second, but always the first and the last.
            if token is None or (now - last_report[0] < 0.25 and fraction not in (None, 1.0)):
                return
            last_report[0] = now
            percentage = int(fraction * 100) if fraction is not None else None
            report = types.WorkDoneProgressReport(message=message, percentage=percentage)
            loop.call_soon_threadsafe(self.host.work_done_progress.report, token, report)

        return progress

    def _loaded(self, info: ModelInfo, serving: ModelInfo | None) -> None:
        self.state = ModelState.READY
        self.error = ""
        if serving is not None and serving.name != info.name:
            self.host.tell(
                types.MessageType.Info, f"codels switched from {serving.name} to {info.name}"
            )
        if info.family is None:
            self.host.tell(types.MessageType.Warning, f"codels: {info.name}: {info.family_reason}")
        log.info("model ready: %s (%s)", info.name, info.family_reason)

    def _load_failed(self, exc: Exception) -> None:
        known = isinstance(exc, ModelError)  # a catalogue or file problem, said in one sentence
        if not known:
            log.exception("loading the model failed")
        reason = (
            str(exc) if known else f"{type(exc).__name__}: {exc}; see the codels log for details"
        )
        still = self.engine.info
        if still is not None:
            self._switch_failed(f"codels kept {still.name}: {reason}")
        else:
            self._model_failed(reason if known else f"codels could not load the model ({reason})")

    def remote_health(self, message: str, ok: bool) -> None:
        """A remote server went away (shown once, not per keystroke) or came back."""
        kind = types.MessageType.Info if ok else types.MessageType.Warning
        self.error = "" if ok else message
        self.host.tell(kind, message)

    def _switch_failed(self, message: str) -> None:
        """A new model could not be loaded; the old one goes on serving."""
        self.state = ModelState.READY
        self.error = message
        log.error("%s", message)
        self.host.tell(types.MessageType.Error, message)

    def _model_failed(self, message: str) -> None:
        self.state = ModelState.FAILED
        self.error = message
        log.error("%s", message)
        self.host.tell(types.MessageType.Error, message)


def in_daemon_thread(work: Callable[[], T]) -> asyncio.Future[T]:
    """Run blocking ``work`` in a daemon thread (an exit never waits for a model to load)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=run, name="codels-load", daemon=True).start()
    return future


def _settle(future: asyncio.Future[T], result: T | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
