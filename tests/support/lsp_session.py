"""Helpers for LSP sessions (server tests, end-to-end tests and the latency probe).

They take pytest-lsp's ``LanguageClient`` (the latency probe uses it outside pytest too).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

FAKE_SERVER = str(Path(__file__).parent / "fake_server.py")
"""The codels server on the fake engine (tests/support/fake_server.py)."""


def fake_server(**env: str) -> ClientServerConfig:
    """pytest-lsp's configuration for the fake-engine server, ``env`` added to its environment."""
    return ClientServerConfig(server_command=[sys.executable, FAKE_SERVER], server_env=env)


def capabilities(
    *, inline: bool = True, progress: bool = True, client: str = "visual-studio-code"
) -> types.ClientCapabilities:
    """A real client's recorded capabilities, with or without inline completion."""
    caps = client_capabilities(client)
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
    client_name: str = "visual-studio-code",
) -> types.InitializeResult:
    """Open a session; ``options`` become ``initializationOptions``."""
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(inline=inline, progress=progress, client=client_name),
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


def replace_text(
    client: LanguageClient,
    uri: str,
    version: int,
    start: types.Position,
    text: str,
    end: types.Position | None = None,
) -> None:
    """Send ``textDocument/didChange`` replacing start..end (default: insert at start)."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=start, end=end or start), text=text
                )
            ],
        )
    )


def inline_params(
    uri: str,
    position: types.Position,
    trigger: types.InlineCompletionTriggerKind = types.InlineCompletionTriggerKind.Automatic,
) -> types.InlineCompletionParams:
    """Parameters of an inline completion request."""
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position,
        context=types.InlineCompletionContext(trigger_kind=trigger),
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
    result = await client.text_document_inline_completion_async(inline_params(uri, position))
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


def apply_edit(text: str, edit: types.WorkspaceEdit, uri: str) -> str:
    """The text of ``uri`` after the workspace ``edit`` (its text edits for that document)."""
    lines = text.split("\n")
    edits = []
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri:
            edits.extend(change.edits)
    edits.extend((edit.changes or {}).get(uri, []))
    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        start, end = e.range.start, e.range.end
        before = "\n".join([*lines[: start.line], lines[start.line][: start.character]])
        after = "\n".join([lines[end.line][end.character :], *lines[end.line + 1 :]])
        lines = (before + e.new_text + after).split("\n")
    return "\n".join(lines)
