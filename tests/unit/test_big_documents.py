"""Big and strange documents over the wire: positions stay right, context stays quick.

The real server with the fake engine: a 10 MB Python file, a single 1 MB line, tabs and mixed
indentation, CRLF line endings and characters outside the Basic Multilingual Plane before the
cursor. Every inline completion must come back at exactly the position asked for (UTF-16, as
the client negotiated). The test prints how long the answers after a keystroke take on the
10 MB file (context, prompt and the fake engine), without asserting a speed.
"""

from __future__ import annotations

import time

import pytest
from wire import WireClient, start_fake_server

FUNCTION = 'def f{n}(values):\n    """Sum the values."""\n    total = 0\n    return total\n\n\n'


@pytest.fixture(scope="module")
def server():
    client = start_fake_server(CODELS_FAKE_RESPONSE="return 42\n")
    yield client
    client.close()


def complete_at(client: WireClient, uri: str, line: int, character: int) -> list[dict]:
    answer = client.call(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1},
        },
        timeout=120,
    )
    assert "result" in answer, answer
    items = answer["result"]["items"]
    for item in items:
        position = {"line": line, "character": character}
        assert item["range"] == {"start": position, "end": position}
    return items


def open_document(client: WireClient, uri: str, text: str) -> None:
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )


def type_text(client: WireClient, uri: str, version: int, line: int, character: int, text: str):
    position = {"line": line, "character": character}
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": position, "end": position}, "text": text}],
        },
    )


def test_a_10_mb_file_completes_at_the_right_place(server: WireClient):
    body = "".join(FUNCTION.format(n=n) for n in range(130_000))
    text = body + "\n\ndef last(values):\n    \n"
    assert len(text.encode()) >= 10_000_000
    uri = "file:///big/ten_mb.py"
    open_document(server, uri, text)
    line = text.count("\n") - 1
    assert complete_at(server, uri, line, 4)  # the first answer waits for the model
    timings = []
    for version in range(2, 7):  # typing on at the end of the 10 MB file
        type_text(server, uri, version, line, 4 + version - 2, "x")
        started = time.perf_counter()
        complete_at(server, uri, line, 5 + version - 2)
        timings.append((time.perf_counter() - started) * 1000)
    print(f"\n10 MB file: answers after a keystroke in {[round(t) for t in timings]} ms")


def test_a_single_1_mb_line(server: WireClient):
    line = "data = [" + ", ".join(str(n) for n in range(150_000))
    uri = "file:///big/one_line.py"
    open_document(server, uri, line)
    started = time.perf_counter()
    complete_at(server, uri, 0, len(line))
    print(f"\n1 MB line: answered in {(time.perf_counter() - started) * 1000:.0f} ms")


@pytest.mark.parametrize(
    ("name", "text", "line", "character"),
    [
        ("tabs", "class A:\n\tdef f(self):\n\t\t\n", 2, 2),
        ("mixed", "def f():\n    if x:\n\ty = 1\n    \n", 3, 4),
        ("crlf", "def f(x):\r\n    y = x\r\n    \r\n", 2, 4),
        # 😀 and 𝄞 are two UTF-16 units each: character 13 is after "    s = '😀𝄞'".
        ("non_bmp", "def f():\n    s = '😀𝄞'\n    \n", 1, 13),
        ("non_bmp_mid", "def f():\n    s = '😀𝄞' + \n", 1, 16),
    ],
)
def test_strange_text_keeps_positions(server: WireClient, name, text, line, character):
    uri = f"file:///strange/{name}.py"
    open_document(server, uri, text)
    complete_at(server, uri, line, character)
