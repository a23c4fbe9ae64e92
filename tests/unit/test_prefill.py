"""Prefill on open and focus: the prompt at a document's cursor, evaluated while the person reads.

The server runs in process on the fake engine, its handlers called as pygls would call them.
"""

import asyncio
import dataclasses
from collections import namedtuple

import pytest
from fake_engine import FakeEngine
from lsprotocol import types

from codels.config import MANUAL, Settings, read_settings
from codels.engines.base import EngineCapabilities, EngineOptions
from codels.lsp.handlers import documents, focus, inline
from codels.lsp.model import ModelState
from codels.lsp.server import CodelsLanguageServer

MODULE = (
    '''import math


def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    return math.pi * radius**2


def perimeter(radius: float) -> float:
    """Return the perimeter of a circle with the given radius."""
'''
    + "    \n"
)
URI = "file:///work/shapes.py"
BODY = types.Position(line=10, character=4)
"""The empty line of perimeter's body."""


def server(engine: FakeEngine | None = None, **settings: object) -> CodelsLanguageServer:
    engine = engine or FakeEngine("return 2 * math.pi * radius\n")
    engine.load(EngineOptions())
    ls = CodelsLanguageServer(dataclasses.replace(Settings(), **settings), engine)
    ls.model.state = ModelState.READY
    return ls


def open_document(ls: CodelsLanguageServer, text: str = MODULE, uri: str = URI, lang="python"):
    documents.text_document_did_open(
        ls,
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=lang, version=1, text=text)
        ),
    )


async def settled() -> None:
    await asyncio.sleep(focus.QUIET_SECONDS + 0.2)


def focused(uri: str, position: types.Position | None):
    """The parameters as pygls hands a custom notification's over: namedtuples."""
    document = namedtuple("TextDocument", "uri")(uri)
    if position is None:
        return namedtuple("Params", "textDocument")(document)
    where = namedtuple("Position", "line character")(position.line, position.character)
    return namedtuple("Params", "textDocument position")(document, where)


async def test_opening_a_document_evaluates_the_prompt_at_its_start():
    ls = server()
    open_document(ls)
    await settled()
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    assert len(engine.prefills) == 1 and not engine.requests
    assert engine.prefills[0].prompt.startswith("<|fim_prefix|>")
    stats = ls.completions.stats.summary()
    assert stats["prefills"] == 1 and stats["prefill_tokens"] > 0
    assert stats["model_runs"] == 0  # a prefill is not a completion


async def test_focus_evaluates_the_prompt_that_a_request_there_sends():
    ls = server()
    open_document(ls)
    focus.codels_did_focus(ls, focused(URI, BODY))
    await settled()
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    assert len(engine.prefills) == 1  # the focus replaced the open's, still waiting
    outcome, _, _ = await inline.complete_at(ls, URI, BODY)
    assert outcome is not None and outcome.text
    # The same prompt: the request finds all of it in the KV cache.
    assert engine.requests[0].prompt == engine.prefills[0].prompt
    assert engine.requests[0].key == engine.prefills[0].key == URI


async def test_a_request_before_the_quiet_time_ends_drops_the_prefill():
    ls = server()
    open_document(ls)
    await inline.complete_at(ls, URI, BODY)
    await settled()
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    assert not engine.prefills and len(engine.requests) == 1


async def test_switching_back_prefills_at_the_last_cursor_there():
    ls = server()
    open_document(ls)
    await inline.complete_at(ls, URI, BODY)
    other = "file:///work/other.py"
    open_document(ls, "print('hello')\n", other)
    await settled()
    focus.codels_did_focus(ls, focused(URI, None))  # back, the editor sends no cursor
    await settled()
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    assert [request.key for request in engine.prefills] == [other, URI]
    assert engine.prefills[-1].prompt == engine.requests[0].prompt


@pytest.mark.parametrize(
    "why",
    ["setting off", "manual trigger", "unsupported language", "model loading", "disabled"],
)
async def test_no_prefill_when_the_model_should_not_run(why: str):
    ls = server()
    language = "python"
    if why == "setting off":
        settings, problems = read_settings({"prefillOnOpen": False}, ls.settings)
        assert not problems
        ls.use_settings(settings)
    elif why == "manual trigger":
        ls.use_settings(dataclasses.replace(ls.settings, trigger_mode=MANUAL))
    elif why == "unsupported language":
        language = "plaintext"
    elif why == "model loading":
        ls.model.state = ModelState.LOADING
    else:
        ls.use_settings(dataclasses.replace(ls.settings, enabled=False))
    open_document(ls, uri="file:///work/shapes.txt" if language != "python" else URI, lang=language)
    await settled()
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    assert not engine.prefills


async def test_an_engine_without_document_states_is_not_asked():
    engine = FakeEngine("x")
    engine.capabilities = EngineCapabilities("llama-server")
    ls = server(engine)
    open_document(ls)
    await settled()
    assert not engine.prefills and ls.completions.stats.summary()["prefills"] == 0


async def test_unreadable_focus_parameters_are_logged_and_ignored(caplog):
    ls = server()
    focus.codels_did_focus(ls, {"position": {"line": 1}})
    assert "codels/didFocus takes" in caplog.text
    open_document(ls)  # still works
    await settled()
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    assert len(engine.prefills) == 1


async def test_closing_the_document_drops_its_prefill():
    ls = server(FakeEngine("x", prefill_delay=0.0))
    open_document(ls)
    documents.text_document_did_close(
        ls, types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=URI))
    )
    await settled()
    engine = ls.engine
    assert isinstance(engine, FakeEngine)
    assert not engine.prefills
