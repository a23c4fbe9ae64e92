"""Show early, keep going: a block answered with its first lines while it is still written.

With the fake engine writing slowly (``token_delay``), and with a remote engine whose stream
is scripted: the early answer, the requests that follow it served from the same generation,
the generation never cut short, ``showEarlyMs`` 0, and what stops the generation.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from cursor import snapshot_at
from fake_engine import FakeEngine, count_tokens

from codels.completion.service import CompletionService
from codels.config import Settings
from codels.engines.base import EngineOptions, GenerationRequest, ModelInfo
from codels.engines.remote_llama_server import LlamaServerEngine
from codels.models.catalogue import load_catalogue

BODY = "def total(items):\n    █\n"
ANSWER = "total = 0\n    for item in items:\n        total += item\n    return total\n"
WHOLE = "total = 0\n    for item in items:\n        total += item\n    return total"
URI = "file:///work/example.py"
SLOW = 0.02  # seconds per token: the whole answer takes about half a second
EARLY = Settings(show_early_ms=60)


def slow_service(answer: str = ANSWER, delay: float = SLOW) -> tuple[CompletionService, FakeEngine]:
    engine = FakeEngine(answer, token_delay=delay)
    engine.load(EngineOptions())
    return CompletionService(engine), engine


def asked(engine: FakeEngine) -> list[GenerationRequest]:
    return [request for request in engine.requests if not request.background]


def with_typed(typed: str) -> str:
    """BODY with ``typed`` written at the cursor (the cursor after it)."""
    return BODY.replace("█", typed + "█")


async def test_a_block_is_answered_with_its_first_line_while_the_model_writes_on():
    service, _ = slow_service()
    outcome = await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None and not flight.task.done()
    assert (outcome.text, outcome.source) == ("total = 0", "early")
    assert outcome.total_ms < 400  # the whole answer takes longer
    whole = await flight.task
    assert whole.text == WHOLE and whole.source == "model"
    assert service.stats.summary()["early"] == 1


async def test_the_requests_that_follow_are_served_from_the_same_generation():
    service, engine = slow_service()
    first = await service.complete(*snapshot_at(BODY), EARLY)
    assert first.text == "total = 0"
    # The person accepts the first line: its next line comes from the generation under way.
    accepted = await service.complete(*snapshot_at(with_typed("total = 0")), EARLY)
    assert accepted.source == "early"
    assert accepted.text.startswith("\n    for item in items:")
    assert WHOLE.startswith("total = 0" + accepted.text)
    # Typing into it is served from it too.
    typed = await service.complete(*snapshot_at(with_typed("total = 0\n    for it")), EARLY)
    assert typed.text.startswith("em in items:")
    flight = service.flights.get(URI)
    assert flight is not None
    await flight.task
    # Once it is written, the whole answer is what the person gets.
    done = await service.complete(*snapshot_at(with_typed("total = 0")), EARLY)
    assert done.text == WHOLE[len("total = 0") :]
    again = await service.complete(*snapshot_at(BODY), EARLY)
    assert again.text == WHOLE
    assert len(asked(engine)) == 1  # one model run for all of them


async def test_accepting_all_that_was_shown_waits_for_the_next_line():
    service, engine = slow_service()
    await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None
    shown = flight.progress.preview()
    # However much it has written by now, the next request asks for more than that.
    more = await service.complete(*snapshot_at(with_typed(shown)), EARLY)
    assert more.text and WHOLE.startswith(shown + more.text)
    assert len(asked(engine)) == 1


async def test_the_generation_is_not_cut_short_by_showing_early():
    early_service, _ = slow_service()
    await early_service.complete(*snapshot_at(BODY), EARLY)
    flight = early_service.flights.get(URI)
    assert flight is not None
    # Nobody waits for it now: it is not stopped after the grace period either.
    early_service.flights.GRACE_SECONDS = 0.01
    await asyncio.sleep(0.1)
    assert not flight.task.done()
    whole = await flight.task
    assert whole.generation is not None
    assert whole.generation.stop_reason != "cancelled"
    assert whole.generation.generated_tokens == count_tokens(ANSWER)
    late_service, _ = slow_service(delay=0.0)
    late = await late_service.complete(*snapshot_at(BODY), Settings(show_early_ms=0))
    assert whole.text == late.text == WHOLE


async def test_show_early_off_waits_for_the_whole_block():
    service, _ = slow_service()
    outcome = await service.complete(*snapshot_at(BODY), Settings(show_early_ms=0))
    assert (outcome.text, outcome.source) == (WHOLE, "model")
    assert service.stats.summary()["early"] == 0


async def test_a_block_written_within_the_budget_is_shown_whole():
    service, _ = slow_service(delay=0.001)
    outcome = await service.complete(*snapshot_at(BODY), Settings(show_early_ms=2000))
    assert (outcome.text, outcome.source) == (WHOLE, "model")


async def test_a_single_line_is_not_shown_early():
    service, _ = slow_service("x * 2 + 1\n")
    outcome = await service.complete(*snapshot_at("def f(x):\n    return █\n"), EARLY)
    assert (outcome.text, outcome.source) == ("x * 2 + 1", "model")


async def test_an_engine_that_cannot_tell_what_it_wrote_so_far_is_waited_for():
    service, engine = slow_service()
    engine.capabilities = dataclasses.replace(engine.capabilities, streams_text=False)
    outcome = await service.complete(*snapshot_at(BODY), EARLY)
    assert (outcome.text, outcome.source) == (WHOLE, "model")


async def test_an_edit_elsewhere_stops_the_generation_shown_early():
    service, _ = slow_service()
    await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None and not flight.task.done()
    # The person goes on somewhere else: the request there stops it, as any superseded one.
    elsewhere = "def total(items):\n    \n\ndef other():\n    return █\n"
    await service.complete(*snapshot_at(elsewhere), Settings(show_early_ms=0))
    assert flight.task.cancelled()
    assert service.stats.cancelled >= 1


async def test_typing_something_else_stops_the_generation_shown_early():
    service, engine = slow_service()
    await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None
    await service.complete(*snapshot_at(with_typed("count = 1")), Settings(show_early_ms=0))
    assert flight.task.cancelled()
    assert len(asked(engine)) == 2


async def test_a_request_in_another_file_stops_the_generation_shown_early():
    service, engine = slow_service()
    await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None and not flight.task.done()
    # The person switched files: the model is theirs there, not the rest of this block.
    other = snapshot_at("def count(items):\n    return █\n", "file:///work/other.py")
    await service.complete(*other, Settings(show_early_ms=0))
    assert flight.task.cancelled()
    assert len(asked(engine)) == 2


async def test_evaluating_another_files_prompt_stops_the_generation_shown_early():
    service, _ = slow_service()
    await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None
    await service.prefill(*snapshot_at("x = █\n", "file:///work/other.py"), EARLY)
    await asyncio.sleep(0)
    assert flight.task.cancelled()


async def test_the_generation_shown_early_keeps_going_for_its_own_file():
    service, _ = slow_service()
    await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None
    await service.prefill(*snapshot_at(BODY), EARLY)
    assert not flight.task.cancelled()
    assert (await flight.task).text == WHOLE


async def test_closing_the_document_stops_the_generation_shown_early():
    service, _ = slow_service()
    await service.complete(*snapshot_at(BODY), EARLY)
    flight = service.flights.get(URI)
    assert flight is not None
    service.forget(URI)
    await asyncio.sleep(0)
    assert flight.task.cancelled()


def scripted_remote(pieces: list[str], delay: float) -> LlamaServerEngine:
    """A llama-server engine whose stream sends ``pieces``, one event each, ``delay`` apart."""
    catalogue = load_catalogue()
    engine = LlamaServerEngine(catalogue)
    engine._family = catalogue.families["qwen2.5-coder"]
    engine._info = ModelInfo(
        "served", "http://127.0.0.1:1", engine._family, False, "", 4096, 0, 0, "llama-server"
    )

    async def stream(path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        for piece in pieces:
            await asyncio.sleep(delay)
            yield {"content": piece}
        yield {"content": "", "stop": True, "stop_type": "eos", "timings": {"predicted_n": 9}}

    engine._connection.stream = stream  # type: ignore[method-assign]
    return engine


async def test_a_remote_engine_streams_what_it_wrote_so_it_is_shown_early():
    pieces = ["total", " = 0\n", "    for item", " in items:\n", "        total += item\n"]
    engine = scripted_remote([*pieces, "    return total\n"], delay=0.06)
    assert engine.capabilities.streams_text
    service = CompletionService(engine)
    first = await service.complete(*snapshot_at(BODY), EARLY)
    assert (first.text, first.source) == ("total = 0", "early")
    flight = service.flights.get(URI)
    assert flight is not None
    whole = await flight.task
    assert whole.text == WHOLE
    done = await service.complete(*snapshot_at(with_typed("total = 0")), EARLY)
    assert done.text == WHOLE[len("total = 0") :]


async def test_the_evaluation_scores_the_whole_generation():
    from codels.tools.evaluation import Evaluator
    from codels.tools.tasks import EvalTask

    engine = FakeEngine(ANSWER, token_delay=SLOW)
    engine.load(EngineOptions())
    evaluator = Evaluator(engine, EARLY, baseline=False)
    task = EvalTask("t/1", "def total(items):\n    ", "\n", WHOLE)
    attempt = await evaluator.codels_completion(task, EARLY)
    assert attempt.completion == WHOLE
