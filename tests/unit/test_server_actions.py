"""Code actions over LSP: the real server over stdio with a fake engine."""

import asyncio

import pytest
import pytest_lsp
from lsp_session import (
    apply_edit,
    capabilities,
    fake_server,
    open_document,
    position_of,
    replace_text,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from codels.languages.syntax import count_syntax_errors, new_parser

URI = "file:///work/example.py"
STUB = 'import math\n\n\ndef area(r: float) -> float:█\n    """Return the area."""\n    ...\n'
CHAT = "```python\ndef area(r: float) -> float:\n    return math.pi * r ** 2\n```"


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_CHAT_RESPONSE=CHAT))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=fake_server(CODELS_FAKE_TOKEN_DELAY="0.05", CODELS_FAKE_CHAT_RESPONSE="x " * 2000)
)
async def slow_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, *, resolve: bool = True) -> types.InitializeResult:
    caps = capabilities()
    if not resolve:
        caps.text_document.code_action.resolve_support = None
    result = await client.initialize_session(
        types.InitializeParams(capabilities=caps, client_info=types.ClientInfo(name="pytest-lsp"))
    )
    for _ in range(100):  # the fake model loads at once, but in the background
        answer = await client.protocol.send_request_async("codels/status", {})
        if answer.model == "ready":
            break
        await asyncio.sleep(0.05)
    return result


def action_params(
    uri: str,
    position: types.Position,
    diagnostics: list[types.Diagnostic] | None = None,
    trigger: types.CodeActionTriggerKind = types.CodeActionTriggerKind.Invoked,
) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=position, end=position),
        context=types.CodeActionContext(diagnostics=diagnostics or [], trigger_kind=trigger),
    )


async def list_actions(client: LanguageClient, params: types.CodeActionParams):
    result = await client.text_document_code_action_async(params)
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


def parses(text: str) -> bool:
    return count_syntax_errors(new_parser("python").parse(text.encode()).root_node) == 0


async def test_code_actions_are_advertised_with_resolve(client: LanguageClient):
    result = await start(client)
    provider = result.capabilities.code_action_provider
    assert isinstance(provider, types.CodeActionOptions) and provider.resolve_provider
    assert "refactor.rewrite" in provider.code_action_kinds


async def test_listing_is_instant_and_resolve_brings_an_edit_that_parses(client: LanguageClient):
    await start(client)
    text, position = position_of(STUB, "█")
    open_document(client, URI, text)
    actions = await list_actions(client, action_params(URI, position))
    titles = [a.title for a in actions]
    assert titles == ["Generate the body of area"]  # no tests for a stub
    generate = actions[0]
    assert generate.kind == "refactor.rewrite.codels.generate" and generate.edit is None
    assert generate.data["command"] == "codels.generateFunction"
    resolved = await client.code_action_resolve_async(generate)
    assert resolved.edit is not None
    edited = apply_edit(text, resolved.edit, URI)
    assert edited == (
        'import math\n\n\ndef area(r: float) -> float:\n    """Return the area."""\n'
        "    return math.pi * r ** 2\n"
    )
    assert parses(edited)
    kinds = [v.kind for values in client.progress_reports.values() for v in values]
    assert kinds.count("begin") == 2 and kinds.count("end") == 2  # model load, then the action


async def test_nothing_is_offered_where_no_action_applies(client: LanguageClient):
    await start(client)
    open_document(client, URI, "x = 1\n\n# Circle\n")
    for line in range(3):
        position = types.Position(line=line, character=0)
        assert await list_actions(client, action_params(URI, position)) == []
    assert await list_actions(client, action_params("file:///not/open.py", position)) == []


async def test_a_range_outside_the_document_is_an_error_and_the_server_keeps_serving(
    client: LanguageClient,
):
    await start(client)
    text, position = position_of(STUB, "█")
    open_document(client, URI, text)
    with pytest.raises(JsonRpcException, match="outside"):
        await list_actions(client, action_params(URI, types.Position(line=99, character=0)))
    assert len(await list_actions(client, action_params(URI, position))) == 1


async def test_an_unknown_command_is_an_error_and_the_server_keeps_serving(client: LanguageClient):
    await start(client)
    text, position = position_of(STUB, "█")
    open_document(client, URI, text)
    bogus = types.CodeAction(title="x", data={"command": "codels.nothing", "uri": URI})
    with pytest.raises(JsonRpcException, match="not one of codels"):
        await client.code_action_resolve_async(bogus)
    with pytest.raises(JsonRpcException, match="not one of codels"):
        await client.code_action_resolve_async(types.CodeAction(title="y"))
    actions = await list_actions(client, action_params(URI, position))
    assert (await client.code_action_resolve_async(actions[0])).edit is not None


async def test_resolving_after_the_document_changed_asks_to_list_again(client: LanguageClient):
    await start(client)
    text, position = position_of(STUB, "█")
    open_document(client, URI, text)
    (generate,) = await list_actions(client, action_params(URI, position))
    replace_text(client, URI, 2, types.Position(line=0, character=0), "# changed\n")
    with pytest.raises(JsonRpcException, match="changed since"):
        await client.code_action_resolve_async(generate)


async def test_a_fix_is_offered_for_diagnostics_of_another_server(client: LanguageClient):
    await start(client)
    source = "def area(r: float) -> float:\n    return pi * r ** 2█\n"
    text, position = position_of(source, "█")
    open_document(client, URI, text)
    diagnostic = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=1, character=11), end=types.Position(line=1, character=13)
        ),
        message="Undefined name `pi`",
        source="ruff",
        code="F821",
    )
    actions = await list_actions(client, action_params(URI, position, [diagnostic]))
    fix = next(a for a in actions if a.kind == "quickfix.codels.fix")
    assert fix.title == "Fix with codels: Undefined name `pi`"
    assert list(fix.diagnostics or []) == [diagnostic]
    resolved = await client.code_action_resolve_async(fix)
    assert apply_edit(text, resolved.edit, URI) == (
        "def area(r: float) -> float:\n    return math.pi * r ** 2\n"
    )


async def test_clients_without_resolve_get_the_edit_when_they_ask(client: LanguageClient):
    await start(client, resolve=False)
    text, position = position_of(STUB, "█")
    open_document(client, URI, text)
    automatic = action_params(URI, position, trigger=types.CodeActionTriggerKind.Automatic)
    assert await list_actions(client, automatic) == []  # never the model on a cursor move
    params = action_params(URI, position)
    params.context.only = ["refactor.rewrite.codels.generate"]
    (action,) = await list_actions(client, params)
    assert action.edit is not None and parses(apply_edit(text, action.edit, URI))


async def test_cancelling_a_resolve_stops_it_and_the_server_keeps_serving(
    slow_client: LanguageClient,
):
    client = slow_client
    await start(client)
    text, position = position_of(STUB, "█")
    open_document(client, URI, text)
    (generate,) = await list_actions(client, action_params(URI, position))
    request = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.CODE_ACTION_RESOLVE, generate, msg_id="resolve-cancel"
        )
    )
    await asyncio.sleep(0.5)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="resolve-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(request, timeout=30)
    assert len(await list_actions(client, action_params(URI, position))) == 1


EXAMPLES_STUB = '''def double(x: int) -> int:█
    """Double x.

    >>> double(2)
    4
    """
    ...
'''
DOUBLE = "```python\ndef double(x: int) -> int:\n    return x * 2\n```"


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_CHAT_RESPONSE=DOUBLE, CODELS_SANDBOX="off"))
async def unsandboxed_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_without_a_sandbox_the_action_works_and_says_once_why_examples_did_not_run(
    unsandboxed_client: LanguageClient,
):
    client = unsandboxed_client
    await start(client)
    text, position = position_of(EXAMPLES_STUB, "█")
    for uri in (URI, "file:///work/again.py"):
        open_document(client, uri, text)
        (generate,) = await list_actions(client, action_params(uri, position))
        resolved = await client.code_action_resolve_async(generate)
        assert "return x * 2" in apply_edit(text, resolved.edit, uri)
    await asyncio.sleep(0.2)
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert len([w for w in warnings if "examples were not run" in w]) == 1, warnings
    (warning,) = [w for w in warnings if "examples were not run" in w]
    assert "no OS sandbox works on this machine" in warning and "CODELS_SANDBOX" in warning
    ends = [
        v.message for values in client.progress_reports.values() for v in values if v.kind == "end"
    ]
    assert (
        ends.count(
            "done; the docstring's examples were not run: no OS sandbox works here "
            "(codels sandbox check says what to install)"
        )
        == 2
    )
