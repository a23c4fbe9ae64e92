"""Golden-case helpers: a source text with a cursor marker."""

from __future__ import annotations

from codels.documents import Document, DocumentSnapshot
from codels.pipeline.context import CompletionContext, build_context

CURSOR = "█"


def snapshot_at(source: str, uri: str = "file:///work/example.py") -> tuple[DocumentSnapshot, int]:
    """Return a snapshot of ``source`` without its cursor marker, and the cursor offset."""
    offset = source.index(CURSOR)
    text = source.replace(CURSOR, "", 1)
    return Document(uri, "python", 1, text).snapshot(), offset


def context_at(source: str, **options: bool) -> CompletionContext:
    """Build the completion context at the cursor marker of ``source``."""
    snapshot, offset = snapshot_at(source)
    return build_context(snapshot, offset, **options)
