import random

import pytest

from codels.documents import Document, DocumentStore, TextChange
from codels.languages.syntax import new_parser
from codels.positions import LineIndex

SOURCE = '''import os


def greet(name: str) -> str:
    """Say hello to 𝄞 and friends."""
    return f"hello {name}"


class Box:
    def __init__(self, size):\r
        self.size = size
'''

INSERTS = ["x", "\n", "    ", "𝄞", "é", "(", ")", "def f():\n    pass\n", "\r\n", '"""', "#"]


def fresh_tree_sexp(text: str) -> str:
    return str(new_parser("python").parse(text.encode("utf-8", "surrogatepass")).root_node)


def between_line_break_pairs(text: str, offset: int) -> int:
    """Move an offset off the middle of a CRLF pair (no LSP position points there)."""
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        return offset + 1
    return offset


def lsp_range(text: str, start: int, end: int, encoding):
    lines = LineIndex.of(text)
    return (lines.position_at(start, encoding), lines.position_at(end, encoding))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_incremental_edits_match_a_fresh_parse(encoding):
    rng = random.Random(7)
    document = Document("file:///a.py", "python", 1, SOURCE)
    for version in range(2, 200):
        text = document.text
        start = between_line_break_pairs(text, rng.randrange(len(text) + 1))
        end = between_line_break_pairs(text, min(len(text), start + rng.choice([0, 0, 1, 3, 12])))
        change = TextChange(rng.choice([*INSERTS, ""]), lsp_range(text, start, end, encoding))
        document.apply_changes(version, [change], encoding)
        expected = text[:start] + change.text + text[end:]
        assert document.text == expected
        assert str(document.tree.root_node) == fresh_tree_sexp(expected)
    assert document.version == 199


def test_several_changes_in_one_notification_apply_in_order():
    document = Document("file:///a.py", "python", 1, "ab\ncd\n")
    document.apply_changes(
        2,
        [
            TextChange("X", ((0, 1), (0, 1))),  # aXb
            TextChange("YY\n", ((1, 0), (1, 2))),  # YY replaces cd
        ],
        "utf-16",
    )
    assert document.text == "aXb\nYY\n\n"


def test_whole_document_change_reparses():
    document = Document("file:///a.py", "python", 1, "x = 1\n")
    document.apply_changes(2, [TextChange("def f(:\n")], "utf-16")
    assert document.text == "def f(:\n"
    assert document.tree.root_node.has_error


def test_edit_outside_the_document_is_clamped_not_fatal():
    document = Document("file:///a.py", "python", 1, "x = 1\n")
    document.apply_changes(2, [TextChange("y", ((50, 0), (60, 0)))], "utf-16")
    assert document.text == "x = 1\ny"


def test_snapshot_is_immutable_and_keeps_its_own_tree():
    document = Document("file:///a.py", "python", 1, "x = 1\n")
    snapshot = document.snapshot()
    document.apply_changes(2, [TextChange("def (", ((0, 0), (0, 0)))], "utf-16")
    assert snapshot.text == "x = 1\n" and snapshot.version == 1
    assert not snapshot.tree.root_node.has_error


def test_store_ignores_changes_to_unknown_documents():
    store = DocumentStore()
    assert store.change("file:///nope.py", 2, [TextChange("x")], "utf-16") is None
    store.open("file:///a.txt", "plaintext", 1, "hello")
    assert store.get("file:///a.txt").tree is None  # no grammar: no tree
    store.close("file:///a.txt")
    assert len(store) == 0


def test_a_huge_document_is_parsed_around_the_cursor_with_whole_document_positions():
    from codels.documents import HUGE_DOCUMENT_CHARS
    from codels.pipeline.context import build_context

    unit = 'def f{n}(values):\n    """Sum."""\n    return sum(values)\n\n\n'
    count = HUGE_DOCUMENT_CHARS // len(unit.format(n=0)) + 10
    text = (
        "".join(unit.format(n=n) for n in range(count))
        + "class Last:\n    def area(self):\n        \n"
    )
    document = Document("file:///huge.py", "python", 1, text)
    assert document.huge and document.tree is None  # not kept parsed
    document.apply_changes(
        2, [TextChange("r", ((text.count("\n") - 1, 8), (text.count("\n") - 1, 8)))], "utf-16"
    )
    offset = len(document.text) - 1
    snapshot = document.snapshot(around=offset)
    assert snapshot.tree is not None
    context = build_context(snapshot, offset)
    assert [scope.name for scope in context.scopes] == ["Last", "area"]
    last_function = snapshot.tree.root_node.named_children[-2]
    assert last_function.start_point.row == text.count("\n") - 8  # whole-document rows


@pytest.mark.parametrize("inserted", ["x = 1", "𝄞\n    return y", "\r\n", ""])
def test_a_guessed_insertion_parses_like_the_edited_text_and_leaves_the_snapshot_alone(inserted):
    document = Document("file:///a.py", "python", 3, SOURCE)
    snapshot = document.snapshot()
    offset = SOURCE.index("return f")
    guess = Document.with_insertion(snapshot, offset, inserted)
    expected = SOURCE[:offset] + inserted + SOURCE[offset:]
    assert guess.text == expected and guess.version == 3
    assert str(guess.tree.root_node) == fresh_tree_sexp(expected)
    assert guess.lines.offset_at(*guess.lines.position_at(offset, "utf-32"), "utf-32") == offset
    assert snapshot.text == SOURCE and str(snapshot.tree.root_node) == fresh_tree_sexp(SOURCE)
    assert document.text == SOURCE
