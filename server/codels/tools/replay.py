"""Editing sessions to replay: which code gets typed, keystroke by keystroke, and when.

A session starts from a real file with some function bodies taken out and types them back, one
character per keystroke, as a person does in an editor that indents new lines itself, at a human
pace with jitter and longer pauses at line ends. :func:`plan_session` is pure: the same file,
typing model and seed give the same keystrokes. This module imports :mod:`codels.languages` and
:mod:`codels.positions`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


def corpus_sessions(
    paths: Sequence[Path], typing: TypingModel, seed: int, *, bodies: int = 3
) -> list[Session]:
    """One session per file, planned with one random generator seeded with ``seed``."""
    rng = random.Random(seed)
    return [plan_session(path, typing, rng, bodies=bodies) for path in paths]
