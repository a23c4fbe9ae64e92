"""The language server: thin pygls handlers that translate LSP to the pipeline and back.

:func:`create_server` builds a fresh server around an engine (the real one, or a fake in unit
tests). Handlers are named after their LSP methods, take the server as their first parameter,
and keep logic out: documents live in :mod:`codels.documents`, completions come from
:mod:`codels.completion.service`.

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
from pygls.exceptions import JsonRpcContentModified, JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from codels import __version__
from codels.actions.runner import ActionError, ActionRunner, read_from_disk
from codels.actions.sites import (
    ActionEdit,
    ActionKind,
    Problem,
    Site,
    action_for_command,
    candidate_test_files,
    find_sites,
)
from codels.completion.service import CompletionOutcome, CompletionService
from codels.config import Settings, read_settings
from codels.documents import DocumentSnapshot, DocumentStore, TextChange
from codels.engines.base import Engine, EngineOptions
from codels.engines.switch import BackendEngine
from codels.lsp.edits import workspace_edit
from codels.lsp.protocol import CodelsProtocol, is_unreadable
from codels.models.catalogue import ModelError
from codels.positions import PositionEncoding, PositionError, units_in
from codels.privacy import PrivateFiles, log_guard, path_of

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
    code_action_resolve: bool = False
    """Code actions can be listed without their edit and resolved later (the model runs then)."""
    document_changes: bool = False
    """Workspace edits may use ``documentChanges`` (versioned edits)."""
    create_files: bool = False
    """Workspace edits may create files (for tests)."""

    @classmethod
    def of(cls, capabilities: types.ClientCapabilities, encoding: Any) -> ClientFeatures:
        """Summarise ``capabilities`` and the negotiated position ``encoding``."""
        text_document = capabilities.text_document
        window = capabilities.window
        workspace = capabilities.workspace
        code_action = text_document.code_action if text_document else None
        resolve = code_action.resolve_support if code_action else None
        edit = workspace.workspace_edit if workspace else None
        document_changes = bool(edit and edit.document_changes)
        operations = (
            [str(getattr(o, "value", o)) for o in (edit.resource_operations or [])] if edit else []
        )
        return cls(
            inline_completion=bool(text_document and text_document.inline_completion),
            work_done_progress=bool(window and window.work_done_progress),
            configuration_pull=bool(workspace and workspace.configuration),
            position_encoding=_ENCODINGS.get(str(getattr(encoding, "value", encoding)), "utf-16"),
            code_action_resolve=bool(
                code_action
                and code_action.code_action_literal_support
                and code_action.data_support
                and resolve
                and "edit" in resolve.properties
            ),
            document_changes=document_changes,
            create_files=document_changes and "create" in operations,
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
        self.actions = ActionRunner(engine)
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
        snapshot = document.snapshot(around=offset)
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

    # -- code actions -------------------------------------------------------------------------

    def action_sites(
        self, params: types.CodeActionParams
    ) -> tuple[DocumentSnapshot, int, int, list[Problem], list[Site]] | None:
        """The actions that apply to a ``textDocument/codeAction`` request (no model)."""
        uri = params.text_document.uri
        document = self.documents.get(uri)
        if document is None or document.language is None:
            return None
        if self.private_files.why_private(uri) is not None:
            return None  # codels does not read this file
        encoding = self.client.position_encoding
        lines = document.lines
        try:
            start = lines.offset_at(params.range.start.line, params.range.start.character, encoding)
            end = lines.offset_at(params.range.end.line, params.range.end.character, encoding)
        except PositionError as exc:
            raise JsonRpcInvalidParams(
                f"codels: the code action range lies outside {uri} ({exc}); the editor and "
                "codels may be out of sync: reopen the file"
            ) from exc
        problems: list[Problem] = []
        for diagnostic in params.context.diagnostics:
            if diagnostic.source == "codels":
                continue
            try:
                problems.append(
                    Problem(
                        lines.offset_at(
                            diagnostic.range.start.line, diagnostic.range.start.character, encoding
                        ),
                        lines.offset_at(
                            diagnostic.range.end.line, diagnostic.range.end.character, encoding
                        ),
                        diagnostic.message,
                        diagnostic.source or "",
                        str(diagnostic.code) if diagnostic.code is not None else "",
                    )
                )
            except PositionError:
                log.info("ignoring a diagnostic outside %s", uri)
        snapshot = document.snapshot(around=start)
        sites = find_sites(
            snapshot,
            min(start, end),
            max(start, end),
            problems=problems,
            can_write_tests=self._can_write_tests(uri),
        )
        only = [str(getattr(kind, "value", kind)) for kind in params.context.only or []]
        if only:
            sites = [site for site in sites if _kind_matches(site.action.lsp_kind, only)]
        return snapshot, min(start, end), max(start, end), problems, sites

    def _can_write_tests(self, uri: str) -> bool:
        path = path_of(uri)
        if path is None:
            return False
        if self.client.create_files:
            return True
        return any(self._read_file(c.as_uri()) is not None for c in candidate_test_files(path))

    def _read_file(self, uri: str) -> tuple[str, int | None] | None:
        """An open document's text and version, else the file's text on disk."""
        document = self.documents.get(uri)
        if document is not None:
            return document.text, document.version
        return read_from_disk(uri)

    async def run_action(
        self, snapshot: DocumentSnapshot, site: Site
    ) -> types.WorkspaceEdit | None:
        """Run the model for ``site`` with progress; None (and a message) if it failed."""
        if self.model_state is not ModelState.READY:
            self._tell(
                types.MessageType.Warning,
                f"codels: the model is {self.model_state.value}; try again once it is ready",
            )
            return None
        token = await self._begin_progress(f"codels: {site.title}")
        loop = asyncio.get_running_loop()

        def progress(message: str) -> None:
            if token is not None:
                report = types.WorkDoneProgressReport(message=message)
                loop.call_soon(self.work_done_progress.report, token, report)

        message = "done"
        try:
            outcome = await self.actions.run(
                snapshot,
                site,
                self.settings,
                progress=progress,
                read_file=self._read_file,
                can_create_files=self.client.create_files,
            )
            if outcome.examples is not None:
                message = f"done; {outcome.examples.summary()}"
                if outcome.examples.failing:
                    self._tell(
                        types.MessageType.Info,
                        f"codels: {site.title}: {outcome.examples.summary()}",
                    )
        except ActionError as exc:
            message = "failed"
            log.warning("%s: %s", site.title, exc)
            self._tell(types.MessageType.Warning, str(exc))
            return None
        except asyncio.CancelledError:
            message = "cancelled"
            log.info("%s cancelled: generation stopped", site.title)
            raise
        finally:
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        current = self.documents.get(snapshot.uri)
        if current is None or current.version != snapshot.version:
            self._tell(
                types.MessageType.Warning,
                f"codels: {snapshot.uri.rsplit('/', 1)[-1]} changed while codels was writing; "
                "nothing was applied: run the action again",
            )
            return None
        return self.workspace_edit(outcome.edit)

    def workspace_edit(self, edit: ActionEdit) -> types.WorkspaceEdit:
        """The LSP form of an action's edit, in what the client supports."""
        return workspace_edit(
            edit, self.client.position_encoding, document_changes=self.client.document_changes
        )

    def _tell(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))


def _kind_matches(kind: str, only: list[str]) -> bool:
    return any(kind == wanted or kind.startswith(wanted + ".") for wanted in only if wanted)


_ACTION_KINDS = [
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.QuickFix,
    *(kind.lsp_kind for kind in ActionKind),
]


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

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=_ACTION_KINDS, resolve_provider=True),
    )
    async def text_document_code_action(
        ls: CodelsLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        """List codels's actions at once; the model runs only in ``codeAction/resolve``.

        A client that cannot resolve gets the edits computed here, when the person asked for
        the actions (never for an automatic request, such as a light bulb on cursor moves).
        """
        found = ls.action_sites(params)
        if found is None:
            return []
        snapshot, start, end, problems, sites = found
        actions = []
        for site in sites:
            data = {
                "command": site.action.command,
                "uri": snapshot.uri,
                "version": snapshot.version,
                "start": start,
                "end": end,
                "anchor": site.start,
                "problems": [[p.start, p.end, p.message, p.source, p.code] for p in problems],
            }
            actions.append(
                types.CodeAction(
                    title=site.title,
                    kind=site.action.lsp_kind,
                    data=data,
                    diagnostics=list(params.context.diagnostics) if site.diagnostics else None,
                )
            )
        if ls.client.code_action_resolve or not actions:
            return actions
        if params.context.trigger_kind == types.CodeActionTriggerKind.Automatic:
            log.info("client cannot resolve code actions: none offered on an automatic request")
            return []
        resolved = []
        for action, site in zip(actions, sites, strict=True):
            edit = await ls.run_action(snapshot, site)
            if edit is not None:
                action.edit = edit
                action.data = None
                resolved.append(action)
        return resolved

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(
        ls: CodelsLanguageServer, params: types.CodeAction
    ) -> types.CodeAction:
        """Run the model for an action listed earlier and attach its workspace edit."""
        snapshot, site = _site_of(ls, params.data)
        edit = await ls.run_action(snapshot, site)
        params.edit = edit
        return params

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: CodelsLanguageServer, params: None) -> None:
        ls.engine.close()

    return server


def _site_of(ls: CodelsLanguageServer, data: Any) -> tuple[DocumentSnapshot, Site]:
    """Find again the site an action's ``data`` describes; LSP errors for what does not fit."""
    if not isinstance(data, dict) or action_for_command(str(data.get("command"))) is None:
        raise JsonRpcInvalidParams(
            "codels: this code action is not one of codels's (unknown command or no data)"
        )
    action = action_for_command(str(data["command"]))
    uri = str(data.get("uri", ""))
    document = ls.documents.get(uri)
    if document is None:
        raise JsonRpcInvalidParams(f"codels: {uri or 'the document'} is not open")
    if data.get("version") != document.version:
        raise JsonRpcContentModified(
            "codels: the document changed since the action was offered; ask for it again"
        )
    try:
        start, end, anchor = int(data["start"]), int(data["end"]), int(data["anchor"])
        problems = [
            Problem(int(p[0]), int(p[1]), str(p[2]), str(p[3]), str(p[4]))
            for p in data.get("problems", [])
        ]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise JsonRpcInvalidParams(f"codels: malformed code action data ({exc})") from exc
    snapshot = document.snapshot(around=start)
    sites = find_sites(snapshot, start, end, problems=problems)
    site = next((s for s in sites if s.action is action and s.start == anchor), None)
    if site is None:
        raise JsonRpcContentModified(
            "codels: the action no longer applies here; ask for code actions again"
        )
    return snapshot, site


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
