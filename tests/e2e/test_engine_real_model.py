"""The in-process engine with the real default model: constraints on what it may generate."""

import asyncio
import re

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
