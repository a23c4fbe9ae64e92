"""Functions of brace languages as code actions read them: shapes, stubs, comments, doc comments.

A :class:`BraceFunction` is a named function or method with a braced body (its doc comment,
attributes and ``export`` wrapper included in its extent); a stub is a body whose only
statement is the language's placeholder (:attr:`~codels.languages.base.FunctionSyntax.stub`)
or that holds only a ``// TODO`` comment. Doc comments are written in the language's style.
This module imports tree-sitter, :mod:`codels.languages` (base, braces, brace_trees, lines,
syntax) and
:mod:`codels.positions`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import tree_sitter

from codels.languages.base import FunctionSyntax, Language
from codels.languages.brace_trees import definition_name
from codels.languages.braces import BraceBlocks
from codels.languages.lines import indent_unit
from codels.languages.syntax import count_syntax_errors, new_parser
from codels.positions import LineIndex, utf8_bytes

_TODO = re.compile(r"^(//+|/\*+|\*)\s*(TODO|FIXME)\b")
_DIRECTIVE = re.compile(
    r"^(#!|@ts-|eslint|prettier|go:|\+build|nolint|clippy|rustfmt|NOLINT|pragma|"
    r"copyright|license|spdx|-\*-)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class BraceFunction:
    """A function or method with a braced body, in code points of the document."""

    name: str
    start: int
    """Where it starts: its first decoration (attribute, annotation) or wrapper (``export``)."""
    end: int
    header_row: int
    """The line of the body's opening brace."""
    first_row: int
    """The line :attr:`start` is on."""
    body_open: int
    """The offset of the body's ``{``."""
    body_close: int
    """The offset of the body's ``}``."""
    indent: str
    """Indentation of the line the function starts on."""
    body_indent: str
    """Indentation of the body's statements (one level deeper where it has none)."""
    is_stub: bool
    doc_start: int
    """Where the comments right above it (its doc comment) start; :attr:`start` if none."""

    @property
    def has_doc(self) -> bool:
        """Whether a comment stands right above it (its doc comment)."""
        return self.doc_start < self.start


def _offset(lines: LineIndex, point: tree_sitter.Point) -> int:
    return lines.offset_of_point(point.row, point.column)


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def parse(language: Language, text: str) -> tree_sitter.Tree:
    """``text`` parsed with ``language``'s grammar."""
    return new_parser(language).parse(utf8_bytes(text))


def syntax_errors(language: Language, text: str) -> int:
    """ERROR and MISSING nodes in ``text`` parsed with ``language``'s grammar."""
    return count_syntax_errors(parse(language, text).root_node)


def _outer(language: Language, node: tree_sitter.Node) -> tree_sitter.Node:
    """The node with the wrappers that hold only it (``export``)."""
    outer = node
    while outer.parent is not None and outer.parent.type in language.nodes.wrappers:
        outer = outer.parent
    return outer


def _first_of(language: Language, node: tree_sitter.Node) -> tree_sitter.Node:
    """The first decoration right before ``node`` (or itself)."""
    first = node
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in language.nodes.decorations:
        first = sibling
        sibling = sibling.prev_named_sibling
    return first


def _doc_above(language: Language, first: tree_sitter.Node) -> tree_sitter.Node | None:
    """The first of the comments right above ``first`` (its doc comment), or None."""
    above = first.prev_named_sibling
    if (
        above is None
        or above.type not in language.nodes.comments
        or _last_row(above) + 1 < first.start_point.row
    ):
        return None
    while (previous := above.prev_named_sibling) is not None and _joins(language, previous, above):
        above = previous
    return above


def _statements(body: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The named children of a block (Go's statement list flattened)."""
    found: list[tree_sitter.Node] = []
    for child in body.named_children:
        if child.type == "statement_list":
            found.extend(child.named_children)
        else:
            found.append(child)
    return found


def is_stub_body(language: Language, body: tree_sitter.Node) -> bool:
    """Whether a body is only the language's placeholder, or only a ``// TODO`` comment."""
    syntax = language.functions
    if syntax is None:
        return False
    comments = [s for s in _statements(body) if s.type in language.nodes.comments]
    code = [s for s in _statements(body) if s.type not in language.nodes.comments]
    if not code:
        return any(is_todo(_text(comment)) for comment in comments)
    if len(code) != 1:
        return False
    return syntax.stub.fullmatch(" ".join(_text(code[0]).split())) is not None


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def function_shape(
    language: Language, node: tree_sitter.Node, lines: LineIndex
) -> BraceFunction | None:
    """The shape of a function node with a braced body (None for one without)."""
    body = node.child_by_field_name("body")
    if body is None or not _text(body).startswith("{") or not _text(body).endswith("}"):
        return None
    name = definition_name(node)
    if not name:
        return None  # a callback: no action of its own
    first = _first_of(language, _outer(language, node))
    doc = _doc_above(language, first)
    indent = _leading(lines.line_text(first.start_point.row))
    open_at = _offset(lines, body.start_point)
    close_at = _offset(lines, body.end_point) - 1
    statements = _statements(body)
    body_indent = ""
    if statements and statements[0].start_point.row > body.start_point.row:
        body_indent = _leading(lines.line_text(statements[0].start_point.row))
    if not body_indent:
        tabs = "\t" in indent or (
            isinstance(language.blocks, BraceBlocks) and language.blocks.syntax.tabs
        )
        body_indent = indent + ("\t" if tabs else " " * indent_unit(lines.text[:100_000]))
    return BraceFunction(
        name=name,
        start=_offset(lines, first.start_point),
        end=_offset(lines, node.end_point),
        header_row=body.start_point.row,
        first_row=first.start_point.row,
        body_open=open_at,
        body_close=close_at,
        indent=indent,
        body_indent=body_indent,
        is_stub=is_stub_body(language, body),
        doc_start=_offset(lines, (doc or first).start_point),
    )


def _function_nodes(language: Language, root: tree_sitter.Node) -> list[tree_sitter.Node]:
    syntax = language.functions
    if syntax is None:
        return []
    found: list[tree_sitter.Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in syntax.functions:
            found.append(node)
        stack.extend(reversed(node.named_children))
    return found


def functions_in(
    language: Language, tree: tree_sitter.Tree, lines: LineIndex
) -> list[BraceFunction]:
    """Every function and method of the document with a braced body, in order."""
    shapes = (
        function_shape(language, node, lines) for node in _function_nodes(language, tree.root_node)
    )
    return [shape for shape in shapes if shape is not None]


def function_at(
    language: Language, tree: tree_sitter.Tree, lines: LineIndex, offset: int
) -> BraceFunction | None:
    """The innermost function whose extent (doc comment aside) covers ``offset``."""
    inside = [s for s in functions_in(language, tree, lines) if s.start <= offset <= s.end]
    return max(inside, key=lambda shape: shape.start, default=None)


def on_header(shape: BraceFunction, row: int) -> bool:
    """Whether line ``row`` is one of the function's header lines (up to its ``{``)."""
    return shape.first_row <= row <= shape.header_row


# -- comments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BraceComment:
    """Adjacent comments at one indentation: one block, as the cursor's line belongs to it."""

    start: int
    end: int
    first_row: int
    last_row: int
    indent: str
    text: str
    """The comments as written, markers included."""


def comment_block_at(
    language: Language, tree: tree_sitter.Tree, lines: LineIndex, row: int
) -> BraceComment | None:
    """The comment block line ``row`` belongs to, or None when the line is not a comment."""
    line = lines.line_text(row)
    indent = _leading(line)
    if not line.strip():
        return None
    byte = lines.byte_offset(lines.starts[row] + len(indent))
    node = tree.root_node.descendant_for_byte_range(byte, byte)
    while node is not None and node.type not in language.nodes.comments:
        node = node.parent
    if node is None:
        return None
    first = last = node
    while (previous := first.prev_named_sibling) is not None and _joins(language, previous, first):
        first = previous
    while (following := last.next_named_sibling) is not None and _joins(language, last, following):
        last = following
    start = _offset(lines, first.start_point)
    end = _offset(lines, last.end_point)
    if lines.text[start:end].endswith("\n"):
        end -= 1  # (Rust's line comments hold their line break)
    block_text = "\n".join(s.strip() for s in lines.text[start:end].splitlines())
    indent = _leading(lines.line_text(first.start_point.row))
    return BraceComment(start, end, first.start_point.row, last.end_point.row, indent, block_text)


def _joins(language: Language, above: tree_sitter.Node, below: tree_sitter.Node) -> bool:
    """Whether two comment siblings are one block: adjacent lines, the same column."""
    return (
        above.type in language.nodes.comments
        and below.type in language.nodes.comments
        and below.start_point.row - _last_row(above) == 1
        and above.start_point.column == below.start_point.column
    )


def _last_row(node: tree_sitter.Node) -> int:
    text = _text(node)
    return node.end_point.row - (1 if text.endswith("\n") else 0)


def comment_prose(text: str) -> str:
    """The words of a comment block without its markers (``//``, ``/**``, ``*``, ``*/``)."""
    prose = []
    for line in text.splitlines():
        line = line.strip()
        line = re.sub(r"^(//[/!]?|/\*+!?|\*+(?!/))", "", line)
        line = re.sub(r"\*+/$", "", line).strip()
        prose.append(line)
    return "\n".join(prose).strip("\n")


def is_todo(comment: str) -> bool:
    """Whether a comment (markers included) starts with ``TODO`` or ``FIXME``."""
    return _TODO.match(comment.strip()) is not None


def describes_code(language: Language, block: BraceComment) -> bool:
    """Whether a comment block reads like a description of code to write.

    Not: directives (``// @ts-ignore``, ``//go:build``, a licence), a single word, a TODO (its
    own action), commented-out code (the words parse in the language).
    """
    prose = comment_prose(block.text)
    first = prose.splitlines()[0].strip() if prose.strip() else ""
    if not first or _DIRECTIVE.match(first) or is_todo(block.text):
        return False
    if len(_WORD.findall(prose)) < 2:
        return False
    return syntax_errors(language, prose) > 0


# -- doc comments ------------------------------------------------------------------------------


def doc_comment(syntax: FunctionSyntax, name: str, words: str, indent: str) -> str:
    """A doc comment of ``words`` in the language's style, at ``indent``, without a line end.

    A paragraph per line of ``words`` (tags such as ``@param`` keep their own lines); Go's
    begins with the function's name.
    """
    paragraphs = [" ".join(line.split()) for line in words.splitlines() if line.strip()]
    first = paragraphs[0] if paragraphs else ""
    if syntax.doc_style == "//" and name and first and not first.startswith(name + " "):
        paragraphs[0] = f"{name} {first[:1].lower()}{first[1:]}"
    wrapped = [
        line for text in paragraphs for line in textwrap.wrap(text, 88 - len(indent)) or [text]
    ]
    if syntax.doc_style == "/**":
        body = "\n".join(f"{indent} * {line}" for line in wrapped)
        return f"{indent}/**\n{body}\n{indent} */"
    marker = syntax.doc_style
    return "\n".join(f"{indent}{marker} {line}" for line in wrapped)


def doc_words(comment: str) -> str:
    """The words of a doc comment written by the model, without its markers.

    Its sentences joined into one line, each tag (``@param a ...``) on a line of its own.
    """
    paragraphs: list[str] = []
    for line in comment_prose(comment).splitlines():
        line = line.strip()
        if not line:
            continue
        if paragraphs and not line.startswith("@"):
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
    return "\n".join(paragraphs)


# -- reading the model's code ------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenFunction:
    """The function the model wrote, read from its code."""

    function: str
    """The whole function (decorations and ``export`` included, doc comment not), dedented."""
    body: str
    """The statements between the body's braces, dedented."""
    doc: str
    """The comment right above it, as written ("" if none)."""
    is_stub: bool


def written_function(language: Language, code: str, name: str = "") -> WrittenFunction | None:
    """The function ``name`` (with no name, the first function) in ``code``; None if absent."""
    tree = parse(language, code)
    lines = LineIndex.of(code)
    for node in _function_nodes(language, tree.root_node):
        if name and definition_name(node) != name:
            continue
        shape = function_shape(language, node, lines)
        if shape is None:
            continue
        function = textwrap.dedent(code[lines.starts[shape.first_row] : shape.end])
        inner = code[shape.body_open + 1 : shape.body_close].strip("\n")
        doc = code[shape.doc_start : shape.start].strip()
        return WrittenFunction(function, textwrap.dedent(inner), doc, shape.is_stub)
    return None


def function_end(language: Language, text: str) -> int | None:
    """Where a function written out in ``text`` ends: after the ``}`` that closes its body.

    The end of the first top-level braced block (brackets in comments and literals aside);
    None while it is still open.
    """
    if not isinstance(language.blocks, BraceBlocks):
        return None
    brackets = language.blocks.syntax
    depth = 0
    opened = False
    for position, step in brackets.brackets(text):
        depth += step
        if text[position] == "{" and depth == 1:
            opened = True
        if opened and depth == 0:
            return position + 1
    return None


def indent_lines(code: str, indent: str) -> str:
    """``code`` (dedented) with ``indent`` before each non-blank line, none after it."""
    return "\n".join(indent + line.rstrip() if line.strip() else "" for line in code.splitlines())
