"""Completion handlers: ``textDocument/inlineCompletion``, and ``textDocument/completion``.

``textDocument/completion`` serves clients without inline completion: one item holding the
whole suggestion. Both go through :func:`complete_at`: the shared document check, then the
completion service on an immutable snapshot; an answer for a document that moved on meanwhile
is dropped. This module imports lsprotocol, :mod:`codels.lsp.model`, the completion outcome,
documents, models and positions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from codels.completion.outcome import CompletionOutcome
from codels.documents import Document
from codels.lsp.handlers.acceptance import accepted_command
from codels.lsp.model import ModelState
from codels.models.catalogue import ModelError
from codels.positions import PositionEncoding, PositionError, units_in

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

log = logging.getLogger(__name__)


async def text_document_inline_completion(
    ls: CodelsLanguageServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList:
    """The suggestion at the cursor as ghost text (no items when there is none).

    An explicit request (``Invoked``: a key, or a client about to cycle) gets up to
    ``invokedSuggestions`` different items; an automatic one gets one.
    """
    automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    more = 0 if automatic else ls.settings.invoked_suggestions - 1
    outcome, why, others = await complete_at(
        ls, params.text_document.uri, params.position, automatic=automatic, more=more
    )
    texts = [text for text in [outcome.text if outcome else "", *others] if text]
    if not texts:
        log.debug("no inline completion: %s", why)
        return types.InlineCompletionList(items=[])
    uri = params.text_document.uri
    cursor = types.Range(start=params.position, end=params.position)
    document = ls.documents.get(uri)
    language = document.language_id if document is not None else ""
    # The rest of a suggestion typed into, or the same one again: not a new one shown; nor is
    # a block shown early coming back with more lines (from the same generation).
    source = outcome.source if outcome is not None else ""
    again = source in ("typed-ahead", "cache")
    grows = source in ("early", "continued")
    ids = [
        ls.offered.offer(
            uri, language, text, continues=again and index == 0, grows=grows and index == 0
        )
        for index, text in enumerate(texts)
    ]
    first = ls.offered.get(ids[0])
    if first is not None and first.root == ids[0]:
        ls.acceptance.shown(first)
    items = [
        types.InlineCompletionItem(
            insert_text=text, range=cursor, command=accepted_command(suggestion_id)
        )
        for text, suggestion_id in zip(texts, ids, strict=True)
    ]
    return types.InlineCompletionList(items=items)


async def text_document_completion(
    ls: CodelsLanguageServer, params: types.CompletionParams
) -> types.CompletionList:
    """The suggestion as one completion item that replaces the word typed so far."""
    empty = types.CompletionList(is_incomplete=False, items=[])
    # Menus ask with Invoked as the person types too, so only what says otherwise is automatic.
    automatic = (
        params.context is not None
        and params.context.trigger_kind != types.CompletionTriggerKind.Invoked
    )
    outcome, why, _ = await complete_at(
        ls, params.text_document.uri, params.position, automatic=automatic
    )
    document = ls.documents.get(params.text_document.uri)
    if outcome is None or not outcome.text or document is None:
        log.debug("no completion item: %s", why)
        return empty
    item = _completion_item(document, params.position, outcome.text, ls.client.position_encoding)
    return types.CompletionList(is_incomplete=False, items=[item])


def _completion_item(
    document: Document, position: types.Position, text: str, encoding: PositionEncoding
) -> types.CompletionItem:
    line = document.lines.line_text(position.line)
    offset = document.lines.offset_at(position.line, position.character, encoding)
    column = offset - document.lines.starts[position.line]
    word_start = column
    while word_start > 0 and (line[word_start - 1].isalnum() or line[word_start - 1] == "_"):
        word_start -= 1
    typed = line[word_start:column]
    # The item replaces the word typed so far, so that clients filter and sort it as one.
    new_text = typed + text
    first_line = new_text.split("\n", 1)[0].strip()
    label = first_line if len(first_line) <= 60 else first_line[:59] + "…"
    if "\n" in text:
        label += " …"
    start = types.Position(
        line=position.line, character=position.character - units_in(typed, encoding)
    )
    # The code block is tagged with the language's name, for the client's highlighting.
    fence = document.language.name if document.language is not None else ""
    return types.CompletionItem(
        label=label or new_text.strip()[:60],
        kind=types.CompletionItemKind.Text,
        detail="codels",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"```{fence}\n{new_text}\n```"
        ),
        filter_text=new_text,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        insert_text_mode=types.InsertTextMode.AsIs,
        text_edit=types.TextEdit(range=types.Range(start=start, end=position), new_text=new_text),
    )


async def complete_at(
    ls: CodelsLanguageServer,
    uri: str,
    position: types.Position,
    *,
    automatic: bool = False,
    more: int = 0,
) -> tuple[CompletionOutcome | None, str, list[str]]:
    """Complete at an LSP position: the outcome (None if not attempted), why, and others.

    ``automatic``: the editor asked by itself, as the person typed (see ``triggerMode``).
    ``more``: how many other suggestions to look for besides the first (for cycling).
    """
    ls.prefills.requested(uri, position)
    document, why_not = await ls.workable_document(uri, offering_completions=True)
    if document is None:
        return None, why_not, []
    if ls.model.state is not ModelState.READY:
        return None, f"model {ls.model.state.value}", []
    try:
        offset = document.lines.offset_at(
            position.line, position.character, ls.client.position_encoding
        )
    except PositionError as exc:
        log.warning("%s: %s", uri, exc)
        return None, str(exc), []
    snapshot = document.snapshot(around=offset)
    others: list[str] = []
    try:
        outcome = await ls.completions.complete(snapshot, offset, ls.settings, automatic=automatic)
        if more > 0 and outcome.source != "none":
            others = await ls.completions.alternatives(
                snapshot, offset, ls.settings, outcome.text, more
            )
    except (ModelError, RuntimeError) as exc:
        log.warning("%s: no completion: %s", uri, exc)
        return None, str(exc), []
    except Exception:
        log.exception("completion failed at %s:%d:%d", uri, position.line, position.character)
        return None, "internal error (see the log)", []
    current = ls.documents.get(uri)
    if current is None or current.version != snapshot.version:
        return None, "the document changed while generating", []
    if ls.settings.log_document_text:
        where = f"{uri}:{position.line}:{position.character}"
        log.info("completion at %s: %r (and %r)", where, outcome.text, others)
    return outcome, outcome.note, others
