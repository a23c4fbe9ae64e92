"""The real server over stdio, with a fake engine: LSP behaviour without a model."""

import asyncio
import subprocess

import pytest
import pytest_lsp
from lsp_session import (
    fake_server,
    initialize,
    inline_items,
    inline_params,
    open_document,
    position_of,
    replace_text,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

URI = "file:///work/example.py"
BODY = 'def double(x):\n    """Double x."""\n    █\n'


@pytest_lsp.fixture(config=fake_server())
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=fake_server(
        CODELS_FAKE_TOKEN_DELAY="0.05",
        CODELS_FAKE_RESPONSE=" x0 = 0\n" + "".join(f"    x{i} = {i}\n" for i in range(1, 200)),
    )
)
async def slow_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_RESPONSE="urn x * 2\nmore"))
async def word_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_RESPONSE="e.upper()\n"))
async def upper_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_LOAD_DELAY="60"))
async def loading_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def ready(client: LanguageClient, **kwargs) -> types.InitializeResult:
    result = await initialize(client, **kwargs)
    for _ in range(100):  # the fake model loads at once, but in the background
        if any(
            getattr(v, "kind", "") == "end" for vs in client.progress_reports.values() for v in vs
        ):
            break
        await asyncio.sleep(0.05)
    return result


async def test_capabilities(client: LanguageClient):
    result = await ready(client)
    capabilities = result.capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is None  # the client shows inline completions
    sync = capabilities.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental and sync.open_close
    assert result.server_info.name == "codels"


async def test_model_loading_reports_progress(client: LanguageClient):
    await ready(client)
    kinds = [v.kind for values in client.progress_reports.values() for v in values]
    assert kinds[0] == "begin" and kinds[-1] == "end"


async def test_inline_completion_in_an_empty_body(client: LanguageClient):
    await ready(client)
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    items = await inline_items(client, URI, position)
    assert [item.insert_text for item in items] == ["return 42"]
    assert items[0].range == types.Range(start=position, end=position)


async def test_incremental_changes_are_followed(client: LanguageClient):
    await ready(client)
    open_document(client, URI, "x = 1\n")
    replace_text(
        client,
        URI,
        2,
        types.Position(line=1, character=0),
        'def double(x):\n    """Double 𝄞."""\n    ',
    )
    items = await inline_items(client, URI, types.Position(line=3, character=4))
    assert [item.insert_text for item in items] == ["return 42"]
    # Inside the docstring nothing is offered (UTF-16 column after the clef).
    assert await inline_items(client, URI, types.Position(line=2, character=16)) == []


async def test_bad_requests_get_empty_answers_and_the_server_keeps_serving(client: LanguageClient):
    await ready(client)
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    open_document(client, "file:///work/notes.txt", "hello\n", language="plaintext")
    assert await inline_items(client, "file:///work/never-opened.py", position) == []
    assert await inline_items(client, URI, types.Position(line=99, character=0)) == []
    assert (
        await inline_items(client, "file:///work/notes.txt", types.Position(line=0, character=5))
        == []
    )
    assert [i.insert_text for i in await inline_items(client, URI, position)] == ["return 42"]


async def test_malformed_settings_are_reported_and_defaults_used(client: LanguageClient):
    await ready(client, options={"codels": {"threads": "many", "maxTokens": -5}})
    await asyncio.sleep(0.2)
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("codels.threads should be an integer" in w for w in warnings)
    assert any("codels.maxTokens should be between" in w for w in warnings)
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    assert [i.insert_text for i in await inline_items(client, URI, position)] == ["return 42"]


async def test_a_model_that_fails_to_load_is_reported_once_and_answers_stay_empty(
    client: LanguageClient,
):
    await ready(client, options={"model": "missing"})
    await asyncio.sleep(0.3)
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert errors == ["the model missing is not installed: install it"]
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    assert await inline_items(client, URI, position) == []
    # Fixing the setting loads the model; completions come back.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"model": "fake"}})
    )
    await asyncio.sleep(0.3)
    assert [i.insert_text for i in await inline_items(client, URI, position)] == ["return 42"]


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_LOAD_DELAY="1.5"))
async def slow_load_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def status(client: LanguageClient) -> dict:
    answer = await client.protocol.send_request_async("codels/status", {})
    return {key: getattr(answer, key, None) for key in ("model", "name", "loading", "error")}


async def test_switching_models_keeps_serving_until_the_new_one_is_in(
    slow_load_client: LanguageClient,
):
    client = slow_load_client
    await ready(client)
    for _ in range(100):
        if (await status(client))["model"] == "ready":
            break
        await asyncio.sleep(0.1)
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"model": "second"}})
    )
    await asyncio.sleep(0.3)
    during = await status(client)
    assert during["model"] == "ready" and during["name"] == "fake"
    assert during["loading"] == "second"
    assert [i.insert_text for i in await inline_items(client, URI, position)] == ["return 42"]
    for _ in range(50):
        if (await status(client))["name"] == "second":
            break
        await asyncio.sleep(0.1)
    assert (await status(client))["loading"] is None
    infos = [m.message for m in client.messages if m.type == types.MessageType.Info]
    assert "codels switched from fake to second" in infos


async def test_a_model_too_large_for_memory_is_refused_and_the_old_one_keeps_serving(
    client: LanguageClient,
):
    await ready(client)
    await asyncio.sleep(0.2)
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"model": "huge"}})
    )
    await asyncio.sleep(0.3)
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert errors and errors[-1].startswith("codels kept fake: huge needs about 99.0 GB")
    current = await status(client)
    assert current["model"] == "ready" and current["name"] == "fake"
    assert [i.insert_text for i in await inline_items(client, URI, position)] == ["return 42"]


async def test_disabling_stops_completions(client: LanguageClient):
    await ready(client)
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"enabled": False}})
    )
    await asyncio.sleep(0.1)
    assert await inline_items(client, URI, position) == []


async def test_requests_before_the_model_is_ready_get_an_empty_result(
    loading_client: LanguageClient,
):
    await initialize(loading_client)
    text, position = position_of(BODY, "█")
    open_document(loading_client, URI, text)
    assert await inline_items(loading_client, URI, position) == []
    progress = [v.kind for values in loading_client.progress_reports.values() for v in values]
    assert "end" not in progress  # answered while the model was still loading


async def test_cancel_request_stops_a_running_generation(slow_client: LanguageClient):
    await ready(slow_client)
    text, position = position_of(BODY, "█")
    open_document(slow_client, URI, text)
    params = inline_params(URI, position, types.InlineCompletionTriggerKind.Invoked)
    future = asyncio.ensure_future(  # pytest-lsp sends only once the coroutine runs
        slow_client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="to-cancel"
        )
    )
    await asyncio.sleep(0.3)
    started = asyncio.get_running_loop().time()
    slow_client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="to-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await future
    assert asyncio.get_running_loop().time() - started < 2  # 200 tokens would take 10 s


async def test_completion_items_for_clients_without_inline_completion(word_client: LanguageClient):
    result = await ready(word_client, inline=False)
    assert result.capabilities.completion_provider is not None
    assert result.capabilities.inline_completion_provider is not None
    text, position = position_of("def double(x):\n    ret█\n", "█")
    open_document(word_client, URI, text)
    answer = await word_client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI), position=position
        )
    )
    assert answer is not None and len(answer.items) == 1
    item = answer.items[0]
    # The edit replaces the word typed so far, so the client can filter while the user types.
    assert item.text_edit.range == types.Range(
        start=types.Position(line=1, character=4), end=position
    )
    assert item.text_edit.new_text == item.filter_text == "return x * 2"
    assert item.label == "return x * 2"
    assert item.insert_text_mode == types.InsertTextMode.AsIs
    # Shown as a code block tagged with the document's language.
    assert item.documentation == types.MarkupContent(
        kind=types.MarkupKind.Markdown, value="```python\nreturn x * 2\n```"
    )


async def test_neovim_gets_utf8_positions_and_completion_items(upper_client: LanguageClient):
    result = await ready(upper_client, inline=False, client_name="neovim@v0.11.0")
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    line = '    value = "é𝄞" + nam'
    open_document(upper_client, URI, f"def f(name):\n{line}\n")
    position = types.Position(line=1, character=len(line.encode("utf-8")))
    answer = await upper_client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI), position=position
        )
    )
    item = answer.items[0]
    assert item.text_edit.new_text == "name.upper()"
    word_start = len(line[: line.rindex("nam")].encode("utf-8"))
    assert item.text_edit.range.start == types.Position(line=1, character=word_start)


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_RESPONSE=" x * 2\n"))
async def times_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_typing_ahead_and_the_result_cache_answer_without_the_model(
    times_client: LanguageClient,
):
    await ready(times_client)
    text, position = position_of("def double(x):\n    return █\n", "█")
    open_document(times_client, URI, text)
    assert [i.insert_text for i in await inline_items(times_client, URI, position)] == ["x * 2"]
    # The person types the first character of the suggestion: the rest comes from memory.
    replace_text(times_client, URI, 2, position, "x")
    after_x = types.Position(line=position.line, character=position.character + 1)
    assert [i.insert_text for i in await inline_items(times_client, URI, after_x)] == [" * 2"]
    # Backspace: the text around the cursor is as it was, so the cached result answers.
    replace_text(times_client, URI, 3, position, "", end=after_x)
    assert [i.insert_text for i in await inline_items(times_client, URI, position)] == ["x * 2"]
    stats = (await times_client.protocol.send_request_async("codels/stats", None))._asdict()
    assert stats["server_requests"] == 3
    assert stats["model_runs"] == 1
    assert stats["typed_ahead"] == 1 and stats["cache_hits"] == 1


async def test_status_reports_the_model(client: LanguageClient):
    await ready(client)
    status = (await client.protocol.send_request_async("codels/status", None))._asdict()
    assert status == {
        "model": "ready",
        "name": "fake",
        "error": None,
        "enabled": True,
        "loading": None,
        "family": "qwen2.5-coder",
        "infilling": True,
    }


@pytest_lsp.fixture(
    config=fake_server(CODELS_FAKE_RESPONSE=" x * 2\n", CODELS_FAKE_TOKEN_DELAY="0.2")
)
async def slow_times_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_typing_on_after_a_cancel_adopts_the_running_generation(
    slow_times_client: LanguageClient,
):
    client = slow_times_client
    await ready(client)
    text, position = position_of("def double(x):\n    return █\n", "█")
    open_document(client, URI, text)
    first = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(URI, position), msg_id="first"
        )
    )
    await asyncio.sleep(0.3)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="first"))
    with pytest.raises(JsonRpcRequestCancelled):
        await first
    # The person types the first character of what the model is writing, and asks again.
    replace_text(client, URI, 2, position, "x")
    after_x = types.Position(line=position.line, character=position.character + 1)
    assert [i.insert_text for i in await inline_items(client, URI, after_x)] == [" * 2"]
    stats = (await client.protocol.send_request_async("codels/stats", None))._asdict()
    assert stats["model_runs"] == 1 and stats["continued"] == 1


async def test_a_cancelled_generation_nobody_continues_is_stopped(
    slow_times_client: LanguageClient,
):
    client = slow_times_client
    await ready(client)
    text, position = position_of("def double(x):\n    return █\n", "█")
    open_document(client, URI, text)
    first = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(URI, position), msg_id="first"
        )
    )
    await asyncio.sleep(0.3)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="first"))
    with pytest.raises(JsonRpcRequestCancelled):
        await first
    await asyncio.sleep(2.5)  # the grace period passes with no new request
    stats = (await client.protocol.send_request_async("codels/stats", None))._asdict()
    assert stats["cancelled_runs"] == 1 and stats["model_runs"] == 0


async def test_files_that_must_stay_private_get_no_completion(client: LanguageClient, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\n")
    await ready(client, options={"codels": {"ignoreFiles": ["*_secret.py"]}})
    text, position = position_of(BODY, "█")
    answers = {}
    for name in ("generated/tables.py", "db_secret.py", "app.py"):
        uri = (tmp_path / name).as_uri()
        open_document(client, uri, text)
        answers[name] = [item.insert_text for item in await inline_items(client, uri, position)]
    assert answers == {"generated/tables.py": [], "db_secret.py": [], "app.py": ["return 42"]}
