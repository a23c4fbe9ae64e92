"""Evaluation tasks in the brace languages' real code: masked statement lines, emptied bodies.

Each language is read with its own tree-sitter grammar (JavaScript, TypeScript, Go, Rust,
Java, C, C++). A line task masks one statement line inside a function body with the cursor
after its indentation; a body task empties a short body between its ``{`` and ``}``. Only
functions that parse without errors give tasks. This module is the one outside
``languages/`` that imports these grammars (the evaluation judges syntax with them whether or
not codels reads the language yet); it imports tree-sitter and :mod:`codels.tools.tasks`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import tree_sitter

from codels.tools.tasks import EvalTask, indentation

BODY_MIN_STATEMENTS = 2
BODY_MAX_LINES = 8
"""Bodies emptied for a body suite: at least two statements, at most eight lines."""
ONLY_PUNCTUATION = frozenset("{}()[];,")
"""A line of nothing but these is no task: there is nothing to predict on it."""
NOT_STATEMENTS = frozenset({"switch_label", "case_statement", "attribute_item"})
"""Children of a block that are no statements: ``case`` labels (JavaScript's grammar keeps
them out of the block too; their statements are found inside), Rust's attributes."""


@dataclass(frozen=True, eq=False)
class BraceGrammar:
    """What the task builder needs of one language's tree-sitter grammar."""

    name: str
    language_id: str
    """The LSP language id the evaluated documents are opened with."""
    suffixes: tuple[str, ...]
    """File name endings of the language's sources."""
    grammar: Callable[[], object]
    """Returns the tree-sitter grammar's language pointer (imports the grammar package)."""
    functions: frozenset[str]
    """Node types with a ``body`` field that is a block: functions, methods, closures."""
    blocks: frozenset[str]
    """Node types whose named children are statements."""
    comments: frozenset[str]
    statement_lists: frozenset[str] = frozenset()
    """Node types inside a block that hold its statements (Go's ``statement_list``)."""

    @functools.cached_property
    def language(self) -> tree_sitter.Language:
        """The grammar, loaded once."""
        return tree_sitter.Language(self.grammar())

    def parse(self, text: str) -> tree_sitter.Tree:
        """``text`` parsed (a new parser each time: parsers are not thread-safe)."""
        return tree_sitter.Parser(self.language).parse(text.encode("utf-8", "surrogatepass"))

    def syntax_errors(self, text: str) -> int:
        """The ERROR and MISSING nodes in ``text``."""
        root = self.parse(text).root_node
        if not root.has_error:
            return 0
        count, stack = 0, [root]
        while stack:
            node = stack.pop()
            count += node.is_error or node.is_missing
            stack.extend(child for child in node.children if child.has_error or child.is_missing)
        return count


def _javascript() -> object:
    import tree_sitter_javascript

    return tree_sitter_javascript.language()


def _typescript() -> object:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_typescript()


def _go() -> object:
    import tree_sitter_go

    return tree_sitter_go.language()


def _rust() -> object:
    import tree_sitter_rust

    return tree_sitter_rust.language()


def _java() -> object:
    import tree_sitter_java

    return tree_sitter_java.language()


def _c() -> object:
    import tree_sitter_c

    return tree_sitter_c.language()


def _cpp() -> object:
    import tree_sitter_cpp

    return tree_sitter_cpp.language()


_JS_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "function_expression",
        "generator_function_declaration",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)
_JS_BLOCKS = frozenset({"statement_block", "switch_case", "switch_default"})
_C_BLOCKS = frozenset({"compound_statement", "case_statement"})
_SLASH_COMMENTS = frozenset({"line_comment", "block_comment"})

JAVASCRIPT = BraceGrammar(
    "javascript",
    "javascript",
    (".js", ".mjs", ".cjs"),
    _javascript,
    _JS_FUNCTIONS,
    _JS_BLOCKS,
    frozenset({"comment"}),
)
TYPESCRIPT = BraceGrammar(
    "typescript",
    "typescript",
    (".ts", ".mts"),
    _typescript,
    _JS_FUNCTIONS,
    _JS_BLOCKS,
    frozenset({"comment"}),
)
GO = BraceGrammar(
    "go",
    "go",
    (".go",),
    _go,
    frozenset({"function_declaration", "method_declaration", "func_literal"}),
    frozenset({"block", "expression_case", "default_case", "type_case", "communication_case"}),
    frozenset({"comment"}),
    statement_lists=frozenset({"statement_list"}),
)
RUST = BraceGrammar(
    "rust",
    "rust",
    (".rs",),
    _rust,
    frozenset({"function_item", "closure_expression"}),
    frozenset({"block"}),
    _SLASH_COMMENTS,
)
JAVA = BraceGrammar(
    "java",
    "java",
    (".java",),
    _java,
    frozenset({"method_declaration", "constructor_declaration", "lambda_expression"}),
    frozenset({"block", "constructor_body", "switch_block_statement_group"}),
    _SLASH_COMMENTS,
)
C = BraceGrammar(
    "c",
    "c",
    (".c", ".h"),
    _c,
    frozenset({"function_definition"}),
    _C_BLOCKS,
    frozenset({"comment"}),
)
CPP = BraceGrammar(
    "cpp",
    "cpp",
    (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".h", ".ipp", ".inl"),
    _cpp,
    frozenset({"function_definition", "lambda_expression"}),
    _C_BLOCKS,
    frozenset({"comment"}),
)
GRAMMARS = (JAVASCRIPT, TYPESCRIPT, GO, RUST, JAVA, C, CPP)


def grammar_for(language_id: str) -> BraceGrammar | None:
    """The grammar of LSP language id ``language_id``, or None if it is not a brace language."""
    return next((g for g in GRAMMARS if g.language_id == language_id), None)


def _bodies(grammar: BraceGrammar, root: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """The block bodies of the functions under ``root`` that parse without errors."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in grammar.functions:
            body = node.child_by_field_name("body")
            if body is not None and body.type in grammar.blocks and not body.has_error:
                yield body
        stack.extend(reversed(node.named_children))


def _statements(grammar: BraceGrammar, block: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The statements right inside ``block``: no comments, no preprocessor lines."""
    found = []
    for child in block.named_children:
        if child.type in grammar.statement_lists:
            found.extend(_statements(grammar, child))
        elif child.type not in grammar.comments | NOT_STATEMENTS and not child.type.startswith(
            "preproc"
        ):
            found.append(child)
    return found


def _starts_line(lines: list[str], node: tree_sitter.Node) -> bool:
    row, column = node.start_point
    line = lines[row]
    return indentation(line).encode() == line.encode()[:column]


def _line_starts(lines: list[str]) -> list[int]:
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    return starts


def line_tasks(grammar: BraceGrammar, path: str, text: str) -> list[EvalTask]:
    """One task per line on which a statement of a function body starts: that line masked.

    Statements of nested blocks count; lines of nothing but brackets and punctuation do not.
    The cursor stands after the line's indentation; the expected completion is the line.
    """
    lines = text.split("\n")
    starts = _line_starts(lines)
    tasks: dict[int, EvalTask] = {}
    for body in _bodies(grammar, grammar.parse(text).root_node):
        stack = [body]
        while stack:
            node = stack.pop()
            stack.extend(node.named_children)
            if node.type not in grammar.blocks:
                continue
            for statement in _statements(grammar, node):
                row = statement.start_point.row
                expected = lines[row].strip()
                if row in tasks or not _starts_line(lines, statement):
                    continue
                if len(expected) < 2 or set(expected) <= ONLY_PUNCTUATION:
                    continue
                indent = indentation(lines[row])
                tasks[row] = EvalTask(
                    task_id=f"{path}:{row + 1}",
                    path=path,
                    prefix=text[: starts[row]] + indent,
                    suffix=text[starts[row] + len(lines[row]) :],
                    expected=expected,
                    language_id=grammar.language_id,
                )
    return [tasks[row] for row in sorted(tasks)]


def body_tasks(grammar: BraceGrammar, path: str, text: str) -> list[EvalTask]:
    """One task per short function body: its statements taken out, its braces left.

    The body has 2 to 8 lines of statements, no blank line and no preprocessor line, its
    ``{`` ends a line and its ``}`` starts one. Comments before the first statement stay in
    the prefix and after the last in the suffix; the cursor stands where the first began.
    """
    lines = text.split("\n")
    starts = _line_starts(lines)
    tasks = []
    for body in _bodies(grammar, grammar.parse(text).root_node):
        statements = _statements(grammar, body)
        if len(statements) < BODY_MIN_STATEMENTS or not _braced(lines, body):
            continue
        first, last = statements[0].start_point.row, statements[-1].end_point.row
        if not body.start_point.row < first <= last < body.end_point.row:
            continue
        if last - first + 1 > BODY_MAX_LINES or not _starts_line(lines, statements[0]):
            continue
        if any(_blank_or_directive(line) for line in lines[first : last + 1]):
            continue
        indent = indentation(lines[first])
        tasks.append(
            EvalTask(
                task_id=f"{path}:{first + 1}",
                path=path,
                prefix=text[: starts[first]] + indent,
                suffix=text[starts[last] + len(lines[last]) :],
                expected="\n".join(lines[first : last + 1])[len(indent) :],
                language_id=grammar.language_id,
            )
        )
    return sorted(tasks, key=lambda task: int(task.task_id.rsplit(":", 1)[1]))


def _blank_or_directive(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _braced(lines: list[str], body: tree_sitter.Node) -> bool:
    """Whether ``body``'s ``{`` ends its line and its ``}`` starts its line."""
    (open_row, open_column), (close_row, close_column) = body.start_point, body.end_point
    opening = lines[open_row].encode()
    closing = lines[close_row].encode()
    return (
        opening[open_column : open_column + 1] == b"{"
        and not opening[open_column + 1 :].strip()
        and closing[close_column - 1 : close_column] == b"}"
        and not closing[: close_column - 1].strip()
    )
