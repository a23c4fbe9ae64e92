"""TypeScript and TSX: their grammars and node types, as two brace Languages.

:data:`TYPESCRIPT` reads ``.ts``, ``.mts`` and ``.cts`` files, :data:`TSX` ``.tsx`` files;
both share JavaScript's syntax tables (:mod:`.javascript`) and add TypeScript's declarations
(interfaces, types, enums, namespaces). This module imports tree-sitter's TypeScript grammars
and :mod:`codels.languages` (base, braces, brace_trees, javascript).
"""

from __future__ import annotations

import dataclasses
import re

import tree_sitter_typescript

from codels.languages import javascript
from codels.languages.base import NodeTypes
from codels.languages.brace_trees import brace_language


def grammar() -> object:
    """The tree-sitter TypeScript grammar's language pointer."""
    return tree_sitter_typescript.language_typescript()


def tsx_grammar() -> object:
    """The tree-sitter TSX grammar's language pointer."""
    return tree_sitter_typescript.language_tsx()


SYNTAX = dataclasses.replace(
    javascript.SYNTAX,
    top_level=re.compile(
        r"(export|import|(async\s+)?function\b|class|const|let|var|interface|type|enum"
        r"|declare|namespace|abstract\s+class|module\.exports)\b"
    ),
    opener_words=(*javascript.SYNTAX.opener_words, "interface", "enum", "namespace"),
)
"""JavaScript's syntax, with TypeScript's declarations at column 0."""

NODES = NodeTypes(
    strings=javascript.NODES.strings,
    comments=javascript.NODES.comments,
    string_code=javascript.NODES.string_code,
    scopes={
        **javascript.NODES.scopes,
        "abstract_class_declaration": "class",
        "interface_declaration": "class",
        "enum_declaration": "class",
        "internal_module": "class",
        "module": "class",
    },
    imports=javascript.NODES.imports | {"import_alias"},
    wrappers=javascript.NODES.wrappers | {"ambient_declaration"},
    decorations=javascript.NODES.decorations,
    standalone_parts=javascript.NODES.standalone_parts,
)
"""The node types codels reads in TypeScript and TSX."""

_CLOSING = javascript.CLOSING_CHARS + ">"

FUNCTIONS = dataclasses.replace(
    javascript.FUNCTIONS,
    display_name="TypeScript",
    fence="typescript",
)
"""How code actions write TypeScript functions: JavaScript's stubs and JSDoc comments."""

TYPESCRIPT = brace_language(
    name="typescript",
    language_ids=("typescript", "ts"),
    suffixes=(".ts", ".mts", ".cts"),
    grammar=grammar,
    nodes=NODES,
    syntax=SYNTAX,
    closing_chars=_CLOSING,
    is_import=javascript.is_require,
    functions=FUNCTIONS,
)
"""The TypeScript language."""

TSX = brace_language(
    name="tsx",
    language_ids=("typescriptreact", "tsx"),
    suffixes=(".tsx",),
    grammar=tsx_grammar,
    nodes=NODES,
    syntax=SYNTAX,
    closing_chars=javascript.CLOSING_CHARS,
    is_import=javascript.is_require,
    functions=FUNCTIONS,
)
"""TypeScript with JSX."""
