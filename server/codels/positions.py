r"""Conversions between LSP positions, Python string offsets and tree-sitter byte offsets.

LSP counts columns in the code units of the negotiated encoding (UTF-16 unless the client offered
another), Python strings index code points, tree-sitter wants UTF-8 bytes: every conversion in
codels goes through this module. Lines end at ``\n``, ``\r\n`` or a lone ``\r``, as LSP says.
This module imports only the standard library.
"""

from __future__ import annotations

import functools
import itertools
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

PositionEncoding = Literal["utf-8", "utf-16", "utf-32"]
"""The position encodings defined by LSP 3.17."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_OTHER_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
"""Where str.splitlines breaks a line but LSP does not."""


class PositionError(ValueError):
    """A position that does not exist in the document (a line past the end)."""


def utf8_bytes(text: str) -> bytes:
    """Encode ``text`` as UTF-8, keeping lone surrogates (a client may send them) encodable."""
    return text.encode("utf-8", "surrogatepass")


def units_in(text: str, encoding: PositionEncoding) -> int:
    """Return how many code units of ``encoding`` the string ``text`` takes."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-16":
        return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
    return len(utf8_bytes(text))


def code_points_for_units(line: str, units: int, encoding: PositionEncoding) -> int:
    """Return the code-point index in ``line`` that lies ``units`` code units from its start.

    A column past the end of the line means the end of the line (the LSP rule). A column that
    falls inside a character (half of a surrogate pair, the middle of a UTF-8 sequence) is moved
    to the start of that character.
    """
    if units <= 0:
        return 0
    if encoding == "utf-32" or line.isascii():
        return min(units, len(line))
    count = 0
    for index, ch in enumerate(line):
        width = (2 if ord(ch) > 0xFFFF else 1) if encoding == "utf-16" else len(utf8_bytes(ch))
        if count + width > units:
            return index
        count += width
    return len(line)


BYTE_CHUNK = 65536
"""Code points per chunk of the UTF-8 byte totals that :meth:`LineIndex.byte_offset` uses."""


@dataclass(frozen=True)
class LineIndex:
    """The start offsets (in code points) of every line of one text, for fast conversions."""

    text: str
    starts: Sequence[int] = field(repr=False)

    @classmethod
    def of(cls, text: str) -> LineIndex:
        """Index the lines of ``text``."""
        if not any(other in text for other in _OTHER_BREAKS):
            # str.splitlines (in C) breaks at exactly LSP's line breaks here: ten times faster
            # than the regular expression on a 10 MB document.
            starts = [0, *itertools.accumulate(map(len, text.splitlines(keepends=True)))]
            if text and not text.endswith(("\n", "\r")):
                starts.pop()  # the end of a last line without a break starts no line
            return cls(text=text, starts=starts)
        starts = [0]
        starts.extend(match.end() for match in _LINE_BREAK.finditer(text))
        return cls(text=text, starts=starts)

    @property
    def line_count(self) -> int:
        """Number of lines (a text that ends with a line break has an empty last line)."""
        return len(self.starts)

    def line_text(self, line: int) -> str:
        """Return the text of ``line`` without its line break."""
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset_at(self, line: int, character: int, encoding: PositionEncoding) -> int:
        """Return the code-point offset of the LSP position (``line``, ``character``).

        Raises :class:`PositionError` for a negative position or a line past the end of the text;
        a column past the end of its line is clamped to the line end.
        """
        if line < 0 or character < 0:
            raise PositionError(f"position ({line}, {character}) is negative")
        if line >= len(self.starts):
            raise PositionError(
                f"line {line} is past the end of the document ({len(self.starts)} lines)"
            )
        text = self.line_text(line)
        return self.starts[line] + code_points_for_units(text, character, encoding)

    def position_at(self, offset: int, encoding: PositionEncoding) -> tuple[int, int]:
        """Return the LSP (line, character) of a code-point ``offset`` (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.starts, offset) - 1
        column_text = self.text[self.starts[line] : offset]
        return line, units_in(column_text, encoding)

    @functools.cached_property
    def _chunk_bytes(self) -> list[int] | None:
        """UTF-8 bytes before each BYTE_CHUNK-code-point chunk of the text; None if all ASCII."""
        if self.text.isascii():
            return None
        totals = [0]
        for start in range(0, len(self.text), BYTE_CHUNK):
            totals.append(totals[-1] + len(utf8_bytes(self.text[start : start + BYTE_CHUNK])))
        return totals

    def byte_offset(self, offset: int) -> int:
        """Return the UTF-8 byte offset of a code-point ``offset`` (what tree-sitter wants).

        Costs one encoding of at most BYTE_CHUNK code points, however long the document (the
        per-chunk totals are computed once per text).
        """
        offset = max(0, min(offset, len(self.text)))
        totals = self._chunk_bytes
        if totals is None:
            return offset
        chunk = offset // BYTE_CHUNK
        return totals[chunk] + len(utf8_bytes(self.text[chunk * BYTE_CHUNK : offset]))

    def offset_of_point(self, row: int, byte_column: int) -> int:
        """Return the code-point offset of a tree-sitter point (row, byte column)."""
        row = max(0, min(row, len(self.starts) - 1))
        line = self.line_text(row)
        if line.isascii():
            return self.starts[row] + min(byte_column, len(line))
        return self.starts[row] + code_point_offset(utf8_bytes(line), byte_column)

    def point_at(self, offset: int) -> tuple[int, int]:
        """Return the tree-sitter point (row, byte column) of a code-point ``offset``."""
        line = bisect_right(self.starts, offset) - 1
        return line, len(utf8_bytes(self.text[self.starts[line] : offset]))


def code_point_offset(data: bytes, byte_offset: int) -> int:
    """Return the code-point offset that corresponds to ``byte_offset`` in UTF-8 ``data``.

    A byte offset inside a multi-byte character maps to the start of that character.
    """
    byte_offset = max(0, min(byte_offset, len(data)))
    while byte_offset > 0:
        try:
            return len(data[:byte_offset].decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            byte_offset -= 1
    return 0
