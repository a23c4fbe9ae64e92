"""Rust: its grammar, node types and syntax, as one brace Language.

Doc comments are ``///`` and ``//!`` lines; attributes (``#[derive(...)]``) belong to the item
after them; a block ends before an item (``fn``, ``impl``, ``pub struct``...) at column 0. This
module imports tree-sitter's Rust grammar and :mod:`codels.languages` (base, braces,
brace_trees).
"""

from __future__ import annotations

import re

import tree_sitter_rust

from codels.languages.base import FunctionSyntax, NodeTypes
from codels.languages.brace_trees import brace_language
from codels.languages.braces import BLOCK_COMMENT, BraceSyntax, Literal, line_comment, quoted


def grammar() -> object:
    """The tree-sitter Rust grammar's language pointer."""
    return tree_sitter_rust.language()


SYNTAX = BraceSyntax(
    literals=(
        line_comment(),
        BLOCK_COMMENT,
        # r"...", r#"..."#, br"...": no escapes, closed by the quote and as many hashes
        Literal("string", r'b?r(?P<hashes>#*)"', r'(?:(?!"(?P=hashes))[\s\S])*', r'"(?P=hashes)'),
        quoted('"', multiline=True, prefix="b?"),
        # a character ('a', '\n', '\u{1F600}'), never a lifetime ('a in &'a str)
        Literal(
            "string",
            "b?'",
            r"(?:[^'\\\n]|\\(?:u\{[0-9A-Fa-f]{1,6}\}|x[0-9A-Fa-f]{2}|[^\n]))",
            "'",
            may_stay_open=False,
        ),
    ),
    top_level=re.compile(
        r"(#!?\[|(pub(\([\w:]+\))?\s+)?((async|const|unsafe|extern(\s+\"\w+\")?)\s+)*"
        r"(fn|impl|struct|enum|trait|mod|use|const|static|type|union|macro_rules!)\b)"
    ),
    opener_words=("if", "else", "for", "while", "loop", "match", "fn", "impl", "unsafe"),
)
"""Rust's comments, strings, raw strings and characters; its items at column 0."""

NODES = NodeTypes(
    strings=frozenset({"string_literal", "raw_string_literal", "char_literal"}),
    comments=frozenset({"line_comment", "block_comment"}),
    string_code=frozenset(),
    scopes={
        "function_item": "function",
        "closure_expression": "function",
        "impl_item": "class",
        "trait_item": "class",
        "struct_item": "class",
        "enum_item": "class",
        "union_item": "class",
        "mod_item": "class",
    },
    imports=frozenset({"use_declaration", "extern_crate_declaration"}),
    decorations=frozenset({"attribute_item"}),
    # (A block's statements do not parse on their own: ``let`` is no item.)
    standalone_parts=frozenset({"declaration_list"}),
)
"""The node types codels reads in Rust."""

FUNCTIONS = FunctionSyntax(
    display_name="Rust",
    fence="rust",
    functions=frozenset({"function_item"}),
    stub=re.compile(r"(todo|unimplemented)!\s*[(\[{].*[)\]}];?"),
    doc_style="///",
)
"""How code actions write Rust functions: ``todo!()`` and ``unimplemented!()`` stubs, ``///``
doc comments."""

RUST = brace_language(
    name="rust",
    language_ids=("rust", "rs"),
    suffixes=(".rs",),
    grammar=grammar,
    nodes=NODES,
    syntax=SYNTAX,
    closing_chars=")]}'\";,>",
    functions=FUNCTIONS,
)
"""The Rust language."""
