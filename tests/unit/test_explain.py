"""Explain this function: what is explained, the prompt, the answer read, the bounds, over LSP."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import pytest_lsp
from cursor import snapshot_at
from fake_engine import FakeEngine
from lsp_session import capabilities, fake_server, open_document, position_of
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from codels.actions import explain
from codels.actions.errors import ActionError
from codels.actions.explain import explain_prompt, explain_target, read_explanation
from codels.actions.runner import ActionRunner
from codels.config import Settings
from codels.engines.base import EngineOptions

SETTINGS = Settings()
SOURCE = '''import math
from dataclasses import dataclass


@dataclass
class Circle:
    radius: float

    @property
    def area(self) -> float:
        """The area."""
        return math.pi * self.radius**2

    def scaled(self, factor: float) -> "Circle":
        def grow(r: float) -> float:
            return r * factor

        return Circle(grow(self.radius))


TOTAL = 3
'''
ANSWER = (
    "The `area` property returns the area of the circle, pi times the radius squared. "
    "It takes no arguments besides the circle itself."
)


def at(marker: str, source: str = SOURCE) -> tuple[object, int]:
    """A snapshot of ``source`` with the cursor placed before the first ``marker``."""
    return snapshot_at(source.replace(marker, "█" + marker, 1))


def loaded(respond: object = ANSWER, **kw: object) -> FakeEngine:
    fake = FakeEngine(respond, **kw)  # type: ignore[arg-type]
    fake.load(EngineOptions())
    return fake


def run_explain(fake: FakeEngine, snapshot: object, start: int, end: int, **kw: object):
    settings = dataclasses.replace(SETTINGS, **kw)  # type: ignore[arg-type]
    return asyncio.run(ActionRunner(fake).explain(snapshot, start, end, settings))  # type: ignore[arg-type]


# -- what is explained ----------------------------------------------------------------------


def test_the_cursor_in_a_body_explains_that_function_with_its_decorator():
    snapshot, offset = at("return math.pi")
    target = explain_target(snapshot, offset, offset)  # type: ignore[arg-type]
    assert target.name == "area" and target.subject == "the function `area`"
    assert target.code.startswith("@property\ndef area(self) -> float:")
    assert target.code.endswith("return math.pi * self.radius**2")


def test_the_innermost_function_is_explained_and_a_blank_line_belongs_to_the_code_above():
    snapshot, offset = at("return r * factor")
    assert explain_target(snapshot, offset, offset).name == "grow"  # type: ignore[arg-type]
    # The blank line after grow's body: still inside scaled, whose body goes on below.
    snapshot, offset = at("\n        return Circle(")
    target = explain_target(snapshot, offset + 1, offset + 1)  # type: ignore[arg-type]
    assert target.name in ("grow", "scaled")


def test_a_selection_is_explained_as_it_is_dedented():
    snapshot, start = at("def grow")
    end = SOURCE.index("return Circle")
    target = explain_target(snapshot, start, end)  # type: ignore[arg-type]
    assert target.subject == "the selected code" and target.name == ""
    assert target.code == "def grow(r: float) -> float:\n    return r * factor"


def test_outside_any_function_it_says_where_to_put_the_cursor():
    snapshot, offset = at("TOTAL")
    with pytest.raises(ActionError, match="put the cursor inside a function, or select"):
        explain_target(snapshot, offset, offset)  # type: ignore[arg-type]


def test_the_prompt_asks_for_prose_about_the_code_with_the_imports_and_class():
    snapshot, offset = at("return math.pi")
    target = explain_target(snapshot, offset, offset)  # type: ignore[arg-type]
    prompt = explain_prompt(snapshot, target)  # type: ignore[arg-type]
    assert "without code blocks" in prompt.system
    assert prompt.user.startswith("Explain the function `area` below in 2 to 4 short sentences")
    assert "```python\n@property\ndef area(self) -> float:" in prompt.user
    assert "import math\nfrom dataclasses import dataclass" in prompt.user
    assert "class Circle:" in prompt.user
    bare = explain_prompt(snapshot, target, with_context=False)  # type: ignore[arg-type]
    assert "import math" not in bare.user and "For reference" not in bare.user


# -- reading the answer ---------------------------------------------------------------------


def test_code_blocks_are_taken_out_of_the_answer():
    answer = "It adds one.\n\n```python\ndef f(x):\n    return x + 1\n```\n\nIt never fails."
    assert read_explanation(answer, truncated=False) == "It adds one.\n\nIt never fails."
    assert read_explanation("It adds one.\n```python\ndef f(", truncated=False) == "It adds one."


def test_an_answer_cut_short_ends_at_its_last_whole_sentence():
    answer = "It returns the area. It uses `math.pi` (a float). Then it rou"
    assert read_explanation(answer, truncated=True) == (
        "It returns the area. It uses `math.pi` (a float)."
    )
    assert read_explanation(answer, truncated=False) == answer


# -- with a fake engine ---------------------------------------------------------------------


def test_the_model_is_asked_an_instruction_prompt_with_bounded_tokens():
    fake = loaded()
    snapshot, offset = at("return math.pi")
    result = run_explain(fake, snapshot, offset, offset)
    assert result.markdown == ANSWER and not result.truncated
    (request,) = fake.requests
    assert request.chat is not None and request.prompt.startswith("<|im_start|>system")
    assert request.max_tokens == explain.EXPLAIN_MAX_TOKENS
    assert request.key == "file:///work/example.py#action"
    assert result.generated_tokens > 0


def test_action_max_tokens_bounds_an_explanation_too():
    fake = loaded()
    snapshot, offset = at("return math.pi")
    result = run_explain(fake, snapshot, offset, offset, action_max_tokens=16)
    assert fake.requests[0].max_tokens == 16
    assert result.truncated and result.markdown == "The `area` property returns the area of…"


def test_the_time_budget_stops_a_slow_answer_at_a_sentence(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(explain, "EXPLAIN_TIME_BUDGET_S", 0.3)
    fake = loaded("It returns the area. " + "It goes on and on " * 200, token_delay=0.01)
    snapshot, offset = at("return math.pi")
    result = run_explain(fake, snapshot, offset, offset)
    assert result.truncated and result.markdown == "It returns the area."
    assert fake.requests[0].max_tokens > result.generated_tokens


def test_code_too_long_for_the_context_is_refused_with_what_to_do():
    fake = loaded()
    source = "def big():\n" + "".join(f"    x{i} = {i}\n" for i in range(400))
    snapshot, offset = snapshot_at(source.replace("    x0", "█    x0", 1))
    with pytest.raises(ActionError, match=r"too long to explain .* select a part of it"):
        run_explain(fake, snapshot, offset, offset, context_size=512)
    assert not fake.requests


def test_a_model_without_an_instruction_template_is_reported():
    qwen = FakeEngine().family
    fake = loaded(family=dataclasses.replace(qwen, chat_template=""))
    snapshot, offset = at("return math.pi")
    with pytest.raises(ActionError, match=r"no instruction template.*Instruct model"):
        run_explain(fake, snapshot, offset, offset)


def test_an_answer_of_only_code_is_reported():
    fake = loaded("```python\ndef area(self):\n    return 1\n```")
    snapshot, offset = at("return math.pi")
    with pytest.raises(ActionError, match="held no explanation"):
        run_explain(fake, snapshot, offset, offset)


def test_a_model_that_is_not_loaded_is_reported():
    snapshot, offset = at("return math.pi")
    with pytest.raises(ActionError, match="not loaded"):
        run_explain(FakeEngine(ANSWER), snapshot, offset, offset)


def test_explaining_works_for_any_language_codels_reads(monkeypatch: pytest.MonkeyPatch):
    # The function is found through the Language's scope node types, not Python's rules.
    from codels.languages.python import PYTHON

    renamed = dataclasses.replace(
        PYTHON.nodes, scopes={"function_definition": "function", "class_definition": "class"}
    )
    language = dataclasses.replace(PYTHON, nodes=renamed)
    snapshot, offset = at("return r * factor")
    found = explain.function_around(language, snapshot.tree, snapshot, offset)  # type: ignore[attr-defined, arg-type]
    assert found is not None and found[2] == "grow"


# -- over LSP, the real server with a fake engine -------------------------------------------

URI = "file:///work/circle.py"


@pytest_lsp.fixture(config=fake_server(CODELS_FAKE_CHAT_RESPONSE=ANSWER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=fake_server(CODELS_FAKE_TOKEN_DELAY="0.05", CODELS_FAKE_CHAT_RESPONSE="word " * 2000)
)
async def slow_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def start(client: LanguageClient) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(), client_info=types.ClientInfo(name="pytest-lsp")
        )
    )
    for _ in range(100):  # the fake model loads at once, but in the background
        if (await client.protocol.send_request_async("codels/status", {})).model == "ready":
            return
        await asyncio.sleep(0.05)


def params(uri: str, start: types.Position, end: types.Position | None = None) -> dict[str, object]:
    def plain(position: types.Position) -> dict[str, int]:
        return {"line": position.line, "character": position.character}

    return {
        "textDocument": {"uri": uri},
        "range": {"start": plain(start), "end": plain(end or start)},
    }


async def test_codels_explain_answers_markdown_with_progress_and_the_range(
    client: LanguageClient,
):
    await start(client)
    text, position = position_of(SOURCE.replace("return math.pi", "█return math.pi"), "█")
    open_document(client, URI, text)
    answer = await client.protocol.send_request_async("codels/explain", params(URI, position))
    assert answer.markdown == ANSWER
    assert answer.title == "Explanation of `area`" and answer.name == "area"
    assert answer.model == "fake" and answer.truncated is False
    # The range is the decorated function, from the decorator's line to the end of its body.
    assert (answer.range.start.line, answer.range.start.character) == (8, 4)
    assert answer.range.end.line == 11
    assert answer.generatedTokens > 0
    await asyncio.sleep(0.1)
    (reports,) = [
        values
        for values in client.progress_reports.values()
        if values[0].title == "codels: Explain this function"
    ]
    assert [r.kind for r in reports] == ["begin", "report", "end"]
    assert reports[1].message == "asking the model" and reports[-1].message == "done"


async def test_a_selection_is_explained(client: LanguageClient):
    await start(client)
    open_document(client, URI, SOURCE)
    lines = SOURCE.split("\n")
    row = lines.index("        def grow(r: float) -> float:")
    selection = params(URI, types.Position(line=row, character=0), types.Position(row + 2, 0))
    answer = await client.protocol.send_request_async("codels/explain", selection)
    assert answer.title == "Explanation of the selection" and answer.subject == "the selected code"


async def test_what_cannot_be_explained_gets_an_error_that_says_what_to_do(
    client: LanguageClient,
):
    await start(client)
    open_document(client, URI, SOURCE)
    row = SOURCE.split("\n").index("TOTAL = 3")
    with pytest.raises(JsonRpcException, match="put the cursor inside a function") as caught:
        await client.protocol.send_request_async(
            "codels/explain", params(URI, types.Position(line=row, character=0))
        )
    assert caught.value.code == types.LSPErrorCodes.RequestFailed
    with pytest.raises(JsonRpcException, match="document not open"):
        await client.protocol.send_request_async(
            "codels/explain", params("file:///work/closed.py", types.Position(line=0, character=0))
        )
    with pytest.raises(JsonRpcException, match=r'takes \{"textDocument"'):
        await client.protocol.send_request_async("codels/explain", {"range": 3})
    with pytest.raises(JsonRpcException, match="lies outside"):
        await client.protocol.send_request_async(
            "codels/explain", params(URI, types.Position(line=900, character=0))
        )
    # ... and the server goes on explaining.
    row = SOURCE.split("\n").index("        return math.pi * self.radius**2")
    answer = await client.protocol.send_request_async(
        "codels/explain", params(URI, types.Position(line=row, character=8))
    )
    assert answer.markdown == ANSWER


async def test_cancelling_an_explanation_stops_it_and_the_server_keeps_serving(
    slow_client: LanguageClient,
):
    client = slow_client
    await start(client)
    open_document(client, URI, SOURCE)
    row = SOURCE.split("\n").index("        return math.pi * self.radius**2")
    request = asyncio.ensure_future(
        client.protocol.send_request_async(
            "codels/explain", params(URI, types.Position(line=row, character=8)), msg_id="explain"
        )
    )
    await asyncio.sleep(0.5)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="explain"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(request, timeout=30)
    await asyncio.sleep(0.1)
    (reports,) = [
        values
        for values in client.progress_reports.values()
        if values[0].title == "codels: Explain this function"
    ]
    assert reports[-1].kind == "end" and reports[-1].message == "cancelled"
    status = await client.protocol.send_request_async("codels/status", {})
    assert status.model == "ready"


def test_the_request_is_registered_beside_codels_own_requests():
    from codels.lsp.server import create_server

    features = create_server(engine=FakeEngine()).protocol.fm.features
    assert "codels/explain" in features
