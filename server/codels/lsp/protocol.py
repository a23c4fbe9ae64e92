"""The JSON-RPC layer, hardened: every request gets an answer, garbage never reaches the user.

A request that cannot be read is answered with ``InvalidParams`` or ``InvalidRequest``, bytes
that are not JSON with a ``ParseError`` for id null, and neither shows a pop-up (they are the
client's bugs). pygls's own copy of open documents is skipped, and two of its leaks plugged.
This module imports pygls and lsprotocol.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.progress import Progress
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)


def plain_params(value: Any) -> Any:
    """A custom method's parameters as dicts and lists (pygls hands them over as namedtuples)."""
    if hasattr(value, "_asdict"):
        return {key: plain_params(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: plain_params(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_params(item) for item in value]
    return value


class _Answered:
    """Stands in for a message that was already answered with an error: nothing more to do."""


ANSWERED = _Answered()


class _Progress(Progress):
    """pygls's progress, forgetting a token once its progress ends."""

    def end(self, token: Any, value: Any) -> None:
        """Notify the end of work and drop the token."""
        self.tokens.pop(token, None)
        super().end(token, value)


class CodelsProtocol(LanguageServerProtocol):
    """pygls's LSP protocol, answering every request it cannot read with an error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress = _Progress(self)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Callable[..., Any],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        # pygls keeps the future of every notification handled by a coroutine or a generator
        # (didOpen, didChange, ...) under a fresh uuid forever: a server running for days feels it.
        if callback == self._check_handler_result:  # a notification: nobody can cancel it
            futures = self._request_futures
            check = callback

            def forget_then_check(future: Any) -> None:
                futures.pop(msg_id, None)
                check(future)

            super()._execute_handler(msg_id, handler, forget_then_check, args, kwargs)
            return
        super()._execute_handler(msg_id, handler, callback, args, kwargs)

    # codels's DocumentStore follows the documents: pygls's workspace copy is skipped (it splits
    # the whole text into lines on every change, which a keystroke in a big file feels).

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Any:
        """Hand ``didOpen`` to codels's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        """Hand ``didChange`` to codels's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        """Hand ``didClose`` to codels's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Read a message (pygls calls this for every JSON object); answer what fails."""
        # pygls answers a request whose parameters it cannot read with nothing at all, and the
        # editor waits forever.
        if "jsonrpc" not in data:
            return data  # a nested object, or a message without "jsonrpc" (see handle_message)
        if data.get("jsonrpc") != "2.0":
            return self._refuse(data, JsonRpcInvalidRequest('"jsonrpc" must be "2.0"'))
        if "method" in data and "params" not in data:
            data = {**data, "params": None}  # params are optional in JSON-RPC 2.0
        try:
            message = super().structure_message(data)
        except JsonRpcException as error:
            method = data.get("method")
            text = f"the parameters of {method!r} could not be read" if method else str(error)
            return self._refuse(data, JsonRpcInvalidParams(text))
        if "id" in data and "method" in data and not hasattr(message, "id"):
            return self._refuse(
                data, JsonRpcInvalidRequest(f"{data['method']!r} is a notification")
            )
        return message

    def handle_message(self, message: Any) -> None:
        """Handle a read message; answer a top-level object that is no JSON-RPC message."""
        if message is ANSWERED:
            return
        if isinstance(message, dict):
            self._refuse(message, JsonRpcInvalidRequest("not a JSON-RPC 2.0 message"))
            return
        if not hasattr(message, "jsonrpc"):
            # A JSON value that is not an object (a number, a list, a string).
            self._refuse({}, JsonRpcInvalidRequest("not a JSON-RPC 2.0 message"))
            return
        super().handle_message(message)

    def _refuse(self, data: dict[str, Any], error: JsonRpcException) -> _Answered:
        msg_id = data.get("id")
        method = data.get("method")
        log.warning(
            "refused a message%s%s: %s",
            f" (id {msg_id!r})" if isinstance(msg_id, int | str) else "",
            f" for {method!r}" if isinstance(method, str) and len(method) < 100 else "",
            error.message,
        )
        if "method" in data and "id" not in data:
            return ANSWERED  # a notification: there is no one to answer
        if "result" in data or "error" in data:
            return ANSWERED  # a response of the client's: never answer a response
        answer_id = (
            msg_id if isinstance(msg_id, int | str) and not isinstance(msg_id, bool) else None
        )
        self._send_response(answer_id, None, error.to_response_error())  # type: ignore[arg-type]
        return ANSWERED

    def answer_unreadable(self, error: BaseException) -> None:
        """Answer a message that is not JSON at all (a JSON-RPC parse error, id null)."""
        log.warning("refused a message that is not UTF-8 JSON: %s", error)
        self._send_response(None, None, JsonRpcParseError().to_response_error())  # type: ignore[arg-type]


def is_unreadable(error: BaseException) -> bool:
    """Whether ``error`` says that a message's bytes were not JSON (or not text)."""
    return isinstance(error, json.JSONDecodeError | UnicodeDecodeError | RecursionError)
