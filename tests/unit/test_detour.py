"""An answer that repeats the line after a blank cursor line takes the cheapest other turn.

The decode loop runs against a scripted model (logits by the text so far) and a stand-in KV
sequence, so the rewind is checked token by token without a real model.
"""

from collections.abc import Sequence

import numpy
import pytest
from cursor import snapshot_at
from fake_engine import FakeEngine

from codels.completion.service import CompletionService
from codels.config import Settings
from codels.engines.base import EngineOptions, GenerationRequest
from codels.engines.llama_decode import _decode
from codels.engines.llama_detour import Detour
from codels.pipeline.context import build_context
from codels.pipeline.fim import line_after_blank_cursor

PIECES = [
    " self",  # 0
    ".prepare",  # 1
    "_headers",  # 2
    "_url",  # 3
    "(headers",  # 4
    "(url",  # 5
    ")\n",  # 6
    " if",  # 7
    " ok:\n",  # 8
    "<stop>",  # 9
    ".pre",  # 10
    "pare",  # 11
    "\n",  # 12
]
STOP = 9
NEXT_LINE = "self.prepare_headers(headers)"


def text_of(tokens: Sequence[int]) -> str:
    return "".join(PIECES[token] for token in tokens)


def scripted(text: str) -> dict[int, float]:
    """The scripted model: logits after ``text``, the answer so far."""
    table = {
        "": {0: 10.0, 7: 7.0},  # leaving here costs 3
        " self": {1: 10.0, 10: 9.9},  # ".pre" spells the same text: no turn
        " self.prepare": {2: 10.0, 3: 9.0, STOP: 9.8},  # "_url" costs 1; the stop is no turn
        " self.prepare_headers": {4: 10.0},
        " self.prepare_headers(headers": {6: 10.0},
        " self.prepare_url": {5: 10.0},
        " self.prepare_url(url": {6: 10.0},
        " self.prepare_url(url)\n": {STOP: 10.0},
        " self.prepare_headers(headers)\n": {STOP: 10.0},
        " self.pre": {11: 10.0},
        " if": {8: 10.0},
        " if ok:\n": {STOP: 10.0},
    }
    return table.get(text, {STOP: 10.0})


class ScriptedLlama:
    """Samples greedily from :func:`scripted`, through the logits processors it is given."""

    def __init__(self, kv: "Cells", start: int) -> None:
        self.kv = kv
        self.start = start
        self.sampled = 0

    def sample(self, temp: float, repeat_penalty: float, logits_processor=None) -> int:
        scores = numpy.full(len(PIECES), -1e9, dtype=numpy.float32)
        for token, logit in scripted(text_of(self.kv.tokens[self.start :])).items():
            scores[token] = logit
        for processor in logits_processor or []:
            scores = processor(None, scores)
        self.sampled += 1
        return int(numpy.argmax(scores))

    def detokenize(self, tokens: list[int]) -> bytes:
        return text_of(tokens).encode()

    def set_seed(self, seed: int) -> None:
        pass


class Cells:
    """The KV sequence's token list, as :class:`~codels.engines.llama_cells.SequenceCells`."""

    def __init__(self, prompt: list[int]) -> None:
        self.tokens = list(prompt)

    def truncate(self, length: int) -> None:
        del self.tokens[length:]

    def append(self, token: int) -> None:
        self.tokens.append(token)


class Tokens:
    stop_ids = frozenset({STOP})
    vocabulary = None


def decode(avoid: str, temperature: float = 0.0) -> tuple[str, Cells, ScriptedLlama]:
    prompt = [12, 12, 12]  # stands for the prompt's tokens
    kv = Cells(prompt)
    llm = ScriptedLlama(kv, len(prompt))
    request = GenerationRequest(
        prompt="", max_tokens=20, avoid_line=avoid, temperature=temperature, seed=1
    )
    text, _reason, _count = _decode(llm, Tokens(), kv, request, stop=_never())  # type: ignore[arg-type]
    return text, kv, llm


def _never():
    import threading

    return threading.Event()


def test_without_a_line_to_avoid_the_answer_is_the_greedy_repeat():
    text, _, _ = decode("")
    assert text == " self.prepare_headers(headers)\n"


def test_a_repeat_of_the_next_line_turns_where_leaving_costs_least():
    text, kv, _ = decode(NEXT_LINE)
    # " if" cost 3, ".pre" is the same text, the stop token is never a turn: "_url" costs 1.
    assert text == " self.prepare_url(url)\n"
    # The cache holds the new answer's tokens after the prompt, not the repeat's.
    assert text_of(kv.tokens[3:]) == " self.prepare_url(url)\n"


def test_a_sampled_answer_is_left_alone():
    text, _, _ = decode(NEXT_LINE, temperature=0.5)
    assert text == " self.prepare_headers(headers)\n"


def test_an_answer_that_differs_from_the_next_line_is_not_turned():
    text, _, llm = decode("self.prepare_cookies(cookies)")
    assert text == " self.prepare_headers(headers)\n"
    assert llm.sampled == 6  # five tokens and the stop: nothing decoded twice


def test_the_turn_skips_other_spellings_and_tokens_that_end_the_answer():
    detour = Detour(NEXT_LINE, text_of)
    path = [0, 1, 2, 4, 6]
    logits = {0: scripted(""), 1: scripted(" self"), 2: scripted(" self.prepare")}
    for step, table in logits.items():
        scores = numpy.full(len(PIECES), -numpy.inf, dtype=numpy.float32)
        for token, logit in table.items():
            scores[token] = logit
        detour.record(step, scores)
    assert detour.repeats(text_of(path))
    turn = detour.turn(path, lambda token: token == STOP)
    assert turn is not None and (turn.step, turn.token) == (2, 3)
    # One turn per generation: the answer after it is never turned again.
    assert not detour.repeats(text_of(path)) and not detour.watching("")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (f"def f(self):\n    a = 1\n    █\n    {NEXT_LINE}\n", NEXT_LINE),
        (f"def f(self):\n    █\n\n    {NEXT_LINE}\n", NEXT_LINE),  # the first non-blank line
        (f"def f(self):\n    a = █\n    {NEXT_LINE}\n", ""),  # text before the cursor
        ("def f(self):\n    █\n", ""),  # nothing after it
    ],
)
def test_the_line_to_avoid_is_the_next_non_blank_one_after_a_blank_cursor_line(document, expected):
    snapshot, offset = snapshot_at(document)
    assert line_after_blank_cursor(build_context(snapshot, offset)) == expected


async def test_a_completion_on_a_blank_line_asks_the_engine_not_to_repeat_the_next_line():
    engine = FakeEngine("self.prepare_url(url)\n")
    engine.load(EngineOptions())
    service = CompletionService(engine)
    snapshot, offset = snapshot_at(f"def f(self):\n    a = 1\n    █\n    {NEXT_LINE}\n")
    outcome = await service.complete(snapshot, offset, Settings())
    assert outcome.text == "self.prepare_url(url)"
    asked = [request for request in engine.requests if not request.background]
    assert [request.avoid_line for request in asked] == [NEXT_LINE]
