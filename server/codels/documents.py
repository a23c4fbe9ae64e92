"""Open documents: their text, version and tree-sitter tree, kept in step with the editor.

Every incremental change is applied to the text and, as a tree-sitter ``InputEdit``, to the old
tree; the document is then re-parsed with the old tree, so a keystroke costs a re-parse of the
edited region only. Handlers take a :class:`DocumentSnapshot` (immutable, with its own copy of
the tree) on the event loop and hand that to background work; nothing else reads a live
:class:`Document`.

This module imports :mod:`codels.positions` and :mod:`codels.syntax`, not LSP types.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import tree_sitter

from codels.positions import LineIndex, PositionEncoding, PositionError, utf8_bytes
from codels.syntax import new_parser, syntax_language

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextChange:
    """One content change of ``textDocument/didChange``, positions in the negotiated encoding."""

    text: str
    range: tuple[tuple[int, int], tuple[int, int]] | None = None
    """((start line, start character), (end line, end character)); None replaces the whole text."""


@dataclass(frozen=True)
class DocumentSnapshot:
    """An immutable view of one document version, safe to read from any thread."""

    uri: str
    version: int
    language_id: str
    text: str
    language: str | None
    """The tree-sitter language name, or None when codels cannot read this language."""
    tree: tree_sitter.Tree | None

    @functools.cached_property
    def lines(self) -> LineIndex:
        """Line index of :attr:`text`."""
        return LineIndex.of(self.text)


class Document:
    """A live open document. Mutated only on the event loop."""

    def __init__(self, uri: str, language_id: str, version: int, text: str) -> None:
        self.uri = uri
        self.language_id = language_id
        self.version = version
        self.text = text
        self.language = syntax_language(language_id, uri)
        self._parser = new_parser(self.language) if self.language else None
        self._lines: LineIndex | None = None
        self.tree: tree_sitter.Tree | None = None
        self._reparse(old_tree=None)

    @property
    def lines(self) -> LineIndex:
        """Line index of the current text (built on first use after a change)."""
        if self._lines is None:
            self._lines = LineIndex.of(self.text)
        return self._lines

    def _reparse(self, old_tree: tree_sitter.Tree | None) -> None:
        if self._parser is None:
            return
        data = utf8_bytes(self.text)
        self.tree = (
            self._parser.parse(data, old_tree) if old_tree is not None else self._parser.parse(data)
        )

    def _offset(self, line: int, character: int, encoding: PositionEncoding) -> int:
        try:
            return self.lines.offset_at(line, character, encoding)
        except PositionError:
            log.warning(
                "%s: change at (%d, %d) lies outside the document; the editor and codels may "
                "be out of sync (reopen the file to resynchronise)",
                self.uri,
                line,
                character,
            )
            return len(self.text) if line >= 0 else 0

    def apply_changes(
        self, version: int, changes: Iterable[TextChange], encoding: PositionEncoding
    ) -> None:
        """Apply ``changes`` in order, editing the tree to match, then re-parse once."""
        tree = self.tree
        for change in changes:
            if change.range is None:
                self.text = change.text
                self._lines = None
                tree = None
                continue
            (start_line, start_char), (end_line, end_char) = change.range
            start = self._offset(start_line, start_char, encoding)
            end = max(start, self._offset(end_line, end_char, encoding))
            if tree is not None:
                self._edit_tree(tree, start, end, change.text)
            self.text = self.text[:start] + change.text + self.text[end:]
            self._lines = None
        self.version = version
        self._reparse(old_tree=tree)

    def _edit_tree(self, tree: tree_sitter.Tree, start: int, end: int, new_text: str) -> None:
        """Tell ``tree`` that text[start:end] is being replaced by ``new_text``."""
        lines = self.lines
        start_byte = lines.byte_offset(start)
        start_point = lines.point_at(start)
        inserted = utf8_bytes(new_text)
        breaks = LineIndex.of(new_text).starts
        if len(breaks) == 1:
            new_end_point = (start_point[0], start_point[1] + len(inserted))
        else:
            last_line = new_text[breaks[-1] :]
            new_end_point = (start_point[0] + len(breaks) - 1, len(utf8_bytes(last_line)))
        tree.edit(
            start_byte=start_byte,
            old_end_byte=start_byte + len(utf8_bytes(self.text[start:end])),
            new_end_byte=start_byte + len(inserted),
            start_point=start_point,
            old_end_point=lines.point_at(end),
            new_end_point=new_end_point,
        )

    def snapshot(self) -> DocumentSnapshot:
        """Return an immutable snapshot of this version (the tree is copied, cheaply)."""
        snapshot = DocumentSnapshot(
            uri=self.uri,
            version=self.version,
            language_id=self.language_id,
            text=self.text,
            language=self.language,
            tree=self.tree.copy() if self.tree is not None else None,
        )
        snapshot.__dict__["lines"] = self.lines  # the same text: one index for both
        return snapshot


class DocumentStore:
    """The open documents of one server, by URI."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        """Start tracking a document (``textDocument/didOpen``)."""
        document = Document(uri, language_id, version, text)
        self._documents[uri] = document
        return document

    def change(
        self,
        uri: str,
        version: int,
        changes: Iterable[TextChange],
        encoding: PositionEncoding,
    ) -> Document | None:
        """Apply a ``textDocument/didChange``; returns None for a document that is not open."""
        document = self._documents.get(uri)
        if document is None:
            log.warning("change for %s, which was never opened: ignored", uri)
            return None
        document.apply_changes(version, changes, encoding)
        return document

    def close(self, uri: str) -> None:
        """Stop tracking a document (``textDocument/didClose``)."""
        self._documents.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        """Return the open document at ``uri``, if any."""
        return self._documents.get(uri)

    def __len__(self) -> int:
        return len(self._documents)
