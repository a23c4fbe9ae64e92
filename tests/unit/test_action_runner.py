"""Running code actions with a fake engine: edits, indentation, parse checks and the retry."""

import asyncio
import dataclasses
from pathlib import Path

import pytest
from cursor import snapshot_at
from fake_engine import FakeEngine

from codels.actions.errors import ActionError
from codels.actions.runner import ActionRunner
from codels.actions.sites import ActionKind, Problem, Site, find_sites
from codels.config import Settings
from codels.documents import Document, DocumentSnapshot
from codels.engines.base import EngineOptions, GenerationRequest

SETTINGS = Settings()


def engine(chat: str = "", fim: str = "") -> FakeEngine:
    """Answers chat prompts with ``chat`` and infilling prompts with ``fim``."""

    def respond(request: GenerationRequest) -> str:
        return chat if request.chat is not None else fim

    fake = FakeEngine(respond)
    fake.load(EngineOptions())
    return fake


def site_of(snapshot: DocumentSnapshot, offset: int, action: ActionKind, **kw: object) -> Site:
    sites = find_sites(snapshot, offset, **kw)  # type: ignore[arg-type]
    return next(site for site in sites if site.action is action)


def run(fake: FakeEngine, snapshot: DocumentSnapshot, site: Site, **kw: object):
    return asyncio.run(ActionRunner(fake).run(snapshot, site, SETTINGS, **kw))  # type: ignore[arg-type]


STUB = '''import math


class Circle:
    def area(self, r: float) -> float:█
        """Return the area."""
        ...
'''


def test_chat_body_replaces_the_placeholder_at_the_body_indentation():
    snapshot, offset = snapshot_at(STUB)
    answer = (
        "```python\nimport math\nimport os\n\n"
        'def area(self, r: float) -> float:\n    """Area."""\n    return math.pi * r ** 2\n```'
    )
    fake = engine(chat=answer)
    outcome = run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    (change,) = outcome.edit.changes
    assert change.result == (
        "import math\nimport os\n\n\nclass Circle:\n    def area(self, r: float) -> float:\n"
        '        """Return the area."""\n        return math.pi * r ** 2\n'
    )
    assert (outcome.form, outcome.attempts) == ("chat", 1)
    assert outcome.edit.shown.startswith("    def area(self, r: float) -> float:")
    assert fake.requests[0].key.endswith("#action")


def test_an_answer_without_the_function_is_retried_with_fim():
    snapshot, offset = snapshot_at(STUB)
    fake = engine(chat="```python\ndef other():\n    pass\n```", fim=" return 3.14 * r * r\n")
    outcome = run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert (outcome.form, outcome.attempts) == ("fim", 2)
    assert outcome.edit.changes[0].result.endswith(
        '"""Return the area."""\n        return 3.14 * r * r\n'
    )
    assert [r.chat is not None for r in fake.requests] == [True, False]


def test_an_edit_that_does_not_parse_is_never_returned():
    snapshot, offset = snapshot_at(STUB)
    broken = "```python\ndef area(self, r):\n    return (r *\n```"
    fake = engine(chat=broken, fim=" return (r *\n")
    with pytest.raises(ActionError, match="Nothing was changed"):
        run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert len(fake.requests) == 2


def test_the_fim_form_goes_first_when_the_setting_says_so():
    snapshot, offset = snapshot_at(STUB)
    fake = engine(chat="nothing", fim=" return 1.0\n")
    settings = dataclasses.replace(SETTINGS, action_prompt="fim")
    site = site_of(snapshot, offset, ActionKind.GENERATE)
    outcome = asyncio.run(ActionRunner(fake).run(snapshot, site, settings))
    assert (outcome.form, outcome.attempts) == ("fim", 1)


def test_a_function_is_written_below_the_comment_that_describes_it():
    source = "import math\n\n# fibonacci(n): return the n-th Fibonacci number█\n\n\nx = 1\n"
    snapshot, offset = snapshot_at(source)
    answer = (
        "Sure!\n```python\ndef fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
        "        a, b = b, a + b\n    return a\n\nprint(fibonacci(10))\n```"
    )
    outcome = run(engine(chat=answer), snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    result = outcome.edit.changes[0].result
    assert result == (
        "import math\n\n# fibonacci(n): return the n-th Fibonacci number\ndef fibonacci(n):\n"
        "    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
        "\n\nx = 1\n"
    )
    assert outcome.edit.shown.startswith("# fibonacci(n)")
    assert outcome.edit.shown.rstrip().endswith("return a")


NEIGHBOURS = (
    "def area(r):\n    return 3.14 * r * r\n\n\n"
    "# fibonacci(n): return the n-th Fibonacci number,\n# with fibonacci(0) == 0█\n\n\n"
    "def volume(r):\n    return area(r) * r\n"
)
ONLY_NEIGHBOURS = (
    "```python\ndef area(r):\n    return 3.14 * r * r\n\n"
    "def volume(r):\n    return area(r) * r\n```"
)
FIBONACCI = "```python\ndef fibonacci(n):\n    return n if n < 2 else n - 1\n```"


def answers(*chats: str, fim: str = "") -> FakeEngine:
    """Answers the chat prompts with ``chats`` in turn (the last one again), FIM with ``fim``."""
    asked = []

    def respond(request: GenerationRequest) -> str:
        if request.chat is None:
            return fim
        asked.append(request)
        return chats[min(len(asked), len(chats)) - 1]

    fake = FakeEngine(respond)
    fake.load(EngineOptions())
    return fake


def test_a_comment_answered_with_the_other_functions_is_asked_again_without_them():
    snapshot, offset = snapshot_at(NEIGHBOURS)
    fake = answers(ONLY_NEIGHBOURS, FIBONACCI)
    outcome = run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert (outcome.form, outcome.attempts) == ("chat", 2)
    first, second = (request.chat for request in fake.requests)
    assert first is not None and second is not None
    assert "def area(r): ..." in first[1] and "def area(r)" not in second[1]
    result = outcome.edit.changes[0].result
    assert "# with fibonacci(0) == 0\ndef fibonacci(n):\n    return n if n < 2" in result
    assert result.count("def area(") == 1 and result.count("def volume(") == 1


def test_the_fim_retry_of_a_named_comment_starts_from_its_def_line():
    snapshot, offset = snapshot_at(NEIGHBOURS)
    fake = answers(ONLY_NEIGHBOURS, fim="n):\n    return n if n < 2 else n - 1\n\n\ndef more():\n")
    outcome = run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert (outcome.form, outcome.attempts) == ("fim", 3)
    assert fake.requests[-1].prompt.endswith("def fibonacci(")
    result = outcome.edit.changes[0].result
    assert "== 0\ndef fibonacci(n):\n    return n if n < 2 else n - 1\n\n\ndef volume(r)" in result
    assert "def more" not in result


def test_a_comment_whose_every_answer_misses_says_what_the_model_wrote():
    snapshot, offset = snapshot_at(NEIGHBOURS)
    fake = answers(ONLY_NEIGHBOURS, fim="")
    with pytest.raises(ActionError, match="wrote area, volume but no function fibonacci"):
        run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert [request.chat is not None for request in fake.requests] == [True, True, False]


def test_a_comment_alone_in_its_file_is_not_asked_twice_the_same_way():
    snapshot, offset = snapshot_at("# fibonacci(n): return the n-th Fibonacci number█\n")
    fake = answers(ONLY_NEIGHBOURS, fim="n):\n    return n\n")
    outcome = run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert (outcome.form, outcome.attempts) == ("fim", 2)
    assert [request.chat is not None for request in fake.requests] == [True, False]


def test_a_comment_in_a_class_gets_a_method_at_its_indentation():
    source = "class Stack:\n    items: list\n\n    # push(item): add item on top█\n"
    snapshot, offset = snapshot_at(source)
    answer = "```python\ndef push(self, item):\n    self.items.append(item)\n```"
    outcome = run(engine(chat=answer), snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert outcome.edit.changes[0].result.endswith(
        "    # push(item): add item on top\n    def push(self, item):\n"
        "        self.items.append(item)\n"
    )


def test_a_todo_is_implemented_below_the_comment_which_stays():
    source = (
        "def total(xs):\n    t = 0\n    for x in xs:\n        # TODO: skip negatives█\n"
        "        t += x\n    return t\n"
    )
    snapshot, offset = snapshot_at(source)
    fake = engine(fim=" if x < 0:\n            continue\n        t += x\n")
    outcome = run(fake, snapshot, site_of(snapshot, offset, ActionKind.GENERATE))
    assert outcome.edit.changes[0].result == (
        "def total(xs):\n    t = 0\n    for x in xs:\n        # TODO: skip negatives\n"
        "        if x < 0:\n            continue\n        t += x\n    return t\n"
    )


def test_add_docstring_inserts_exactly_one_docstring():
    source = "def double(x):█\n    return 2 * x\n"
    snapshot, offset = snapshot_at(source)
    fake = engine(fim="Return twice x.\n    " + '"""\n    return 2 * x')
    outcome = run(fake, snapshot, site_of(snapshot, offset, ActionKind.DOCSTRING))
    assert outcome.edit.changes[0].result == (
        'def double(x):\n    """Return twice x."""\n    return 2 * x\n'
    )


def test_add_docstring_falls_back_to_chat():
    source = "def double(x):█\n    return 2 * x\n"
    snapshot, offset = snapshot_at(source)
    answer = '```python\ndef double(x):\n    """\n    Double x.\n\n    Returns 2x.\n    """\n```'
    outcome = run(
        engine(chat=answer, fim='"""'), snapshot, site_of(snapshot, offset, ActionKind.DOCSTRING)
    )
    assert outcome.form == "chat"
    assert outcome.edit.changes[0].result == (
        'def double(x):\n    """Double x.\n\n    Returns 2x.\n    """\n    return 2 * x\n'
    )


TESTS_ANSWER = (
    "```python\nfrom shapes import double\n\ndef double(x):\n    return 2 * x\n\n"
    "def test_double():\n    assert double(2) == 4\n```"
)


def test_tests_go_into_a_new_file_beside_the_module(tmp_path: Path):
    module = tmp_path / "shapes.py"
    source = "def double(x):█\n    return 2 * x\n"
    module.write_text(source.replace("█", ""))
    snapshot, offset = snapshot_at(source, uri=module.as_uri())
    outcome = run(engine(chat=TESTS_ANSWER), snapshot, site_of(snapshot, offset, ActionKind.TESTS))
    (change,) = outcome.edit.changes
    assert change.create and change.uri == (tmp_path / "test_shapes.py").as_uri()
    assert change.result == (
        '"""Tests for shapes."""\n\nfrom shapes import double\n\n'
        "def test_double():\n    assert double(2) == 4\n"
    )


def test_tests_are_appended_to_the_existing_test_file(tmp_path: Path):
    module = tmp_path / "src" / "shapes.py"
    module.parent.mkdir()
    existing = tmp_path / "tests" / "test_shapes.py"
    existing.parent.mkdir()
    existing.write_text(
        "from shapes import double\n\n\ndef test_zero():\n    assert double(0) == 0\n"
    )
    source = "def double(x):█\n    return 2 * x\n"
    snapshot, offset = snapshot_at(source, uri=module.as_uri())
    outcome = run(engine(chat=TESTS_ANSWER), snapshot, site_of(snapshot, offset, ActionKind.TESTS))
    (change,) = outcome.edit.changes
    assert not change.create and change.uri == existing.as_uri()
    assert change.result == (
        "from shapes import double\n\n\ndef test_zero():\n    assert double(0) == 0\n\n\n"
        "def test_double():\n    assert double(2) == 4\n"
    )


def test_no_test_file_and_no_way_to_create_one_is_reported(tmp_path: Path):
    source = "def double(x):█\n    return 2 * x\n"
    snapshot, offset = snapshot_at(source, uri=(tmp_path / "shapes.py").as_uri())
    site = site_of(snapshot, offset, ActionKind.TESTS)
    with pytest.raises(ActionError, match="cannot create files"):
        run(engine(chat=TESTS_ANSWER), snapshot, site, can_create_files=False)


def test_fix_rewrites_the_function_and_adds_the_missing_import():
    source = "def root(x):\n    return sqrt(x)█\n"
    snapshot, offset = snapshot_at(source)
    problem = Problem(offset - 8, offset - 4, "Undefined name `sqrt`", "ruff", "F821")
    site = site_of(snapshot, offset, ActionKind.FIX, problems=[problem])
    answer = "```python\nimport math\n\ndef root(x):\n    return math.sqrt(x)\n```"
    fake = engine(chat=answer)
    outcome = run(fake, snapshot, site)
    assert (
        outcome.edit.changes[0].result == "import math\n\ndef root(x):\n    return math.sqrt(x)\n"
    )
    assert "Undefined name `sqrt` (ruff F821)" in (fake.requests[0].chat or ("", ""))[1]


def test_a_fix_that_changes_nothing_is_not_offered_as_a_fix():
    source = "def root(x):\n    return sqrt(x)█\n"
    snapshot, offset = snapshot_at(source)
    problem = Problem(offset - 8, offset - 4, "Undefined name `sqrt`")
    site = site_of(snapshot, offset, ActionKind.FIX, problems=[problem])
    same = "```python\ndef root(x):\n    return sqrt(x)\n```"
    with pytest.raises(ActionError, match="unchanged"):
        run(engine(chat=same), snapshot, site)


def test_a_model_that_is_not_loaded_is_reported():
    snapshot, offset = snapshot_at(STUB)
    site = site_of(snapshot, offset, ActionKind.GENERATE)
    with pytest.raises(ActionError, match="not loaded"):
        asyncio.run(ActionRunner(FakeEngine("x")).run(snapshot, site, SETTINGS))


def test_cancelling_stops_the_generation():
    snapshot, offset = snapshot_at(STUB)
    site = site_of(snapshot, offset, ActionKind.GENERATE)
    fake = FakeEngine("x " * 1000, token_delay=0.01)
    fake.load(EngineOptions())

    async def cancel_soon() -> None:
        task = asyncio.ensure_future(ActionRunner(fake).run(snapshot, site, SETTINGS))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())
    assert len(fake.requests) == 1  # no retry after a cancel


def test_documents_are_read_without_a_tree_for_other_languages():
    snapshot = Document("file:///x.txt", "plaintext", 1, "# write a parser\n").snapshot()
    assert find_sites(snapshot, 0) == []
