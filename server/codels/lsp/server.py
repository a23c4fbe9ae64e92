"""The codels language server: its state, and :func:`create_server`, which registers handlers.

:class:`CodelsLanguageServer` holds what a session knows (settings, what the client can do,
open documents, the completion and action services) and hands the model's life to
:class:`~codels.lsp.model.ModelLifecycle`. The handlers live in :mod:`codels.lsp.handlers`,
one module per group; :func:`create_server` registers each, with its options, in one place.
This module imports pygls, lsprotocol and the layers below ``lsp``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from codels import __version__
from codels.actions.edits import ActionEdit
from codels.actions.runner import ActionRunner
from codels.completion.acceptance import AcceptanceStats, OfferedSuggestions
from codels.completion.service import CompletionService
from codels.config import Settings, changed_settings, read_settings
from codels.documents import Document, DocumentStore
from codels.engines.base import Engine
from codels.engines.switch import BackendEngine
from codels.languages.registry import LANGUAGES
from codels.lsp.capabilities import ClientFeatures
from codels.lsp.edits import workspace_edit
from codels.lsp.handlers import (
    acceptance,
    code_actions,
    documents,
    explain,
    focus,
    inline,
    lifecycle,
    status,
)
from codels.lsp.model import ModelLifecycle, ModelState
from codels.lsp.protocol import CodelsProtocol, is_unreadable
from codels.privacy import PrivateFiles, log_guard

log = logging.getLogger(__name__)


class CodelsLanguageServer(LanguageServer):
    """The codels server: pygls plus documents, settings, client features and services."""

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
        self.offered = OfferedSuggestions()
        """The suggestions handed out lately, by id (for ``codels.accepted``)."""
        self.acceptance = AcceptanceStats(enabled=settings.keep_acceptance_stats)
        """What became of them, counted into a local file."""
        self.actions = ActionRunner(engine)
        self.documents = DocumentStore()
        self.client = ClientFeatures()
        self.model = ModelLifecycle(self, engine)
        self.prefills = focus.Prefills(self)
        """The prompt at a document's cursor, evaluated ahead when it is opened or focused."""
        self.private_files = PrivateFiles(settings.ignore_files, settings.respect_gitignore)
        log_guard.allow_text = settings.log_document_text
        self.pending_problems: list[str] = []
        """Settings problems found at ``initialize``, shown once the client is initialized."""
        self._warned_languages: set[str] = set()
        self._warned_private: set[str] = set()
        self._told: set[str] = set()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors outside requests: unreadable messages are answered and logged, not shown."""
        if source is JsonRpcException:
            if is_unreadable(error) and isinstance(self.protocol, CodelsProtocol):
                self.protocol.answer_unreadable(error)
            else:
                log.warning("could not handle a message: %s", error)
            return
        super().report_server_error(error, source)

    # -- settings -----------------------------------------------------------------------------

    def use_settings(self, settings: Settings) -> None:
        """Take ``settings`` for what they decide at once: private files and the log."""
        self.settings = settings
        self.private_files.configure(settings.ignore_files, settings.respect_gitignore)
        log_guard.allow_text = settings.log_document_text
        self.acceptance.enabled = settings.keep_acceptance_stats

    def apply_settings(self, raw: Any) -> None:
        """Read client settings over the current ones; report problems; reload if needed."""
        settings, problems = read_settings(raw, self.settings)
        changes = changed_settings(self.settings, settings)
        if changes:
            # Names and values only (no document text): the log shows what took effect when.
            log.info("settings changed: %s", ", ".join(changes))
        self.use_settings(settings)
        for problem in problems:
            log.warning("%s", problem)
            self.tell(types.MessageType.Warning, problem)
        if self.model.state is not ModelState.NOT_LOADED:
            self.model.start_loading()

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

    # -- the check every request path makes -----------------------------------------------------

    async def workable_document(
        self, uri: str, *, offering_completions: bool = False
    ) -> tuple[Document | None, str]:
        """The open document at ``uri`` if codels may work on it; else None and why not.

        The one check of the completion and code-action paths: the document is open, codels
        is enabled (``enabled`` is about completions only), reads its language, the
        ``languages`` setting names it, and codels may read the file. Whether a file is
        private can wait on ``git check-ignore``, so it is asked in a worker thread, never on
        the event loop.
        """
        document = self.documents.get(uri)
        if document is None:
            return None, "document not open"
        if offering_completions and not self.settings.enabled:
            return None, "disabled"
        if document.language is None:
            if document.language_id not in self._warned_languages:
                self._warned_languages.add(document.language_id)
                log.info(
                    "codels reads %s only; no completions for %r files",
                    ", ".join(language.name for language in LANGUAGES),
                    document.language_id,
                )
            return None, f"unsupported language {document.language_id!r}"
        if not self.settings.works_in(document.language, document.language_id):
            if document.language_id not in self._warned_languages:
                self._warned_languages.add(document.language_id)
                log.info(
                    "codels is off for %r files (codels.languages: %s); add the id to turn it on",
                    document.language_id,
                    ", ".join(self.settings.languages) or "none",
                )
            return None, f"off for {document.language_id!r} files (codels.languages)"
        private = await asyncio.to_thread(self.private_files.why_private, uri)
        if private is not None:
            if uri not in self._warned_private:
                self._warned_private.add(uri)
                log.info("codels does not read %s: %s", uri, private)
            return None, f"not read: {private}"
        return document, ""

    # -- talking to the client ----------------------------------------------------------------

    def tell(self, kind: types.MessageType, message: str) -> None:
        """Show ``message`` to the user (``window/showMessage``)."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def tell_once(self, topic: str, kind: types.MessageType, message: str) -> None:
        """Show ``message`` the first time something about ``topic`` is to be said, only."""
        if topic not in self._told:
            self._told.add(topic)
            log.warning("%s", message)
            self.tell(kind, f"codels: {message}")

    async def begin_progress(self, title: str) -> str | None:
        """Begin work-done progress titled ``title``; its token, or None if there is none."""
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

    def workspace_edit(self, edit: ActionEdit) -> types.WorkspaceEdit:
        """The LSP form of an action's edit, in what the client supports."""
        return workspace_edit(
            edit, self.client.position_encoding, document_changes=self.client.document_changes
        )


def create_server(
    settings: Settings | None = None, engine: Engine | None = None
) -> CodelsLanguageServer:
    """Build a codels language server around ``engine`` (default: the in-process llama.cpp one).

    Every method codels answers is registered here, with its options; ``textDocument/completion``
    is added at ``initialize``, for clients without inline completion only.
    """
    server = CodelsLanguageServer(settings or Settings(), engine or BackendEngine())
    server.feature(types.INITIALIZE)(lifecycle.initialize)
    server.feature(types.INITIALIZED)(lifecycle.initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(
        lifecycle.workspace_did_change_configuration
    )
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(documents.text_document_did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(documents.text_document_did_change)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(documents.text_document_did_close)
    server.feature(focus.DID_FOCUS)(focus.codels_did_focus)
    server.feature(status.STATUS)(status.codels_status)
    server.feature(status.STATS)(status.codels_stats)
    server.feature(status.ACCEPTANCE)(status.codels_acceptance)
    server.feature(explain.EXPLAIN)(explain.codels_explain)
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(
        inline.text_document_inline_completion
    )
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=code_actions.ACTION_KINDS, resolve_provider=True),
    )(code_actions.text_document_code_action)
    server.feature(types.CODE_ACTION_RESOLVE)(code_actions.code_action_resolve)
    # pygls resolves a command handler's annotations, and the handlers name this class for
    # type checking only: register plain adapters.
    server.command(acceptance.ACCEPTED)(lambda ls, *args: acceptance.codels_accepted(ls, *args))
    server.command(acceptance.ACCEPTED_PART)(
        lambda ls, *args: acceptance.codels_accepted_part(ls, *args)
    )
    server.feature(types.SHUTDOWN)(lifecycle.shutdown)
    return server
