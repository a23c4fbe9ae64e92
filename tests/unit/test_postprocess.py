import pytest
from cursor import context_at

from codels.postprocess import StopRule, block_end, clean_completion, stop_rule


def clean(source: str, raw: str, *, truncated: bool = False) -> str:
    context = context_at(source)
    line_prefix = context.line_prefix
    healed = line_prefix[len(line_prefix.rstrip(" \t")) :]
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
        (EMPTY_BODY, "    y = x * 2\n    return y\n\n\ndef helper():\n", "y = x * 2\n    return y"),
        # block: cut at a line equal to the first non-blank suffix line
        ("def f(x):\n    █\n    return y\n", "    y = x + 1\n    return y\n", "y = x + 1"),
        # block: three equal lines keep the first
        ("def f():\n    █\n", "    a()\n    a()\n    a()\n    a()\n", "a()"),
        # end of a block opener: the completion starts with the line break
        ("def f(x):█\n", "\n    return x\n\nprint(1)\n", "\n    return x"),
        # a model that starts with an empty line on a blank line
        ("def f():\n    █\n", "\n    return 1\n", "return 1"),
        # more indented than the cursor: the extra indentation is kept
        ("if x:\n    █\n", "        return 1\n", "    return 1"),
        # indented less than the cursor: dropped rather than mis-indented
        ("def f():\n    if x:\n        █\n", "    return 1\n", ""),
        # the text right of the cursor is not repeated...
        ("print(█)", "x)", "x"),
        # ...but a balanced call inside it is kept whole
        ("print(█)", "foo(x)", "foo(x)"),
        # a completion that adds a syntax error is cut back or dropped
        ("def f(x):\n    █\n", "    return x +\n", ""),
        ("def f(x):\n    █\n", "    y = x\n    return (y\n", "y = x"),
        # stop strings that came through as text
        ("def f():\n    █\n", "    return 1<|endoftext|>junk", "return 1"),
        # nothing useful
        ("total = █", "\n", ""),
        ("total = █", "   ", ""),
    ],
)
def test_clean_completion(source, raw, expected):
    assert clean(source, raw) == expected


def test_truncated_block_loses_its_unfinished_line():
    assert clean("def f():\n    █\n", "    a = 1\n    b = compute(2,", truncated=True) == "a = 1"


def test_line_completion_that_closes_an_open_bracket_is_kept():
    assert clean("result = max(█", "a, b)") == "a, b)"


def test_block_end_sees_a_dedent_as_soon_as_the_line_has_text():
    assert block_end("    a = 1\n", "", "", complete_lines_only=True) is None
    assert block_end("    a = 1\n\n", "", "", complete_lines_only=True) is None
    assert block_end("    a = 1\nd", "", "", complete_lines_only=True) == 9


def test_block_end_waits_for_a_whole_line_before_comparing_with_the_suffix():
    assert block_end("    a = 1\n    return", "", "return y", complete_lines_only=True) is None
    assert block_end("    a = 1\n    return y\n", "", "return y", complete_lines_only=True) == 9


def test_stop_rule_for_lines_and_blocks():
    line_rule = stop_rule(context_at("x = █"), " ")
    assert not line_rule(" foo(")
    assert line_rule(" foo()\n")
    block_rule = stop_rule(context_at("def f():\n    █\n"), "    ")
    assert isinstance(block_rule, StopRule)
    assert not block_rule("    x = 1\n    return x\n")
    assert block_rule("    x = 1\n    return x\n\nclass")
