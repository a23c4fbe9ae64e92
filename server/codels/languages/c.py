"""C: its grammar, node types and syntax, as one brace Language.

``#include`` lines are the imports (inside an include guard too); preprocessor lines and
labels may stand left of the block they are in; a block ends before a declaration that starts
at column 0 (``static int``, ``struct``, ``typedef``). C++ (:mod:`.cpp`) shares its syntax
tables. This module imports tree-sitter's C grammar and :mod:`codels.languages` (base, braces,
brace_trees).
"""

from __future__ import annotations

import re

import tree_sitter_c

from codels.languages.base import FunctionSyntax, NodeTypes
from codels.languages.brace_trees import brace_language
from codels.languages.braces import BLOCK_COMMENT, BraceSyntax, line_comment, quoted


def grammar() -> object:
    """The tree-sitter C grammar's language pointer."""
    return tree_sitter_c.language()


LITERALS = (
    line_comment(),
    BLOCK_COMMENT,
    quoted('"', prefix="(?:u8|u|U|L)?"),
    quoted("'", prefix="(?:u8|u|U|L)?"),
)
"""C's comments, strings and characters."""

TYPE_WORDS = (
    r"static|extern|inline|const|volatile|unsigned|signed|struct|enum|union|typedef|void|int"
    r"|char|long|short|float|double|bool|_Bool|size_t|u?int\d+_t"
)
"""Words a C declaration at column 0 may begin with."""

SYNTAX = BraceSyntax(
    literals=LITERALS,
    top_level=re.compile(rf"(#\s*(include|define)|{TYPE_WORDS})\b"),
    below_block=re.compile(r"(case\b|default\b|#|[A-Za-z_]\w*:\s*$)"),
    opener_words=("if", "else", "for", "while", "do", "switch"),
)
"""C's literals; its declarations at column 0; preprocessor lines, ``case`` and labels."""

NODES = NodeTypes(
    strings=frozenset({"string_literal", "char_literal", "system_lib_string"}),
    comments=frozenset({"comment"}),
    string_code=frozenset(),
    scopes={
        "function_definition": "function",
        "struct_specifier": "class",
        "union_specifier": "class",
        "enum_specifier": "class",
    },
    imports=frozenset({"preproc_include"}),
    wrappers=frozenset({"type_definition", "declaration"}),
    import_containers=frozenset({"preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"}),
    # A block's statements, and what an include guard or #if holds, parse on their own.
    standalone_parts=frozenset(
        {"compound_statement", "preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"}
    ),
)
"""The node types codels reads in C."""

FUNCTIONS = FunctionSyntax(
    display_name="C",
    fence="c",
    functions=frozenset({"function_definition"}),
    stub=re.compile(r"(?!)"),  # only a // TODO body
    doc_style="/**",
)
"""How code actions write C functions: Doxygen ``/** */`` comments."""

C = brace_language(
    name="c",
    language_ids=("c",),
    suffixes=(".c", ".h"),
    grammar=grammar,
    nodes=NODES,
    syntax=SYNTAX,
    functions=FUNCTIONS,
)
"""The C language (``.h`` files too, unless the editor says they are C++)."""
