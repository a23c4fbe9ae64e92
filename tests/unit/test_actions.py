"""Code actions without a model: where each is offered (golden file), prompts, answers, edits."""

import os
from pathlib import Path

import pytest
from cursor import snapshot_at

from codels.actions.edits import (
    ActionEdit,
    FileChange,
    TextEdit,
    apply_edits,
    body_edit,
    missing_imports,
)
from codels.actions.prompts import (
    chat_prompt,
    chat_stop_rule,
    extract_code,
    parse_code,
)
from codels.actions.sites import ActionKind, Problem, Target, find_sites, function_at
from codels.documents import Document
from codels.languages.python.functions import (
    format_docstring,
    function_end_index,
    named_function,
    tidy_tests,
)
from codels.languages.python.testfiles import candidate_test_files
from codels.lsp.edits import workspace_edit_json

DATA = Path(__file__).resolve().parents[1] / "data" / "actions"
URI = "file:///work/example/shapes.py"


def offered_listing(source: str) -> str:
    """Every line of ``source`` with the titles of the actions offered with the cursor on it."""
    document = Document(URI, "python", 1, source)
    snapshot = document.snapshot()
    rows = []
    for row in range(document.lines.line_count):
        line = document.lines.line_text(row)
        offset = document.lines.starts[row] + len(line) - len(line.lstrip())
        titles = "; ".join(site.title for site in find_sites(snapshot, offset))
        rows.append(f"{row + 1:3} {line[:48]:<48} | {titles}".rstrip())
    return "\n".join(rows) + "\n"


def test_where_actions_are_offered_matches_the_golden_file():
    listing = offered_listing((DATA / "offered.py").read_text())
    golden = DATA / "offered.golden"
    if os.environ.get("CODELS_UPDATE_GOLDEN"):
        golden.write_text(listing)
    assert listing == golden.read_text()


def test_nothing_is_offered_outside_python_or_a_file_on_disk():
    snapshot = Document("file:///a/notes.txt", "plaintext", 1, "# write a parser\n").snapshot()
    assert find_sites(snapshot, 0) == []
    snapshot, offset = snapshot_at("def double(x):█\n    return 2 * x\n", uri="untitled:Untitled-1")
    titles = [site.title for site in find_sites(snapshot, offset)]
    assert titles == ["Add docstring to double"]  # no tests: there is no file beside which


def test_tests_are_not_offered_when_there_is_nowhere_to_write_them():
    snapshot, offset = snapshot_at("def double(x):█\n    return 2 * x\n")
    sites = find_sites(snapshot, offset, can_write_tests=False)
    assert [site.action for site in sites] == [ActionKind.DOCSTRING]


def test_fix_is_offered_for_the_functions_the_diagnostics_fall_in():
    source = "def first(x):\n    return y█\n\n\ndef second():\n    return 1\n"
    snapshot, offset = snapshot_at(source)
    problem = Problem(offset - 1, offset, "Undefined name `y`", "ruff", "F821")
    sites = find_sites(snapshot, offset, problems=[problem])
    assert [(s.action, s.name) for s in sites] == [(ActionKind.FIX, "first")]
    assert sites[0].diagnostics == ("line 2: Undefined name `y` (ruff F821)",)
    assert sites[0].title == "Fix with codels: Undefined name `y`"
    assert find_sites(snapshot, offset) == []


def test_a_stub_site_carries_the_function():
    snapshot, offset = snapshot_at(
        'class A:\n    def area(self):█\n        """Area."""\n        ...\n'
    )
    (site,) = find_sites(snapshot, offset)
    assert (site.action, site.target, site.name) == (ActionKind.GENERATE, Target.STUB, "area")
    shape = function_at(snapshot, offset)
    assert shape is not None and shape.class_name == "A" and shape.body_indent == "        "


@pytest.mark.parametrize(
    ("comment", "name"),
    [
        ("fibonacci(n): return the n-th Fibonacci number", "fibonacci"),
        ("Write `is_prime` that tells whether n is prime", "is_prime"),
        ("return the sum of a list", ""),
    ],
)
def test_a_comment_may_name_the_function(comment: str, name: str):
    assert named_function(comment) == name


def test_chat_prompt_has_the_context_first_and_the_task_last():
    source = (
        "import math\n\n\nclass Shape:\n    def area(self) -> float:\n        return 0.0\n\n"
        "    # perimeter(self): return the perimeter of the shape█\n"
    )
    snapshot, offset = snapshot_at(source)
    (site,) = find_sites(snapshot, offset)
    prompt = chat_prompt(snapshot, site)
    assert prompt.user.startswith("example.py already has this code (context only; do not write")
    task = prompt.user.index("Write the Python function that this comment describes")
    assert task > prompt.user.index("def area(self) -> float: ...")
    assert prompt.user.rstrip().endswith("Name it `perimeter`.")
    assert "# perimeter(self): return the perimeter of the shape" in prompt.user
    assert "Name it `perimeter`" in prompt.user
    assert "import math" in prompt.user and "class Shape:" in prompt.user
    assert "def area(self) -> float: ..." in prompt.user
    assert "import math" not in chat_prompt(snapshot, site, with_context=False).user


def test_a_stub_prompt_keeps_the_task_first_and_the_context_as_a_closing_note():
    source = 'import math\n\n\ndef area(r):█\n    """Area of a circle."""\n    ...\n'
    snapshot, offset = snapshot_at(source)
    (site,) = find_sites(snapshot, offset)
    user = chat_prompt(snapshot, site).user
    assert user.startswith("Complete this Python function")
    assert user.index("Area of a circle") < user.index("For reference only") < user.index("math")


def test_extract_code_takes_the_first_fenced_block_closed_or_not():
    assert extract_code("Here:\n```python\nx = 1\n```\nmore ```py\ny\n```") == "x = 1\n"
    assert extract_code("```\nx = 1\n") == "x = 1\n"
    assert extract_code("x = 1\n") == "x = 1\n"


def test_parse_code_finds_the_named_function_and_its_body():
    code = (
        "import math\nfrom typing import Any\n\n\ndef helper():\n    pass\n\n\n"
        'def area(r):\n    """Area."""\n    x = r * r\n    return math.pi * x\n\nprint(area(1))\n'
    )
    parts = parse_code(code, "area")
    assert parts.imports == ("import math", "from typing import Any")
    assert parts.function.startswith("def area(r):")
    assert parts.body == "x = r * r\nreturn math.pi * x"
    assert parts.docstring == '"""Area."""'
    assert parse_code(code, "missing").function == ""
    assert parse_code(code).name == "helper"


def test_a_stub_body_is_indented_like_the_function():
    source = 'class A:\n    def f(self):█\n        """Doc."""\n        pass\n\nx = 1\n'
    snapshot, offset = snapshot_at(source)
    shape = function_at(snapshot, offset)
    assert shape is not None
    edit = body_edit(snapshot, shape, "if self:\n    return 1\nreturn 2\n")
    assert apply_edits(snapshot.text, [edit]) == (
        'class A:\n    def f(self):\n        """Doc."""\n'
        "        if self:\n            return 1\n        return 2\n\nx = 1\n"
    )


def test_a_docstring_only_stub_gets_its_body_after_the_docstring():
    source = 'def f(x):█\n    """Return x."""\n'
    snapshot, offset = snapshot_at(source)
    shape = function_at(snapshot, offset)
    assert shape is not None
    edit = body_edit(snapshot, shape, "return x")
    assert apply_edits(snapshot.text, [edit]) == 'def f(x):\n    """Return x."""\n    return x\n'


def test_docstrings_are_formatted_with_their_quotes():
    assert format_docstring("  Return x.  ", "    ") == '"""Return x."""'
    assert format_docstring("\n    Return x.\n\n    Args:\n        x: a number.\n    ", "    ") == (
        '"""Return x.\n\nArgs:\n    x: a number.\n"""'
    )


def test_generated_tests_drop_copies_of_the_code_under_test():
    code = (
        "import pytest\nfrom shapes import area\n\n\ndef area(r):\n    return r\n\n\n"
        "def test_area():\n    assert area(1) == 1\n\n\n"
        "if __name__ == '__main__':\n    pytest.main()\n"
    )
    tidy = tidy_tests(code, exclude=("area",), import_line="from shapes import area")
    assert "def area" not in tidy and "__main__" not in tidy
    assert tidy.startswith("import pytest\n\nfrom shapes import area\n\ndef test_area():")
    assert tidy_tests("x = 1\n", exclude=(), import_line="from m import f") == ""
    added = tidy_tests("def test_f():\n    assert f()\n", exclude=(), import_line="from m import f")
    assert added.startswith("from m import f\n")


def test_the_test_file_is_looked_for_beside_the_module_and_in_tests_folders(tmp_path: Path):
    module = tmp_path / "pkg" / "shapes.py"
    candidates = candidate_test_files(module)
    assert candidates[0] == tmp_path / "pkg" / "test_shapes.py"
    assert tmp_path / "tests" / "test_shapes.py" in candidates


def test_chat_generation_stops_when_the_function_is_written_out():
    stop = chat_stop_rule("area")
    assert not stop("```python\nimport math\n\ndef area(r):\n    return r\n")
    assert stop("```python\ndef area(r):\n    return r\n\ndef other():\n")
    assert stop("```python\nx = 1\n```")
    assert not chat_stop_rule(None)("```python\ndef area(r):\n    return r\n\ndef other():\n")


def test_function_end_is_the_first_line_back_at_the_base_indentation():
    answer = "def f(\n    a,\n):\n    return a\n\nprint(f(1))\n"
    end = function_end_index(answer, "")
    assert end is not None and answer[:end].rstrip() == "def f(\n    a,\n):\n    return a"
    assert function_end_index("def f():\n    return 1\n", "") is None


def test_workspace_edit_json_uses_utf16_positions_and_creates_files():
    change = FileChange("file:///t/test_m.py", "", (TextEdit(0, 0, "x = 1\n"),), create=True)
    other = FileChange("file:///t/m.py", "s = '𝄞'\ny\n", (TextEdit(6, 7, '"'),), version=3)
    data = workspace_edit_json(ActionEdit((change, other), shown=""))
    changes = data["documentChanges"]
    assert changes[0] == {
        "kind": "create",
        "uri": "file:///t/test_m.py",
        "options": {"ignoreIfExists": True},
    }
    assert changes[2]["textDocument"] == {"uri": "file:///t/m.py", "version": 3}
    assert changes[2]["edits"][0]["range"]["start"] == {"line": 0, "character": 7}


def test_imports_the_file_lacks_are_added_but_never_wildcards():
    snapshot, _ = snapshot_at("import math\n\n█\n")
    wanted = ["import math", "from typing import *", "import os", "from collections import *"]
    assert missing_imports(snapshot, wanted) == ["import os"]
