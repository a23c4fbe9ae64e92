"""Open documents: their text, version and tree-sitter tree, kept in step with the editor.

Changes are applied to the text and, as ``InputEdit``s, to the tree, then re-parsed
incrementally; background work reads only an immutable :class:`DocumentSnapshot`. A document
reads in the :class:`~codels.languages.base.Language` its id or file name picks. Imports
tree-sitter, :mod:`codels.positions` and :mod:`codels.languages`; not LSP types.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import tree_sitter

from codels.languages.base import Language
from codels.languages.registry import syntax_language
from codels.languages.syntax import new_parser
from codels.positions import LineIndex, PositionEncoding, PositionError, utf8_bytes

log = logging.getLogger(__name__)

# Even an incremental re-parse walks the whole tree (about half a second per keystroke on a
# 10 MB file), so a huge document is not kept parsed: each snapshot parses the lines around the
# cursor only (tree-sitter's included ranges, positions still those of the whole document).
HUGE_DOCUMENT_CHARS = 1_000_000
"""Above this size a document is parsed per snapshot, around the cursor, not kept parsed."""
WINDOW_LINES_BEFORE = 2000
"""Lines before the cursor that a huge document's snapshot parses."""
WINDOW_LINES_AFTER = 200
"""Lines after the cursor that a huge document's snapshot parses."""


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
    language: Language | None
    """The language codels reads the document in, or None when it reads none."""
    tree: tree_sitter.Tree | None

    @functools.cached_property
    def lines(self) -> LineIndex:
        """Line index of :attr:`text`."""
        return LineIndex.of(self.text)


class Document:
    """A live open document. Mutated only on the event loop."""

    def __init__(
        self,
        uri: str,
        language_id: str,
        version: int,
        text: str,
        *,
        tree: tree_sitter.Tree | None = None,
    ) -> None:
        """Open ``text``; ``tree``, when given, is its parse tree already (not parsed again)."""
        self.uri = uri
        self.language_id = language_id
        self.version = version
        self.text = text
        self.language = syntax_language(language_id, uri)
        self._parser = new_parser(self.language) if self.language else None
        self._lines: LineIndex | None = None
        self.tree: tree_sitter.Tree | None = tree
        if tree is None:
            self._reparse(old_tree=None)

    @property
    def lines(self) -> LineIndex:
        """Line index of the current text (built on first use after a change)."""
        if self._lines is None:
            self._lines = LineIndex.of(self.text)
        return self._lines

    @property
    def huge(self) -> bool:
        """Whether the document is parsed per snapshot around the cursor (see the module)."""
        return len(self.text) > HUGE_DOCUMENT_CHARS

    def _reparse(self, old_tree: tree_sitter.Tree | None) -> None:
        if self._parser is None:
            return
        if self.huge:
            self.tree = None
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

    def snapshot(self, around: int | None = None) -> DocumentSnapshot:
        """Return an immutable snapshot of this version (the tree is copied, cheaply).

        A huge document's tree covers only the lines around code-point offset ``around`` (the
        cursor; the end of the text when None).
        """
        tree = self.tree.copy() if self.tree is not None else None
        if tree is None and self.huge and self.language is not None:
            tree = self._window_tree(self.language, len(self.text) if around is None else around)
        snapshot = DocumentSnapshot(
            uri=self.uri,
            version=self.version,
            language_id=self.language_id,
            text=self.text,
            language=self.language,
            tree=tree,
        )
        snapshot.__dict__["lines"] = self.lines  # the same text: one index for both
        return snapshot

    @classmethod
    def with_insertion(
        cls, snapshot: DocumentSnapshot, offset: int, inserted: str
    ) -> DocumentSnapshot:
        """``snapshot`` as it would read with ``inserted`` typed at code-point ``offset``.

        The tree is edited and re-parsed incrementally from the snapshot's, so this costs about
        what a keystroke costs. The version stays the snapshot's: this is a guess, not an edit.
        """
        whole = snapshot.tree if len(snapshot.text) <= HUGE_DOCUMENT_CHARS else None
        document = cls(
            snapshot.uri,
            snapshot.language_id,
            snapshot.version,
            snapshot.text,
            tree=whole.copy() if whole is not None else None,
        )
        document._lines = snapshot.lines
        line, character = snapshot.lines.position_at(offset, "utf-32")
        document.apply_changes(
            snapshot.version,
            [TextChange(inserted, ((line, character), (line, character)))],
            "utf-32",
        )
        return document.snapshot(around=offset + len(inserted))

    def _window_tree(self, language: Language, around: int) -> tree_sitter.Tree:
        """A tree of the lines around ``around`` only, in the whole document's coordinates."""
        lines = self.lines
        row = lines.position_at(around, "utf-32")[0]
        first = max(0, row - WINDOW_LINES_BEFORE)
        last = min(lines.line_count - 1, row + WINDOW_LINES_AFTER)
        start = lines.starts[first]
        end = lines.starts[last + 1] if last + 1 < lines.line_count else len(self.text)
        data = utf8_bytes(self.text)
        start_byte, end_byte = lines.byte_offset(start), lines.byte_offset(end)
        parser = new_parser(language)
        parser.included_ranges = [
            tree_sitter.Range((first, 0), lines.point_at(end), start_byte, end_byte)
        ]
        return parser.parse(data)


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
