"""The real server over stdio with a fake engine, in languages other than Python.

The same answer from the model is cut where each language's block model says; the
``languages`` setting turns codels off and on per language; code actions stay Python's.
"""

import asyncio

import pytest
import pytest_lsp
from cursor import snapshot_in
from fake_engine import FakeEngine
from lsp_session import (
    apply_edit,
    fake_server,
    initialize,
    inline_items,
    open_document,
    position_of,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.completion.service import CompletionService
from codels.config import Settings
from codels.engines.base import EngineOptions

TS_URI = "file:///work/shapes.ts"
GO_URI = "file:///work/shapes.go"
TS_BODY = "export function double(x: number): number {\n  █\n}\n"
GO_BODY = "package shapes\n\nfunc Double(x int) int {\n\t█\n}\n"
# One answer for both: each language's block model takes its own part of it.
ANSWER = " const y = x * 2;\n  return y;\n}\n\nexport function g() {\n"
GO_ANSWER = "\ty := x * 2\n\treturn y\n}\n\nfunc G() {\n"


def fake(answer: str) -> ClientServerConfig:
    return fake_server(CODELS_FAKE_RESPONSE=answer)


@pytest_lsp.fixture(config=fake(ANSWER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=fake(GO_ANSWER))
async def go_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def ready(client: LanguageClient, **kwargs) -> None:
    await initialize(client, **kwargs)
    for _ in range(100):  # the fake model loads at once, but in the background
        if any(
            getattr(v, "kind", "") == "end" for vs in client.progress_reports.values() for v in vs
        ):
            return
        await asyncio.sleep(0.05)


async def test_typescript_gets_a_body_that_ends_before_its_closing_brace(client: LanguageClient):
    await ready(client)
    text, position = position_of(TS_BODY, "█")
    open_document(client, TS_URI, text, language="typescript")
    items = await inline_items(client, TS_URI, position)
    assert [item.insert_text for item in items] == ["const y = x * 2;\n  return y;"]


async def test_go_gets_a_body_indented_with_tabs(go_client: LanguageClient):
    await ready(go_client)
    text, position = position_of(GO_BODY, "█")
    open_document(go_client, GO_URI, text, language="go")
    items = await inline_items(go_client, GO_URI, position)
    assert [item.insert_text for item in items] == ["y := x * 2\n\treturn y"]


async def test_inside_a_template_literal_nothing_is_offered(client: LanguageClient):
    await ready(client)
    text, position = position_of("const s = `total: █`;\n", "█")
    open_document(client, "file:///work/s.js", text, language="javascript")
    assert await inline_items(client, "file:///work/s.js", position) == []


async def test_the_languages_setting_turns_a_language_off_and_on(client: LanguageClient):
    await ready(client, options={"codels": {"languages": ["python", "go"]}})
    text, position = position_of(TS_BODY, "█")
    open_document(client, TS_URI, text, language="typescript")
    assert await inline_items(client, TS_URI, position) == []
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"codels": {"languages": ["python", "typescript"]}}
        )
    )
    await asyncio.sleep(0.3)
    items = await inline_items(client, TS_URI, position)
    assert [item.insert_text for item in items] == ["const y = x * 2;\n  return y;"]


async def test_an_unknown_language_id_in_the_setting_is_reported(client: LanguageClient):
    await ready(client, options={"codels": {"languages": ["typescript", "cobol"]}})
    await asyncio.sleep(0.2)
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("codels.languages may hold only" in w and "'cobol'" in w for w in warnings)
    # The setting keeps its default: every language.
    text, position = position_of(TS_BODY, "█")
    open_document(client, TS_URI, text, language="typescript")
    assert len(await inline_items(client, TS_URI, position)) == 1


AREA = "```ts\nfunction area(r: number): number {\n  return Math.PI * r * r;\n}\n```"


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_RESPONSE=ANSWER, CODELS_FAKE_CHAT_RESPONSE=AREA))
async def ts_actions_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_typescript_gets_generate_and_doc_comment_actions_but_no_tests_or_fix(
    ts_actions_client: LanguageClient,
):
    client = ts_actions_client
    await ready(client)
    source = "// Return the area of a circle of radius r.\n█\n\nfunction f() {\n  return 1;\n}\n"
    text, position = position_of(source, "█")
    open_document(client, TS_URI, text, language="typescript")
    diagnostic = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=4, character=2), end=types.Position(line=4, character=8)
        ),
        message="Unreachable code",
        source="tsc",
    )
    titles = {}
    for line in range(text.count("\n")):
        start = types.Position(line=line, character=0)
        result = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=TS_URI),
                range=types.Range(start=start, end=start),
                context=types.CodeActionContext(diagnostics=[diagnostic]),
            )
        )
        actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
        titles[line] = [a.title for a in actions]
        if line == 0:
            (generate,) = actions
    assert titles == {
        0: ["Generate function from comment"],
        1: [],
        2: [],
        3: ["Add doc comment to f"],
        4: [],
        5: [],
    }
    resolved = await client.code_action_resolve_async(generate)
    assert resolved.edit is not None
    edited = apply_edit(text, resolved.edit, TS_URI)
    assert edited.startswith(
        "// Return the area of a circle of radius r.\nfunction area(r: number): number {\n"
        "  return Math.PI * r * r;\n}\n"
    )
    # A forged tests action for the file is refused, and the server goes on completing.
    data = {"command": "codels.writeTests", "uri": TS_URI, "version": 1}
    data |= {"start": 0, "end": 0, "anchor": 0, "problems": []}
    with pytest.raises(JsonRpcException, match="no longer applies"):
        await client.code_action_resolve_async(types.CodeAction(title="x", data=data))
    items = await inline_items(client, TS_URI, position)
    assert len(items) == 1


# -- every brace language through the completion service (what the handlers call) -------------

BODIES = {
    "javascript": ("function f(x) {\n  █\n}\n", " return x;\n}\n", "return x;"),
    "javascriptreact": ("function A() {\n  █\n}\n", " return <div />;\n}\n", "return <div />;"),
    "typescript": ("function f(x: number) {\n  █\n}\n", " return x;\n}\n", "return x;"),
    "typescriptreact": ("function A() {\n  █\n}\n", " return <div />;\n}\n", "return <div />;"),
    "go": ("func f(x int) int {\n\t█\n}\n", "\treturn x\n}\n", "return x"),
    "rust": ("fn f(x: i32) -> i32 {\n    █\n}\n", " x + 1\n}\n", "x + 1"),
    "java": ("class A {\n  int f(int x) {\n    █\n  }\n}\n", " return x;\n  }\n}\n", "return x;"),
    "c": ("int f(int x) {\n    █\n}\n", " return x;\n}\n", "return x;"),
    "cpp": ("int f(int x) {\n    █\n}\n", " return x;\n}\n", "return x;"),
}


@pytest.mark.parametrize("language_id", sorted(BODIES))
async def test_each_language_completes_a_body_through_the_service(language_id: str):
    source, answer, expected = BODIES[language_id]
    engine = FakeEngine(answer)
    engine.load(EngineOptions())
    snapshot, offset = snapshot_in(language_id, source)
    outcome = await CompletionService(engine).complete(snapshot, offset, Settings())
    assert outcome.text == expected
