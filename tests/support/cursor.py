"""Golden-case helpers: a source text with a cursor marker."""

from __future__ import annotations

from codels.documents import Document, DocumentSnapshot
from codels.pipeline.context import CompletionContext, build_context

CURSOR = "█"


SUFFIXES = {
    "python": ".py",
    "javascript": ".js",
    "javascriptreact": ".jsx",
    "typescript": ".ts",
    "typescriptreact": ".tsx",
    "go": ".go",
    "rust": ".rs",
    "java": ".java",
    "c": ".c",
    "cpp": ".cpp",
}


def snapshot_at(
    source: str, uri: str = "file:///work/example.py", language_id: str = "python"
) -> tuple[DocumentSnapshot, int]:
    """Return a snapshot of ``source`` without its cursor marker, and the cursor offset."""
    offset = source.index(CURSOR)
    text = source.replace(CURSOR, "", 1)
    return Document(uri, language_id, 1, text).snapshot(), offset


def snapshot_in(language_id: str, source: str) -> tuple[DocumentSnapshot, int]:
    """:func:`snapshot_at` for a file of ``language_id`` (``example.go`` for ``go``)."""
    uri = f"file:///work/example{SUFFIXES[language_id]}"
    return snapshot_at(source, uri, language_id)


def context_at(source: str, **options: bool) -> CompletionContext:
    """Build the completion context at the cursor marker of ``source``."""
    snapshot, offset = snapshot_at(source)
    return build_context(snapshot, offset, **options)


def context_in(language_id: str, source: str, **options: bool) -> CompletionContext:
    """Build the completion context at the cursor marker of ``source``, a ``language_id`` file."""
    snapshot, offset = snapshot_in(language_id, source)
    return build_context(snapshot, offset, **options)
