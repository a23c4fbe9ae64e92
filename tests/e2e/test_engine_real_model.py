"""The in-process engine with the real default model: constraints on what it may generate."""

import asyncio

import pytest

from codels.engine import EngineOptions, GenerationRequest, LlamaEngine


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
