"""JavaScript (and JSX): its grammar, node types and syntax, as one brace Language.

:data:`JAVASCRIPT` reads ``.js``, ``.mjs``, ``.cjs`` and ``.jsx`` files; TypeScript
(:mod:`.typescript`) shares its syntax tables. This module imports tree-sitter's JavaScript
grammar and :mod:`codels.languages` (base, braces, brace_trees).
"""

from __future__ import annotations

import re

import tree_sitter
import tree_sitter_javascript

from codels.languages.base import FunctionSyntax, NodeTypes
from codels.languages.brace_trees import brace_language
from codels.languages.braces import BLOCK_COMMENT, BraceSyntax, line_comment, quoted


def grammar() -> object:
    """The tree-sitter JavaScript grammar's language pointer."""
    return tree_sitter_javascript.language()


SYNTAX = BraceSyntax(
    literals=(
        line_comment(),
        BLOCK_COMMENT,
        quoted('"'),
        quoted("'"),
        quoted("`", multiline=True),
    ),
    top_level=re.compile(
        r"(export|import|(async\s+)?function\b|class|const|let|var|module\.exports)\b"
    ),
    opener_words=("if", "else", "for", "while", "do", "switch", "try", "function", "class"),
)
"""JavaScript's comments, strings and template literals, and the declarations that start at
column 0."""

NODES = NodeTypes(
    strings=frozenset({"string", "template_string", "regex"}),
    comments=frozenset({"comment", "html_comment"}),
    string_code=frozenset({"template_substitution"}),
    scopes={
        "function_declaration": "function",
        "generator_function_declaration": "function",
        "function_expression": "function",
        "generator_function": "function",
        "arrow_function": "function",
        "method_definition": "function",
        "class_declaration": "class",
        "class": "class",
    },
    imports=frozenset({"import_statement"}),
    wrappers=frozenset({"export_statement", "variable_declarator", "lexical_declaration"}),
    decorations=frozenset({"decorator"}),
    standalone_parts=frozenset({"statement_block"}),
)
"""The node types codels reads in JavaScript."""


def is_require(node: tree_sitter.Node) -> bool:
    """Whether a top-level declaration imports with CommonJS ``require(...)``."""
    return node.type in ("lexical_declaration", "variable_declaration") and b"require(" in (
        node.text or b""
    )


CLOSING_CHARS = ")]}'\";,`"
"""What may stand right of the cursor: closing brackets, quotes and backquotes, ``;``, ``,``."""

NOT_IMPLEMENTED = re.compile(
    r"throw new (Error|TypeError)\(\s*[\"'`](not implemented|todo)\b[^\"'`]*[\"'`]\s*\);?",
    re.IGNORECASE,
)
"""``throw new Error("not implemented")``: a JavaScript or TypeScript stub."""

FUNCTIONS = FunctionSyntax(
    display_name="JavaScript",
    fence="javascript",
    functions=frozenset(
        {
            "function_declaration",
            "generator_function_declaration",
            "method_definition",
            # named where a declaration or a field gives them a name (``const f = () => {}``)
            "arrow_function",
            "function_expression",
        }
    ),
    stub=NOT_IMPLEMENTED,
    doc_style="/**",
)
"""How code actions write JavaScript functions: JSDoc comments."""

JAVASCRIPT = brace_language(
    name="javascript",
    language_ids=("javascript", "javascriptreact", "js", "jsx"),
    suffixes=(".js", ".mjs", ".cjs", ".jsx"),
    grammar=grammar,
    nodes=NODES,
    syntax=SYNTAX,
    closing_chars=CLOSING_CHARS,
    is_import=is_require,
    functions=FUNCTIONS,
)
"""The JavaScript language (JSX included)."""
