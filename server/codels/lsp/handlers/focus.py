"""Prefill on open and focus: the prompt at a document's cursor evaluated while the person reads.

A newly opened file, or one switched back to, would otherwise wait for its whole prompt to be
evaluated at the first pause (seconds for a long file on a laptop CPU). ``textDocument/didOpen``
and codels's ``codels/didFocus`` notification (sent by the editors when a document becomes the
active one, with its cursor) schedule :meth:`~codels.completion.service.CompletionService.prefill`
after a short quiet time; a newer open or focus replaces it, and a completion request for the
document drops it, as the engine stops a running one for any request. The ``prefillOnOpen``
setting turns it off. This module imports lsprotocol, :mod:`codels.config`, :mod:`codels.lsp.model`,
:mod:`codels.lsp.protocol` and :mod:`codels.positions` (the server only for type checking).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from lsprotocol.converters import get_converter

from codels.config import MANUAL
from codels.lsp.model import ModelState
from codels.lsp.protocol import plain_params
from codels.positions import PositionError

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

log = logging.getLogger(__name__)

DID_FOCUS = "codels/didFocus"
"""Client notification: ``{"textDocument": {"uri"}, "position"?: Position}``, the document the
person now looks at and where the cursor is."""

QUIET_SECONDS = 0.15
"""Wait this long after an open or focus before evaluating: switching through files quickly, or
typing at once, costs nothing."""

_converter = get_converter()


class Prefills:
    """The one background prefill a server has pending or running, and each document's cursor."""

    def __init__(self, server: CodelsLanguageServer) -> None:
        self._server = server
        self._task: asyncio.Task[None] | None = None
        self._task_uri = ""
        self._cursors: dict[str, types.Position] = {}

    def schedule(self, uri: str, position: types.Position | None = None) -> None:
        """Prefill ``uri`` at ``position`` (else its last known cursor, else its start) soon."""
        if position is not None:
            self._cursors[uri] = position
        if not self._server.settings.prefill_on_open:
            return
        self._drop()
        where = self._cursors.get(uri, types.Position(line=0, character=0))
        self._task = asyncio.ensure_future(self._prefill(uri, where))
        self._task_uri = uri

    def requested(self, uri: str, position: types.Position) -> None:
        """A completion was asked for at ``position``: remember it, and drop a pending prefill."""
        self._cursors[uri] = position
        if self._task_uri == uri:
            self._drop()

    def forget(self, uri: str) -> None:
        """The document closed."""
        self._cursors.pop(uri, None)
        if self._task_uri == uri:
            self._drop()

    def _drop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._task_uri = ""

    async def _prefill(self, uri: str, position: types.Position) -> None:
        await asyncio.sleep(QUIET_SECONDS)
        ls = self._server
        if ls.model.state is not ModelState.READY or ls.settings.trigger_mode == MANUAL:
            return  # manual: the model runs only when asked
        document, why = await ls.workable_document(uri, offering_completions=True)
        if document is None:
            log.debug("no prefill for %s: %s", uri, why)
            return
        try:
            offset = document.lines.offset_at(
                position.line, position.character, ls.client.position_encoding
            )
        except PositionError:
            offset = 0  # a stale cursor (the document is shorter now): its start
        snapshot = document.snapshot(around=offset)
        try:
            result = await ls.completions.prefill(snapshot, offset, ls.settings)
        except Exception as exc:  # a courtesy: never worth an error the person sees
            log.info("prefill of %s failed: %s", uri, exc)
            return
        if result is not None:
            log.info(
                "%s prefill: prompt %d tokens (%d reused), %.0f ms, %s",
                uri.rsplit("/", 1)[-1],
                result.prompt_tokens,
                result.cached_tokens,
                result.total_ms,
                "stopped" if result.cancelled else "done",
            )


def read_params(params: Any) -> tuple[str, types.Position | None]:
    """The URI and, if given, the cursor of a ``codels/didFocus`` notification."""
    raw = plain_params(params)
    uri = _converter.structure(raw["textDocument"], types.TextDocumentIdentifier).uri
    position = raw.get("position")
    return uri, None if position is None else _converter.structure(position, types.Position)


def codels_did_focus(ls: CodelsLanguageServer, params: Any) -> None:
    """``codels/didFocus``: the person looks at this document now; prefill at its cursor."""
    try:
        uri, position = read_params(params)
    except Exception as exc:  # KeyError, TypeError, cattrs' errors: a notification gets no answer
        log.warning(
            'codels/didFocus takes {"textDocument": {"uri": ...}, "position"?: {...}}: %s', exc
        )
        return
    ls.prefills.schedule(uri, position)
