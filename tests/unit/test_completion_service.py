"""The completion service's time budget, result memory and figures, with the fake engine."""

import asyncio

from cursor import snapshot_at
from fake_engine import FakeEngine

from codels.completion import CompletionService
from codels.config import Settings
from codels.engine import EngineOptions

BODY = "def total(items):\n    █\n"
LOOP = "for item in items:\n        print(item)\n    return None\n"
JOIN = 'return "\\n".join(\n        str(item)\n        for item in items\n    )\n'


def service_for(answer: str, token_delay: float = 0.0) -> tuple[CompletionService, FakeEngine]:
    engine = FakeEngine(answer, token_delay=token_delay)
    engine.load(EngineOptions())
    return CompletionService(engine), engine


async def test_the_time_budget_does_not_stop_inside_an_open_bracket():
    service, _ = service_for(JOIN, token_delay=0.005)
    snapshot, offset = snapshot_at(BODY)
    # The budget runs out before the first line is done; that line alone leaves a bracket open
    # and would be dropped, so generation goes on until the call is closed.
    outcome = await service.complete(snapshot, offset, Settings(time_budget_ms=1))
    assert outcome.text == JOIN.rstrip()


async def test_an_empty_answer_cut_short_is_asked_again_not_remembered():
    service, engine = service_for(LOOP)
    snapshot, offset = snapshot_at(BODY)
    settings = Settings(max_tokens=6)  # ends inside the header: nothing to show
    first = await service.complete(snapshot, offset, settings)
    second = await service.complete(snapshot, offset, settings)
    assert first.text == second.text == ""
    assert len(engine.requests) == 2


async def test_a_finished_answer_is_served_from_memory():
    service, engine = service_for("return sum(items)\n")
    snapshot, offset = snapshot_at(BODY)
    first = await service.complete(snapshot, offset, Settings())
    second = await service.complete(snapshot, offset, Settings())
    assert first.text == second.text == "return sum(items)"
    assert second.source == "cache"
    assert len(engine.requests) == 1


async def test_waiting_for_an_earlier_generation_is_not_counted_as_overhead():
    service, engine = service_for("x * 2 + 1 - 3\n", token_delay=0.05)
    typed, offset = snapshot_at("def double(x):\n    return █\n")
    first = asyncio.ensure_future(service.complete(typed, offset, Settings()))
    await asyncio.sleep(0.02)
    # The person types "y" while the model writes "x …": the request waits for the running
    # generation (its answer might have started with "y"), then has to generate again.
    typed_on, offset_on = snapshot_at("def double(x):\n    return y█\n")
    second = await service.complete(typed_on, offset_on, Settings())
    await first
    assert len(engine.requests) == 2 and second.source == "model"
    stats = service.stats.summary()
    assert stats["model_runs"] == 2 and stats["model_answer_p50_ms"] is not None
    # Nearly all of the second answer's time went on the two generations, none of it on the
    # server's own work: the overhead figure leaves out both.
    assert service.stats.overhead_ms[-1] < second.total_ms / 4
