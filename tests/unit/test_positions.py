import pytest

from codels.positions import LineIndex, PositionError, code_point_offset, units_in, utf8_bytes

# "𝄞" (U+1D11E) is outside the BMP: 1 code point, 2 UTF-16 units, 4 UTF-8 bytes.
TEXT = "a𝄞b\r\nx = 'é'\rlast\n"


def test_lines_split_at_lf_crlf_and_lone_cr():
    lines = LineIndex.of(TEXT)
    assert lines.line_count == 4
    assert [lines.line_text(i) for i in range(4)] == ["a𝄞b", "x = 'é'", "last", ""]


def test_form_feed_is_not_a_line_break():
    assert LineIndex.of("a\x0cb\nc").line_count == 2


@pytest.mark.parametrize(
    ("encoding", "column", "expected_offset"),
    [
        ("utf-16", 0, 0),
        ("utf-16", 1, 1),  # before 𝄞
        ("utf-16", 3, 2),  # after 𝄞 (two UTF-16 units)
        ("utf-16", 4, 3),  # end of line
        ("utf-8", 5, 2),  # after 𝄞 (four bytes)
        ("utf-32", 2, 2),
    ],
)
def test_offset_at_counts_code_units_of_the_encoding(encoding, column, expected_offset):
    assert LineIndex.of(TEXT).offset_at(0, column, encoding) == expected_offset


def test_column_inside_a_surrogate_pair_moves_to_the_character_start():
    assert LineIndex.of(TEXT).offset_at(0, 2, "utf-16") == 1


def test_column_past_the_line_end_is_clamped():
    lines = LineIndex.of(TEXT)
    assert lines.offset_at(0, 99, "utf-16") == 3
    assert lines.offset_at(1, 99, "utf-16") == TEXT.index("\rlast")


def test_line_past_the_end_is_an_error():
    with pytest.raises(PositionError):
        LineIndex.of(TEXT).offset_at(4, 0, "utf-16")
    with pytest.raises(PositionError):
        LineIndex.of(TEXT).offset_at(-1, 0, "utf-16")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_position_at_inverts_offset_at(encoding):
    lines = LineIndex.of(TEXT)
    for line in range(lines.line_count):
        for column in range(len(lines.line_text(line)) + 1):
            offset = lines.starts[line] + column
            position = lines.position_at(offset, encoding)
            assert lines.offset_at(*position, encoding) == offset


def test_byte_offsets_and_points_for_tree_sitter():
    lines = LineIndex.of(TEXT)
    after_clef = 2
    assert lines.byte_offset(after_clef) == 5
    assert lines.point_at(after_clef) == (0, 5)
    second_line_end = TEXT.index("\rlast")
    assert lines.point_at(second_line_end) == (1, len(utf8_bytes("x = 'é'")))
    assert lines.offset_of_point(1, len(utf8_bytes("x = 'é"))) == second_line_end - 1


def test_units_in_and_code_point_offset():
    assert units_in("a𝄞", "utf-16") == 3
    assert units_in("a𝄞", "utf-8") == 5
    assert units_in("a𝄞", "utf-32") == 2
    data = utf8_bytes("a𝄞b")
    assert code_point_offset(data, 5) == 2
    assert code_point_offset(data, 3) == 1  # inside the clef: start of the character


def test_lone_surrogates_survive_encoding():
    text = "x = '\ud800'\n"
    lines = LineIndex.of(text)
    assert lines.byte_offset(len(text)) == len(utf8_bytes(text))


def test_the_fast_line_index_agrees_with_lsp_line_breaks():
    import random
    import re

    lsp_breaks = re.compile(r"\r\n|\r|\n")
    pieces = ["a", "\n", "\r", "\r\n", "é", "😀", "\x0c", "\u2028", "\x85", "\t", " "]
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        expected = [0, *(match.end() for match in lsp_breaks.finditer(text))]
        assert list(LineIndex.of(text).starts) == expected, repr(text)


def test_byte_offsets_of_long_texts_use_chunk_totals():
    text = ("é😀x\n" * 40_000) + "tail"
    lines = LineIndex.of(text)
    for offset in (0, 1, 65535, 65536, 65537, 100_001, len(text)):
        assert lines.byte_offset(offset) == len(text[:offset].encode("utf-8"))
