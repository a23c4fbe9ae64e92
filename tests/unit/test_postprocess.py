import pytest
from cursor import context_at

from codels.postprocess import BlockRules, NextLine, StopRule, clean_completion, stop_rule


def clean(source: str, raw: str, *, truncated: bool = False) -> str:
    """Post-process ``raw``, the model's answer to a prompt built as prompt.py builds it: the
    prompt keeps all but the last whitespace character before the cursor, so on an indented
    blank line the model's answer starts with that one space."""
    context = context_at(source)
    line_prefix = context.line_prefix
    healed = line_prefix[-1] if line_prefix[-1:] in (" ", "\t") else ""
    stop = ("<|endoftext|>", "<|file_sep|>")
    return clean_completion(raw, context, healed=healed, stop=stop, truncated=truncated).text


EMPTY_BODY = 'def double(x):\n    """Double x."""\n    █\n\n\ndef other():\n    pass\n'


@pytest.mark.parametrize(
    ("source", "raw", "expected"),
    [
        # single line: cut at the line break; the space the prompt left out is taken back
        ("total = █", " compute(1)\nprint(total)", "compute(1)"),
        ("total =█", " compute(1)\n", " compute(1)"),
        # block: cut where the indentation falls below the block's
        (EMPTY_BODY, " y = x * 2\n    return y\n\n\ndef helper():\n", "y = x * 2\n    return y"),
        # block: cut at a line equal to the first non-blank suffix line
        ("def f(x):\n    █\n    return y\n", " y = x + 1\n    return y\n", "y = x + 1"),
        # block: three equal lines keep the first
        ("def f():\n    █\n", " a()\n    a()\n    a()\n    a()\n", "a()"),
        # end of a block opener: the completion starts with the line break
        ("def f(x):█\n", "\n    return x\n\nprint(1)\n", "\n    return x"),
        # a model that starts with an empty line on a blank line
        ("def f():\n    █\n", "\n    return 1\n", "return 1"),
        # more indented than the cursor: the extra indentation is kept
        ("if x:\n    █\n", "     return 1\n", "    return 1"),
        # starting over on a new line indented less than the cursor: dropped
        ("def f():\n    if x:\n        █\n", "\n    return 1\n", ""),
        # the text right of the cursor is not repeated...
        ("print(█)", "x)", "x"),
        # ...but a balanced call inside it is kept whole
        ("print(█)", "foo(x)", "foo(x)"),
        # a completion that adds a syntax error is cut back or dropped
        ("def f(x):\n    █\n", " return x +\n", ""),
        ("def f(x):\n    █\n", " y = x\n    return (y\n", "y = x"),
        # stop strings that came through as text
        ("def f():\n    █\n", " return 1<|endoftext|>junk", "return 1"),
        # nothing useful
        ("total = █", "\n", ""),
        ("total = █", "   ", ""),
    ],
)
def test_clean_completion(source, raw, expected):
    assert clean(source, raw) == expected


def test_truncated_block_loses_its_unfinished_line():
    assert clean("def f():\n    █\n", " a = 1\n    b = compute(2,", truncated=True) == "a = 1"


SUM_LOOP = "def total(xs):\n    result = 0\n    █\n        result += x\n    return result\n"


def test_a_header_whose_body_follows_the_cursor_ends_the_completion():
    raw = " for x in xs:\n        result = result + x\n    return result\n"
    assert clean(SUM_LOOP, raw) == "for x in xs:"


MIDDLE = "def f(a):\n    b = a + 1\n    █\n    return b\n"


def test_inside_a_block_that_goes_on_one_statement_is_completed():
    assert clean(MIDDLE, " b = b * 2\n    c = 3\n    return b + c\n") == "b = b * 2"


def test_one_statement_may_be_compound():
    raw = " if a:\n        b = 2\n    else:\n        b = 3\n    c = 4\n"
    assert clean(MIDDLE, raw) == "if a:\n        b = 2\n    else:\n        b = 3"


def test_at_the_end_of_a_block_several_statements_are_completed():
    source = "def f(a):\n    b = a + 1\n    █\n\nprint(f(1))\n"
    raw = " c = b * 2\n    return c\n\nprint(f(2))\n"
    assert clean(source, raw) == "c = b * 2\n    return c"


def test_line_completion_that_closes_an_open_bracket_is_kept():
    assert clean("result = max(█", "a, b)") == "a, b)"


def test_block_end_sees_leaving_the_scope_as_soon_as_the_line_has_text():
    rules = BlockRules(base="", floor=1)  # inside a function defined at column 0
    assert rules.end("    a = 1\n", complete_lines_only=True) is None
    assert rules.end("    a = 1\n\n", complete_lines_only=True) is None
    assert rules.end("    a = 1\nd", complete_lines_only=True) == 9


def test_block_end_waits_for_a_whole_line_before_comparing_with_the_suffix():
    rules = BlockRules(base="", following=(NextLine("return y", 4),), floor=4)
    assert rules.end("    a = 1\n    return", complete_lines_only=True) is None
    assert rules.end("    a = 1\n    return y\n", complete_lines_only=True) == 9


def test_stop_rule_for_lines_and_blocks():
    line_rule = stop_rule(context_at("x = █"), " ")
    assert not line_rule(" foo(")
    assert line_rule(" foo()\n")
    block_rule = stop_rule(context_at("def f():\n    █\n"), " ")
    assert isinstance(block_rule, StopRule)
    assert not block_rule(" x = 1\n    return x\n")
    assert block_rule(" x = 1\n    return x\n\nclass")
