"""Trigger control: ``triggerMode`` and ``debounceMs``, in the service and over LSP."""

import asyncio
import sys
from pathlib import Path

import pytest_lsp
from cursor import snapshot_at
from fake_engine import FakeEngine
from lsp_session import initialize, inline_params, open_document, position_of
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.completion.service import CompletionService
from codels.config import Settings, read_settings
from codels.engines.base import EngineOptions

BODY = "def total(items):\n    █\n"
ANSWER = "return sum(items)\n"


def service_for(answer: str = ANSWER, token_delay: float = 0.0):
    engine = FakeEngine(answer, token_delay=token_delay)
    engine.load(EngineOptions())
    return CompletionService(engine), engine


def test_the_settings_are_read_and_checked():
    settings, problems = read_settings({"triggerMode": "manual", "debounceMs": 150})
    assert problems == [] and (settings.trigger_mode, settings.debounce_ms) == ("manual", 150)
    settings, problems = read_settings({"triggerMode": "sometimes", "debounceMs": 99_999})
    assert settings == Settings()
    assert any("codels.triggerMode should be one of automatic, manual" in p for p in problems)
    assert any("codels.debounceMs should be between 0 and 5000" in p for p in problems)


async def test_manual_mode_runs_the_model_only_when_asked():
    service, engine = service_for()
    snapshot, offset = snapshot_at(BODY)
    manual = Settings(trigger_mode="manual")
    skipped = await service.complete(snapshot, offset, manual, automatic=True)
    assert skipped.text == "" and "manual trigger mode" in skipped.note
    assert len(engine.requests) == 0
    asked = await service.complete(snapshot, offset, manual)
    assert asked.text == "return sum(items)" and len(engine.requests) == 1


async def test_manual_mode_still_serves_the_rest_of_a_suggestion_typed_into():
    service, engine = service_for()
    snapshot, offset = snapshot_at(BODY)
    manual = Settings(trigger_mode="manual")
    await service.complete(snapshot, offset, manual)
    typed, typed_offset = snapshot_at("def total(items):\n    return █\n")
    rest = await service.complete(typed, typed_offset, manual, automatic=True)
    assert rest.text == "sum(items)" and rest.source == "typed-ahead"
    assert len(engine.requests) == 1


async def test_a_request_typed_over_while_it_waits_never_reaches_the_model():
    service, engine = service_for("turn sum(items)\n")
    settings = Settings(debounce_ms=200)
    first, first_offset = snapshot_at("def total(items):\n    r█\n")
    second, second_offset = snapshot_at("def total(items):\n    re█\n")
    waiting = asyncio.ensure_future(service.complete(first, first_offset, settings, automatic=True))
    await asyncio.sleep(0.05)
    answer = await service.complete(second, second_offset, settings, automatic=True)
    dropped = await waiting
    assert dropped.text == "" and "debounceMs" in dropped.note
    assert answer.text and len(engine.requests) == 1


async def test_an_explicit_request_does_not_wait_and_supersedes_a_waiting_one():
    service, engine = service_for()
    settings = Settings(debounce_ms=5000)
    snapshot, offset = snapshot_at(BODY)
    waiting = asyncio.ensure_future(service.complete(snapshot, offset, settings, automatic=True))
    await asyncio.sleep(0.05)
    asked = await asyncio.wait_for(service.complete(snapshot, offset, settings), timeout=2)
    assert asked.text == "return sum(items)"
    dropped = await asyncio.wait_for(waiting, timeout=6)
    assert dropped.text == "" and len(engine.requests) == 1


async def test_cancelling_a_waiting_request_starts_nothing():
    service, engine = service_for()
    snapshot, offset = snapshot_at(BODY)
    waiting = asyncio.ensure_future(
        service.complete(snapshot, offset, Settings(debounce_ms=300), automatic=True)
    )
    await asyncio.sleep(0.05)
    waiting.cancel()
    await asyncio.sleep(0.4)
    assert waiting.cancelled() and len(engine.requests) == 0


async def test_the_wait_is_skipped_for_answers_that_need_no_model():
    service, engine = service_for()
    snapshot, offset = snapshot_at(BODY)
    await service.complete(snapshot, offset, Settings())
    typed, typed_offset = snapshot_at("def total(items):\n    return █\n")
    rest = await asyncio.wait_for(
        service.complete(typed, typed_offset, Settings(debounce_ms=5000), automatic=True),
        timeout=1,
    )
    assert rest.text == "sum(items)" and len(engine.requests) == 1


FAKE_SERVER = str(Path(__file__).parents[1] / "support" / "fake_server.py")
URI = "file:///work/example.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, FAKE_SERVER]))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_over_lsp_manual_mode_answers_invoked_requests_only(client: LanguageClient):
    await initialize(client, options={"triggerMode": "manual"})
    text, position = position_of('def double(x):\n    """Double x."""\n    █\n', "█")

    async def items(uri: str, kind: types.InlineCompletionTriggerKind) -> list[str]:
        result = await client.text_document_inline_completion_async(
            inline_params(uri, position, kind)
        )
        return [str(item.insert_text) for item in (result.items if result else [])]

    open_document(client, URI, text)
    for _ in range(100):  # the fake model loads in the background
        if await items(URI, types.InlineCompletionTriggerKind.Invoked):
            break
        await asyncio.sleep(0.05)
    # The model is ready now; another place (nothing cached there), asked automatically,
    # gets nothing.
    other = "file:///work/other.py"
    open_document(client, other, text.replace("double", "triple"))
    assert await items(other, types.InlineCompletionTriggerKind.Automatic) == []
    assert await items(other, types.InlineCompletionTriggerKind.Invoked) == ["return 42"]
