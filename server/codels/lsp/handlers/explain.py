"""``codels/explain``: a short explanation, from the model, of the selected code or a function.

Parameters: ``{"textDocument": {"uri"}, "range": {"start", "end"}}``; an empty range explains
the function around its start. The answer is ``{"markdown", "title", "subject", "name",
"range", "model", "generatedTokens", "totalMs", "truncated"}``, with ``range`` the code
explained, for the editor to show beside it; nothing is edited. It runs with work-done progress;
``$/cancelRequest`` stops the generation within a token. A request that cannot be answered gets
an LSP error (``RequestFailed``, or ``InvalidParams`` for parameters it cannot read) whose
message says what to do. This module imports pygls's errors, lsprotocol, :mod:`codels.lsp.model`,
:mod:`codels.lsp.protocol`, the actions' explanation and errors, and positions.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from codels.actions.errors import ActionError
from codels.actions.explain import Explanation
from codels.lsp.model import ModelState
from codels.lsp.protocol import plain_params
from codels.positions import LineIndex, PositionEncoding, PositionError

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

log = logging.getLogger(__name__)

EXPLAIN = "codels/explain"
"""Custom request: explain the code in a range (or the function at a position)."""
TITLE = "Explain this function"

_converter = get_converter()


def read_params(params: Any) -> tuple[str, types.Range]:
    """The document URI and range of a ``codels/explain`` request."""
    raw = plain_params(params)
    try:
        uri = _converter.structure(raw["textDocument"], types.TextDocumentIdentifier).uri
        where = _converter.structure(raw["range"], types.Range)
    except Exception as exc:  # KeyError, TypeError, cattrs' errors: all mean unreadable
        raise JsonRpcInvalidParams(
            'codels: codels/explain takes {"textDocument": {"uri": ...}, "range": {"start": '
            '{"line", "character"}, "end": {...}}}'
        ) from exc
    return uri, where


def failed(message: str) -> JsonRpcException:
    """The LSP error for an explanation that could not be made (``RequestFailed``)."""
    return JsonRpcException(message, code=types.LSPErrorCodes.RequestFailed)


async def codels_explain(ls: CodelsLanguageServer, params: Any) -> dict[str, Any]:
    """``codels/explain``: the model's explanation of the code at the request's range."""
    uri, where = read_params(params)
    document, why = await ls.workable_document(uri)
    if document is None:
        raise failed(f"codels cannot explain code in {uri.rsplit('/', 1)[-1]}: {why}")
    if ls.model.state is not ModelState.READY:
        raise failed(f"codels: the model is {ls.model.state.value}; try again once it is ready")
    encoding = ls.client.position_encoding
    try:
        start = document.lines.offset_at(where.start.line, where.start.character, encoding)
        end = document.lines.offset_at(where.end.line, where.end.character, encoding)
    except PositionError as exc:
        raise JsonRpcInvalidParams(
            f"codels: the range lies outside {uri} ({exc}); the editor and codels may be out "
            "of sync: reopen the file"
        ) from exc
    snapshot = document.snapshot(around=start)
    token = await ls.begin_progress(f"codels: {TITLE}")
    message = "done"
    try:
        if token is not None:
            ls.work_done_progress.report(
                token, types.WorkDoneProgressReport(message="asking the model")
            )
        explanation = await ls.actions.explain(snapshot, start, end, ls.settings)
    except ActionError as exc:
        message = "failed"
        log.warning("explain: %s", exc)
        raise failed(f"codels could not explain the code: {exc}") from exc
    except asyncio.CancelledError:
        message = "cancelled"
        log.info("explain cancelled: generation stopped")
        raise
    finally:
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
    return answer(ls, explanation, snapshot.lines, encoding)


def answer(
    ls: CodelsLanguageServer,
    explanation: Explanation,
    lines: LineIndex,
    encoding: PositionEncoding,
) -> dict[str, Any]:
    """The JSON answer: the Markdown, what was explained and where, and what it cost."""
    target = explanation.target
    start_line, start_character = lines.position_at(target.start, encoding)
    end_line, end_character = lines.position_at(target.end, encoding)
    info = ls.engine.info
    title = f"Explanation of `{target.name}`" if target.name else "Explanation of the selection"
    return {
        "markdown": explanation.markdown,
        "title": title,
        "subject": target.subject,
        "name": target.name,
        "range": {
            "start": {"line": start_line, "character": start_character},
            "end": {"line": end_line, "character": end_character},
        },
        "model": info.name if info is not None else None,
        "generatedTokens": explanation.generated_tokens,
        "totalMs": round(explanation.total_ms),
        "truncated": explanation.truncated,
    }
