"""The real-code suites: task extraction from modules, and fetching the pinned sources."""

import hashlib
import zipfile
from pathlib import Path

import pytest

from codels.languages.python import PYTHON
from codels.tools import realcode
from codels.tools.evaluation import EvalTask, Evaluator, edit_similarity

MODULE = '''"""A module."""

import os


def first(values):
    """The first value."""
    # Nothing to do when empty.
    if not values:
        return None
    return values[0]


class Box:
    def __init__(self, size):
        self.size = size
        self.items = []

    def add(self, item):
        self.items.append(item)
        return len(self.items)
'''


def test_line_tasks_mask_one_statement_line_with_the_cursor_after_the_indentation():
    tasks = realcode.line_tasks(PYTHON, "pkg/mod.py", MODULE)
    expected = [
        "if not values:",
        "return values[0]",
        "self.size = size",
        "self.items = []",
        "self.items.append(item)",
        "return len(self.items)",
    ]
    # Nested statements (``return None`` inside the if) are not statements of the body itself.
    assert [task.expected for task in tasks] == expected
    for task in tasks:
        assert task.prefix + task.expected + task.suffix == MODULE
        assert task.prefix.endswith("\n" + " " * (len(task.prefix) - task.prefix.rfind("\n") - 1))
        assert task.suffix.startswith("\n")
    # The docstring and the comment are not tasks.
    assert not any('"""' in task.expected or task.expected.startswith("#") for task in tasks)
    assert tasks[0].task_id == "pkg/mod.py:9"


def test_block_tasks_empty_short_bodies_after_the_docstring():
    tasks = realcode.block_tasks(PYTHON, "pkg/mod.py", MODULE)
    bodies = [task.expected for task in tasks]
    assert bodies == [
        "if not values:\n        return None\n    return values[0]",
        "self.size = size\n        self.items = []",
        "self.items.append(item)\n        return len(self.items)",
    ]
    for task in tasks:
        assert task.prefix + task.expected + task.suffix == MODULE
        # The cursor stands where the first statement of the body started.
        assert task.prefix.endswith(("# Nothing to do when empty.\n    ", ":\n        "))


def test_a_body_with_one_statement_or_a_blank_line_is_no_block_task():
    text = "def f():\n    return 1\n\n\ndef g():\n    a = 1\n\n    return a\n"
    assert realcode.block_tasks(PYTHON, "m.py", text) == []


def test_edit_similarity():
    assert edit_similarity("abc", "abc") == 1.0
    assert edit_similarity("", "abc") == 0.0
    assert edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)


def _wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


def test_modules_keep_files_of_real_size_only(tmp_path):
    long_module = "x = 1\n" * 600
    wheel = _wheel(
        tmp_path,
        "demo",
        "1.0",
        {
            "demo/big.py": long_module,
            "demo/small.py": "x = 1\n",
            "demo-1.0.dist-info/x.py": long_module,
        },
    )
    source = realcode.Source("demo", "1.0", hashlib.sha256(wheel.read_bytes()).hexdigest())
    assert [path for path, _ in realcode.modules((source,), folder=tmp_path)] == ["demo/big.py"]


def test_a_wheel_that_does_not_verify_is_refused(tmp_path):
    _wheel(tmp_path, "demo", "1.0", {"demo/a.py": "x = 1\n"})
    source = realcode.Source("demo", "1.0", "0" * 64)
    with pytest.raises(realcode.SourceError, match="delete it and run"):
        realcode.fetch(source, tmp_path)


def test_a_source_pip_cannot_fetch_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nothing"))
    source = realcode.Source("codels-no-such-package", "0.0.1", "0" * 64)
    with pytest.raises(realcode.SourceError, match="put the wheel in"):
        realcode.fetch(source, tmp_path)


def test_a_real_code_task_is_scored_by_matching_the_original():
    task = EvalTask("m.py:2", "def f():\n    ", "\n", "return 1", path="m.py")
    evaluator = Evaluator.__new__(Evaluator)
    from codels.tools.eval_report import Attempt

    right, wrong, broken = Attempt("return 1", 1.0), Attempt("return 2", 1.0), Attempt("(", 1.0)
    for attempt in (right, wrong, broken):
        evaluator.score(task, attempt)
    assert (right.passed, right.exact, right.similarity) == (True, True, 1.0)
    assert (wrong.passed, wrong.exact) == (False, False)
    assert wrong.similarity == pytest.approx(7 / 8)
    assert broken.syntax_error and not wrong.syntax_error
