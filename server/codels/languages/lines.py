"""Line-level reading that every block model shares: indentation widths, the next line, brackets.

This module imports :mod:`codels.languages.base` only.
"""

from __future__ import annotations

from dataclasses import dataclass

from codels.languages.base import CursorText


def indent_width(line: str) -> int:
    """Width of the leading whitespace of ``line`` (tabs count to the next multiple of 8)."""
    leading = line[: len(line) - len(line.lstrip(" \t"))]
    return len(leading.expandtabs(8))


def line_starts(lines: list[str], base: int) -> list[int]:
    """Where each of ``lines`` starts in the completion (its first ``base`` are the user's).

    ``lines`` is the user's ``base`` text and the completion, split at line breaks; a line that
    starts inside ``base`` starts at 0.
    """
    starts: list[int] = []
    position = -base
    for line in lines:
        starts.append(max(0, position))
        position += len(line) + 1
    return starts


def indent_unit(code: str) -> int:
    """The indentation step of ``code``: the smallest indentation of an indented line (or 4)."""
    widths = {indent_width(line) for line in code.splitlines() if line.strip()}
    widths.discard(0)
    return min(widths) if widths else 4


@dataclass(frozen=True)
class NextLine:
    """The first non-blank line after the cursor line: the code the completion leads into."""

    text: str
    """The line, stripped."""
    indent: int
    """Its indentation width."""


def next_line(cursor: CursorText) -> NextLine | None:
    """The first non-blank line after the cursor line, or None at the end of the window."""
    _, _, after = cursor.suffix.partition("\n")
    for line in after.splitlines():
        if line.strip():
            return NextLine(line.strip(), indent_width(line))
    return None


def bracket_balance(text: str) -> tuple[int, int]:
    """(brackets ``text`` leaves open, closing brackets it has with none open before them).

    Strings and comments are not told apart.
    """
    depth = 0
    excess = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth:
                depth -= 1
            else:
                excess += 1
    return depth, excess
