"""Docstring examples: finding them, running them in the sandbox, and retrying the action."""

import asyncio
import dataclasses

import pytest
from cursor import snapshot_at
from fake_engine import FakeEngine

import codels.languages.python.examples
from codels.actions.runner import RETRY_TEMPERATURE, ActionRunner
from codels.actions.sites import ActionKind, find_sites
from codels.config import Settings
from codels.engines.base import EngineOptions, GenerationRequest
from codels.languages.python.examples import (
    Examples,
    check_examples,
    find_examples,
    module_skeleton,
)

ADD = '''import math

LIMIT = 10


def add(a, b):
    """Add two numbers.

    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """
    return a + b


print("a script's work")
raise SystemExit(3)
'''


def test_doctest_examples_are_found():
    assert find_examples(">>> add(2, 3)\n5\n>>> add(1, 1)\n2\n", "add") == Examples(2)


def test_informal_examples_with_literal_calls_and_results_are_found():
    docstring = """Add.

    For example:
    add(2, 3) == 5
    add([1], [2]) ➞ [1, 2]
    * add('a', 'b') => 'ab'
    add(1, 1) returns 2.
    add(0, 0) should return true
    add(5, 5)   # returns 10
    add(x, 1) == 2
    add(1, 2) is small
    subtract(2, 1) == 1
    """
    assert find_examples(docstring, "add").informal == (
        ("add(2, 3)", "5"),
        ("add([1], [2])", "[1, 2]"),
        ("add('a', 'b')", "'ab'"),
        ("add(1, 1)", "2"),
        ("add(0, 0)", "True"),
        ("add(5, 5)", "10"),
    )


def test_only_imports_definitions_and_assignments_run():
    skeleton = module_skeleton(ADD)
    assert "import math" in skeleton and "LIMIT = 10" in skeleton and "def add(a, b):" in skeleton
    assert "print(" not in skeleton and "SystemExit" not in skeleton


@pytest.mark.usefixtures("os_sandbox")
def test_examples_that_pass():
    result = check_examples(ADD, "add", find_examples(ADD, "add"))
    assert result.passed and not result.failing
    assert result.summary() == "the docstring's 2 examples pass"


@pytest.mark.usefixtures("os_sandbox")
def test_a_failing_example_is_described():
    result = check_examples(ADD.replace("return a + b", "return a * b"), "add", Examples(2))
    assert result.failing and result.failed == 2
    assert result.problem == "add(2, 3) should give 5, gave 6"
    assert result.summary().startswith("2 of the docstring's 2 examples fail: add(2, 3)")


@pytest.mark.usefixtures("os_sandbox")
def test_informal_examples_run_and_compare_numbers_with_a_tolerance():
    source = "def half(x):\n    return x / 3 * 1.5\n"
    examples = Examples(informal=(("half(3)", "1.5"), ("half(1)", "0.5"), ("half(2)", "2")))
    result = check_examples(source, "half", examples)
    assert (result.total, result.failed) == (3, 1)
    assert result.problem == "half(2) should give 2, gave 1.0"


@pytest.mark.usefixtures("os_sandbox")
def test_a_doctest_line_without_output_must_be_true():
    source = 'def small(x):\n    """Small.\n\n    >>> small(1) == 1\n    """\n    return x\n'
    assert check_examples(source, "small", Examples(1)).passed
    wrong = source.replace("return x", "return x + 1")
    assert check_examples(wrong, "small", Examples(1)).problem == (
        "small(1) == 1 should give True, gave False"
    )


@pytest.mark.usefixtures("os_sandbox")
def test_an_exception_in_an_example_is_a_failure():
    result = check_examples(ADD.replace("return a + b", "return a + undefined"), "add", Examples(2))
    assert result.failing
    assert "NameError" in result.problem


@pytest.mark.usefixtures("os_sandbox")
def test_examples_that_cannot_run_give_no_verdict():
    result = check_examples("import not_a_module_anywhere\n" + ADD, "add", Examples(2))
    assert not result.ran and not result.failing and not result.passed
    assert "No module named 'not_a_module_anywhere'" in result.problem


@pytest.mark.usefixtures("os_sandbox")
def test_an_endless_loop_is_a_failure(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(codels.languages.python.examples, "EXAMPLES_TIMEOUT_SECONDS", 1.0)
    looping = ADD.replace("return a + b", "while True:\n        pass")
    result = check_examples(looping, "add", Examples(2))
    assert result.failing
    assert "did not finish" in result.problem


STUB = '''def double(x):█
    """Double x.

    >>> double(2)
    4
    >>> double(-3)
    -6
    """
'''
WRONG = "```python\ndef double(x):\n    return x + 3\n```"
RIGHT = "```python\ndef double(x):\n    return x * 2\n```"


SETTINGS = Settings()


def run_stub(answers: list[str], settings: Settings = SETTINGS):
    requests: list[GenerationRequest] = []

    def respond(request: GenerationRequest) -> str:
        requests.append(request)
        return answers[min(len(requests), len(answers)) - 1]

    fake = FakeEngine(respond)
    fake.load(EngineOptions())
    snapshot, offset = snapshot_at(STUB)
    site = next(s for s in find_sites(snapshot, offset) if s.action is ActionKind.GENERATE)
    outcome = asyncio.run(ActionRunner(fake).run(snapshot, site, settings, retry=False))
    return outcome, requests


@pytest.mark.usefixtures("os_sandbox")
def test_a_body_whose_examples_fail_is_written_again_with_the_failure():
    outcome, requests = run_stub([WRONG, RIGHT])
    assert outcome.attempts == 2
    assert outcome.examples is not None and outcome.examples.passed
    assert "return x * 2" in outcome.edit.changes[0].result
    assert requests[1].chat is not None
    assert [request.temperature for request in requests] == [0.0, RETRY_TEMPERATURE]
    assert (
        "fails this example from the docstring: double(2) should give 4, gave 5"
        in (requests[1].chat[1])
    )


@pytest.mark.usefixtures("os_sandbox")
def test_after_two_more_failures_the_best_attempt_is_kept():
    half = "```python\ndef double(x):\n    return abs(x) * 2\n```"
    outcome, requests = run_stub([WRONG, half, WRONG])
    assert len(requests) == 3
    assert outcome.attempts == 2  # one example fails instead of two
    assert outcome.examples is not None and outcome.examples.failed == 1
    assert "abs(x) * 2" in outcome.edit.changes[0].result


def test_the_examples_are_not_run_when_the_setting_is_off():
    settings = dataclasses.replace(Settings(), check_examples=False)
    outcome, requests = run_stub([WRONG, RIGHT], settings)
    assert len(requests) == 1 and outcome.examples is None
