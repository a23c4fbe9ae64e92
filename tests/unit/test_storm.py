"""A keystroke storm over the wire: no stale suggestion, bounded memory, still completing after.

A scripted client sends 1,000 keystrokes as fast as it can (a character typed, then rubbed
out, so the document's size stays the same), each an edit plus an inline completion request,
cancelling every other request. The fake engine is slow on purpose (each
answer takes seconds), so every request but the last is overtaken by the next keystroke: its
answer must be empty (or a cancellation), never a suggestion for a document that has moved on.
The server's resident memory after the storm must be within 5 % of before (two warm-up storms
of the same size run first, so that caches and allocator pools filling up once are not
counted).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wire import WireClient, start_fake_server

URI = "file:///storm/typing.py"
KEYS = 1000


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def server():
    client = start_fake_server(
        CODELS_FAKE_TOKEN_DELAY="0.05",
        CODELS_FAKE_RESPONSE="total = " + " + ".join(f"x{i}" for i in range(12)) + "\n",
    )
    yield client
    client.close()


def storm(client: WireClient, keys: int, version: int, line: int) -> tuple[int, list[int]]:
    """Type and rub out a character on ``line``, ``keys`` times in all, asking after each.

    The document ends as it began, so that its memory is the same before and after.
    """
    ids = []
    for key in range(keys):
        version += 1
        typing = key % 2 == 0
        start = {"line": line, "character": 4}
        end = start if typing else {"line": line, "character": 5}
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [
                    {"range": {"start": start, "end": end}, "text": "a" if typing else ""}
                ],
            },
        )
        ids.append(
            client.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": URI},
                    "position": {"line": line, "character": 5 if typing else 4},
                    "context": {"triggerKind": 2},
                },
            )
        )
        if len(ids) % 2 == 0:
            client.notify("$/cancelRequest", {"id": ids[-2]})
    return version, ids


def test_a_keystroke_storm_leaves_no_stale_answer_and_no_memory_behind(server: WireClient):
    text = "def f():\n    \n\ndef g():\n    \n\ndef h():\n    \n"
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": text}},
    )
    version = 1
    for line in (1, 4):  # warm-up: caches and allocator pools fill once
        version, warm_ids = storm(server, KEYS, version, line=line)
        assert not server.wait_for(warm_ids, timeout=300)
    before = rss_kib(server.process.pid)

    version, ids = storm(server, KEYS, version, line=7)
    assert not server.wait_for(ids, timeout=300), "requests of the storm never answered"
    stale = [
        server.answers[i]
        for i in ids[:-1]
        if server.answers[i].get("result", {}).get("items")  # an error is a cancellation
    ]
    assert stale == [], f"{len(stale)} suggestions for versions that had moved on"
    after = rss_kib(server.process.pid)
    assert server.process.poll() is None
    assert after <= before * 1.05, f"resident memory grew from {before} KiB to {after} KiB"

    # Once typing stops, the suggestion comes.
    answer = server.call(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": URI},
            "position": {"line": 7, "character": 4},
            "context": {"triggerKind": 1},
        },
    )
    assert answer["result"]["items"], answer
    print(f"\nstorm: {KEYS} keystrokes, RSS {before} KiB before, {after} KiB after")
