"""Python's tree-sitter grammar and the node types codels reads in it.

This module imports tree-sitter, its Python grammar and :mod:`codels.languages.base`.
"""

from __future__ import annotations

import functools

import tree_sitter
import tree_sitter_python

from codels.languages.base import NodeTypes


def grammar() -> object:
    """The tree-sitter Python grammar's language pointer."""
    return tree_sitter_python.language()


NODES = NodeTypes(
    strings=frozenset({"string"}),
    comments=frozenset({"comment"}),
    string_code=frozenset({"interpolation"}),
    scopes={"function_definition": "function", "class_definition": "class"},
    imports=frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
)
DECORATED = "decorated_definition"
"""The node that wraps a decorated function or class with its decorators."""
STRING_END = "string_end"
"""The closing quote of a string (MISSING while the user types it)."""


@functools.cache
def unterminated_string_query(language: tree_sitter.Language) -> tree_sitter.Query:
    """Matches the ``string_start`` of a string that tree-sitter could not close."""
    return tree_sitter.Query(language, "(ERROR (string_start) @start)")
