"""Python functions, comments, docstrings and test files, as the code actions read and write them.

Node names, docstrings and placeholder bodies, ``#`` comment blocks, indentation of generated
code and where a generated function ends, imports, pytest files. Imports :mod:`codels.positions`,
:mod:`codels.languages` (syntax, lines, the Python language) and tree_sitter.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import tree_sitter

from codels.languages.lines import indent_width
from codels.languages.python import PYTHON
from codels.languages.syntax import count_syntax_errors, new_parser
from codels.positions import LineIndex

_DIRECTIVE = re.compile(
    r"^(!|-\*-|(type|noqa|pylint|fmt|pragma|mypy|ruff|isort|flake8|pyright|region|endregion)\b)",
    re.IGNORECASE,
)
_TODO = re.compile(r"^#\s*(TODO|FIXME)\b")
_CALL_NAME = re.compile(r"`([A-Za-z_]\w*)(?:\(.*?\))?`|\b([A-Za-z_]\w*)\(")
_WORD = re.compile(r"[A-Za-z]{2,}")


def parse(code: str) -> tree_sitter.Tree:
    """The syntax tree of ``code`` (a model's answer: lone surrogates raise)."""
    return new_parser(PYTHON).parse(code.encode("utf-8"))


def syntax_errors(code: str) -> int:
    """How many ERROR/MISSING nodes ``code`` (a file's text) parses with."""
    tree = new_parser(PYTHON).parse(code.encode("utf-8", "surrogatepass"))
    return count_syntax_errors(tree.root_node)


def adds_syntax_errors(before: str, after: str) -> bool:
    """Whether ``after`` has more ERROR/MISSING nodes than ``before``."""
    return syntax_errors(after) > syntax_errors(before)


def header_lead(name: str) -> str:
    """The start of a Python function header for ``name`` (``def name(``), "" without a name.

    A fill-in-the-middle infill that starts from it writes that function.
    """
    return f"def {name}(" if name else ""


# -- functions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionShape:
    """The parts of one function definition, as offsets into the document."""

    name: str
    start: int
    """Where the definition starts (its first decorator, if any)."""
    end: int
    """Where the definition ends (end of its last statement)."""
    def_row: int
    """Line of the ``def`` keyword."""
    header_end: int
    """Just after the ``:`` that ends the signature."""
    header_row: int
    """Line of that ``:``."""
    indent: str
    """Indentation of the ``def`` line."""
    body_indent: str
    """Indentation of the body's statements."""
    docstring: tuple[int, int] | None
    """Start and end of the docstring statement."""
    statements: tuple[tuple[int, int], ...]
    """Start and end of each body statement after the docstring (comments left out)."""
    body_on_header_line: bool
    """``def f(): pass``: the body starts on the signature's line."""
    class_name: str = ""
    """The class the function is a method of ("" for none)."""

    start_row: int = 0
    """Line of :attr:`start`."""
    is_stub: bool = False
    """Whether the body is only a docstring, ``...``, ``pass`` or ``raise NotImplementedError``."""


def _offset(lines: LineIndex, point: tree_sitter.Point) -> int:
    return lines.offset_of_point(point.row, point.column)


def node_text(node: tree_sitter.Node) -> str:
    """The source text of ``node``."""
    return (node.text or b"").decode("utf-8", "replace")


def leading_whitespace(line: str) -> str:
    """The spaces and tabs ``line`` starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def line_start_text(lines: LineIndex, start: int, end: int) -> str:
    """The text from the start of ``start``'s line to ``end``."""
    row, _ = lines.position_at(start, "utf-32")
    return lines.text[lines.starts[row] : end]


def is_docstring(node: tree_sitter.Node) -> bool:
    """Whether ``node`` is a statement that is only a string (a docstring where it comes first)."""
    return (
        node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type in ("string", "concatenated_string")
    )


def _is_placeholder(node: tree_sitter.Node) -> bool:
    if node.type == "pass_statement":
        return True
    if node.type == "raise_statement":
        return " ".join(node_text(node).split()) in (
            "raise NotImplementedError",
            "raise NotImplementedError()",
        )
    return (
        node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type == "ellipsis"
    )


def _class_of(definition: tree_sitter.Node) -> str:
    """The name of the class whose body holds ``definition`` ("" for none)."""
    parent = definition.parent
    if parent is not None and parent.type == "block" and parent.parent is not None:
        owner = parent.parent
        if owner.type == "class_definition" and (owner_name := owner.child_by_field_name("name")):
            return node_text(owner_name)
    return ""


def function_shape(node: tree_sitter.Node, lines: LineIndex) -> FunctionShape | None:
    """Read a ``function_definition`` node; None when it is too broken to work on."""
    body = node.child_by_field_name("body")
    name_node = node.child_by_field_name("name")
    if body is None or name_node is None:
        return None
    outer = (
        node.parent
        if node.parent is not None and node.parent.type == "decorated_definition"
        else node
    )
    colon = next((c for c in reversed(node.children) if c.type == ":"), None)
    if colon is None:
        return None
    statements = [child for child in body.named_children if child.type != "comment"]
    if not statements:
        return None
    docstring: tuple[int, int] | None = None
    if is_docstring(statements[0]):
        first = statements.pop(0)
        docstring = (_offset(lines, first.start_point), _offset(lines, first.end_point))
    def_line = lines.line_text(node.start_point.row)
    body_row = (statements[0] if statements else body.named_children[0]).start_point.row
    if docstring is not None:
        body_row = lines.position_at(docstring[0], "utf-32")[0]
    body_line = lines.line_text(body_row)
    on_header = body_row == colon.end_point.row
    indent = leading_whitespace(def_line)
    return FunctionShape(
        name=node_text(name_node),
        start=_offset(lines, outer.start_point),
        end=_offset(lines, node.end_point),
        def_row=node.start_point.row,
        header_end=_offset(lines, colon.end_point),
        header_row=colon.end_point.row,
        indent=indent,
        body_indent=indent + "    " if on_header else leading_whitespace(body_line),
        docstring=docstring,
        statements=tuple(
            (_offset(lines, s.start_point), _offset(lines, s.end_point)) for s in statements
        ),
        body_on_header_line=on_header,
        class_name=_class_of(outer),
        start_row=outer.start_point.row,
        is_stub=all(_is_placeholder(s) for s in statements),
    )


def function_at(tree: tree_sitter.Tree, lines: LineIndex, offset: int) -> FunctionShape | None:
    """The innermost function whose definition covers ``offset`` (decorators included)."""
    byte = lines.byte_offset(offset)
    node: tree_sitter.Node | None = tree.root_node.descendant_for_byte_range(byte, byte)
    while node is not None:
        if node.type == "decorated_definition":
            definition = node.child_by_field_name("definition")
            if definition is not None and definition.type == "function_definition":
                node = definition
        if node.type == "function_definition":
            return function_shape(node, lines)
        node = node.parent
    return None


def functions_in(tree: tree_sitter.Tree, lines: LineIndex) -> list[FunctionShape]:
    """Every function of the module (methods and nested functions too), in order."""
    found: list[FunctionShape] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition" and (shape := function_shape(node, lines)):
            found.append(shape)
        stack.extend(reversed(node.children))
    return found


def on_header(shape: FunctionShape, row: int) -> bool:
    """Whether line ``row`` is part of the function's decorators and signature."""
    return shape.start_row <= row <= shape.header_row


def function_name(node: tree_sitter.Node) -> str:
    """The name of a function or class definition node ("" if it has none)."""
    name = node.child_by_field_name("name")
    return node_text(name) if name is not None else ""


def definition_pattern(function: str) -> re.Pattern[str]:
    """A ``def`` line of ``function`` ("" for any function); group 1 is its indentation."""
    return re.compile(
        r"^([ \t]*)(?:async[ \t]+)?def[ \t]+"
        + (re.escape(function) if function else r"\w+")
        + r"\s*\(",
        re.MULTILINE,
    )


@dataclass(frozen=True)
class FunctionText:
    """One function of a piece of code, as text."""

    function: str
    """The whole function (decorators, signature, body), dedented; "" if none was found."""
    body: str
    """The function's statements after its docstring, dedented; "" if none."""
    docstring: str
    """The function's docstring statement as written ("" if none)."""
    name: str


def read_function(tree: tree_sitter.Tree, lines: LineIndex, name: str = "") -> FunctionText:
    """The function ``name`` of the parsed code (with no name, the first function)."""
    code = lines.text
    functions: list[tree_sitter.Node] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            functions.append(node)
            continue
        stack.extend(reversed(node.children))
    chosen = next((f for f in functions if name and function_name(f) == name), None)
    if chosen is None and functions and not name:
        chosen = functions[0]
    if chosen is None:
        return FunctionText("", "", "", "")
    shape = function_shape(chosen, lines)
    if shape is None:
        return FunctionText("", "", "", function_name(chosen))
    function = textwrap.dedent(line_start_text(lines, shape.start, shape.end))
    body = ""
    if shape.statements and not shape.body_on_header_line:
        body = textwrap.dedent(line_start_text(lines, shape.statements[0][0], shape.end))
    elif shape.statements:
        body = code[shape.statements[0][0] : shape.end].strip()
    docstring = code[shape.docstring[0] : shape.docstring[1]] if shape.docstring else ""
    return FunctionText(function, body, docstring, shape.name)


def indent_block(code: str, indent: str) -> str:
    """``code`` (dedented) with every non-blank line indented by ``indent``, no final newline."""
    code = textwrap.dedent(code).strip("\n").rstrip()
    return "\n".join(indent + line if line.strip() else "" for line in code.split("\n"))


def after_module_docstring(tree: tree_sitter.Tree, lines: LineIndex) -> int:
    """Where the line after the module's docstring starts (0 when it has none)."""
    first = tree.root_node.named_children[0] if tree.root_node.named_child_count else None
    if first is not None and is_docstring(first):
        row = first.end_point.row
        return lines.starts[row + 1] if row + 1 < lines.line_count else len(lines.text)
    return 0


def function_end_index(answer: str, indent: str) -> int | None:
    """Where the first function in ``answer`` ends, or None while it goes on.

    That is before a whole line indented at most ``indent`` that follows a deeper line (the
    answer begins right after ``indent``).
    """
    floor = indent_width(indent)
    lines = (indent + answer).split("\n")
    position = -len(indent)
    seen_body = False
    for index, line in enumerate(lines):
        complete = index < len(lines) - 1
        if line.strip() and index > 0:
            width = indent_width(line)
            if width > floor:
                seen_body = True
            elif seen_body and complete and not line.lstrip().startswith(")"):
                return max(0, position - 1)
        position += len(line) + 1
    return None


def is_wildcard_import(statement: str) -> bool:
    """Whether import ``statement`` (whitespace normalised) is ``from x import *``."""
    return statement.endswith("import *")


# -- comments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentBlock:
    """Contiguous whole-line ``#`` comments at one indentation."""

    first_row: int
    last_row: int
    start: int
    """Offset of the first ``#``."""
    end: int
    """Offset of the end of the last comment line (before its line break)."""
    indent: str
    text: str
    """The comment lines, stripped, ``#`` included."""


def comment_block_at(lines: LineIndex, row: int) -> CommentBlock | None:
    """The comment block that line ``row`` belongs to, or None if it is not a comment line."""
    line = lines.line_text(row)
    if not line.lstrip().startswith("#"):
        return None
    indent = leading_whitespace(line)

    def same(r: int) -> bool:
        text = lines.line_text(r)
        return text.lstrip().startswith("#") and leading_whitespace(text) == indent

    first = row
    while first > 0 and same(first - 1):
        first -= 1
    last = row
    while last + 1 < lines.line_count and same(last + 1):
        last += 1
    texts = [lines.line_text(r).strip() for r in range(first, last + 1)]
    return CommentBlock(
        first_row=first,
        last_row=last,
        start=lines.starts[first] + len(indent),
        end=lines.starts[last] + len(lines.line_text(last)),
        indent=indent,
        text="\n".join(texts),
    )


def comment_prose(text: str) -> str:
    """The words of a comment block without the ``#`` marks."""
    return "\n".join(line.lstrip("#").strip() for line in text.splitlines())


def is_todo(comment: str) -> bool:
    """Whether a comment (its text, ``#`` included) starts with ``TODO`` or ``FIXME``."""
    return _TODO.match(comment) is not None


def describes_code(block: CommentBlock) -> bool:
    """Whether a comment block reads like a description of code to write.

    Not: directives (``# type:``, ``# noqa``, a shebang, an encoding line), a single word,
    commented-out code (the text parses as Python), a ``# TODO`` (its own action).
    """
    first = block.text.splitlines()[0].lstrip("#").strip()
    if not first or _DIRECTIVE.match(first) or is_todo(block.text):
        return False
    prose = comment_prose(block.text)
    if len(_WORD.findall(prose)) < 2:
        return False
    return count_syntax_errors(parse(prose).root_node) > 0  # prose does not parse as code


def named_function(comment: str) -> str:
    """A function name the comment gives (``fibonacci(n)`` or `` `fibonacci` ``), else ""."""
    for match in _CALL_NAME.finditer(comment):
        name = match.group(1) or match.group(2)
        if name and name not in ("print", "len", "range", "e", "i"):
            return name
    return ""


# -- docstrings --------------------------------------------------------------------------------


DOCSTRING_OPEN = '"""'
"""What opens a docstring codels writes."""


def closes_docstring(text: str) -> bool:
    """Whether ``text``, written after a docstring's opening quotes, holds closing ones."""
    return '"""' in text or "'''" in text


def before_closing_quotes(text: str) -> str:
    """``text``, written after a docstring's opening quotes, up to its closing ones."""
    return text.split('"""', 1)[0].split("'''", 1)[0]


def format_docstring(words: str, indent: str) -> str:
    """A triple-quoted docstring from its words (what the model wrote between the quotes)."""
    words = textwrap.dedent(words.strip("\n")).strip()
    words = words.replace('"""', "'''")
    if "\n" not in words:
        return f'"""{words}"""'
    first, rest = words.split("\n", 1)
    rest = textwrap.dedent(rest)
    body = "\n".join(line.rstrip() for line in rest.split("\n"))
    return f'"""{first.strip()}\n{body}\n"""'


def docstring_words(statement: str) -> str:
    """The text inside a docstring statement's quotes."""
    text = statement.strip()
    for prefix in ("r", "R", "u", "U"):
        if text.startswith(prefix):
            text = text[1:]
    for quote in ('"""', "'''", '"', "'"):
        if text.startswith(quote) and text.endswith(quote) and len(text) >= 2 * len(quote):
            return text[len(quote) : -len(quote)]
    return text


# -- tests -------------------------------------------------------------------------------------


def module_name(path: Path) -> str:
    """The name a test imports the module at ``path`` by (its file name without ``.py``)."""
    return path.stem


def may_write_tests_for(path: PurePath, function: str) -> bool:
    """Whether tests make sense for ``function`` of the module at ``path``.

    Not for private functions, tests themselves, or functions of a test file.
    """
    if function.startswith("_") or function.startswith("test"):
        return False
    return not (path.name.startswith("test_") or path.stem.endswith("_test"))


def import_statement(module: str, name: str) -> str:
    """The statement that imports ``name`` from ``module``."""
    return f"from {module} import {name}"


def header_of_test_file(module: str) -> str:
    """What a new test file for ``module`` begins with, before its tests."""
    return f'"""Tests for {module}."""\n\n'


def tidy_tests(code: str, *, exclude: Sequence[str], import_line: str) -> str:
    """Tidy generated tests: drop copies of the code under test and ``__main__`` blocks.

    Keeps imports, test functions and classes, fixtures and helpers; makes sure the code under
    test is imported. "" when no test function is left.
    """
    tree = parse(code)
    kept: list[str] = []
    has_test = False
    for node in tree.root_node.named_children:
        definition = node
        if node.type == "decorated_definition":
            definition = node.child_by_field_name("definition") or node
        name = (
            function_name(definition)
            if definition.type in ("function_definition", "class_definition")
            else ""
        )
        if name and name in exclude:
            continue
        if node.type == "if_statement" and "__main__" in node_text(node):
            continue
        if name.startswith(("test", "Test")):
            has_test = True
        kept.append(node_text(node))
    if not has_test:
        return ""
    text = "\n\n".join(kept)
    if " ".join(import_line.split()) not in {" ".join(k.split()) for k in kept}:
        text = import_line + "\n" + text
    return text.strip() + "\n"


def without_present_imports(tests: str, base: str) -> str:
    """``tests`` without the import lines that the test file ``base`` already has."""
    present = {" ".join(line.split()) for line in base.splitlines()}
    kept = [
        line
        for line in tests.split("\n")
        if not (line.startswith(("import ", "from ")) and " ".join(line.split()) in present)
    ]
    return "\n".join(kept).lstrip("\n")
