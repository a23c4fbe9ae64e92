"""The bench's "suggestions accepted": Tab runs ``codels.accepted``, the server says if counted."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest_lsp
from lsp_session import capabilities, open_document, position_of
from lsprotocol import types
from pygls.lsp.client import LanguageClient as PyglsClient
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.tools import bench
from codels.tools.replay import Keystroke, Session

FAKE_SERVER = str(Path(__file__).parents[1] / "support" / "fake_server.py")
URI = "file:///bench/shop.py"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, FAKE_SERVER],
        server_env={"CODELS_FAKE_RESPONSE": "return sum(items)\n"},
    )
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(),
            initialization_options={"codels": {"keepAcceptanceStats": False}},
        )
    )
    for _ in range(100):  # the fake model loads at once, but in the background
        if (await lsp_client.protocol.send_request_async("codels/status", {})).model == "ready":
            break
        await asyncio.sleep(0.05)
    yield
    await lsp_client.shutdown_session()


async def answered(client: LanguageClient, text: str) -> bench.Request:
    """A replayed request at the cursor marker of ``text``, settled as the bench settles it."""
    source, position = position_of(text, "█")
    open_document(client, URI, source)
    record = bench.Request("shop.py", 0, time.monotonic())
    _, sent = bench._request_inline_completion(client, URI, position)
    future = asyncio.ensure_future(sent)  # pytest-lsp's client hands back a coroutine
    await asyncio.wait_for(asyncio.shield(future), timeout=30)
    bench._settle(future, record)
    return record


async def test_an_accept_with_tab_runs_codels_accepted_and_the_server_counts_it(
    client: LanguageClient,
):
    record = await answered(client, "def total(items):\n    █\n")
    assert record.text == "return sum(items)"
    assert record.command is not None and record.command.command == "codels.accepted"
    assert await bench.accept_with_tab(client, record) is True
    assert record.tab and record.accepted
    # A suggestion the server no longer remembers is sent, but not counted.
    forgotten = bench.Request("shop.py", 1, time.monotonic(), answered=time.monotonic())
    forgotten.command = types.Command(
        title="codels: accepted", command="codels.accepted", arguments=[{"id": "s999"}]
    )
    assert await bench.accept_with_tab(client, forgotten) is False
    assert forgotten.tab and not forgotten.accepted
    # No suggestion, nothing to accept.
    empty = bench.Request("shop.py", 2, time.monotonic())
    assert await bench.accept_with_tab(client, empty) is False and not empty.tab

    figures = bench.RunFigures("codels", requests=[record, forgotten, empty])
    summary = figures.summary()
    assert (summary["tab_accepts"], summary["accepted"]) == (2, 1)
    assert summary["shown"] == 1 and summary["accepted_rate"] == 1.0


async def test_the_replay_presses_tab_only_on_a_suggestion_that_is_what_was_typed_next():
    # The bench's own client (pygls's), as ``codels bench`` drives the real server.
    start = "def total(items):"
    session = Session(
        "shop.py",
        start,
        start + "\n    return sum(items)",
        (
            # Enter, then a pause: the suggestion "return sum(items)" is what comes next.
            Keystroke(len(start), "\n    ", 0.0),
            # The line typed at once, then a pause: nothing is left on the line to accept.
            Keystroke(len(start) + 5, "return sum(items)", 0.6),
        ),
    )
    figures = bench.RunFigures("codels")
    client = PyglsClient("bench-test", "0")
    env = {**os.environ, "CODELS_FAKE_RESPONSE": "return sum(items)\n"}
    await client.start_io(sys.executable, FAKE_SERVER, env=env)
    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=capabilities(),
                initialization_options={"codels": {"keepAcceptanceStats": False}},
            )
        )
        client.initialized(types.InitializedParams())
        await bench._wait_until_ready(client, timeout=30)
        await bench._replay_session(client, session, 0.05, figures)
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()  # type: ignore[no-untyped-call]
    first, last = figures.requests
    assert first.text == "return sum(items)" and first.tab and first.accepted
    assert (first.kind, last.kind) == ("new line", "after accept")
    assert last.answered is not None and not last.tab and not last.accepted
    summary = figures.summary()
    assert (summary["tab_accepts"], summary["accepted"]) == (1, 1)


def report_with(codels: dict[str, object]) -> str:
    run = {
        "requests": 4, "answered": 4, "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 30.0,
        "shown": 4, "shown_p50_ms": 10.0, "shown_p95_ms": 20.0, "useful_rate": 0.5,
    }  # fmt: skip
    figures = {
        "replay": {"keystrokes": 10, "files": ["a.py"], "typed_seconds": 1.0},
        "model": {"name": "fake", "threads": 2},
        "runs": {"codels": {**run, **codels}},
    }
    return bench.format_report(figures)


def test_the_report_tells_the_suggestions_accepted_when_tab_was_replayed():
    text = report_with({"tab_accepts": 3, "accepted": 3, "accepted_rate": 0.75})
    assert (
        "suggestions accepted with Tab: 3 of 4 shown (75.0%; counted by the server's "
        "codels.accepted, 3 Tab presses)"
    ) in text
    assert "accepted with Tab" not in report_with({"tab_accepts": 0, "accepted": 0})
