"""What the client can do, read once at ``initialize`` into a small frozen struct.

This module imports lsprotocol and :mod:`codels.positions` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from codels.positions import PositionEncoding

_ENCODINGS: dict[str, PositionEncoding] = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}


@dataclass(frozen=True)
class ClientFeatures:
    """What the client supports, read once at ``initialize``."""

    inline_completion: bool = False
    work_done_progress: bool = False
    configuration_pull: bool = False
    position_encoding: PositionEncoding = "utf-16"
    code_action_resolve: bool = False
    """Code actions can be listed without their edit and resolved later (the model runs then)."""
    document_changes: bool = False
    """Workspace edits may use ``documentChanges`` (versioned edits)."""
    create_files: bool = False
    """Workspace edits may create files (for tests)."""

    @classmethod
    def of(cls, capabilities: types.ClientCapabilities, encoding: Any) -> ClientFeatures:
        """Summarise ``capabilities`` and the negotiated position ``encoding``."""
        text_document = capabilities.text_document
        window = capabilities.window
        workspace = capabilities.workspace
        code_action = text_document.code_action if text_document else None
        resolve = code_action.resolve_support if code_action else None
        edit = workspace.workspace_edit if workspace else None
        document_changes = bool(edit and edit.document_changes)
        operations = (
            [str(getattr(o, "value", o)) for o in (edit.resource_operations or [])] if edit else []
        )
        return cls(
            inline_completion=bool(text_document and text_document.inline_completion),
            work_done_progress=bool(window and window.work_done_progress),
            configuration_pull=bool(workspace and workspace.configuration),
            position_encoding=_ENCODINGS.get(str(getattr(encoding, "value", encoding)), "utf-16"),
            code_action_resolve=bool(
                code_action
                and code_action.code_action_literal_support
                and code_action.data_support
                and resolve
                and "edit" in resolve.properties
            ),
            document_changes=document_changes,
            create_files=document_changes and "create" in operations,
        )
