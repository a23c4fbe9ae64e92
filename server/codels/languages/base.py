"""The Language object: what the completion path asks of a language, and the data it answers with.

A :class:`Language` carries a language's names, its tree-sitter grammar, node types, comment
syntax, block model and optional extra validator; the pipeline calls it and never asks which
language it has. This module imports tree-sitter and :mod:`codels.positions`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tree_sitter

from codels.positions import LineIndex


@dataclass(frozen=True)
class Snippet:
    """A piece of the document used as extra context, with where it starts."""

    start: int
    """Code-point offset of the snippet's first character in the document."""
    text: str


@dataclass(frozen=True)
class Scope:
    """An enclosing function or class."""

    kind: str
    """``function`` or ``class``."""
    name: str
    header: Snippet
    """Decorators, signature and docstring (without the rest of the body)."""
    indent: str
    """Indentation of the line the scope starts on."""
    last_line: int = -1
    """Line number (0-based) of the scope's last line of code (-1: not known)."""


class CursorText(Protocol):
    """The text around a cursor, as a block model reads it (a completion context is one)."""

    @property
    def prefix(self) -> str:
        """Text before the cursor, from a line start."""
        ...

    @property
    def suffix(self) -> str:
        """Text after the cursor, to a line end."""
        ...

    @property
    def line_prefix(self) -> str:
        """Text on the cursor line before the cursor."""
        ...

    @property
    def line_suffix(self) -> str:
        """Text on the cursor line after the cursor."""
        ...

    @property
    def scopes(self) -> tuple[Scope, ...]:
        """Enclosing functions and classes, outermost first."""
        ...

    @property
    def suffix_to_end(self) -> bool:
        """Whether :attr:`suffix` runs to the end of the document."""
        ...

    @property
    def code_parses(self) -> bool:
        """Whether the code around the cursor parses as it is (nothing is missing there)."""
        ...


class BlockEnd(Protocol):
    """Where a block completion ends (also the generation-time stop rule)."""

    def end(self, text: str, *, complete_lines_only: bool) -> int | None:
        """Where the completion ``text`` should end, as an index into it, or None to go on.

        With ``complete_lines_only`` only lines already ended by a line break are judged.
        """
        ...


class BlockModel(Protocol):
    """How a language's blocks begin and end (indentation for Python)."""

    def opens_block(self, line: str) -> bool:
        """Whether ``line`` is the header of a block (``if x:``, ``def f():``)."""
        ...

    def block_end(self, cursor: CursorText, healed: str) -> BlockEnd:
        """The rule that ends a block completion at ``cursor`` (``healed``: see the prompt)."""
        ...

    def indent_settled(self, cursor: CursorText) -> bool:
        """Whether code typed at the cursor starts right there, with no more indentation."""
        ...

    def needs_header(self, cursor: CursorText, text: str) -> bool:
        """Whether block completion ``text`` leaves the code after it without its header."""
        ...

    def without_dangling_header(self, text: str, cursor: CursorText) -> str:
        """``text`` without trailing block headers whose body nothing after them gives."""
        ...

    def next_line_indent(self, text: str, end: int) -> str:
        """The indentation an editor gives the line opened by Enter at ``end`` (a line's end)."""
        ...


@dataclass(frozen=True)
class NodeTypes:
    """The tree-sitter node types the completion path looks for."""

    strings: frozenset[str]
    comments: frozenset[str]
    string_code: frozenset[str]
    """Code inside a string (an f-string's braces)."""
    scopes: Mapping[str, str]
    """Node type of each kind of scope: ``function`` or ``class`` (a struct, an impl, an
    interface or a namespace is a ``class``)."""
    imports: frozenset[str]
    wrappers: frozenset[str] = frozenset()
    """Nodes that wrap a definition with what belongs to it (``export``, a C++ template
    header): its header starts with theirs."""
    decorations: frozenset[str] = frozenset()
    """Nodes before a definition that belong to it (attributes, annotations, decorators)."""
    import_containers: frozenset[str] = frozenset()
    """Top-level nodes whose children may be imports too (a C header's include guard)."""
    standalone_parts: frozenset[str] = frozenset()
    """Nodes whose children the grammar reads on their own, out of them (a block's statements,
    a Java class's members): where the top-level declaration around the cursor is longer than
    the syntax judge's window, the judge parses the children of the innermost such node
    around the cursor instead."""


@dataclass(frozen=True)
class FunctionSyntax:
    """How a brace language's code actions read and write functions (Python has its own)."""

    display_name: str
    """The language's name in prompts and messages (``Rust``)."""
    fence: str
    """The Markdown code fence's language tag (``rust``)."""
    functions: frozenset[str]
    """Node types of named functions and methods whose body is a braced block."""
    stub: re.Pattern[str]
    """A body statement (whitespace collapsed) that stands for code still to write
    (``todo!()``, ``panic("TODO")``); a body that is only a ``// TODO`` comment is one too."""
    doc_style: str
    """How a doc comment is written: ``///`` lines, ``/**`` blocks, or ``//`` lines that
    begin with the function's name (Go)."""


@dataclass(frozen=True, eq=False)
class Language:
    """Everything language-specific on the completion path (one instance per language)."""

    name: str
    language_ids: tuple[str, ...]
    """LSP ``languageId`` values, lower case."""
    suffixes: tuple[str, ...]
    """File name endings, lower case, for clients that send a generic id."""
    grammar: Callable[[], object]
    """Returns the tree-sitter grammar's language pointer."""
    nodes: NodeTypes
    line_comment: str
    """What starts a line comment."""
    closing_chars: frozenset[str]
    """What may stand right of the cursor for a completion still to be offered there: closing
    brackets and quotes, and the punctuation that ends a header or separates items."""
    blocks: BlockModel
    block_opener_words: tuple[str, ...]
    """The words a block header begins with: what the first token of an answer must begin
    when the cursor line has to open the block of the deeper code below it."""
    inside_string_or_comment: Callable[[tree_sitter.Tree, LineIndex, int], str | None]
    """``"string"``, ``"comment"`` or None: what the cursor at an offset stands in."""
    enclosing_scopes: Callable[[tree_sitter.Tree, LineIndex, int], tuple[Scope, ...]]
    """The functions and classes that enclose the cursor at an offset, outermost first."""
    module_imports: Callable[[tree_sitter.Tree, LineIndex], tuple[Snippet, ...]]
    """The module-level import statements near the top of the file."""
    first_error_line: Callable[[str], int | None] | None = None
    """An extra validator: the line (1-based) of the first error the language's own parser
    finds in a text, or None; the syntax judge asks it besides tree-sitter."""
    candidate_test_files: Callable[[Path], list[Path]] | None = None
    """Where a module's tests may already live, most likely first; None for a language with
    no test file convention codels knows."""
    functions: FunctionSyntax | None = None
    """What code actions need to write functions in a brace language (None: Python's own
    actions, or none)."""
    comment_starts: tuple[str, ...] = ()
    """What a line of a comment block begins with, stripped (``//``, ``/*``, ``*``); empty:
    :attr:`line_comment` alone."""

    @functools.cached_property
    def tree_sitter_language(self) -> tree_sitter.Language:
        """The tree-sitter ``Language`` of :attr:`grammar` (loaded once)."""
        return tree_sitter.Language(self.grammar())
