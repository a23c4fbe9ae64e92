"""Several suggestions for an explicit request: sampled, judged, deduplicated; over LSP too."""

import asyncio
import json
import sys
from pathlib import Path

import pytest_lsp
from cursor import snapshot_at
from fake_engine import FakeEngine
from lsp_session import initialize, inline_params, open_document, position_of, replace_text
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.completion.alternatives import FIRST_SEED, SEED_STEP, TEMPERATURE
from codels.completion.service import CompletionService
from codels.config import Settings
from codels.engines.base import EngineOptions, GenerationRequest

BODY = "def total(items):\n    █\n"


def scripted(greedy: str, sampled: list[str]):
    """An engine that answers ``greedy`` at temperature 0 and ``sampled[n]`` for attempt n."""

    def respond(request: GenerationRequest) -> str:
        if request.temperature == 0:
            return greedy
        return sampled[(request.seed - FIRST_SEED) // SEED_STEP % len(sampled)]

    engine = FakeEngine(respond)
    engine.load(EngineOptions())
    return CompletionService(engine), engine


async def test_alternatives_are_sampled_from_the_same_prompt_and_unlike_each_other():
    service, engine = scripted(
        "return sum(items)\n",
        ["return sum(items)  \n", "return len(items)\n", "return len(items)\n", "return 0\n"],
    )
    snapshot, offset = snapshot_at(BODY)
    first = await service.complete(snapshot, offset, Settings())
    others = await service.alternatives(snapshot, offset, Settings(), first.text, 2)
    assert first.text == "return sum(items)"
    assert others == ["return len(items)", "return 0"]
    greedy, *samples = list(engine.requests)
    assert greedy.temperature == 0 and len(samples) == 4
    assert {request.prompt for request in samples} == {greedy.prompt}
    assert all(request.temperature == TEMPERATURE for request in samples)
    assert len({request.seed for request in samples}) == 4


async def test_an_alternative_that_breaks_the_syntax_is_dropped_like_the_first_would_be():
    service, _ = scripted(
        "return sum(items)\n",
        ["return sum(items))\n", "return max(items\n", "return max(items)\n", "return 0\n"],
    )
    snapshot, offset = snapshot_at(BODY)
    others = await service.alternatives(snapshot, offset, Settings(), "return sum(items)", 2)
    assert others == ["return max(items)", "return 0"]


async def test_no_more_attempts_than_two_per_alternative():
    service, engine = scripted("return 1\n", ["return 1\n"])
    snapshot, offset = snapshot_at(BODY)
    assert await service.alternatives(snapshot, offset, Settings(), "return 1", 2) == []
    assert len(engine.requests) == 4


async def test_typing_into_an_alternative_is_served_without_the_model():
    service, engine = scripted("return sum(items)\n", ["return len(items)\n"])
    snapshot, offset = snapshot_at(BODY)
    first = await service.complete(snapshot, offset, Settings())
    await service.alternatives(snapshot, offset, Settings(), first.text, 1)
    asked = len(engine.requests)
    typed, typed_offset = snapshot_at("def total(items):\n    return len█\n")
    rest = await service.complete(typed, typed_offset, Settings(), automatic=True)
    assert rest.text == "(items)" and rest.source == "typed-ahead"
    assert len(engine.requests) == asked


FAKE_SERVER = str(Path(__file__).parents[1] / "support" / "fake_server.py")
URI = "file:///work/example.py"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, FAKE_SERVER],
        server_env={
            "CODELS_FAKE_RESPONSE": " return x * 2\n",
            "CODELS_FAKE_ALTERNATIVES": json.dumps(
                [" return x * 2\n", " return x + x\n", " return 2 * x\n"]
            ),
        },
    )
)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_an_invoked_request_gets_three_items_and_an_automatic_one_one(
    client: LanguageClient,
):
    await initialize(client)
    text, position = position_of('def double(x):\n    """Double x."""\n    █\n', "█")
    open_document(client, URI, text)

    async def items(kind: types.InlineCompletionTriggerKind) -> list[str]:
        result = await client.text_document_inline_completion_async(
            inline_params(URI, position, kind)
        )
        return [str(item.insert_text) for item in (result.items if result else [])]

    automatic: list[str] = []
    for _ in range(100):  # the fake model loads in the background
        automatic = await items(types.InlineCompletionTriggerKind.Automatic)
        if automatic:
            break
        await asyncio.sleep(0.05)
    assert automatic == ["return x * 2"]
    invoked = await items(types.InlineCompletionTriggerKind.Invoked)
    assert invoked == ["return x * 2", "return x + x", "return 2 * x"]


async def test_after_part_of_an_alternative_is_taken_its_rest_is_served_not_the_firsts():
    service, _ = scripted("return x * 2\n", ["return x + x\n"])
    snapshot, offset = snapshot_at("def double(x):\n    █\n")
    first = await service.complete(snapshot, offset, Settings())
    await service.alternatives(snapshot, offset, Settings(), first.text, 1)
    typed, typed_offset = snapshot_at("def double(x):\n    return █\n")
    # Both fit "return "; the first offered wins until the person is known to have taken the
    # other.
    assert (await service.complete(typed, typed_offset, Settings())).text == "x * 2"
    service.shown.prefer(snapshot.uri, "return x + x")
    rest = await service.complete(typed, typed_offset, Settings())
    assert rest.text == "x + x" and rest.source == "typed-ahead"


async def test_items_carry_the_accept_command_and_a_partial_accept_picks_the_one_taken(
    client: LanguageClient,
):
    await initialize(client)
    text, position = position_of("def double(x):\n    █\n", "█")
    open_document(client, URI, text)
    invoked: list[types.InlineCompletionItem] = []
    for _ in range(100):  # the fake model loads in the background
        result = await client.text_document_inline_completion_async(
            inline_params(URI, position, types.InlineCompletionTriggerKind.Invoked)
        )
        invoked = list(result.items) if result else []
        if invoked:
            break
        await asyncio.sleep(0.05)
    assert [item.insert_text for item in invoked][:2] == ["return x * 2", "return x + x"]
    commands = [item.command for item in invoked]
    assert all(c is not None and c.command == "codels.accepted" for c in commands)
    ids = [c.arguments[0]["id"] for c in commands if c is not None and c.arguments]
    assert len(set(ids)) == len(invoked)
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="codels.acceptedPart", arguments=[{"id": ids[1], "chars": 7}]
        )
    )
    replace_text(client, URI, 2, position, "return ")
    after = types.Position(line=position.line, character=position.character + 7)
    result = await client.text_document_inline_completion_async(inline_params(URI, after))
    assert [item.insert_text for item in result.items] == ["x + x"]
