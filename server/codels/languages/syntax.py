"""tree-sitter for codels: which languages it can read, parsers, and the syntax judge.

The syntax judge answers one question for post-processing: does inserting a completion add
ERROR or MISSING nodes that were not there before? It parses a window of the document around
the cursor (not the whole file, which may be megabytes) with and without the completion and
compares the counts, so code the user is still typing (already broken) is judged fairly. For
Python it also asks Python's own parser whether the first error comes earlier than before.

This module imports tree-sitter, its grammars and :mod:`codels.positions`; nothing of LSP or
of the model.
"""

from __future__ import annotations

import ast
import functools
import threading
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


PYTHON_PARSER_LOCK = threading.Lock()
"""Held around every use of Python's own parser (:mod:`ast`): in Python 3.11 two threads
parsing at once can fail with "AST constructor recursion depth mismatch" (seen here when the
evaluation scored in two threads)."""


def python_error_line(source: str) -> int | None:
    """The line (1-based) of the first error Python's parser finds in ``source``, or None."""
    try:
        with PYTHON_PARSER_LOCK:
            ast.parse(source)
    except SyntaxError as exc:  # IndentationError is one too
        return exc.lineno or 1
    except (ValueError, RecursionError, MemoryError, SystemError):  # a NUL, absurd nesting
        return None
    return None


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
        """Whether inserting ``insertion`` adds syntax errors to the window.

        For Python, Python's own parser is asked too: tree-sitter accepts code that Python
        refuses, such as a line indented deeper than the block it is in ("unexpected indent").
        """
        if self.errors_with(insertion) > self.baseline_errors:
            return True
        return self.language == PYTHON and self._adds_python_error(insertion)

    @functools.cached_property
    def _baseline_python_error(self) -> int | None:
        return python_error_line(self.before + self.after)

    def _adds_python_error(self, insertion: str) -> bool:
        """Whether Python's first syntax error in the window comes earlier with ``insertion``.

        Errors are compared by line, in the window without the insertion: one inside the
        insertion, or before the window's own first error, is new; the same or a later one is
        the user's (code being typed is often broken further on).
        """
        line = python_error_line(self.before + insertion + self.after)
        if line is None:
            return False
        original = self._baseline_python_error
        if original is None:
            return True
        cursor_line = self.before.count("\n") + 1
        added_lines = insertion.count("\n")
        if line < cursor_line:
            mapped = line
        elif line > cursor_line + added_lines:
            mapped = line - added_lines
        elif original == cursor_line and line == cursor_line + added_lines:
            mapped = cursor_line  # the cursor line itself, already broken before
        else:
            return True  # inside the insertion
        return mapped < original

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
