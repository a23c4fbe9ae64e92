"""Code actions end to end: ``codels --stdio`` with the real default model."""

import asyncio

import pytest
import pytest_lsp
from conftest import codels_command
from lsp_session import apply_edit, initialize, open_document, position_of
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.actions.sites import function_at
from codels.documents import Document
from codels.languages.syntax import count_syntax_errors, new_parser

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVER = ClientServerConfig(server_command=[codels_command(), "--stdio"])

COMMENT = """import math


# fibonacci(n): return the n-th Fibonacci number, with fibonacci(0) == 0 and fibonacci(1) == 1█


def main() -> None:
    print(fibonacci(10))
"""

STUB = '''def circle_area(radius: float) -> float:█
    """Return the area of a circle with the given radius."""
    ...


print(circle_area(2.0))
'''

UNDOCUMENTED = """def clamp(value: float, low: float, high: float) -> float:█
    if value < low:
        return low
    if value > high:
        return high
    return value
"""

LONG = '''class Report:
    """A long report."""

    def render(self, rows: list[dict[str, float]]) -> str:█
        """Render every row as a line of an aligned text table with totals and averages."""
        pass
'''


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    for _ in range(1200):  # the model loads in the background
        status = await lsp_client.protocol.send_request_async("codels/status", {})
        if status.model in ("ready", "failed"):
            break
        await asyncio.sleep(0.5)
    assert status.model == "ready", status.error
    yield
    await lsp_client.shutdown_session()


def params(uri: str, position: types.Position) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=position, end=position),
        context=types.CodeActionContext(
            diagnostics=[], trigger_kind=types.CodeActionTriggerKind.Invoked
        ),
    )


async def action(
    client: LanguageClient, uri: str, source: str, kind: str
) -> tuple[str, types.CodeAction]:
    text, position = position_of(source, "█")
    open_document(client, uri, text)
    actions = await client.text_document_code_action_async(params(uri, position))
    found = [a for a in actions or [] if isinstance(a, types.CodeAction) and a.kind == kind]
    assert found, f"no {kind} action offered: {actions}"
    assert found[0].edit is None  # listing never runs the model
    return text, found[0]


def errors(text: str) -> int:
    return count_syntax_errors(new_parser("python").parse(text.encode()).root_node)


def no_error_messages(client: LanguageClient) -> list[str]:
    return [
        m.message
        for m in client.messages
        if m.type in (types.MessageType.Error, types.MessageType.Warning)
    ]


async def test_generate_from_a_comment_defines_the_function_it_names(client: LanguageClient):
    uri = "file:///work/fib.py"
    text, generate = await action(client, uri, COMMENT, "refactor.rewrite.codels.generate")
    assert generate.title == "Generate function from comment"
    resolved = await client.code_action_resolve_async(generate)
    assert resolved.edit is not None, no_error_messages(client)
    edited = apply_edit(text, resolved.edit, uri)
    assert errors(edited) == 0
    assert "# fibonacci(n): return the n-th Fibonacci number" in edited  # the comment stays
    assert "\ndef fibonacci(" in edited
    assert edited.endswith("def main() -> None:\n    print(fibonacci(10))\n")


async def test_generate_on_a_stub_keeps_signature_and_docstring(client: LanguageClient):
    uri = "file:///work/circle.py"
    text, generate = await action(client, uri, STUB, "refactor.rewrite.codels.generate")
    resolved = await client.code_action_resolve_async(generate)
    assert resolved.edit is not None, no_error_messages(client)
    edited = apply_edit(text, resolved.edit, uri)
    assert errors(edited) == 0
    assert edited.startswith(
        "def circle_area(radius: float) -> float:\n"
        '    """Return the area of a circle with the given radius."""\n    '
    )
    shape = function_at(Document(uri, "python", 1, edited).snapshot(), 0)
    assert shape is not None and not shape.is_stub  # it has a body now
    assert "return" in edited
    assert edited.endswith("print(circle_area(2.0))\n")


async def test_add_docstring_adds_exactly_one_docstring(client: LanguageClient):
    uri = "file:///work/clamp.py"
    text, add = await action(client, uri, UNDOCUMENTED, "refactor.rewrite.codels.docstring")
    resolved = await client.code_action_resolve_async(add)
    assert resolved.edit is not None, no_error_messages(client)
    edited = apply_edit(text, resolved.edit, uri)
    assert errors(edited) == 0
    shape = function_at(Document(uri, "python", 1, edited).snapshot(), 0)
    assert shape is not None and shape.docstring is not None
    assert edited.count('"""') == 2
    docstring = edited[shape.docstring[0] : shape.docstring[1]]
    assert edited.replace(docstring, "", 1).replace("\n    \n", "\n", 1) == text


async def test_cancelling_a_resolve_stops_it_and_the_server_keeps_serving(client: LanguageClient):
    uri = "file:///work/report.py"
    _text, generate = await action(client, uri, LONG, "refactor.rewrite.codels.generate")
    request = asyncio.ensure_future(
        client.protocol.send_request_async(types.CODE_ACTION_RESOLVE, generate, msg_id="e2e-act")
    )
    await asyncio.sleep(1.0)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="e2e-act"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(request, timeout=120)
    status = await client.protocol.send_request_async("codels/status", {})
    assert status.model == "ready"


async def test_malformed_requests_get_lsp_errors_and_the_server_keeps_serving(
    client: LanguageClient,
):
    uri = "file:///work/bad.py"
    text, position = position_of(STUB, "█")
    open_document(client, uri, text)
    with pytest.raises(JsonRpcException):
        await client.text_document_code_action_async(
            params(uri, types.Position(line=500, character=0))
        )
    with pytest.raises(JsonRpcException):
        await client.code_action_resolve_async(
            types.CodeAction(title="?", data={"command": "codels.unknown", "uri": uri})
        )
    actions = await client.text_document_code_action_async(params(uri, position))
    assert [a.title for a in actions or []] == ["Generate the body of circle_area"]
