"""Editing sessions to replay: which code gets typed, keystroke by keystroke, and when.

A session starts from a real file with some code taken out and types it back, one character per
keystroke, as a person does in an editor that indents new lines itself, at a human pace with
jitter and longer pauses at line ends. :func:`plan_session` takes function bodies out;
:func:`plan_gap_session` takes single statement lines out from between two others and types
each back from the end of the line above (Enter, a pause on the new indented line, the
statement). Both are pure: the same file, typing model and seed give the same keystrokes. This
module imports tree-sitter, :mod:`codels.languages` and :mod:`codels.positions`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from codels.languages.python import PYTHON
from codels.languages.syntax import new_parser
from codels.positions import LineIndex, utf8_bytes


@dataclass(frozen=True)
class TypingModel:
    """How fast the simulated person types."""

    chars_per_second: float = 12.0
    """Mean typing speed."""
    line_end_pause: float = 0.8
    """Extra seconds of thought after finishing a line."""
    jitter: float = 0.35
    """Spread of the gaps between keys (sigma of a log-normal factor)."""


@dataclass(frozen=True)
class Keystroke:
    """One edit: insert ``text`` at code-point ``offset`` of the document as it then is."""

    offset: int
    text: str
    gap: float
    """Seconds since the previous keystroke."""


@dataclass(frozen=True)
class Session:
    """A file to open and the keystrokes that type its missing code back."""

    name: str
    start_text: str
    """The document as opened (the bodies to type are missing)."""
    final_text: str
    """The document once every keystroke is applied (the original file)."""
    keystrokes: tuple[Keystroke, ...]


def _typed_bodies(source: str, most: int) -> list[tuple[int, int]]:
    """Code-point spans of function bodies to type (after any docstring), top to bottom."""
    data = utf8_bytes(source)
    tree = new_parser(PYTHON).parse(data)
    lines = LineIndex.of(source)
    spans: list[tuple[int, int]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(reversed(node.children))
        if node.type != "function_definition":
            continue
        body = node.child_by_field_name("body")
        if body is None or not body.named_children:
            continue
        statements = list(body.named_children)
        first = statements[0]
        if first.type == "expression_statement" and first.named_children[0].type == "string":
            statements = statements[1:]
        if not statements or len(statements) > 8:
            continue
        start = lines.offset_of_point(
            statements[0].start_point.row, statements[0].start_point.column
        )
        end = lines.offset_of_point(statements[-1].end_point.row, statements[-1].end_point.column)
        if "\n" not in source[start:end] and end - start < 20:
            continue  # a one-word body teaches nothing about completion
        spans.append((start, end))
    spans.sort()
    # Keep the spans well apart (no nesting) and spread over the file.
    chosen: list[tuple[int, int]] = []
    for span in spans:
        if chosen and span[0] < chosen[-1][1]:
            continue
        chosen.append(span)
    if len(chosen) > most:
        step = len(chosen) / most
        chosen = [chosen[int(index * step)] for index in range(most)]
    return chosen


def plan_session(
    path: Path, typing: TypingModel, rng: random.Random, *, bodies: int = 3
) -> Session:
    """Plan typing up to ``bodies`` function bodies of ``path`` back in."""
    source = path.read_text(encoding="utf-8")
    spans = _typed_bodies(source, bodies)
    start_text = source
    for start, end in reversed(spans):
        start_text = start_text[:start] + start_text[end:]
    keystrokes: list[Keystroke] = []
    for start, end in spans:
        # Bodies are typed top to bottom: the ones above are back in place and the ones below
        # are still missing, so this body starts at the same offset as in the original file.
        offset = start
        body = source[start:end]
        index = 0
        while index < len(body):
            gap = rng.lognormvariate(0, typing.jitter) / typing.chars_per_second
            text = body[index]
            if text == "\n":
                # The editor indents the new line: the break and the indentation arrive together.
                indent_end = index + 1
                while indent_end < len(body) and body[indent_end] in " \t":
                    indent_end += 1
                text = body[index:indent_end]
                gap += typing.line_end_pause * rng.uniform(0.5, 1.5)
            keystrokes.append(Keystroke(offset, text, gap))
            offset += len(text)
            index += len(text)
    return Session(path.name, start_text, source, tuple(keystrokes))


GAP_LINE_MIN_CHARS = 8
"""The shortest statement line typed into a gap (``pass`` or ``i += 1`` teach little)."""


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _gap_lines(source: str) -> list[tuple[int, int]]:
    """Code-point spans to take out so that a statement line between two others is missing.

    A candidate is a statement on a line of its own inside a function, with a statement of the
    same block ending on the line right above it, at the same indentation (an editor indents
    Enter there as the line was), and another below it. Its span runs from the end of the line
    above (the line break) to the end of its own line: without it the line above is followed by
    the one that came after, and Enter at its end brings the line back.
    """
    data = utf8_bytes(source)
    tree = new_parser(PYTHON).parse(data)
    lines = LineIndex.of(source)
    spans: list[tuple[int, int]] = []
    stack: list[tuple[tree_sitter.Node, bool]] = [(tree.root_node, False)]
    while stack:
        node, in_function = stack.pop()
        inside = in_function or node.type == "function_definition"
        stack.extend((child, inside) for child in reversed(node.children))
        if node.type != "block" or not in_function:
            continue
        statements = [child for child in node.named_children if child.type != "comment"]
        for above, statement, below in zip(
            statements, statements[1:], statements[2:], strict=False
        ):
            row = statement.start_point.row
            line = lines.line_text(row)
            indent = _indentation(line)
            if (
                statement.end_point.row != row
                or above.end_point.row != row - 1
                or below.start_point.row <= row
                or len(line.strip()) < GAP_LINE_MIN_CHARS
                or line.rstrip() != line
                or lines.offset_of_point(row, statement.start_point.column)
                != lines.starts[row] + len(indent)  # something else starts the line
                or _indentation(lines.line_text(row - 1)) != indent
            ):
                continue
            spans.append((lines.starts[row] - 1, lines.starts[row] + len(line)))
    return sorted(spans)


def plan_gap_session(path: Path, typing: TypingModel, rng: random.Random, *, gaps: int) -> Session:
    """Plan typing up to ``gaps`` statement lines of ``path`` back in between existing lines.

    The lines are drawn with ``rng``, never two next to each other, and typed top to bottom:
    the cursor goes to the end of the line above (a short pause), Enter brings the new line
    and its indentation, a pause there (the request on a new line between existing ones), then
    the statement, a character per key.
    """
    source = path.read_text(encoding="utf-8")
    candidates = _gap_lines(source)
    chosen: list[tuple[int, int]] = []
    for span in rng.sample(candidates, len(candidates)):
        if len(chosen) == gaps:
            break
        if all(span[0] > other[1] or span[1] < other[0] for other in chosen):
            chosen.append(span)
    chosen.sort()
    start_text = source
    for start, end in reversed(chosen):
        start_text = start_text[:start] + start_text[end:]
    keystrokes: list[Keystroke] = []
    for start, end in chosen:
        # As with bodies, the lines above are back and those below still out: the same offsets.
        line = source[start:end]
        indent = 1 + len(_indentation(line[1:]))  # the line break and the indentation
        move = typing.line_end_pause * rng.uniform(0.25, 0.75)  # a click at the end of it
        keystrokes.append(Keystroke(start, line[:indent], move))
        offset = start + indent
        for index, text in enumerate(line[indent:]):
            gap = rng.lognormvariate(0, typing.jitter) / typing.chars_per_second
            if index == 0:
                gap += typing.line_end_pause * rng.uniform(0.5, 1.5)
            keystrokes.append(Keystroke(offset, text, gap))
            offset += 1
    return Session(f"gaps/{path.name}", start_text, source, tuple(keystrokes))


def corpus_sessions(
    paths: Sequence[Path], typing: TypingModel, seed: int, *, bodies: int = 3, gaps: int = 0
) -> list[Session]:
    """A session per file typing bodies, then one per file typing ``gaps`` lines in gaps.

    All are planned with one random generator seeded with ``seed``, the gap sessions last, so
    the body sessions are the same with or without them.
    """
    rng = random.Random(seed)
    sessions = [plan_session(path, typing, rng, bodies=bodies) for path in paths]
    if gaps > 0:
        planned = (plan_gap_session(path, typing, rng, gaps=gaps) for path in paths)
        sessions.extend(session for session in planned if session.keystrokes)
    return sessions
