"""Document handlers: ``didOpen``, ``didChange`` and ``didClose`` keep codels's document store.

This module imports lsprotocol and :mod:`codels.documents` (the server, whose prefills an open
schedules, only for type checking).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from codels.documents import TextChange

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer


def text_document_did_open(
    ls: CodelsLanguageServer, params: types.DidOpenTextDocumentParams
) -> None:
    """Start following a document, and evaluate the prompt at its start ahead."""
    item = params.text_document
    ls.documents.open(item.uri, item.language_id, item.version, item.text)
    ls.prefills.schedule(item.uri)


def text_document_did_change(
    ls: CodelsLanguageServer, params: types.DidChangeTextDocumentParams
) -> None:
    """Apply the client's edits to the document."""
    changes = [_text_change(change) for change in params.content_changes]
    ls.documents.change(
        params.text_document.uri,
        params.text_document.version,
        changes,
        ls.client.position_encoding,
    )


def text_document_did_close(
    ls: CodelsLanguageServer, params: types.DidCloseTextDocumentParams
) -> None:
    """Forget the document and what the completion service kept for it."""
    ls.documents.close(params.text_document.uri)
    ls.completions.forget(params.text_document.uri)
    ls.prefills.forget(params.text_document.uri)


def _text_change(change: types.TextDocumentContentChangeEvent) -> TextChange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        start, end = change.range.start, change.range.end
        return TextChange(change.text, ((start.line, start.character), (end.line, end.character)))
    return TextChange(change.text)
