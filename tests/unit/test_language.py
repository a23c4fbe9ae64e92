"""Python's Language members give what the pipeline's own Python rules gave before them."""

import dataclasses
from pathlib import Path

import pytest

from codels.completion.speculation import _next_line_indent
from codels.documents import Document
from codels.languages.python import PYTHON
from codels.languages.python.functions import (
    DOCSTRING_OPEN,
    before_closing_quotes,
    closes_docstring,
    header_of_test_file,
    import_statement,
    is_wildcard_import,
)
from codels.pipeline.context import CompletionKind, classify

BLOCK, LINE, NONE = CompletionKind.BLOCK, CompletionKind.LINE, CompletionKind.NONE


def test_python_may_have_closing_brackets_quotes_and_a_colon_right_of_the_cursor():
    assert frozenset(")]}:;,'\"") == PYTHON.closing_chars


@pytest.mark.parametrize(
    ("line_prefix", "line_suffix", "kind"),
    [
        ("if ready(", "):", LINE),
        ("print(", ")", LINE),
        ("x = f('", "')", LINE),
        ("call(", ", other)", NONE),
        ("name = pri", "nt", NONE),
        ("", "]", LINE),
        ("def f():", "", BLOCK),
    ],
)
def test_the_cursor_line_is_classified_by_the_language_as_without_one(
    line_prefix: str, line_suffix: str, kind: CompletionKind
):
    with_python = classify(line_prefix, line_suffix, inside=None, language=PYTHON)
    assert with_python[0] is kind
    without = classify(line_prefix, line_suffix, inside=None, language=None)
    # Without a language no line opens a block; the closing characters are the same.
    assert without[0] is (LINE if kind is BLOCK else kind)


def test_a_language_s_own_closing_characters_decide_what_may_follow_the_cursor():
    braces = dataclasses.replace(PYTHON, closing_chars=frozenset(")];"))
    assert classify("f(", ");", inside=None, language=braces)[0] is LINE
    assert classify("if ready(", "):", inside=None, language=braces)[0] is NONE


@pytest.mark.parametrize(
    ("text", "indent"),
    [
        ("    total = 0", "    "),
        ("    for item in items:", "        "),
        ("        return total", "    "),
        ("\tif x:", "\t\t"),
        ("\t\tbreak", "\t"),
        ("    values = [", "        "),
        ("    call(x,", "    "),
        ("raise ValueError", ""),
        ("    passing = 1", "    "),
        ("def f():\n    pass", ""),
    ],
)
def test_python_indents_the_line_enter_opens_as_an_editor_does(text: str, indent: str):
    assert PYTHON.blocks.next_line_indent(text, len(text)) == indent
    snapshot = Document("file:///a/m.py", "python", 1, text).snapshot()
    assert _next_line_indent(snapshot, text, len(text)) == indent


def test_without_a_language_the_line_enter_opens_keeps_the_line_s_indentation():
    text = "    for item in items:\n        return total"
    snapshot = Document("file:///a/notes.txt", "plaintext", 1, text).snapshot()
    assert snapshot.language is None
    assert _next_line_indent(snapshot, text, len(text)) == "        "
    assert _next_line_indent(snapshot, text, text.index("\n")) == "    "


def test_python_asks_for_a_compound_statement_s_keyword_when_a_header_is_needed():
    assert PYTHON.block_opener_words == (
        "if", "elif", "else", "for", "while", "with", "try", "except", "finally",
        "def", "class", "async", "match", "case",
    )  # fmt: skip
    for word in PYTHON.block_opener_words:
        header = f"{word} x:" if word != "async" else "async def f():"
        assert PYTHON.blocks.opens_block(header), header


def test_python_looks_for_a_module_s_tests_beside_it_then_in_tests_folders_above():
    assert PYTHON.candidate_test_files is not None
    found = PYTHON.candidate_test_files(Path("/w/src/pkg/shapes.py"))
    assert found[:6] == [
        Path("/w/src/pkg/test_shapes.py"),
        Path("/w/src/pkg/shapes_test.py"),
        Path("/w/src/pkg/tests/test_shapes.py"),
        Path("/w/src/pkg/tests/shapes_test.py"),
        Path("/w/src/pkg/test/test_shapes.py"),
        Path("/w/src/pkg/test/shapes_test.py"),
    ]
    assert Path("/w/tests/test_shapes.py") in found
    assert len(found) == len(set(found))


@pytest.mark.parametrize(
    ("answer", "closed", "words"),
    [
        ("Add two numbers.", False, "Add two numbers."),
        ('Add two numbers."""\n    return a + b', True, "Add two numbers."),
        ("Add.\n\n    Returns the sum.\n    '''", True, "Add.\n\n    Returns the sum.\n    "),
        ("One.\"\"\"two'''", True, "One."),
        ("One'''two\"\"\"", True, "One"),
        ('Say "hi".', False, 'Say "hi".'),
    ],
)
def test_a_docstring_the_model_writes_ends_at_python_s_closing_quotes(
    answer: str, closed: bool, words: str
):
    assert DOCSTRING_OPEN == '"""'
    assert closes_docstring(answer) is closed
    assert before_closing_quotes(answer) == words


def test_python_s_import_and_test_file_spellings():
    assert is_wildcard_import("from typing import *")
    assert not is_wildcard_import("from typing import Any")
    assert not is_wildcard_import("import os")
    assert import_statement("pkg.shapes", "area") == "from pkg.shapes import area"
    assert header_of_test_file("pkg.shapes") == '"""Tests for pkg.shapes."""\n\n'
