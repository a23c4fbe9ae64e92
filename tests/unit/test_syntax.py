import dataclasses

import pytest
from cursor import context_at

from codels.languages.javascript import JAVASCRIPT
from codels.languages.python import PYTHON
from codels.languages.registry import language_named, syntax_language
from codels.languages.syntax import SyntaxJudge, count_syntax_errors, new_parser


@pytest.mark.parametrize(
    ("language_id", "uri", "found"),
    [
        ("python", "file:///a.txt", PYTHON),  # the language id decides
        ("Python", "untitled:1", PYTHON),
        ("py", "file:///a", PYTHON),
        ("", "file:///a/stub.PYI", PYTHON),  # a generic id: the file name ending decides
        ("plaintext", "file:///a/tool.pyw", PYTHON),
        ("javascript", "file:///a.py", JAVASCRIPT),  # another language's id is not overruled
        ("cobol", "file:///a.py", None),  # nor is one codels does not read
        ("plaintext", "file:///notes.txt", None),
    ],
)
def test_a_document_is_read_in_the_language_its_id_or_name_picks(language_id, uri, found):
    assert syntax_language(language_id, uri) is found


def test_parsers_come_by_language_or_by_name():
    assert language_named("python") is PYTHON
    with pytest.raises(ValueError, match="cobol"):
        language_named("cobol")
    source = b"def f(:\n    pass\n"
    by_name = new_parser("python").parse(source).root_node
    by_language = new_parser(PYTHON).parse(source).root_node
    assert str(by_name) == str(by_language)
    assert count_syntax_errors(by_language) > 0


def test_the_judge_asks_the_language_s_own_validator_only_where_it_has_one():
    # tree-sitter accepts the over-indented line; Python's parser (PYTHON's validator) does not.
    judge = context_at("def f(xs):\n    for x in xs:\n        █\n            print(x)\n").judge
    assert judge is not None
    assert judge.adds_errors("y = x")
    without = dataclasses.replace(PYTHON, first_error_line=None)
    plain = SyntaxJudge(language=without, before=judge.before, after=judge.after)
    assert not plain.adds_errors("y = x")
    assert plain.adds_errors("y = x)")
