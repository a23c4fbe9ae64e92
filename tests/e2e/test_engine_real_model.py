"""The in-process engine with the real default model: constraints on what it may generate."""

import asyncio
import re
import time

import pytest

from codels.engines.base import EngineOptions, GenerationRequest
from codels.engines.llama import LlamaEngine
from codels.languages.python.keywords import BLOCK_OPENER_WORDS


@pytest.fixture(scope="module")
def engine():
    from conftest import default_model_file

    engine = LlamaEngine()
    engine.load(EngineOptions(model=str(default_model_file()), context_size=1024))
    yield engine
    engine.close()


# The cursor stands at column 4 under ``if x:`` (the prompt keeps 3 of its 4 spaces): left
# alone, the model indents the body further (measured: five spaces before ``return``).
PREFIX = "def f(x):\n    if x:\n   "


def generate(engine, *, no_leading_space: bool) -> str:
    family = engine.info.family
    request = GenerationRequest(
        prompt=family.fim_prompt(PREFIX, "\n"),
        max_tokens=8,
        stop=family.cut_strings,
        no_leading_space=no_leading_space,
    )
    return asyncio.run(engine.generate(request)).text


def test_a_settled_cursor_gets_no_extra_indentation(engine):
    free = generate(engine, no_leading_space=False)
    held = generate(engine, no_leading_space=True)
    assert free.startswith("  "), free  # the case shows what the constraint is for
    leading = len(held) - len(held.lstrip(" \t"))
    assert leading <= 1, (free, held)  # at most the one space the prompt left out
    assert held.strip(), held


def test_an_answer_asked_to_open_a_block_starts_with_a_keyword(engine):
    family = engine.info.family
    prefix = "def total(xs):\n    result = 0\n   "
    suffix = "\n        result += x\n    return result\n"
    request = GenerationRequest(
        prompt=family.fim_prompt(prefix, suffix),
        max_tokens=12,
        stop=family.cut_strings,
        first_token_words=BLOCK_OPENER_WORDS,
    )
    text = asyncio.run(engine.generate(request)).text
    keywords = "if|elif|else|for|while|with|try|except|finally|def|class|async|match|case"
    assert re.match(rf"[ \t]?({keywords})(?!\w)", text), text


def test_a_speculative_generation_leaves_the_requests_cache_as_it_was(engine):
    family = engine.info.family
    asked = family.fim_prompt('def area(r):\n    """Area of a circle."""\n    return ', "\n")
    guess = family.fim_prompt(
        'def area(r):\n    """Area of a circle."""\n    return 3.14 * r * r\n\ndef f(r):\n', "\n"
    )

    def run(prompt: str, background: bool):
        request = GenerationRequest(prompt, 6, key="doc", background=background)
        return asyncio.run(engine.generate(request))

    first = run(asked, background=False)
    guessed = run(guess, background=True)
    again = run(asked, background=False)
    assert guessed.text and not guessed.cancelled
    # The guess started from the request's cells (its own sequence shares them) ...
    assert guessed.cached_tokens > 0
    # ... and the request after it finds all of its prompt still cached but the last token.
    assert again.cached_tokens == again.prompt_tokens - 1
    assert again.text == first.text


def test_a_seeded_sample_repeats_and_other_seeds_differ(engine):
    family = engine.info.family
    prefix = "def describe(animal):\n    "
    suffix = "\n"

    def sample(seed: int | None, temperature: float = 1.0) -> str:
        # The whole prompt is evaluated every time: logits from a prompt partly reused from the
        # cache can differ in the last bits, and so can a close choice between two tokens.
        request = GenerationRequest(
            prompt=family.fim_prompt(prefix, suffix),
            max_tokens=10,
            stop=family.cut_strings,
            temperature=temperature,
            seed=seed,
            reuse_cache=False,
        )
        return asyncio.run(engine.generate(request)).text

    greedy = sample(None, temperature=0.0)
    assert sample(None, temperature=0.0) == greedy
    first = sample(11)
    assert sample(11) == first
    answers = {first, *(sample(seed) for seed in (12, 13, 14, 15))}
    assert len(answers) > 1, answers


# Six small functions after the cursor: a suffix of about 115 tokens, longer than the shortest
# chunk that is kept (64) and its refreshed head (16).
OPERATORS = [("sub", "-"), ("mul", "*"), ("div", "/"), ("mod", "%"), ("power", "**")]
SUFFIX = "\n\n" + "\n\n".join(
    f'def {name}(a, b):\n    """Return a {sign} b."""\n    return a {sign} b\n'
    for name, sign in [*OPERATORS, ("floor", "//")]
)


def fim(engine, prefix: str, *, reuse: bool = True, key: str = "doc") -> GenerationRequest:
    family = engine.info.family
    return GenerationRequest(
        prompt=family.fim_prompt(prefix, SUFFIX),
        max_tokens=12,
        key=key,
        stop=family.cut_strings,
        should_stop=lambda text: "\n" in text.lstrip("\n"),
        reuse_cache=reuse,
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # a blank line added between the import and the function (a new line in the prefix)
        (
            'import math\n\ndef add(a, b):\n    """Return a + b."""\n',
            'import math\n\n\ndef add(a, b):\n    """Return a + b."""\n',
        ),
        # a word typed at the end of the prefix, right before the suffix
        ('def add(a, b):\n    """Return the sum', 'def add(a, b):\n    """Return the sum of'),
    ],
)
def test_an_edit_before_the_suffix_reuses_the_suffix_cells(engine, before, after):
    asyncio.run(engine.generate(fim(engine, before)))
    reused = asyncio.run(engine.generate(fim(engine, after)))
    cold = asyncio.run(engine.generate(fim(engine, after, reuse=False)))
    assert cold.cached_tokens == 0
    evaluated = reused.prompt_tokens - reused.cached_tokens
    # The edit's tokens, the suffix's refreshed head and the middle marker; not the suffix.
    assert evaluated <= 24, (evaluated, reused.prompt_tokens)
    assert reused.prompt_tokens - evaluated > 100
    assert reused.text == cold.text


def test_switching_back_to_a_document_brings_its_cells_back(engine):
    first = asyncio.run(engine.generate(fim(engine, "def add(a, b):\n    return", key="a")))
    other = "class Point:\n    def __init__(self, x, y):\n        self.x = x\n"
    asyncio.run(engine.generate(fim(engine, other, key="b")))
    back = asyncio.run(engine.generate(fim(engine, "def add(a, b):\n    return", key="a")))
    assert back.cached_tokens == back.prompt_tokens - 1
    assert back.text == first.text


def test_a_prefilled_document_answers_from_its_cells_after_another_one(engine):
    long_prefix = "".join(f"value_{n} = {n} * {n}\n" for n in range(30))
    prefilled = asyncio.run(engine.prefill(fim(engine, long_prefix, key="long")))
    assert prefilled.stop_reason == "length" and not prefilled.text
    asyncio.run(engine.generate(fim(engine, "def add(a, b):\n    return", key="short")))
    again = asyncio.run(engine.generate(fim(engine, long_prefix, key="long")))
    assert again.cached_tokens == again.prompt_tokens - 1


def test_a_request_stops_a_prefill_and_what_it_evaluated_stays(engine):
    family = engine.info.family
    long_prefix = "".join(f"item_{n} = [{n}] * {n}\n" for n in range(60))
    # No suffix or head shared with other prompts: what comes back for the document can only
    # be what the prefill evaluated.
    long = GenerationRequest(family.fim_prompt(long_prefix, "\n"), 8, key="prefilled")

    model = engine._model
    head = model.tokens.tokenize_prompt(model.llm, long.prompt)[:32]

    async def scenario():
        prefill = asyncio.ensure_future(engine.prefill(long))
        deadline = time.monotonic() + 120

        def started() -> bool:  # the prefill runs and has evaluated two chunks
            kv, job = engine._kv, engine._worker._current
            running = job is not None and job.background
            return running and kv is not None and kv.foreground.tokens[:32] == head

        while not started() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        asked = await engine.generate(fim(engine, "def add(a, b):\n    return", key="short"))
        return asked, await prefill

    asked, stopped = asyncio.run(scenario())
    assert stopped.stop_reason == "cancelled"
    assert asked.text.strip()
    again = asyncio.run(engine.generate(long))
    assert 32 <= again.cached_tokens < again.prompt_tokens - 1
