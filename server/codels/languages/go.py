"""Go: its grammar, node types and syntax, as one brace Language.

Go is indented with tabs; a block ends before ``func``, ``type``, ``var`` or ``const`` at
column 0. This module imports tree-sitter's Go grammar and :mod:`codels.languages` (base,
braces, brace_trees).
"""

from __future__ import annotations

import re

import tree_sitter_go

from codels.languages.base import FunctionSyntax, NodeTypes
from codels.languages.brace_trees import brace_language
from codels.languages.braces import BLOCK_COMMENT, BraceSyntax, Literal, line_comment, quoted


def grammar() -> object:
    """The tree-sitter Go grammar's language pointer."""
    return tree_sitter_go.language()


SYNTAX = BraceSyntax(
    literals=(
        line_comment(),
        BLOCK_COMMENT,
        quoted('"'),
        quoted("'"),
        Literal("string", "`", "[^`]*", "`"),
    ),
    top_level=re.compile(r"(func|type|var|const|import|package)\b"),
    below_block=re.compile(r"(case\b|default\b|[A-Za-z_]\w*:\s*$)"),
    tabs=True,
    opener_words=("if", "else", "for", "switch", "select", "func", "go", "defer"),
)
"""Go's comments, strings, runes and raw strings; its declarations at column 0; labels."""

NODES = NodeTypes(
    strings=frozenset({"interpreted_string_literal", "raw_string_literal", "rune_literal"}),
    comments=frozenset({"comment"}),
    string_code=frozenset(),
    scopes={
        "function_declaration": "function",
        "method_declaration": "function",
        "func_literal": "function",
        "type_declaration": "class",
    },
    imports=frozenset({"package_clause", "import_declaration"}),
    standalone_parts=frozenset({"statement_list"}),
)
"""The node types codels reads in Go."""

FUNCTIONS = FunctionSyntax(
    display_name="Go",
    fence="go",
    functions=frozenset({"function_declaration", "method_declaration"}),
    stub=re.compile(r'panic\(\s*"(todo|not implemented)\b[^"]*"\s*\)', re.IGNORECASE),
    doc_style="//",
)
"""How code actions write Go functions: ``panic("TODO")`` and ``panic("not implemented")``
stubs, doc comments that begin with the function's name."""

GO = brace_language(
    name="go",
    language_ids=("go",),
    suffixes=(".go",),
    grammar=grammar,
    nodes=NODES,
    syntax=SYNTAX,
    closing_chars=")]}'\";,`",
    functions=FUNCTIONS,
)
"""The Go language."""
