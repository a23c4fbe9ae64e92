"""Code actions: where each is offered, what the model is asked, and the edits it makes.

Four actions, all on Python functions:

* **generate** ("Generate function from comment"): on a comment block that describes code to
  write (at module or class level, followed by a blank line or the end of its block), on a
  ``def`` whose body is only a docstring, ``...`` or ``pass`` (a stub), and on a ``# TODO``
  comment inside a function. The comment, or the signature and docstring, stay; the new function
  or body goes after them at the right indentation.
* **docstring** ("Add docstring"): on the header of a function without a docstring.
* **tests** ("Write tests for this function"): on the header of a function in a file on disk;
  pytest tests go into the module's test file, or a new ``test_<module>.py`` beside it.
* **fix** ("Fix with codels"): when the request carries diagnostics from another server that
  fall in a function; the function is rewritten to address them.

Everything here is a pure function over a :class:`~codels.documents.DocumentSnapshot`: finding
the :class:`Site` of each action (instant: no model), building the instruction prompts, reading
code out of the model's answer, and turning it into :class:`TextEdit` s whose result must parse.
Offsets are code points of the document; the server converts them to LSP positions.

This module imports :mod:`codels.pipeline.context`, :mod:`codels.documents`, :mod:`codels.positions`,
:mod:`codels.pipeline.postprocess` and :mod:`codels.languages.syntax`; nothing of LSP or of the engine.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import tree_sitter

from codels.documents import DocumentSnapshot
from codels.languages.lines import indent_width
from codels.languages.python.scopes import enclosing_scopes, module_imports
from codels.languages.syntax import PYTHON, count_syntax_errors, new_parser
from codels.positions import LineIndex
from codels.privacy import path_of


class ActionKind(StrEnum):
    """The code actions codels offers."""

    GENERATE = "generate"
    DOCSTRING = "docstring"
    TESTS = "tests"
    FIX = "fix"

    @property
    def command(self) -> str:
        """The namespaced command (and ``data`` tag) of this action."""
        return _COMMANDS[self]

    @property
    def lsp_kind(self) -> str:
        """The LSP code action kind (a sub-kind of ``refactor.rewrite`` or ``quickfix``)."""
        return _LSP_KINDS[self]


_COMMANDS = {
    ActionKind.GENERATE: "codels.generateFunction",
    ActionKind.DOCSTRING: "codels.addDocstring",
    ActionKind.TESTS: "codels.writeTests",
    ActionKind.FIX: "codels.fixFunction",
}
_LSP_KINDS = {
    ActionKind.GENERATE: "refactor.rewrite.codels.generate",
    ActionKind.DOCSTRING: "refactor.rewrite.codels.docstring",
    ActionKind.TESTS: "refactor.rewrite.codels.tests",
    ActionKind.FIX: "quickfix.codels.fix",
}


def action_for_command(command: str) -> ActionKind | None:
    """The action whose command is ``command`` (None for an unknown one)."""
    return next((kind for kind, name in _COMMANDS.items() if name == command), None)


class Target(StrEnum):
    """What an action works on."""

    COMMENT = "comment"
    """A comment block describing a function to write."""
    STUB = "stub"
    """A function whose body is only a docstring, ``...`` or ``pass``."""
    TODO = "todo"
    """A ``# TODO`` comment inside a function."""
    FUNCTION = "function"
    """A whole function (docstring, tests, fix)."""


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


@dataclass(frozen=True)
class Site:
    """Where one action applies: everything needed to run it later, without the model."""

    action: ActionKind
    target: Target
    title: str
    start: int
    """Start of the region the action anchors on (comment block or function)."""
    end: int
    """End of that region."""
    name: str = ""
    """The function's name ("" for a comment that does not name one)."""
    indent: str = ""
    """Indentation the generated code takes (comment or ``def`` line)."""
    diagnostics: tuple[str, ...] = ()
    """For **fix**: the problems to address, one sentence each, with function-relative lines."""


@dataclass(frozen=True)
class Problem:
    """A diagnostic from the request: where (code points) and what."""

    start: int
    end: int
    message: str
    source: str = ""
    code: str = ""


# -- reading functions -------------------------------------------------------------------------

_DIRECTIVE = re.compile(
    r"^(!|-\*-|(type|noqa|pylint|fmt|pragma|mypy|ruff|isort|flake8|pyright|region|endregion)\b)",
    re.IGNORECASE,
)
_TODO = re.compile(r"^#\s*(TODO|FIXME)\b")
_CALL_NAME = re.compile(r"`([A-Za-z_]\w*)(?:\(.*?\))?`|\b([A-Za-z_]\w*)\(")
_WORD = re.compile(r"[A-Za-z]{2,}")


def _offset(lines: LineIndex, point: tree_sitter.Point) -> int:
    return lines.offset_of_point(point.row, point.column)


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _is_docstring(node: tree_sitter.Node) -> bool:
    return (
        node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type in ("string", "concatenated_string")
    )


def _is_placeholder(node: tree_sitter.Node) -> bool:
    if node.type == "pass_statement":
        return True
    if node.type == "raise_statement":
        return " ".join(_text(node).split()) in (
            "raise NotImplementedError",
            "raise NotImplementedError()",
        )
    return (
        node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type == "ellipsis"
    )


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
    if _is_docstring(statements[0]):
        first = statements.pop(0)
        docstring = (_offset(lines, first.start_point), _offset(lines, first.end_point))
    def_line = lines.line_text(node.start_point.row)
    body_row = (statements[0] if statements else body.named_children[0]).start_point.row
    if docstring is not None:
        body_row = lines.position_at(docstring[0], "utf-32")[0]
    body_line = lines.line_text(body_row)
    on_header = body_row == colon.end_point.row
    indent = _leading(def_line)
    class_name = ""
    parent = outer.parent
    if parent is not None and parent.type == "block" and parent.parent is not None:
        owner = parent.parent
        if owner.type == "class_definition" and (owner_name := owner.child_by_field_name("name")):
            class_name = _text(owner_name)
    return FunctionShape(
        name=_text(name_node),
        start=_offset(lines, outer.start_point),
        end=_offset(lines, node.end_point),
        def_row=node.start_point.row,
        header_end=_offset(lines, colon.end_point),
        header_row=colon.end_point.row,
        indent=indent,
        body_indent=indent + "    " if on_header else _leading(body_line),
        docstring=docstring,
        statements=tuple(
            (_offset(lines, s.start_point), _offset(lines, s.end_point)) for s in statements
        ),
        body_on_header_line=on_header,
        class_name=class_name,
        start_row=outer.start_point.row,
        is_stub=all(_is_placeholder(s) for s in statements),
    )


def function_at(snapshot: DocumentSnapshot, offset: int) -> FunctionShape | None:
    """The innermost function whose definition covers ``offset`` (decorators included)."""
    tree = snapshot.tree
    if tree is None:
        return None
    lines = snapshot.lines
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


def functions_in(snapshot: DocumentSnapshot) -> list[FunctionShape]:
    """Every function of the document (methods and nested functions too), in order."""
    tree = snapshot.tree
    if tree is None:
        return []
    found: list[FunctionShape] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition" and (shape := function_shape(node, snapshot.lines)):
            found.append(shape)
        stack.extend(reversed(node.children))
    return found


def on_header(shape: FunctionShape, row: int) -> bool:
    """Whether line ``row`` is part of the function's decorators and signature."""
    return shape.start_row <= row <= shape.header_row


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
    indent = _leading(line)

    def same(r: int) -> bool:
        text = lines.line_text(r)
        return text.lstrip().startswith("#") and _leading(text) == indent

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


def describes_code(block: CommentBlock) -> bool:
    """Whether a comment block reads like a description of code to write.

    Not: directives (``# type:``, ``# noqa``, a shebang, an encoding line), a single word,
    commented-out code (the text parses as Python), a ``# TODO`` (its own action).
    """
    first = block.text.splitlines()[0].lstrip("#").strip()
    if not first or _DIRECTIVE.match(first) or _TODO.match(block.text):
        return False
    prose = comment_prose(block.text)
    if len(_WORD.findall(prose)) < 2:
        return False
    tree = new_parser(PYTHON).parse(prose.encode("utf-8"))
    return count_syntax_errors(tree.root_node) > 0  # prose does not parse as code


def named_function(comment: str) -> str:
    """A function name the comment gives (``fibonacci(n)`` or `` `fibonacci` ``), else ""."""
    for match in _CALL_NAME.finditer(comment):
        name = match.group(1) or match.group(2)
        if name and name not in ("print", "len", "range", "e", "i"):
            return name
    return ""


def _next_code_line(lines: LineIndex, row: int) -> int | None:
    """The first line after ``row`` that is not blank, or None at the end of the document."""
    for r in range(row + 1, lines.line_count):
        if lines.line_text(r).strip():
            return r
    return None


# -- where actions are offered -----------------------------------------------------------------

GENERATE_COMMENT_TITLE = "Generate function from comment"


def find_sites(
    snapshot: DocumentSnapshot,
    start: int,
    end: int | None = None,
    *,
    problems: Sequence[Problem] = (),
    can_write_tests: bool = True,
) -> list[Site]:
    """The actions that apply to the range ``start``..``end`` (code points) of ``snapshot``.

    Cheap: tree-sitter lookups only. ``problems`` are the request's diagnostics (for **fix**);
    ``can_write_tests`` is False when there is nowhere to put tests (no file on disk, or no
    test file and a client that cannot create one).
    """
    if snapshot.tree is None or snapshot.language != PYTHON:
        return []
    lines = snapshot.lines
    end = start if end is None else end
    row, _ = lines.position_at(start, "utf-32")
    sites: list[Site] = []

    block = comment_block_at(lines, row)
    shape = function_at(snapshot, start)
    if block is not None:
        sites.extend(_comment_sites(snapshot, block))
    elif shape is not None:
        if shape.is_stub and not shape.body_on_header_line:
            sites.append(
                Site(
                    ActionKind.GENERATE,
                    Target.STUB,
                    f"Generate the body of {shape.name}",
                    shape.start,
                    shape.end,
                    shape.name,
                    shape.indent,
                )
            )
        if on_header(shape, row):
            if shape.docstring is None and not shape.body_on_header_line:
                sites.append(
                    Site(
                        ActionKind.DOCSTRING,
                        Target.FUNCTION,
                        f"Add docstring to {shape.name}",
                        shape.start,
                        shape.end,
                        shape.name,
                        shape.indent,
                    )
                )
            if can_write_tests and not shape.is_stub and _testable(snapshot.uri, shape):
                sites.append(
                    Site(
                        ActionKind.TESTS,
                        Target.FUNCTION,
                        f"Write tests for {shape.name}",
                        shape.start,
                        shape.end,
                        shape.name,
                        shape.indent,
                    )
                )
    sites.extend(_fix_sites(snapshot, start, end, problems))
    return sites


def _comment_sites(snapshot: DocumentSnapshot, block: CommentBlock) -> list[Site]:
    lines = snapshot.lines
    tree = snapshot.tree
    assert tree is not None
    scopes = enclosing_scopes(tree, lines, block.start)
    in_function = any(scope.kind == "function" for scope in scopes)
    if in_function:
        if not _TODO.match(block.text.splitlines()[-1]) and not _TODO.match(block.text):
            return []
        shape = function_at(snapshot, block.start)
        if shape is None or shape.is_stub:
            return []  # a stub's own action writes its body
        return [
            Site(
                ActionKind.GENERATE,
                Target.TODO,
                f"Implement the TODO in {shape.name}",
                block.start,
                block.end,
                shape.name,
                block.indent,
            )
        ]
    if not describes_code(block):
        return []
    following = _next_code_line(lines, block.last_row)
    if following is not None and following == block.last_row + 1:
        width = len(_leading(lines.line_text(following)).expandtabs(8))
        if width >= len(block.indent.expandtabs(8)):
            return []  # the comment documents the code right below it
    name = named_function(comment_prose(block.text))
    return [
        Site(
            ActionKind.GENERATE,
            Target.COMMENT,
            GENERATE_COMMENT_TITLE,
            block.start,
            block.end,
            name,
            block.indent,
        )
    ]


def _testable(uri: str, shape: FunctionShape) -> bool:
    path = path_of(uri)
    if path is None or shape.name.startswith("_") or shape.name.startswith("test"):
        return False
    return not (path.name.startswith("test_") or path.stem.endswith("_test"))


def _fix_sites(
    snapshot: DocumentSnapshot, start: int, end: int, problems: Sequence[Problem]
) -> list[Site]:
    found: dict[int, tuple[FunctionShape, list[Problem]]] = {}
    # The client sends the diagnostics that concern the range; each names its function.
    for problem in problems:
        shape = function_at(snapshot, problem.start)
        if shape is None:
            continue
        found.setdefault(shape.start, (shape, []))[1].append(problem)
    sites = []
    lines = snapshot.lines
    for shape, issues in found.values():
        first_row = lines.position_at(shape.start, "utf-32")[0]
        described = tuple(_describe_problem(lines, first_row, issue) for issue in issues)
        sites.append(
            Site(
                ActionKind.FIX,
                Target.FUNCTION,
                f"Fix with codels: {_short(issues[0].message)}",
                shape.start,
                shape.end,
                shape.name,
                shape.indent,
                described,
            )
        )
    return sites


def _describe_problem(lines: LineIndex, first_row: int, problem: Problem) -> str:
    row = lines.position_at(problem.start, "utf-32")[0]
    origin = " ".join(part for part in (problem.source, problem.code) if part)
    where = f"line {row - first_row + 1}"
    return f"{where}: {problem.message}" + (f" ({origin})" if origin else "")


def _short(message: str, limit: int = 50) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "problem"
    return first if len(first) <= limit else first[: limit - 1] + "…"


def candidate_test_files(module: Path) -> list[Path]:
    """Where a module's tests may already live, most likely first."""
    stem = module.stem
    names = (f"test_{stem}.py", f"{stem}_test.py")
    folders = [module.parent, module.parent / "tests", module.parent / "test"]
    for parent in list(module.parents)[1:4]:
        folders.extend((parent / "tests", parent / "test"))
    seen: list[Path] = []
    for folder in folders:
        for name in names:
            candidate = folder / name
            if candidate not in seen:
                seen.append(candidate)
    return seen


def new_test_file(module: Path) -> Path:
    """The test file to create beside a module that has none."""
    return module.with_name(f"test_{module.stem}.py")


# -- prompts -----------------------------------------------------------------------------------

SYSTEM = (
    "You are an expert Python programmer. Answer with Python code in one ```python code block "
    "and nothing else."
)
MAX_NEIGHBOURS = 8
"""Most signatures of neighbouring functions given as context."""


@dataclass(frozen=True)
class ChatPrompt:
    """An instruction prompt: the system text and the user's message."""

    system: str
    user: str


def context_text(snapshot: DocumentSnapshot, site: Site) -> str:
    """What the model should see besides the target: imports, class, neighbour signatures."""
    tree = snapshot.tree
    if tree is None:
        return ""
    lines = snapshot.lines
    parts: list[str] = []
    imports = [snippet.text for snippet in module_imports(tree, lines)]
    if imports:
        parts.append("\n".join(imports))
    scopes = enclosing_scopes(tree, lines, site.start)
    classes = [scope for scope in scopes if scope.kind == "class"]
    neighbours = [
        shape
        for shape in functions_in(snapshot)
        if not (shape.start <= site.start < shape.end) and not shape.name.startswith("test_")
    ]
    neighbours.sort(key=lambda shape: abs(shape.start - site.start))
    chosen = sorted(neighbours[:MAX_NEIGHBOURS], key=lambda shape: shape.start)
    if classes:
        parts.append(classes[-1].indent + classes[-1].header.text)
    if chosen:
        parts.append(
            "\n".join(
                f"{textwrap.dedent(_line_start_text(lines, s.start, s.header_end))} ..."
                for s in chosen
            )
        )
    return "\n\n".join(parts)


def _fence(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def chat_prompt(
    snapshot: DocumentSnapshot,
    site: Site,
    *,
    retry_note: str = "",
    module: str = "",
    with_context: bool = True,
) -> ChatPrompt:
    """The instruction prompt for ``site``; ``retry_note`` says what was wrong last time.

    ``module`` is the importable name of the file (for tests); ``with_context`` False leaves
    out the imports and neighbouring signatures (when the prompt would not fit).
    """
    lines = snapshot.lines
    text = snapshot.text
    context = context_text(snapshot, site) if with_context else ""
    reference = ""
    if context:
        name = PurePosixPath(urlparse(snapshot.uri).path).name or "the module"
        reference = (
            f"\n\nFor reference only (do not repeat it), {name} also has:\n{_fence(context)}"
        )
    if site.target is Target.COMMENT:
        comment = comment_prose(text[site.start : site.end])
        naming = f" Name it `{site.name}`." if site.name else ""
        task = (
            "Write the Python function that this comment describes:\n"
            f"{_fence(textwrap.indent(comment, '# '))}\n"
            f"Reply with the complete function (def line and body) in one ```python code "
            f"block.{naming}"
        )
    elif site.target is Target.TODO:
        shape = function_at(snapshot, site.start)
        span = (shape.start, shape.end) if shape is not None else (site.start, site.end)
        function = textwrap.dedent(_line_start_text(lines, *span))
        todo = comment_prose(text[site.start : site.end])
        task = (
            f"Implement this TODO in the function below: {todo}\n{_fence(function)}\nKeep the "
            "rest of the function as it is. Reply with the complete function in one ```python "
            "code block."
        )
    else:
        function = textwrap.dedent(_line_start_text(lines, site.start, site.end))
        if site.action is ActionKind.GENERATE:
            task = (
                "Complete this Python function: keep its signature and docstring and write "
                f"its body.\n{_fence(function)}\nReply with the complete function in one "
                "```python code block."
            )
        elif site.action is ActionKind.DOCSTRING:
            task = (
                "Add a docstring to this Python function (a summary line, then the arguments "
                f"and what it returns).\n{_fence(function)}\nReply with the function and its "
                "new docstring in one ```python code block."
            )
        elif site.action is ActionKind.FIX:
            problems = "\n".join(f"- {problem}" for problem in site.diagnostics)
            task = (
                f"A checker reported these problems in the function below:\n{problems}\n\n"
                f"{_fence(function)}\nRewrite the function so that the problems are gone and "
                "it still does what it is meant to. Reply with the corrected function in one "
                "```python code block."
            )
        else:
            subject = site.name
            target = _import_target(site, snapshot)
            task = (
                f"Write pytest tests for the function `{subject}` of the module `{module}`:\n"
                f"{_fence(function)}\nStart with `from {module} import {target}`. Write a few "
                "small test functions named test_..., with plain assert statements. Do not "
                "repeat the function itself. Reply with the test code in one ```python code "
                "block."
            )
    if retry_note:
        task += f"\n{retry_note}"
    return ChatPrompt(SYSTEM, task + reference)


def _import_target(site: Site, snapshot: DocumentSnapshot) -> str:
    shape = function_at(snapshot, site.start)
    return shape.class_name if shape is not None and shape.class_name else site.name


def _line_start_text(lines: LineIndex, start: int, end: int) -> str:
    row, _ = lines.position_at(start, "utf-32")
    return lines.text[lines.starts[row] : end]


def chat_should_stop(text: str) -> bool:
    """Generation-time rule for a chat answer: stop once the code block is closed."""
    opened = text.find("```")
    return opened != -1 and text.find("```", opened + 3) != -1


def chat_stop_rule(function: str | None) -> Callable[[str], bool]:
    """Stop a chat answer when its code block closes, or once a function is written out.

    ``function`` names the function ("" for the first one); None waits for the block's end.
    """
    if function is None:
        return chat_should_stop
    pattern = re.compile(
        r"^([ \t]*)(?:async[ \t]+)?def[ \t]+"
        + (re.escape(function) if function else r"\w+")
        + r"\s*\(",
        re.MULTILINE,
    )

    def should_stop(text: str) -> bool:
        if chat_should_stop(text):
            return True
        match = pattern.search(text)
        if match is None:
            return False
        indent = match.group(1)
        return function_end_index(text[match.start() + len(indent) :], indent) is not None

    return should_stop


# -- reading answers ---------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n", re.IGNORECASE)


def extract_code(answer: str) -> str:
    """The code in a model's answer: the first fenced block (closed or not), else all of it."""
    match = _FENCE_OPEN.search(answer)
    if match is None:
        stripped = answer.strip()
        return stripped.strip("`") if stripped.startswith("```") else answer
    rest = answer[match.end() :]
    close = rest.find("```")
    return rest if close == -1 else rest[:close]


@dataclass(frozen=True)
class CodeParts:
    """What a piece of generated code holds: its imports and the wanted function."""

    imports: tuple[str, ...]
    function: str
    """The whole function (decorators, signature, body), dedented; "" if none was found."""
    body: str
    """The function's statements after its docstring, dedented; "" if none."""
    docstring: str
    """The function's docstring statement as written ("" if none)."""
    name: str


def parse_code(code: str, name: str = "") -> CodeParts:
    """Find the function ``name`` (with no name, the first function) and the imports."""
    data = code.encode("utf-8")
    tree = new_parser(PYTHON).parse(data)
    lines = LineIndex.of(code)
    imports = tuple(snippet.text for snippet in module_imports(tree, lines))
    functions: list[tree_sitter.Node] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            functions.append(node)
            continue
        stack.extend(reversed(node.children))
    chosen = next((f for f in functions if name and _function_name(f) == name), None)
    if chosen is None and functions and not name:
        chosen = functions[0]
    if chosen is None:
        return CodeParts(imports, "", "", "", "")
    shape = function_shape(chosen, lines)
    if shape is None:
        return CodeParts(imports, "", "", "", _function_name(chosen))
    function = textwrap.dedent(_line_start_text(lines, shape.start, shape.end))
    body = ""
    if shape.statements and not shape.body_on_header_line:
        body = textwrap.dedent(_line_start_text(lines, shape.statements[0][0], shape.end))
    elif shape.statements:
        body = code[shape.statements[0][0] : shape.end].strip()
    docstring = code[shape.docstring[0] : shape.docstring[1]] if shape.docstring else ""
    return CodeParts(imports, function, body, docstring, shape.name)


def _function_name(node: tree_sitter.Node) -> str:
    name = node.child_by_field_name("name")
    return _text(name) if name is not None else ""


def indent_block(code: str, indent: str) -> str:
    """``code`` (dedented) with every non-blank line indented by ``indent``, no final newline."""
    code = textwrap.dedent(code).strip("\n").rstrip()
    return "\n".join(indent + line if line.strip() else "" for line in code.split("\n"))


# -- edits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextEdit:
    """Replace ``start``..``end`` (code points of the file's text) with ``text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class FileChange:
    """The edits of one file; ``create`` makes the file first (empty ``base``)."""

    uri: str
    base: str
    """The text the edit offsets refer to."""
    edits: tuple[TextEdit, ...]
    version: int | None = None
    """The document version the edits are for (None: as the file is on disk)."""
    create: bool = False

    @property
    def result(self) -> str:
        """The file's text after the edits."""
        return apply_edits(self.base, self.edits)


@dataclass(frozen=True)
class ActionEdit:
    """What an action does: the file changes and, for people, the code it wrote."""

    changes: tuple[FileChange, ...]
    shown: str
    """The edited function (or the tests) as they will read, for the CLI and logs."""
    notes: tuple[str, ...] = field(default=())


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping ``edits`` to ``text``."""
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def adds_syntax_errors(before: str, after: str) -> bool:
    """Whether ``after`` has more ERROR/MISSING nodes than ``before``."""
    parser = new_parser(PYTHON)
    errors_before = count_syntax_errors(
        parser.parse(before.encode("utf-8", "surrogatepass")).root_node
    )
    errors_after = count_syntax_errors(
        parser.parse(after.encode("utf-8", "surrogatepass")).root_node
    )
    return errors_after > errors_before


def missing_imports(snapshot: DocumentSnapshot, imports: Sequence[str]) -> list[str]:
    """The import statements of ``imports`` that the document does not have yet.

    Wildcard imports (``from typing import *``, which small models like to write) are never
    added: they hide where names come from and can shadow the file's own.
    """
    tree = snapshot.tree
    have = (
        {" ".join(s.text.split()) for s in module_imports(tree, snapshot.lines)} if tree else set()
    )
    wanted = []
    for statement in imports:
        normal = " ".join(statement.split())
        if normal.endswith("import *"):
            continue
        if normal not in have and normal not in wanted:
            wanted.append(normal)
    return wanted


def import_edit(snapshot: DocumentSnapshot, statements: Sequence[str]) -> TextEdit | None:
    """Insert ``statements`` after the module's last import (or at the top of the file)."""
    if not statements:
        return None
    tree = snapshot.tree
    existing = module_imports(tree, snapshot.lines) if tree else ()
    block = "\n".join(statements)
    if existing:
        last = existing[-1]
        at = last.start + len(last.text)
        return TextEdit(at, at, "\n" + block)
    at = _after_module_docstring(snapshot)
    return TextEdit(at, at, block + "\n" + ("\n" if snapshot.text[at:].strip() else ""))


def _after_module_docstring(snapshot: DocumentSnapshot) -> int:
    tree = snapshot.tree
    if tree is None:
        return 0
    first = tree.root_node.named_children[0] if tree.root_node.named_child_count else None
    if first is not None and _is_docstring(first):
        row = first.end_point.row
        return (
            snapshot.lines.starts[row + 1]
            if row + 1 < snapshot.lines.line_count
            else len(snapshot.text)
        )
    return 0


def body_edit(snapshot: DocumentSnapshot, shape: FunctionShape, body: str) -> TextEdit:
    """Put ``body`` (dedented statements) in place of a stub's placeholder statements."""
    lines = snapshot.lines
    new_body = indent_block(body, shape.body_indent)
    if shape.statements:
        first_start = shape.statements[0][0]
        row, _ = lines.position_at(first_start, "utf-32")
        if shape.body_on_header_line:
            return TextEdit(shape.header_end, shape.end, "\n" + new_body)
        return TextEdit(lines.starts[row], shape.statements[-1][1], new_body)
    assert shape.docstring is not None
    return TextEdit(shape.docstring[1], shape.docstring[1], "\n" + new_body)


def function_edit(snapshot: DocumentSnapshot, shape: FunctionShape, function: str) -> TextEdit:
    """Replace the whole function (decorators included) with ``function`` (dedented)."""
    lines = snapshot.lines
    row, _ = lines.position_at(shape.start, "utf-32")
    return TextEdit(lines.starts[row], shape.end, indent_block(function, shape.indent))


def comment_edit(site: Site, function: str) -> TextEdit:
    """Put a new function right below the comment that describes it."""
    return TextEdit(site.end, site.end, "\n" + indent_block(function, site.indent))


def docstring_edit(shape: FunctionShape, docstring: str) -> TextEdit:
    """Insert ``docstring`` (a string literal, possibly several lines) as the first statement."""
    text = indent_block(docstring, shape.body_indent)
    return TextEdit(shape.header_end, shape.header_end, "\n" + text)


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


_TEST_KEEP = ("import_statement", "import_from_statement", "future_import_statement")


def tidy_tests(code: str, *, exclude: Sequence[str], import_line: str) -> str:
    """Tidy generated tests: drop copies of the code under test and ``__main__`` blocks.

    Keeps imports, test functions and classes, fixtures and helpers; makes sure the code under
    test is imported. "" when no test function is left.
    """
    data = code.encode("utf-8")
    tree = new_parser(PYTHON).parse(data)
    kept: list[str] = []
    has_test = False
    for node in tree.root_node.named_children:
        definition = node
        if node.type == "decorated_definition":
            definition = node.child_by_field_name("definition") or node
        name = (
            _function_name(definition)
            if definition.type in ("function_definition", "class_definition")
            else ""
        )
        if definition.type == "class_definition":
            class_name = definition.child_by_field_name("name")
            name = _text(class_name) if class_name is not None else ""
        if name and name in exclude:
            continue
        if node.type == "if_statement" and "__main__" in _text(node):
            continue
        if name.startswith(("test", "Test")):
            has_test = True
        kept.append(_text(node))
    if not has_test:
        return ""
    text = "\n\n".join(kept)
    if " ".join(import_line.split()) not in {" ".join(k.split()) for k in kept}:
        text = import_line + "\n" + text
    return text.strip() + "\n"


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
