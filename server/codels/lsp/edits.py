"""The one converter from an action's edit to an LSP ``WorkspaceEdit``.

This module imports lsprotocol, the actions' edit types and :mod:`codels.positions`.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter

from codels.actions.edits import ActionEdit
from codels.positions import LineIndex, PositionEncoding


def workspace_edit(
    edit: ActionEdit, encoding: PositionEncoding = "utf-16", *, document_changes: bool = True
) -> types.WorkspaceEdit:
    """``edit`` as a ``WorkspaceEdit``, positions in ``encoding``.

    With ``document_changes`` (the client supports them) it holds versioned document edits and
    file creations, else plain ``changes``.
    """
    versioned: list[types.TextDocumentEdit | types.CreateFile] = []
    changes: dict[str, list[types.TextEdit]] = {}
    for change in edit.changes:
        lines = LineIndex.of(change.base)
        edits = [
            types.TextEdit(
                range=types.Range(
                    start=types.Position(*lines.position_at(e.start, encoding)),
                    end=types.Position(*lines.position_at(e.end, encoding)),
                ),
                new_text=e.text,
            )
            for e in change.edits
        ]
        if change.create:
            versioned.append(
                types.CreateFile(
                    uri=change.uri, options=types.CreateFileOptions(ignore_if_exists=True)
                )
            )
        versioned.append(
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=change.uri, version=change.version
                ),
                edits=list(edits),
            )
        )
        changes.setdefault(change.uri, []).extend(edits)
    if document_changes:
        return types.WorkspaceEdit(document_changes=versioned)
    return types.WorkspaceEdit(changes=changes)


def workspace_edit_json(edit: ActionEdit) -> dict[str, Any]:
    """``edit`` as the JSON of a ``WorkspaceEdit`` with ``documentChanges`` (UTF-16 positions)."""
    data: dict[str, Any] = get_converter().unstructure(workspace_edit(edit), types.WorkspaceEdit)
    return data
