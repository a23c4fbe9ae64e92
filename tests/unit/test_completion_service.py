"""The completion service's time budget, result memory and figures, with the fake engine."""

import asyncio

from cursor import snapshot_at
from fake_engine import FakeEngine

from codels.completion.inflight import InFlight, InFlightGenerations, Progress
from codels.completion.outcome import CompletionOutcome
from codels.completion.service import CompletionService
from codels.completion.speculation import ends_line
from codels.config import Settings
from codels.engines.base import EngineOptions
from codels.languages.python import PYTHON
from codels.languages.python.keywords import BLOCK_OPENER_WORDS
from codels.pipeline.context import CompletionKind

BODY = "def total(items):\n    █\n"
NO_CONTEXT = (CompletionKind.NONE, "")
LOOP = "for item in items:\n        print(item)\n    return None\n"
JOIN = 'return "\\n".join(\n        str(item)\n        for item in items\n    )\n'


def asked(engine: FakeEngine) -> list:
    """The requests someone asked for (not speculative ones)."""
    return [request for request in engine.requests if not request.background]


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
    assert len(asked(engine)) == 1


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
    assert len(asked(engine)) == 2 and second.source == "model"
    stats = service.stats.summary()
    assert stats["model_runs"] == 2 and stats["model_answer_p50_ms"] is not None
    # Nearly all of the second answer's time went on the two generations, none of it on the
    # server's own work: the overhead figure leaves out both.
    assert service.stats.overhead_ms[-1] < second.total_ms / 4


def next_line_answers(request) -> str:
    """``y = x * 2`` on an empty body, then ``return y`` once that line is written."""
    return "return y\n" if "y = x * 2" in request.prompt else "y = x * 2\n"


async def test_the_line_after_an_accepted_suggestion_is_ready_when_enter_opens_it():
    engine = FakeEngine(next_line_answers)
    engine.load(EngineOptions())
    service = CompletionService(engine)
    settings = Settings(speculate=True)
    first = await service.complete(*snapshot_at("def double(x):\n    █\n"), settings)
    assert first.text == "y = x * 2"
    # Accepted: at the end of the line the model ended, the answer is "" without the model.
    at_end = await service.complete(*snapshot_at("def double(x):\n    y = x * 2█\n"), settings)
    assert (at_end.text, at_end.source) == ("", "cache")
    # Enter: the editor opens an indented line, and its suggestion was generated already.
    opened = await service.complete(
        *snapshot_at("def double(x):\n    y = x * 2\n    █\n"), settings
    )
    assert (opened.text, opened.source) == ("return y", "speculative")
    assert [request.background for request in engine.requests] == [False, True]
    # Typing into the speculative suggestion is served like typing into any other.
    typed = await service.complete(
        *snapshot_at("def double(x):\n    y = x * 2\n    re█\n"), settings
    )
    assert (typed.text, typed.source) == ("turn y", "typed-ahead")
    stats = service.stats.summary()
    assert stats["speculative_runs"] == 1 and stats["speculative_hits"] == 1
    assert len(engine.requests) == 2


async def test_a_request_waits_for_the_speculation_it_reaches_and_stops_one_it_leaves():
    engine = FakeEngine(next_line_answers, token_delay=0.05)
    engine.load(EngineOptions())
    service = CompletionService(engine)
    settings = Settings(speculate=True)
    await service.complete(*snapshot_at("def double(x):\n    █\n"), settings)
    # Enter at once, while the next line is still being written: the request adopts it.
    opened = await service.complete(
        *snapshot_at("def double(x):\n    y = x * 2\n    █\n"), settings
    )
    assert (opened.text, opened.source) == ("return y", "speculative")
    assert len(asked(engine)) == 1
    # The same again, but the person goes elsewhere: the speculation is stopped, not awaited.
    await service.complete(*snapshot_at("def triple(x):\n    █\n", "file:///b.py"), settings)
    elsewhere = await service.complete(
        *snapshot_at("def triple(x):\n    z█\n", "file:///b.py"), settings
    )
    assert elsewhere.source == "model"
    assert service.stats.cancelled == 1


async def test_no_speculation_when_turned_off_or_when_the_line_goes_on():
    engine = FakeEngine(next_line_answers)
    engine.load(EngineOptions())
    service = CompletionService(engine)
    await service.complete(*snapshot_at("def double(x):\n    █\n"), Settings())  # off by default
    await service.complete(*snapshot_at("def half(x):\n    return (█)\n"), Settings(speculate=True))
    assert [request.background for request in engine.requests] == [False, False]


def test_the_model_ended_the_line_only_if_it_wrote_a_break_or_its_end_token_next():
    assert ends_line("y = x * 2\n    return", "y = x * 2", "rule")
    assert ends_line("  y = x * 2", "y = x * 2", "stop_token")
    assert not ends_line("y = x * 2 + 1", "y = x * 2", "length")
    assert not ends_line("y = x * 2", "y = x * 2", "length")
    assert ends_line("x = x  \n", "x", "rule")  # a later occurrence ends the line


def test_the_next_line_is_indented_as_an_editor_indents_it():
    def indent(line: str) -> str:
        return PYTHON.blocks.next_line_indent(line, len(line))

    assert indent("    total = 0") == "    "
    assert indent("    for item in items:") == "        "
    assert indent("        return total") == "    "
    assert indent("\tif x:") == "\t\t"
    assert indent("    values = [") == "        "
    assert indent("raise ValueError") == ""


HEADLESS = "def f(xs):\n    total = 0\n    █\n        total += x\n    return total\n"


async def test_a_line_above_deeper_code_is_asked_again_for_a_block_header():
    # ``total += x`` is indented deeper than the cursor: the answer must open its block.
    def respond(request):
        return " for x in xs:\n" if request.first_token_words else " total = 1\n"

    service, engine = service_for("")
    engine._respond = respond
    snapshot, offset = snapshot_at(HEADLESS)
    outcome = await service.complete(snapshot, offset, Settings())
    assert outcome.text == "for x in xs:"
    assert [request.first_token_words for request in asked(engine)] == [(), BLOCK_OPENER_WORDS]


async def test_an_answer_that_opens_the_block_is_not_asked_again():
    service, engine = service_for(" for x in xs:\n")
    snapshot, offset = snapshot_at(HEADLESS)
    outcome = await service.complete(snapshot, offset, Settings())
    assert outcome.text == "for x in xs:"
    assert len(asked(engine)) == 1


async def test_a_generation_is_continued_by_typing_on_at_its_cursor_only():
    text = "def f(x):\n    return \n"
    cursor = text.index("\n    return ") + len("\n    return ")
    task = asyncio.ensure_future(asyncio.sleep(0, CompletionOutcome("x", *NO_CONTEXT)))
    flight = InFlight(text, cursor, task, Progress("x * 2"))
    typed = text[:cursor] + "x *" + text[cursor:]
    assert flight.continued_by(text, cursor)
    assert flight.continued_by(typed, cursor + 3)
    assert not flight.continued_by(typed, cursor + 2)  # the text after the cursor differs
    assert not flight.continued_by(text, cursor - 1)
    flights = InFlightGenerations()
    flights.track("u", flight)
    assert flights.answering("u", typed, cursor + 3) is flight
    other = text[:cursor] + "y" + text[cursor:]
    assert flights.answering("u", other, cursor + 1) is None  # it wrote "x", not "y"
    assert (await flights.wait(flight)).text == "x" and flight.suggestion() == "x"
    flights.forget("u")
    assert flights.get("u") is None


def test_what_a_generation_wrote_agrees_with_the_typed_text_up_to_indentation():
    progress = Progress("    return x")
    assert progress.agrees("return")
    assert progress.agrees("  return x * 2")  # longer than what was written so far
    assert not progress.agrees("yield")
