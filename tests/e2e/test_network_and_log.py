"""The real server with the real model talks to no one, and keeps document text out of its log.

The server runs with an audit hook (tests/support/audit_sockets) that records every socket
Python opens, and the test polls the process's file descriptors for sockets that native code
(llama.cpp) might open; with the default local backend there must be none of either.
"""

import asyncio
import os
from pathlib import Path

import pytest_lsp
from conftest import codels_command
from lsp_session import (
    initialize,
    inline_items,
    open_document,
    position_of,
    replace_text,
    wait_until_ready,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

SUPPORT = Path(__file__).resolve().parents[1] / "support"
WORK = Path(os.environ.get("TMPDIR", "/tmp")) / f"codels-privacy-{os.getpid()}"
AUDIT_LOG = WORK / "sockets.log"
SERVER_LOG = WORK / "server.log"
MARKER = "zebra_quokka_marker"
SOURCE = f'''def {MARKER}(values: list[int]) -> int:
    """Return the sum of the squares of values."""
    █
'''

WORK.mkdir(parents=True, exist_ok=True)
CONFIG = ClientServerConfig(
    server_command=[codels_command(), "--stdio", "--log-file", str(SERVER_LOG)],
    server_env={
        **os.environ,
        "PYTHONPATH": str(SUPPORT / "audit_sockets"),
        "CODELS_AUDIT_LOG": str(AUDIT_LOG),
    },
)


def inet_sockets(pid: int) -> set[str]:
    """The internet sockets (TCP or UDP, v4 or v6) that process ``pid`` holds open now."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            if len(fields) > 9 and fields[9] in inodes:
                found.add(f"{table} {fields[1]} -> {fields[2]}")
    return found


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    AUDIT_LOG.unlink(missing_ok=True)
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_no_network_and_no_document_text_in_the_log(client: LanguageClient):
    pid = client._server.pid  # type: ignore[union-attr]
    seen: set[str] = set()
    watching = True

    async def watch() -> None:
        while watching:
            seen.update(inet_sockets(pid))
            await asyncio.sleep(0.02)

    watcher = asyncio.ensure_future(watch())
    uri = (WORK / "squares.py").as_uri()
    text, position = position_of(SOURCE, "█")
    open_document(client, uri, text)
    assert await wait_until_ready(client, uri, position), client.messages
    replace_text(client, uri, 2, position, "total = 0\n    ")
    after = types.Position(line=position.line + 1, character=4)
    await inline_items(client, uri, after)
    # A request pygls cannot read, carrying the document's text: its error must not log it.
    client.protocol._send_data(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": 7, "text": SOURCE * 3}},
        }
    )
    await inline_items(client, uri, after)
    watching = False
    await watcher

    assert seen == set(), f"the server opened internet sockets: {seen}"
    events = AUDIT_LOG.read_text() if AUDIT_LOG.exists() else ""
    assert events == "", f"the server used sockets: {events[:500]}"
    log = SERVER_LOG.read_text()
    assert "model ready" in log  # the log is the server's, and it was written
    assert MARKER not in log

    # With the debug setting on, completions are logged with their text.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"logDocumentText": True}})
    )
    replace_text(client, uri, 3, after, "for value in values:\n        ")
    inside = types.Position(line=after.line + 1, character=8)
    assert await wait_until_ready(client, uri, inside)
    await asyncio.sleep(0.5)
    assert "completion at" in SERVER_LOG.read_text()
