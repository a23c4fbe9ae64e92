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


def test_inside_a_block_several_statements_may_be_completed():
    # Measured: stopping after one statement here won on single-line tasks (68.7 vs 66.0 %)
    # but lost on multi-line ones (21.3 vs 23.3 %); codels completes the block.
    assert clean(MIDDLE, " b = b * 2\n    c = 3\n    return b + c\n") == (
        "b = b * 2\n    c = 3\n    return b + c"
    )


def test_a_header_with_a_body_two_levels_deeper_is_not_the_end():
    source = "def f(xs):\n    for x in xs:\n        █\n                deep()\n"
    raw = " if x:\n            go(x)\n"
    assert clean(source, raw) == "if x:\n            go(x)"


def test_only_the_next_line_counts_as_the_code_that_follows():
    source = "def f(n):\n    █\n    if n == 1:\n        return 0\n"
    assert clean(source, " return 0\n") == "return 0"


def test_block_end_sees_a_dedent_as_soon_as_the_line_has_text():
    rules = BlockRules(base="")
    assert rules.end("    a = 1\n", complete_lines_only=True) is None
    assert rules.end("    a = 1\n\n", complete_lines_only=True) is None
    assert rules.end("    a = 1\nd", complete_lines_only=True) == 9


def test_block_end_waits_for_a_whole_line_before_comparing_with_the_suffix():
    rules = BlockRules(base="", following=NextLine("return y", 4))
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
