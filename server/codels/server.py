"""The language server: thin pygls handlers that translate LSP to the pipeline and back.

:func:`create_server` builds a fresh server around an engine (the real one, or a fake in unit
tests). Handlers are named after their LSP methods, take the server as their first parameter,
and keep logic out: documents live in :mod:`codels.documents`, completions come from
:mod:`codels.completion`.

Life of a session: ``initialize`` reads settings (``initializationOptions``) and what the client
can do; ``initialized`` pulls the ``codels`` configuration section where the client offers it and
starts loading the model off the event loop, with work-done progress; completion requests that
arrive before the model is ready get an empty answer. ``textDocument/completion`` is offered only
to clients without inline completion, so an editor never runs the model twice per keystroke.

This module is the only one that imports LSP types.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from codels import __version__
from codels.backends import BackendEngine
from codels.completion import CompletionOutcome, CompletionService
from codels.config import Settings, read_settings
from codels.documents import DocumentStore, TextChange
from codels.engine import Engine, EngineOptions
from codels.models import ModelError
from codels.positions import PositionEncoding, PositionError, units_in
from codels.privacy import PrivateFiles, log_guard
from codels.protocol import CodelsProtocol, is_unreadable

log = logging.getLogger(__name__)

_ENCODINGS: dict[str, PositionEncoding] = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}
T = TypeVar("T")
STATUS = "codels/status"
"""Custom request: where the model stands."""
STATS = "codels/stats"
"""Custom request: what the server has done (counted locally, never sent anywhere)."""


class ModelState(StrEnum):
    """Where the model stands."""

    NOT_LOADED = "not loaded"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class ClientFeatures:
    """What the client supports, read once at ``initialize``."""

    inline_completion: bool = False
    work_done_progress: bool = False
    configuration_pull: bool = False
    position_encoding: PositionEncoding = "utf-16"

    @classmethod
    def of(cls, capabilities: types.ClientCapabilities, encoding: Any) -> ClientFeatures:
        """Summarise ``capabilities`` and the negotiated position ``encoding``."""
        text_document = capabilities.text_document
        window = capabilities.window
        workspace = capabilities.workspace
        return cls(
            inline_completion=bool(text_document and text_document.inline_completion),
            work_done_progress=bool(window and window.work_done_progress),
            configuration_pull=bool(workspace and workspace.configuration),
            position_encoding=_ENCODINGS.get(str(getattr(encoding, "value", encoding)), "utf-16"),
        )


class CodelsLanguageServer(LanguageServer):
    """The codels server: pygls plus documents, settings, the engine and model state."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        super().__init__(
            "codels",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=CodelsProtocol,
        )
        self.settings = settings
        self.engine = engine
        self.completions = CompletionService(engine)
        self.documents = DocumentStore()
        self.client = ClientFeatures()
        self.model_state = ModelState.NOT_LOADED
        self.model_error = ""
        self._loaded_options: EngineOptions | None = None
        self._load_task: asyncio.Task[None] | None = None
        self._warned_languages: set[str] = set()
        self.private_files = PrivateFiles(settings.ignore_files, settings.respect_gitignore)
        self._warned_private: set[str] = set()
        log_guard.allow_text = settings.log_document_text
        if isinstance(engine, BackendEngine):
            engine.on_health = self._remote_health
        self.loading_model: str | None = None
        """The model being loaded (while another may still serve), for ``codels/status``."""
        self.pending_problems: list[str] = []
        """Settings problems found at ``initialize``, shown once the client is initialized."""

    # -- settings and model loading -----------------------------------------------------------

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors outside requests: unreadable messages are answered and logged, not shown."""
        if source is JsonRpcException:
            if is_unreadable(error) and isinstance(self.protocol, CodelsProtocol):
                self.protocol.answer_unreadable(error)
            else:
                log.warning("could not handle a message: %s", error)
            return
        super().report_server_error(error, source)

    def use_settings(self, settings: Settings) -> None:
        """Take ``settings`` for what they decide at once: private files and the log."""
        self.settings = settings
        self.private_files.configure(settings.ignore_files, settings.respect_gitignore)
        log_guard.allow_text = settings.log_document_text

    def apply_settings(self, raw: Any) -> None:
        """Read client settings over the current ones; report problems; reload if needed."""
        settings, problems = read_settings(raw, self.settings)
        self.use_settings(settings)
        for problem in problems:
            log.warning("%s", problem)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=problem)
            )
        if self.model_state is not ModelState.NOT_LOADED:
            self.start_loading()

    def start_loading(self) -> None:
        """Load (or reload) the model in the background unless it is loaded or loading."""
        if self._load_task is not None and not self._load_task.done():
            return  # the running load looks at the settings again when it ends
        if self._loaded_options == self.settings.engine_options():
            return
        if self.engine.info is None:
            self.model_state = ModelState.LOADING  # from now on, requests get an empty answer
        # (with a model loaded, it goes on serving until the new one replaces it)
        self._load_task = asyncio.ensure_future(self._load_model())

    async def _load_model(self) -> None:
        token = await self._begin_progress("codels: loading model")
        loop = asyncio.get_running_loop()
        last_report = [0.0]

        def progress(message: str, fraction: float | None) -> None:
            now = time.monotonic()
            if token is None or (now - last_report[0] < 0.25 and fraction not in (None, 1.0)):
                return
            last_report[0] = now
            percentage = int(fraction * 100) if fraction is not None else None
            report = types.WorkDoneProgressReport(message=message, percentage=percentage)
            loop.call_soon_threadsafe(self.work_done_progress.report, token, report)

        while True:
            options = self.settings.engine_options()
            serving = self.engine.info
            self.loading_model = options.model or "default"
            if serving is None:
                self.model_state = ModelState.LOADING
            try:
                info = await _in_daemon_thread(
                    functools.partial(self.engine.load, options, progress)
                )
            except Exception as exc:
                if not isinstance(exc, ModelError):
                    log.exception("loading the model failed")
                reason = (
                    str(exc)
                    if isinstance(exc, ModelError)
                    else f"{type(exc).__name__}: {exc}; see the codels log for details"
                )
                still = self.engine.info
                if still is not None:
                    self._switch_failed(f"codels kept {still.name}: {reason}")
                else:
                    self._model_failed(
                        reason
                        if isinstance(exc, ModelError)
                        else f"codels could not load the model ({reason})"
                    )
            else:
                self.model_state = ModelState.READY
                self.model_error = ""
                if serving is not None and serving.name != info.name:
                    self.window_show_message(
                        types.ShowMessageParams(
                            type=types.MessageType.Info,
                            message=f"codels switched from {serving.name} to {info.name}",
                        )
                    )
                if info.family is None:
                    self.window_show_message(
                        types.ShowMessageParams(
                            type=types.MessageType.Warning,
                            message=f"codels: {info.name}: {info.family_reason}",
                        )
                    )
                log.info("model ready: %s (%s)", info.name, info.family_reason)
            self.loading_model = None
            self._loaded_options = options
            if self.settings.engine_options() == options:
                break
        if token is not None:
            message = f"ready: {self.engine.info.name}" if self.engine.info else self.model_error
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    def _remote_health(self, message: str, ok: bool) -> None:
        """A remote server went away (shown once, not per keystroke) or came back."""
        kind = types.MessageType.Info if ok else types.MessageType.Warning
        self.model_error = "" if ok else message
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def _switch_failed(self, message: str) -> None:
        """A new model could not be loaded; the old one goes on serving."""
        self.model_state = ModelState.READY
        self.model_error = message
        log.error("%s", message)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=message)
        )

    def _model_failed(self, message: str) -> None:
        self.model_state = ModelState.FAILED
        self.model_error = message
        log.error("%s", message)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=message)
        )

    async def _begin_progress(self, title: str) -> str | None:
        if not self.client.work_done_progress:
            return None
        token = f"codels-{uuid.uuid4()}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception as exc:  # the client may refuse; progress is a courtesy
            log.info("client refused a progress token: %s", exc)
            return None
        self.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=False)
        )
        return token

    async def pull_configuration(self) -> Any:
        """Ask the client for the ``codels`` configuration section (None if it cannot say)."""
        if not self.client.configuration_pull:
            return None
        try:
            answer = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="codels")])
            )
        except Exception as exc:
            log.info("workspace/configuration failed: %s", exc)
            return None
        return answer[0] if answer else None

    # -- completion ---------------------------------------------------------------------------

    async def complete_at(
        self, uri: str, position: types.Position
    ) -> tuple[CompletionOutcome | None, str]:
        """Complete at an LSP position; returns the outcome (None if not attempted) and why."""
        document = self.documents.get(uri)
        if document is None:
            return None, "document not open"
        if not self.settings.enabled:
            return None, "disabled"
        if document.language is None:
            if document.language_id not in self._warned_languages:
                self._warned_languages.add(document.language_id)
                log.info(
                    "codels completes Python only; no completions for %r files",
                    document.language_id,
                )
            return None, f"unsupported language {document.language_id!r}"
        private = await asyncio.to_thread(self.private_files.why_private, uri)
        if private is not None:
            if uri not in self._warned_private:
                self._warned_private.add(uri)
                log.info("codels does not read %s: %s", uri, private)
            return None, f"not read: {private}"
        if self.model_state is not ModelState.READY:
            return None, f"model {self.model_state.value}"
        try:
            offset = document.lines.offset_at(
                position.line, position.character, self.client.position_encoding
            )
        except PositionError as exc:
            log.warning("%s: %s", uri, exc)
            return None, str(exc)
        snapshot = document.snapshot()
        try:
            outcome = await self.completions.complete(snapshot, offset, self.settings)
        except (ModelError, RuntimeError) as exc:
            log.warning("%s: no completion: %s", uri, exc)
            return None, str(exc)
        except Exception:
            log.exception("completion failed at %s:%d:%d", uri, position.line, position.character)
            return None, "internal error (see the log)"
        current = self.documents.get(uri)
        if current is None or current.version != snapshot.version:
            return None, "the document changed while generating"
        if self.settings.log_document_text:
            where = f"{uri}:{position.line}:{position.character}"
            log.info("completion at %s: %r", where, outcome.text)
        return outcome, outcome.note


def create_server(
    settings: Settings | None = None, engine: Engine | None = None
) -> CodelsLanguageServer:
    """Build a codels language server around ``engine`` (default: the in-process llama.cpp one)."""
    server = CodelsLanguageServer(settings or Settings(), engine or BackendEngine())

    @server.feature(types.INITIALIZE)
    def initialize(ls: CodelsLanguageServer, params: types.InitializeParams) -> None:
        ls.client = ClientFeatures.of(params.capabilities, ls.workspace.position_encoding)
        settings, problems = read_settings(params.initialization_options, ls.settings)
        ls.use_settings(settings)
        ls.pending_problems = problems
        if not ls.client.inline_completion:
            ls.feature(
                types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(resolve_provider=False),
            )(text_document_completion)
        log.info(
            "client %s: inline completion %s, position encoding %s",
            params.client_info.name if params.client_info else "?",
            "yes" if ls.client.inline_completion else "no (completion items instead)",
            ls.client.position_encoding,
        )

    @server.feature(types.INITIALIZED)
    async def initialized(ls: CodelsLanguageServer, params: types.InitializedParams) -> None:
        for problem in ls.pending_problems:
            ls.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=problem)
            )
        pulled = await ls.pull_configuration()
        if pulled:
            ls.apply_settings(pulled)
        ls.start_loading()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def workspace_did_change_configuration(
        ls: CodelsLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        raw = params.settings
        if not raw:
            raw = await ls.pull_configuration()
        ls.apply_settings(raw)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def text_document_did_open(
        ls: CodelsLanguageServer, params: types.DidOpenTextDocumentParams
    ) -> None:
        item = params.text_document
        ls.documents.open(item.uri, item.language_id, item.version, item.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def text_document_did_change(
        ls: CodelsLanguageServer, params: types.DidChangeTextDocumentParams
    ) -> None:
        changes = [_text_change(change) for change in params.content_changes]
        ls.documents.change(
            params.text_document.uri,
            params.text_document.version,
            changes,
            ls.client.position_encoding,
        )

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def text_document_did_close(
        ls: CodelsLanguageServer, params: types.DidCloseTextDocumentParams
    ) -> None:
        ls.documents.close(params.text_document.uri)
        ls.completions.forget(params.text_document.uri)

    @server.feature(STATUS)
    def codels_status(ls: CodelsLanguageServer, params: Any) -> dict[str, Any]:
        """``codels/status``: the model's state, for editors' status bars and the benchmark."""
        info = ls.engine.info
        return {
            "model": ls.model_state.value,
            "name": info.name if info else None,
            "error": ls.model_error or None,
            "enabled": ls.settings.enabled,
            "loading": ls.loading_model,
            "family": info.family.name if info and info.family else None,
            "infilling": bool(info and info.family),
        }

    @server.feature(STATS)
    def codels_stats(ls: CodelsLanguageServer, params: Any) -> dict[str, Any]:
        """``codels/stats``: counters since the server started (requests, caches, tokens)."""
        return ls.completions.stats.summary()

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def text_document_inline_completion(
        ls: CodelsLanguageServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        outcome, why = await ls.complete_at(params.text_document.uri, params.position)
        if outcome is None or not outcome.text:
            log.debug("no inline completion: %s", why)
            return types.InlineCompletionList(items=[])
        item = types.InlineCompletionItem(
            insert_text=outcome.text,
            range=types.Range(start=params.position, end=params.position),
        )
        return types.InlineCompletionList(items=[item])

    async def text_document_completion(
        ls: CodelsLanguageServer, params: types.CompletionParams
    ) -> types.CompletionList:
        empty = types.CompletionList(is_incomplete=False, items=[])
        outcome, why = await ls.complete_at(params.text_document.uri, params.position)
        document = ls.documents.get(params.text_document.uri)
        if outcome is None or not outcome.text or document is None:
            log.debug("no completion item: %s", why)
            return empty
        line = document.lines.line_text(params.position.line)
        offset = document.lines.offset_at(
            params.position.line, params.position.character, ls.client.position_encoding
        )
        column = offset - document.lines.starts[params.position.line]
        word_start = column
        while word_start > 0 and (line[word_start - 1].isalnum() or line[word_start - 1] == "_"):
            word_start -= 1
        typed = line[word_start:column]
        new_text = typed + outcome.text
        first_line = new_text.split("\n", 1)[0].strip()
        label = first_line if len(first_line) <= 60 else first_line[:59] + "…"
        if "\n" in outcome.text:
            label += " …"
        start = types.Position(
            line=params.position.line,
            character=params.position.character - units_in(typed, ls.client.position_encoding),
        )
        item = types.CompletionItem(
            label=label or new_text.strip()[:60],
            kind=types.CompletionItemKind.Text,
            detail="codels",
            documentation=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=f"```python\n{new_text}\n```"
            ),
            filter_text=new_text,
            sort_text="0",
            preselect=True,
            insert_text_format=types.InsertTextFormat.PlainText,
            insert_text_mode=types.InsertTextMode.AsIs,
            text_edit=types.TextEdit(
                range=types.Range(start=start, end=params.position), new_text=new_text
            ),
        )
        return types.CompletionList(is_incomplete=False, items=[item])

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: CodelsLanguageServer, params: None) -> None:
        ls.engine.close()

    return server


def _in_daemon_thread(work: Callable[[], T]) -> asyncio.Future[T]:
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


def _text_change(change: types.TextDocumentContentChangeEvent) -> TextChange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        start, end = change.range.start, change.range.end
        return TextChange(change.text, ((start.line, start.character), (end.line, end.character)))
    return TextChange(change.text)
