"""tree-sitter for codels: which languages it can read, parsers, and the syntax judge.

The syntax judge answers one question for post-processing: does inserting a completion add
ERROR or MISSING nodes that were not there before? It parses a window of the document around
the cursor (not the whole file, which may be megabytes) with and without the completion and
compares the counts, so code the user is still typing (already broken) is judged fairly.

This module imports tree-sitter, its grammars and :mod:`codels.positions`; nothing of LSP or
of the model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import tree_sitter
import tree_sitter_python

from codels.positions import utf8_bytes

PYTHON = "python"
"""The one language codels reads today."""

_LANGUAGE_IDS = {"python": PYTHON, "py": PYTHON}
_SUFFIXES = {".py": PYTHON, ".pyi": PYTHON, ".pyw": PYTHON}


def syntax_language(language_id: str, uri: str) -> str | None:
    """Return the tree-sitter language codels uses for a document, or None if it has none.

    The LSP ``languageId`` decides; a file name ending such as ``.py`` is the fallback for
    clients that send a generic id.
    """
    if (name := _LANGUAGE_IDS.get(language_id.lower())) is not None:
        return name
    if language_id.lower() not in ("", "plaintext", "text"):
        return None
    lowered = uri.lower()
    for suffix, name in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return name
    return None


@functools.cache
def ts_language(name: str) -> tree_sitter.Language:
    """Return the tree-sitter ``Language`` object for ``name``."""
    if name == PYTHON:
        return tree_sitter.Language(tree_sitter_python.language())
    raise ValueError(f"codels has no tree-sitter grammar for {name!r}")


@functools.cache
def unterminated_string_query(language: tree_sitter.Language) -> tree_sitter.Query:
    """Matches the ``string_start`` of a string that tree-sitter could not close."""
    return tree_sitter.Query(language, "(ERROR (string_start) @start)")


def new_parser(name: str) -> tree_sitter.Parser:
    """Return a new parser for ``name`` (parsers are not thread-safe: one per user)."""
    return tree_sitter.Parser(ts_language(name))


def count_syntax_errors(node: tree_sitter.Node) -> int:
    """Count ERROR and MISSING nodes under ``node``, visiting only subtrees that hold errors."""
    if not node.has_error:
        return 0
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            count += 1
        stack.extend(child for child in current.children if child.has_error or child.is_missing)
    return count


@dataclass(frozen=True)
class SyntaxJudge:
    """Judges completions by parsing a window of the document around the cursor."""

    language: str
    before: str
    """The window's text before the cursor."""
    after: str
    """The window's text after the cursor."""

    def errors_with(self, insertion: str) -> int:
        """Count syntax errors in the window with ``insertion`` at the cursor."""
        tree = new_parser(self.language).parse(utf8_bytes(self.before + insertion + self.after))
        return count_syntax_errors(tree.root_node)

    @functools.cached_property
    def baseline_errors(self) -> int:
        """Syntax errors in the window as it is, without a completion."""
        return self.errors_with("")

    def adds_errors(self, insertion: str) -> bool:
        """Whether inserting ``insertion`` adds syntax errors to the window."""
        return self.errors_with(insertion) > self.baseline_errors

    def longest_clean_prefix(self, completion: str) -> str:
        """Return the longest prefix of ``completion``, cut at line ends, that adds no errors.

        The whole completion is tried first, then it is cut back one line at a time; an empty
        string means no prefix parses cleanly.
        """
        candidate = completion
        while candidate:
            if not self.adds_errors(candidate):
                return candidate
            cut = candidate.rstrip("\n").rfind("\n")
            candidate = candidate[:cut] if cut > 0 else ""
        return ""
