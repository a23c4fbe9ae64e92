"""C++: its grammar and node types, as one brace Language, with C's syntax tables.

Adds classes, namespaces, templates and lambdas to C (:mod:`.c`), raw strings
(``R"(...)"``) to its literals and ``using`` to its imports. This module imports tree-sitter's
C++ grammar and :mod:`codels.languages` (base, braces, brace_trees, c).
"""

from __future__ import annotations

import dataclasses
import re

import tree_sitter_cpp

from codels.languages import c
from codels.languages.base import FunctionSyntax, NodeTypes
from codels.languages.brace_trees import brace_language
from codels.languages.braces import Literal


def grammar() -> object:
    """The tree-sitter C++ grammar's language pointer."""
    return tree_sitter_cpp.language()


RAW_STRING = Literal(
    "string",
    r'(?:u8|u|U|L)?R"(?P<delimiter>[^()\\\s]{0,16})\(',
    r'(?:(?!\)(?P=delimiter)")[\s\S])*',
    r'\)(?P=delimiter)"',
)
"""``R"delimiter(...)delimiter"``: no escapes, over lines."""

SYNTAX = dataclasses.replace(
    c.SYNTAX,
    literals=(*c.LITERALS[:2], RAW_STRING, *c.LITERALS[2:]),
    top_level=re.compile(
        rf"(#\s*(include|define)|class|namespace|template|using|auto|{c.TYPE_WORDS})\b"
    ),
    below_block=re.compile(
        r"(case\b|default\b|#|(public|private|protected)\s*:|[A-Za-z_]\w*:\s*$)"
    ),
    opener_words=(*c.SYNTAX.opener_words, "try", "catch", "class", "namespace"),
)
"""C's syntax with raw strings, classes, namespaces and templates, and access labels."""

NODES = NodeTypes(
    strings=c.NODES.strings | {"raw_string_literal"},
    comments=c.NODES.comments,
    string_code=frozenset(),
    scopes={
        **c.NODES.scopes,
        "lambda_expression": "function",
        "class_specifier": "class",
        "namespace_definition": "class",
    },
    imports=c.NODES.imports | {"using_declaration"},
    wrappers=c.NODES.wrappers | {"template_declaration"},
    import_containers=c.NODES.import_containers | {"linkage_specification", "declaration_list"},
    standalone_parts=c.NODES.standalone_parts | {"declaration_list"},
)
"""The node types codels reads in C++."""

FUNCTIONS = FunctionSyntax(
    display_name="C++",
    fence="cpp",
    functions=c.FUNCTIONS.functions,
    stub=re.compile(
        r'throw std::(logic_error|runtime_error)\(\s*"(not implemented|todo)\b[^"]*"\s*\);',
        re.IGNORECASE,
    ),
    doc_style="/**",
)
"""How code actions write C++ functions: ``throw std::logic_error("not implemented")`` stubs,
Doxygen ``/** */`` comments."""

CPP = brace_language(
    name="cpp",
    language_ids=("cpp", "c++", "cuda-cpp"),
    suffixes=(".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp"),
    grammar=grammar,
    nodes=NODES,
    syntax=SYNTAX,
    closing_chars=")]}'\";,>",
    functions=FUNCTIONS,
)
"""The C++ language."""
