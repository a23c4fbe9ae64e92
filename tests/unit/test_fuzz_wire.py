"""Fuzzed LSP input over the wire: every request answered, no crash, no hang, still completing.

The real server runs over stdio with the fake engine (tests/support/fake_server.py), so that the
fuzzing exercises the protocol, documents, positions, settings and the completion path, not the
model's speed. Hypothesis draws batches of messages: malformed JSON and invalid UTF-8, wrong
types, unknown methods, positions and ranges out of bounds, edits against the wrong version,
documents never opened, enormous lines, lone surrogates, settings of every shape. After each
batch, every request in it must have an answer (a result or an LSP error), and the server must
still be running; after all of them, it must still complete correctly.

CODELS_FUZZ_MESSAGES sets how many messages are sent (default 10,000; the long mode in the
README sends 200,000); the draw is the same every run unless CODELS_FUZZ_RANDOM=1.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire import WireClient, start_fake_server

TARGET = int(os.environ.get("CODELS_FUZZ_MESSAGES", "10000"))
BATCH = 40
URIS = ["file:///fuzz/a.py", "file:///fuzz/b.py", "file:///fuzz/c.txt", "file:///never/opened.py"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
any_text = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=80
)
code_text = st.one_of(
    any_text,
    st.sampled_from(
        ["def f(x):\n    ", "class A:\n\tdef g(self):\r\n\t\t", "x = 1\r\n", "😀𝄞\n    "]
    ),
    st.integers(1_000, 300_000).map(lambda n: "y" * n),  # an enormous line
    st.lists(
        st.sampled_from(["def f():", "    pass", "\t", "   x = (", "😀", "\ud800"]), max_size=30
    ).map("\n".join),
)
numbers = st.one_of(
    st.integers(0, 40), st.integers(-(2**31), 2**31), st.just(2**53), st.text(max_size=3), st.none()
)
positions = st.fixed_dictionaries({"line": numbers, "character": numbers}) | json_values
ranges = st.fixed_dictionaries({"start": positions, "end": positions})
uris = st.sampled_from(URIS) | st.text(max_size=20) | st.integers()
versions = st.integers(-3, 10_000) | st.none() | st.text(max_size=2)


def maybe_broken(params: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The well-shaped params most of the time, any JSON value sometimes."""
    return st.one_of(params, params, params, json_values)


did_open = st.builds(
    lambda uri, language, version, text: (
        "notify",
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}},
    ),
    uris,
    st.sampled_from(["python", "plaintext", ""]) | st.integers(),
    versions,
    code_text,
)
did_change = st.builds(
    lambda uri, version, changes: (
        "notify",
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
    ),
    uris,
    versions,
    st.lists(
        st.fixed_dictionaries({"range": ranges, "text": code_text})
        | st.fixed_dictionaries({"text": code_text})
        | json_values,
        max_size=3,
    ),
)
completion = st.builds(
    lambda method, uri, position, kind: (
        "request",
        method,
        {"textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": kind}},
    ),
    st.sampled_from(["textDocument/inlineCompletion", "textDocument/completion"]),
    uris,
    positions,
    st.sampled_from([1, 2]) | numbers,
)
configuration = st.builds(
    lambda settings: ("notify", "workspace/didChangeConfiguration", {"settings": settings}),
    json_values
    | st.fixed_dictionaries(
        {
            "codels": st.dictionaries(
                st.sampled_from(
                    ["maxTokens", "enabled", "model", "threads", "ignoreFiles", "timeBudgetMs", "x"]
                ),
                json_values,
                max_size=3,
            )
        }
    ),
)
other = st.one_of(
    st.builds(
        lambda i: ("notify", "$/cancelRequest", {"id": i}), st.integers(0, 10_000) | json_values
    ),
    st.builds(lambda p: ("notify", "textDocument/didClose", {"textDocument": {"uri": p}}), uris),
    st.builds(
        lambda m, p: ("request", m, p),
        st.sampled_from(["codels/status", "codels/stats"]),
        json_values,
    ),
    st.builds(lambda m, p: ("request", m, p), st.text(max_size=30), json_values),
    st.builds(lambda m, p: ("notify", m, p), st.text(max_size=30), json_values),
    st.builds(lambda b: ("raw", b), st.binary(max_size=120)),
    st.builds(
        lambda b: ("raw", b),
        st.sampled_from(
            [
                b"\xff\xfe{}",
                b'{"jsonrpc": "2.0", "id": 1',
                b"[]",
                b"12",
                b'"text"',
                b"null",
                b"[" * 5000,
            ]
        ),
    ),
    st.builds(lambda v: ("value", v), json_values),
)
messages = st.one_of(
    did_open.map(lambda m: (m[0], m[1], m[2])),
    did_change,
    completion,
    completion,
    configuration,
    other,
).flatmap(
    lambda m: (
        st.tuples(st.just(m[0]), st.just(m[1]), maybe_broken(st.just(m[2])))
        if m[0] in ("notify", "request")
        else st.just(m)
    )
)


@pytest.fixture(scope="module")
def server():
    client = start_fake_server(CODELS_FAKE_RESPONSE="return 42\n")
    yield client
    client.close()


def send_batch(client: WireClient, batch: list[tuple[Any, ...]]) -> list[int]:
    ids = []
    for kind, *rest in batch:
        if kind == "request":
            ids.append(client.request(rest[0], rest[1]))
        elif kind == "notify":
            client.notify(rest[0], rest[1])
        elif kind == "raw":
            client.send_raw(rest[0])
        else:
            client.send(rest[0])
    return ids


@settings(
    max_examples=max(1, TARGET // BATCH),
    deadline=None,
    database=None,
    derandomize=os.environ.get("CODELS_FUZZ_RANDOM") != "1",  # CI runs the same 10,000 messages
    suppress_health_check=list(HealthCheck),
)
@given(batch=st.lists(messages, min_size=BATCH, max_size=BATCH))
def fuzz_batches(server: WireClient, batch: list[tuple[Any, ...]]) -> None:
    ids = send_batch(server, batch)
    ids.append(server.request("codels/status", {}))
    missing = server.wait_for(ids, timeout=120)
    assert server.process.poll() is None, "the server died"
    assert not missing, f"requests never answered: {missing}"
    for msg_id in ids:
        answer = server.answers[msg_id]
        assert ("result" in answer) != ("error" in answer), answer


def test_fuzzed_messages_get_answers_and_the_server_still_completes(server: WireClient):
    fuzz_batches(server)
    assert server.sent >= TARGET
    # The fuzz may have turned completions off or pointed at another model: back to defaults.
    defaults = {"enabled": True, "model": "", "threads": 0, "maxTokens": 128}
    defaults |= {"ignoreFiles": [], "timeBudgetMs": 0}
    server.notify("workspace/didChangeConfiguration", {"settings": {"codels": defaults}})
    for _ in range(200):
        status = server.call("codels/status", {})["result"]
        if status["model"] == "ready" and not status["loading"]:
            break
        time.sleep(0.05)
    text = 'def double(x):\n    """Double x."""\n    \n'
    uri = "file:///fuzz/after.py"
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    answer = server.call(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": 2, "character": 4},
            "context": {"triggerKind": 1},
        },
    )
    assert [item["insertText"] for item in answer["result"]["items"]] == ["return 42"]
    print(f"\nfuzz: {server.sent} messages sent, {len(server.answers)} requests answered")
