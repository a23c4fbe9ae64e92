"""Java: its grammar, node types and syntax, as one brace Language.

Javadoc (``/** ... */``) belongs to the declaration after it; a block ends before a class,
interface, enum or record declaration (``public class``) at column 0. This module imports
tree-sitter's Java grammar and :mod:`codels.languages` (base, braces, brace_trees).
"""

from __future__ import annotations

import re

import tree_sitter_java

from codels.languages.base import FunctionSyntax, NodeTypes
from codels.languages.brace_trees import brace_language
from codels.languages.braces import BLOCK_COMMENT, BraceSyntax, Literal, line_comment, quoted


def grammar() -> object:
    """The tree-sitter Java grammar's language pointer."""
    return tree_sitter_java.language()


SYNTAX = BraceSyntax(
    literals=(
        line_comment(),
        BLOCK_COMMENT,
        Literal("string", '"""', r'(?:[^"\\]|\\[\s\S]|"(?!""))*', '"""'),  # a text block
        quoted('"'),
        quoted("'"),
    ),
    top_level=re.compile(
        r"(((public|protected|private|abstract|final|sealed|non-sealed|static|strictfp)\s+)*"
        r"(class|interface|enum|record|@interface)|import|package)\b"
    ),
    opener_words=("if", "else", "for", "while", "do", "switch", "try", "catch", "finally"),
)
"""Java's comments, strings, text blocks and characters; its type declarations at column 0."""

NODES = NodeTypes(
    strings=frozenset({"string_literal", "character_literal"}),
    comments=frozenset({"line_comment", "block_comment"}),
    string_code=frozenset(),
    scopes={
        "method_declaration": "function",
        "constructor_declaration": "function",
        "compact_constructor_declaration": "function",
        "lambda_expression": "function",
        "class_declaration": "class",
        "interface_declaration": "class",
        "enum_declaration": "class",
        "record_declaration": "class",
        "annotation_type_declaration": "class",
    },
    imports=frozenset({"package_declaration", "import_declaration"}),
    # A class's members and a block's statements parse on their own.
    standalone_parts=frozenset({"class_body", "block", "constructor_body"}),
)
"""The node types codels reads in Java."""

FUNCTIONS = FunctionSyntax(
    display_name="Java",
    fence="java",
    functions=frozenset({"method_declaration", "constructor_declaration"}),
    stub=re.compile(r"throw new (java\.lang\.)?UnsupportedOperationException\(.*\);"),
    doc_style="/**",
)
"""How code actions write Java methods: ``throw new UnsupportedOperationException(...)``
stubs, Javadoc comments."""

JAVA = brace_language(
    name="java",
    language_ids=("java",),
    suffixes=(".java",),
    grammar=grammar,
    nodes=NODES,
    syntax=SYNTAX,
    closing_chars=")]}'\";,>",
    functions=FUNCTIONS,
)
"""The Java language."""
