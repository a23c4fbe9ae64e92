import pytest
from cursor import context_at

from codels.pipeline.context import CompletionKind

BLOCK, LINE, NONE = CompletionKind.BLOCK, CompletionKind.LINE, CompletionKind.NONE


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ('def f(x):\n    """Double x."""\n    █\n', BLOCK),  # empty body under a docstring
        ("def f(x):█\n", BLOCK),  # end of a line that opens a block
        ("for item in items:█", BLOCK),
        ("# read the config file and return its sections\n█\n", BLOCK),  # after a comment
        ("x = 1\n█\ny = 2\n", BLOCK),  # blank line between statements
        ("x = █", LINE),  # after =
        ("print(█)", LINE),  # inside brackets the editor closed
        ("if ready(█):", LINE),
        ("value = config.█", LINE),  # after a dot
        ("items = [\n    █]\n", LINE),  # blank line before closing brackets
        ("call(█, other)", NONE),  # text right of the cursor
        ("name = pri█nt", NONE),
        ("# a comm█ent", NONE),
        ("x = 1  # comment█", NONE),
        ('x = "ab█c"', NONE),
        ('x = "abc█', NONE),  # unterminated string
        ('def f():\n    """Return the█\n', NONE),  # unterminated docstring
        ('x = "abc"█', LINE),
        ('x = f"{valu█}"', LINE),  # code inside an f-string's braces
        ("d = {'a': █}", LINE),
    ],
)
def test_completion_kind(source, kind):
    assert context_at(source).kind is kind


def test_strings_and_comments_can_be_allowed():
    assert context_at('x = "ab█"', complete_in_strings=True).kind is LINE
    assert context_at("# note█", complete_in_comments=True).kind is LINE


SOURCE = '''import os
from pathlib import Path as P


class Store:
    """Keeps things."""

    # load the items from disk
    @staticmethod
    def load(path: str) -> list[str]:
        """Read one item per line."""
        lines = []
        █
'''


def test_enclosing_scopes_with_decorators_and_docstrings():
    context = context_at(SOURCE)
    assert [(scope.kind, scope.name) for scope in context.scopes] == [
        ("class", "Store"),
        ("function", "load"),
    ]
    method = context.scopes[1]
    assert method.header.text == (
        "@staticmethod\n"
        "    def load(path: str) -> list[str]:\n"
        '        """Read one item per line."""'
    )
    assert method.indent == "    "
    assert context.scopes[0].header.text == 'class Store:\n    """Keeps things."""'


def test_comment_above_the_function_when_none_above_the_cursor():
    assert context_at(SOURCE).comment_above == "# load the items from disk"


def test_comment_directly_above_the_cursor_wins():
    context = context_at("def f():\n    # sum the squares\n    # of all numbers\n    █\n")
    assert context.comment_above == "# sum the squares\n# of all numbers"


def test_imports_are_collected():
    assert [s.text for s in context_at(SOURCE).imports] == [
        "import os",
        "from pathlib import Path as P",
    ]


def test_cursor_at_column_zero_is_outside_the_function():
    context = context_at("def f():\n    return 1\n█\n")
    assert context.scopes == ()


def test_line_prefix_suffix_and_windows():
    context = context_at("a = 1\nb = foo(█)\nc = 3\n")
    assert context.line_prefix == "b = foo("
    assert context.line_suffix == ")"
    assert context.prefix == "a = 1\nb = foo("
    assert context.suffix == ")\nc = 3\n"
    assert context.prefix_start == 0 and context.prefix_start_line == 0


def test_prefix_window_starts_at_a_line_start_in_long_files():
    source = "x = 1\n" * 10_000 + "y = █\n"
    context = context_at(source)
    assert len(context.prefix) <= 24_000 + 10
    assert context.prefix.startswith("x = 1\n")
    assert source.replace("█", "")[context.prefix_start - 1] == "\n"
    assert context.prefix_start_line == context.prefix_start // 6


def test_judge_counts_errors_added_by_a_completion():
    judge = context_at("def f(x):\n    █\n\ndef g():\n    pass\n").judge
    assert judge is not None
    assert not judge.adds_errors("return x")
    assert judge.adds_errors("return x +")
    assert judge.longest_clean_prefix("y = x\n    return (y") == "y = x"


def test_judge_asks_python_about_indentation_tree_sitter_accepts():
    # Python refuses a line indented deeper than its block ("unexpected indent").
    judge = context_at("def f(xs):\n    for x in xs:\n        █\n            print(x)\n").judge
    assert judge is not None
    assert judge.adds_errors("y = x")
    assert not judge.adds_errors("if x:")
    completion = "if x:\n            y = x\n        z = 1"
    assert judge.longest_clean_prefix(completion) == "if x:\n            y = x"


def test_judge_leaves_code_that_was_already_broken_further_on_to_the_user():
    # The ``else`` has lost its ``if``: Python refuses the function either way.
    judge = context_at("def f(n):\n    █\n    else:\n        return 2\n").judge
    assert judge is not None
    assert not judge.adds_errors("n = 1")
    assert not judge.adds_errors("if n:\n        return 1")
    assert judge.adds_errors("if n:\n            return 1\n        x = 2")


# A class much longer than the syntax judge's window: that window, cut inside the class,
# starts indented and ends mid-statement, and never parses.
LONG_CLASS_HEAD = "class Big:\n" + "".join(
    f"    def method{i}(self, value):\n        return value + {i}\n\n" for i in range(400)
)
LONG_CLASS_TAIL = "".join(
    f"    def later{i}(\n        self, value\n    ):\n        return value * {i}\n\n"
    for i in range(400)
)


def test_code_parses_is_judged_on_the_enclosing_function_in_a_long_class():
    source = (
        LONG_CLASS_HEAD
        + "    def middle(self, a):\n        b = a + 1\n        █\n        return b\n\n"
        + LONG_CLASS_TAIL
    )
    context = context_at(source)
    assert context.judge is not None and not context.judge.parses  # the judge's own window
    assert context.code_parses


@pytest.mark.parametrize(
    "method",
    [
        # the header of the deeper line is missing
        "    def middle(self, a):\n        b = a + 1\n        █\n            return b\n",
        # the first line of a statement is missing (the tree ends the method before its ")")
        '    def middle(self, a):\n        █\n            f"{a}"\n        )\n',
        # an else without its if
        "    def middle(self, a):\n        b = a + 1\n        █\n"
        "        else:\n            return b\n",
    ],
)
def test_code_parses_not_where_code_is_missing_in_the_enclosing_function(method):
    source = LONG_CLASS_HEAD + method + "\n    def after(self):\n        return 1\n\n"
    assert not context_at(source + LONG_CLASS_TAIL).code_parses


def test_code_parses_falls_back_to_the_judge_outside_functions():
    assert context_at("x = 1\n█\ny = 2\n").code_parses
    assert not context_at("x = (1,\n█\ny = 2\n").code_parses


def test_code_parses_is_judged_on_the_outermost_scope_that_fits():
    # The inner function parses by itself; the function around it, where code is missing,
    # does not: the gap is not one between statements of complete code.
    source = (
        "def outer(x):\n    def inner(y):\n        a = y\n        █\n        return a\n"
        "    b = (x,\n    return inner\n"
    )
    assert not context_at(source).code_parses
