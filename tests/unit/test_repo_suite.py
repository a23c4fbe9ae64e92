"""The repo-python suite: tasks, renaming, the leak guard, the oracle's placements, scoring."""

import asyncio
import dataclasses
import re

import pytest
from fake_engine import QWEN, FakeEngine

from codels.engines.base import EngineOptions
from codels.languages.python import PYTHON
from codels.tools import repo_eval, repo_tasks
from codels.tools.repo_tasks import Arity, LeakError, first_call

UTIL = '''"""Helpers."""


def join_parts(first, second, sep="/"):
    """Join two parts with ``sep``."""
    return first + sep + second


class Widget:
    """A thing with a size."""

    def __init__(self, size, *, colour=None):
        """Make one."""
        self.size = size


def described(text):
    """Quote ``text``: described("x") gives '"x"'."""
    return '"' + text + '"'


def dotted(value):
    return value
'''

MAIN = '''"""Uses the helpers."""

from .util import join_parts, Widget, described, dotted
from . import util


def build(a, b):
    path = join_parts(a, b)
    box = Widget(3)
    other = Widget(4, colour="red")
    label = described("x")
    return util.dotted(path), box, other, label
'''

FILES = {"pkg/__init__.py": "", "pkg/util.py": UTIL, "pkg/main.py": MAIN}


@pytest.fixture(scope="module")
def tasks():
    return repo_tasks.package_tasks(PYTHON, "pkg", FILES)


def test_a_task_masks_the_rest_of_the_line_from_the_renamed_name(tasks):
    join = next(task for task in tasks if task.original_name == "join_parts")
    assert join.task_id == "pkg/main.py:8"
    assert join.prefix.endswith("\n    path = ")
    assert join.expected == f"{join.name}(a, b)"
    assert join.suffix.startswith("\n    box = ")
    assert join.line == f"    path = {join.name}(a, b)"
    assert join.definition.path == "pkg/util.py"
    assert join.definition.arity == Arity(required=2, maximum=3)


def test_the_name_is_renamed_in_every_file_of_the_copy(tasks):
    for task in tasks:
        assert task.name != task.original_name
        document = task.prefix + task.expected + task.suffix
        for text in (document, task.definition.signature, task.definition.whole):
            assert not re.search(rf"\b{task.original_name}\b", text)
        # The import line of the task's module names the renamed definition too.
        assert f"import {task.name}," in document or f", {task.name}," in document
        assert task.definition.signature.startswith(("def " + task.name, "class " + task.name))


def test_classes_take_their_init_signature_without_self(tasks):
    widgets = [task for task in tasks if task.original_name == "Widget"]
    assert [task.expected.split("(", 1)[1] for task in widgets] == ["3)", '4, colour="red")']
    definition = widgets[0].definition
    assert definition.arity == Arity(required=1, maximum=2)
    assert "def __init__(self, size, *, colour=None):" in definition.signature
    assert '"""Make one."""' in definition.signature
    assert "self.size = size" not in definition.signature
    assert "self.size = size" in definition.whole


def test_names_used_as_attributes_are_not_renamed_or_asked(tasks):
    # ``util.dotted`` would not be renamed by a whole-word rename that skips attributes.
    assert "dotted" not in repo_tasks.candidates(PYTHON, FILES)
    assert not any(task.original_name == "dotted" for task in tasks)


def test_the_leak_guard_drops_a_task_whose_definition_holds_the_masked_call(tasks):
    # described's docstring spells ``described("x")``: the oracle would give the answer away.
    assert not any(task.original_name == "described" for task in tasks)
    join = next(task for task in tasks if task.original_name == "join_parts")
    assert repo_tasks.leaks(join, f"# {join.expected}\n")
    assert repo_tasks.leaks(join, join.line.strip() + "\n")
    assert not repo_tasks.leaks(join, join.definition.whole)
    with pytest.raises(LeakError):
        repo_tasks.ensure_no_leak(join, f"x = 1\n{join.line}\n")


def test_no_condition_ever_gives_the_masked_line_in_its_context(tasks):
    for task in tasks:
        for condition in repo_eval.CONDITIONS:
            prompted = repo_eval.build_prompt(QWEN, task, condition)
            assert not repo_tasks.leaks(task, prompted.context)
            assert task.expected not in prompted.prompt


def test_a_leaking_definition_is_refused_when_the_prompt_is_built(tasks):
    join = next(task for task in tasks if task.original_name == "join_parts")
    leaky = dataclasses.replace(
        join,
        definition=dataclasses.replace(
            join.definition, signature=join.definition.signature + f"\n    # {join.expected}"
        ),
    )
    with pytest.raises(LeakError):
        repo_eval.build_prompt(QWEN, leaky, "repo-signature")
    assert repo_eval.build_prompt(QWEN, leaky, "file").context == ""


def test_the_placements_of_the_oracle(tasks):
    join = next(task for task in tasks if task.original_name == "join_parts")
    prefix, suffix = repo_eval.window(join)
    signature = join.definition.signature
    plain = f"<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"
    assert repo_eval.build_prompt(QWEN, join, "file").prompt == plain

    repo = repo_eval.build_prompt(QWEN, join, "repo-signature").prompt
    assert repo == (
        f"<|repo_name|>pkg\n<|file_sep|>pkg/util.py\n{signature}\n<|file_sep|>pkg/main.py\n{plain}"
    )
    whole = repo_eval.build_prompt(QWEN, join, "repo-definition").prompt
    assert "return first + sep + second" in whole and "return first" not in repo

    snippet = "# Path: pkg/util.py\n" + "".join(
        f"# {line}".rstrip() + "\n" for line in signature.split("\n")
    )
    comment = repo_eval.build_prompt(QWEN, join, "comment-signature").prompt
    assert comment == f"<|fim_prefix|>{snippet}{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"
    after = repo_eval.build_prompt(QWEN, join, "suffix-signature").prompt
    assert after == f"<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}\n{snippet}<|fim_middle|>"
    # The after-suffix prompt starts like the file-only one, so the KV cache keeps it.
    assert after.startswith(plain.removesuffix("<|fim_middle|>"))


def test_the_window_keeps_whole_lines_near_the_cursor(tasks):
    join = next(task for task in tasks if task.original_name == "join_parts")
    long = dataclasses.replace(
        join,
        prefix="x = 1\n" * 1_000 + join.prefix,
        suffix=join.suffix + "y = 2\n" * 1_000,
    )
    prefix, suffix = repo_eval.window(long)
    assert long.prefix.endswith(prefix) and len(prefix) <= repo_eval.PREFIX_CHARS
    assert long.prefix[len(long.prefix) - len(prefix) - 1] == "\n"
    assert long.suffix.startswith(suffix) and len(suffix) <= repo_eval.SUFFIX_CHARS
    assert suffix.endswith("\n")


def test_families_without_a_repository_form_skip_those_conditions():
    bare = dataclasses.replace(QWEN, repo_template="", file_template="")
    assert not repo_eval.available(bare, "repo-signature")
    assert repo_eval.available(bare, "comment-definition")
    assert repo_eval.available(QWEN, "suffix-signature")


def test_new_names_keep_the_style_and_are_free():
    taken = "def lokami(): pass"
    snake = repo_tasks.new_name("_join_parts", taken)
    camel = repo_tasks.new_name("Widget", taken)
    assert snake.startswith("_") and "_" in snake[1:] and snake.islower()
    assert camel[0].isupper() and "_" not in camel
    assert repo_tasks.new_name("Widget", taken) == camel
    assert re.fullmatch(r"\w+", snake) and snake not in taken


def test_rename_is_whole_word_in_every_file():
    files = {"a.py": "def run(x): return run_all(x)\n", "b.py": "from a import run\nrun(1)\n"}
    renamed = repo_tasks.rename(files, "run", "zelka")
    assert renamed == {
        "a.py": "def zelka(x): return run_all(x)\n",
        "b.py": "from a import zelka\nzelka(1)\n",
    }


def test_first_call_counts_the_arguments_spelled_out():
    assert first_call("name(a, (b, c), 'x,y', d=[1, 2])", "name") == 4
    assert first_call("name()", "name") == 0
    assert first_call("name(a,)", "name") == 1
    assert first_call("other(a) or name(*args)", "name") == 1
    assert first_call("name(a, b", "name") is None
    assert first_call("renamed(a)", "name") is None


def test_arity_fits():
    assert Arity(1, 2).fits(1) and Arity(1, 2).fits(2)
    assert not Arity(1, 2).fits(0) and not Arity(1, 2).fits(3)
    assert Arity(0, None).fits(9)


def test_star_parameters_make_the_arity_unbounded():
    source = "def many(a, *rest, b=1, **options):\n    pass\n"
    (definition,) = repo_tasks.definitions(PYTHON, "m.py", source)
    assert definition.arity == Arity(required=1, maximum=None)


def test_every_condition_runs_in_one_pass_and_is_scored(tasks):
    chosen = [task for task in tasks if task.original_name in ("join_parts", "Widget")]

    def respond(request):
        # Right exactly when the definition is in the prompt.
        task = next(
            t for t in chosen if f"{repo_eval.window(t)[0]}<|fim_suffix|>" in request.prompt
        )
        if "<|repo_name|>" in request.prompt or "# Path:" in request.prompt:
            return task.expected + "\nmore"
        return "something_else(a)\n"

    engine = FakeEngine(respond)
    engine.load(EngineOptions(model="fake"))
    seen = []
    report = asyncio.run(
        repo_eval.run_repo_suite(
            engine, QWEN, chosen, len(tasks), progress=lambda done, total, _: seen.append(done)
        )
    )
    assert seen == list(range(1, len(chosen) + 1))
    figures = report.figures()
    assert list(figures["conditions"]) == list(repo_eval.CONDITIONS)
    assert figures["conditions"]["file"]["exact_match"] == 0.0
    assert figures["conditions"]["file"]["name_used"] == 0.0
    for condition in repo_eval.CONDITIONS[1:]:
        numbers = figures["conditions"][condition]
        assert numbers["exact_match"] == 1.0 and numbers["gain"] == 1.0
        assert numbers["arguments_fit"] == 1.0 and numbers["edit_similarity"] == 1.0
    table = repo_eval.format_repo_table(figures)
    assert "suffix-definition" in table and "+100.0" in table


def test_the_argument_check_fails_a_wrong_count(tasks):
    join = next(task for task in tasks if task.original_name == "join_parts")
    assert repo_eval.score(join, f"{join.name}(a, b, c)", 1.0).arguments_fit
    wrong = repo_eval.score(join, f"{join.name}(a)", 1.0)
    assert wrong.name_used and not wrong.arguments_fit and not wrong.exact
    assert 0 < wrong.similarity < 1


def test_the_command_runs_the_repo_suite_alone_and_parses_its_conditions(capsys):
    from codels.tools.cli import _parser, main

    args = _parser().parse_args(
        [
            "eval",
            "--suite",
            "repo-python",
            "--repo-condition",
            "file",
            "--repo-condition",
            "repo-definition",
        ]
    )
    assert (args.suite, args.repo_condition) == (["repo-python"], ["file", "repo-definition"])
    assert main(["eval", "--suite", "repo-python", "--suite", "python-line"]) == 2
    assert "run --suite repo-python on its own" in capsys.readouterr().err
