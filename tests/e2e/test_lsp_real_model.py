"""A real LSP client (pytest-lsp) against ``codels --stdio`` running the default model."""

import asyncio
import time

import pytest
import pytest_lsp
from conftest import codels_command
from lsp_session import (
    initialize,
    inline_items,
    inline_params,
    open_document,
    position_of,
    replace_text,
    wait_until_ready,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.languages.syntax import count_syntax_errors, new_parser

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVER = ClientServerConfig(server_command=[codels_command(), "--stdio"])

EMPTY_BODY = '''import math


def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    █


def main() -> None:
    print(circle_area(2.0))
'''

MID_LINE = '''def greeting(name: str) -> str:
    """Return a friendly greeting for name."""
    return "Hello, " + █


print(greeting("world"))
'''

LONG_BODY = '''class Inventory:
    """A store's inventory of items with prices and quantities."""

    def report(self) -> str:
        """Build a long multi-line text report of every item, with totals and averages."""
        █
'''


def errors_after_insertion(text: str, position: types.Position, insertion: str) -> int:
    lines = text.split("\n")
    line = lines[position.line]
    lines[position.line] = line[: position.character] + insertion + line[position.character :]
    tree = new_parser("python").parse("\n".join(lines).encode())
    return count_syntax_errors(tree.root_node)


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient):
    # showEarlyMs 0: these tests judge whole blocks, and cancel requests still running.
    await initialize(lsp_client, options={"showEarlyMs": 0})
    yield
    await lsp_client.shutdown_session()


async def test_model_loads_with_progress_and_completes_an_empty_body(client: LanguageClient):
    text, position = position_of(EMPTY_BODY, "█")
    uri = "file:///work/geometry.py"
    open_document(client, uri, text)
    items = await wait_until_ready(client, uri, position)
    assert not [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(items) == 1, "no inline completion in an empty function body"
    completion = items[0].insert_text
    assert completion.strip()
    assert errors_after_insertion(text, position, completion) == 0
    assert "return" in completion  # a body that computes the area ends in a return
    progress = [v.kind for values in client.progress_reports.values() for v in values]
    assert progress[0] == "begin" and "end" in progress


async def test_completes_in_the_middle_of_a_line(client: LanguageClient):
    text, position = position_of(MID_LINE, "█")
    uri = "file:///work/greeting.py"
    open_document(client, uri, text)
    items = await wait_until_ready(client, uri, position)
    assert len(items) == 1
    completion = items[0].insert_text
    assert completion.strip() and "\n" not in completion
    assert errors_after_insertion(text, position, completion) == 0


async def test_cancel_answers_and_the_next_request_still_works(client: LanguageClient):
    text, position = position_of(LONG_BODY, "█")
    uri = "file:///work/inventory.py"
    open_document(client, uri, text)
    warm = await wait_until_ready(client, uri, position)
    assert warm, "the model never answered at the end of the docstring"
    # A new keystroke, so that the next request is real work.
    replace_text(client, uri, 2, position, "lines = []\n        ")
    params = inline_params(
        uri,
        types.Position(line=position.line + 1, character=8),
        types.InlineCompletionTriggerKind.Invoked,
    )
    request = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="e2e-cancel"
        )
    )
    await asyncio.sleep(0.5)
    started = time.monotonic()
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="e2e-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(request, timeout=60)
    assert time.monotonic() - started < 30  # a hang guard, not a speed target
    items = await inline_items(client, uri, params.position)
    assert len(items) == 1 and items[0].insert_text.strip()


async def test_bad_input_gets_empty_answers_and_the_server_keeps_serving(client: LanguageClient):
    text, position = position_of(MID_LINE, "█")
    uri = "file:///work/greeting2.py"
    open_document(client, uri, text)
    open_document(client, "file:///work/README.md", "# Title\n", language="markdown")
    assert await inline_items(client, "file:///work/never-opened.py", position) == []
    assert await inline_items(client, uri, types.Position(line=500, character=3)) == []
    assert (
        await inline_items(client, "file:///work/README.md", types.Position(line=0, character=7))
        == []
    )
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"maxTokens": "lots"}})
    )
    for _ in range(50):
        if any("codels.maxTokens" in m.message for m in client.messages):
            break
        await asyncio.sleep(0.1)
    assert any("codels.maxTokens should be an integer" in m.message for m in client.messages)
    items = await inline_items(client, uri, position)
    assert len(items) == 1 and items[0].insert_text.strip()


async def test_unknown_method_is_an_lsp_error_not_a_crash(client: LanguageClient):
    with pytest.raises(Exception, match="codels/noSuchMethod"):
        await client.protocol.send_request_async("codels/noSuchMethod", {})
    text, position = position_of(MID_LINE, "█")
    open_document(client, "file:///work/greeting3.py", text)
    assert await inline_items(client, "file:///work/greeting3.py", position)
