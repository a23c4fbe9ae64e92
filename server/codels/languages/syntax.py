"""tree-sitter parsers and the syntax judge, the same for every language.

The syntax judge asks: does inserting a completion add ERROR or MISSING nodes that were not
there? It compares a window around the cursor (not the whole file) with and without the
completion, so code still being typed (already broken) is judged fairly; a language's own
validator is asked too whether its first error comes earlier. This module imports tree-sitter,
:mod:`codels.languages` and :mod:`codels.positions`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter

from codels.languages.base import Language
from codels.languages.lines import bracket_balance
from codels.languages.registry import language_named
from codels.positions import utf8_bytes


def new_parser(language: Language | str) -> tree_sitter.Parser:
    """A new parser for ``language``, or for the language of that name.

    Parsers are not thread-safe: one per user.
    """
    if isinstance(language, str):
        language = language_named(language)
    return tree_sitter.Parser(language.tree_sitter_language)


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

    language: Language
    before: str
    """The window's text before the cursor."""
    after: str
    """The window's text after the cursor."""
    wider: SyntaxJudge | None = None
    """A judge over more of the document, asked when this window refuses an insertion that
    leaves a bracket open: the bracket may close beyond the window (a header written again
    over a body that is still there, as in ``if (ok) {`` above its statements and ``}``)."""

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

        The language's own validator is asked too, where it has one: tree-sitter accepts code
        that Python refuses, such as a line indented deeper than the block it is in.
        """
        if self.errors_with(insertion) > self.baseline_errors:
            return not self._wider_accepts(insertion)
        return self.language.first_error_line is not None and self._adds_validator_error(
            insertion, self.language.first_error_line
        )

    def _wider_accepts(self, insertion: str) -> bool:
        """Whether an insertion that leaves brackets open fits the wider window.

        The text after the cursor must close more brackets than the text before it leaves
        open, by at least as many as the insertion opens (the bracket a header opens is the
        one a closing bracket further on was missing; a second one would stay open), and the
        wider window must have no more errors with it than without. (Brackets are counted in
        the text as it is: one inside a string or comment can tip a close call.)
        """
        wider = self.wider
        if wider is None:
            return False
        opened = bracket_balance(insertion)[0]
        room = bracket_balance(wider.after)[1] - bracket_balance(wider.before)[0]
        return 0 < opened <= room and wider.errors_with(insertion) <= wider.baseline_errors

    @property
    def parses(self) -> bool:
        """Whether the window parses as it is, by tree-sitter and the language's validator."""
        return not self.baseline_errors and self._baseline_validator_error is None

    @functools.cached_property
    def _baseline_validator_error(self) -> int | None:
        validate = self.language.first_error_line
        return validate(self.before + self.after) if validate is not None else None

    def _adds_validator_error(self, insertion: str, validate: Callable[[str], int | None]) -> bool:
        """Whether the validator's first error in the window comes earlier with ``insertion``.

        Errors are compared by line, in the window without the insertion: one inside the
        insertion, or before the window's own first error, is new; the same or a later one is
        the user's (code being typed is often broken further on).
        """
        line = validate(self.before + insertion + self.after)
        if line is None:
            return False
        original = self._baseline_validator_error
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
