"""Helpers for LSP sessions driven by pytest-lsp (shared by server and end-to-end tests)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities


def capabilities(*, inline: bool = True, progress: bool = True) -> types.ClientCapabilities:
    """VS Code-like client capabilities, with or without inline completion."""
    caps = client_capabilities("visual-studio-code")
    if inline:
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    if caps.window is not None:
        caps.window.work_done_progress = progress
    return caps


async def initialize(
    client: LanguageClient,
    *,
    inline: bool = True,
    options: Any = None,
    progress: bool = True,
) -> types.InitializeResult:
    """Open a session; ``options`` become ``initializationOptions``."""
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(inline=inline, progress=progress),
            initialization_options=options,
            client_info=types.ClientInfo(name="pytest-lsp"),
        )
    )


def open_document(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    """Send ``textDocument/didOpen``."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=text
            )
        )
    )


def position_of(text: str, marker: str) -> tuple[str, types.Position]:
    """Remove ``marker`` from ``text``; return the text and the marker's LSP position."""
    before, _, after = text.partition(marker)
    line = before.count("\n")
    column = len(before) - (before.rfind("\n") + 1)
    prefix = before[before.rfind("\n") + 1 :]
    utf16 = len(prefix.encode("utf-16-le")) // 2
    assert column <= utf16
    return before + after, types.Position(line=line, character=utf16)


async def inline_items(
    client: LanguageClient, uri: str, position: types.Position
) -> list[types.InlineCompletionItem]:
    """Ask for inline completions; return the items."""
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )
    if result is None:
        return []
    return list(result.items if isinstance(result, types.InlineCompletionList) else result)


async def wait_until_ready(
    client: LanguageClient, uri: str, position: types.Position, timeout: float = 600
) -> list[types.InlineCompletionItem]:
    """Ask until the model answers (it loads in the background after ``initialized``)."""
    deadline = time.monotonic() + timeout
    while True:
        items = await inline_items(client, uri, position)
        if items or time.monotonic() > deadline:
            return items
        if any(m.type == types.MessageType.Error for m in client.messages):
            return items
        await asyncio.sleep(0.5)
