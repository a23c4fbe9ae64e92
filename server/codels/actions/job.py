"""One run of a code action: what every strategy works from, and the helpers they share.

Imports the actions modules below the strategies, :mod:`codels.config`, :mod:`codels.documents`
and :mod:`codels.languages`; nothing of LSP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from codels.actions import brace_prompts
from codels.actions.edits import ActionEdit, FileChange, TextEdit, import_edit, missing_imports
from codels.actions.errors import ActionError
from codels.actions.gateway import ModelGateway
from codels.actions.prompts import ChatPrompt, chat_prompt
from codels.actions.sites import Site, function_at
from codels.config import Settings
from codels.documents import Document, DocumentSnapshot
from codels.languages import brace_functions
from codels.languages.python.functions import FunctionShape

Attempt = tuple[str, Callable[[], Awaitable[ActionEdit]]]
"""A prompt form (``chat`` or ``fim``) and what makes the edit with it."""
ReadFile = Callable[[str], tuple[str, int | None] | None]
"""Text and version of the file at a URI (an open document, else the disk), None if absent."""


@dataclass
class Job:
    """One action's attempts, sharing what they learn."""

    snapshot: DocumentSnapshot
    site: Site
    settings: Settings
    model: ModelGateway
    read_file: ReadFile
    can_create_files: bool

    def function(self) -> FunctionShape:
        """The function the site is on, as it is in the snapshot."""
        shape = function_at(self.snapshot, self.site.start)
        if shape is None:
            raise ActionError("the function is gone")
        return shape

    async def ask_chat(
        self,
        *,
        retry_note: str = "",
        module: str = "",
        function: str | None = None,
        temperature: float = 0.0,
        with_context: bool = True,
    ) -> str:
        """The code block of the model's answer to the site's instruction prompt.

        ``with_context`` False leaves the file's imports and signatures out of the prompt.
        """
        language = self.snapshot.language

        def prompt_for(fits: bool) -> ChatPrompt:
            if language is not None and language.functions is not None:
                return brace_prompts.chat_prompt(
                    self.snapshot,
                    self.site,
                    retry_note=retry_note,
                    with_context=with_context and fits,
                )
            return chat_prompt(
                self.snapshot,
                self.site,
                retry_note=retry_note,
                module=module,
                with_context=with_context and fits,
            )

        return await self.model.ask_chat(prompt_for, function=function, temperature=temperature)

    def import_edits(self, imports: tuple[str, ...]) -> list[TextEdit]:
        """The edit that adds those of ``imports`` the document lacks (none if it has all)."""
        edit = import_edit(self.snapshot, missing_imports(self.snapshot, imports))
        return [edit] if edit is not None else []

    def document_change(self, edits: list[TextEdit]) -> FileChange:
        """``edits`` as a change of the snapshot's document, at its version."""
        return FileChange(
            self.snapshot.uri, self.snapshot.text, tuple(edits), version=self.snapshot.version
        )

    def shown(self, change: FileChange, anchor: int, inner: int = 0, start: int = -1) -> str:
        """The edited function as it reads after the change (for the CLI and logs).

        ``anchor`` is an offset of the original text at or before the function (edits that
        start before it, imports say, shift it); ``inner`` more characters lead into the
        function in the edited text; the shown text begins at ``start``'s line if that is
        earlier (a comment above).
        """
        result = change.result
        shift = sum(
            len(edit.text) - (edit.end - edit.start) for edit in change.edits if edit.start < anchor
        )
        if self.snapshot.language_id != "python":
            first_line = start + shift if start >= 0 else None
            at = anchor + shift + inner
            return brace_function_text(change, self.snapshot.language_id, at, first_line)
        snapshot = Document(change.uri, "python", 0, result).snapshot()
        at = min(anchor + shift + inner, max(0, len(result) - 1))
        shape = function_at(snapshot, at)
        if shape is None:
            return result
        lines = snapshot.lines
        first = lines.starts[lines.position_at(shape.start, "utf-32")[0]]
        if start >= 0:
            first = min(first, lines.starts[lines.position_at(start + shift, "utf-32")[0]])
        return result[first : shape.end]


def brace_function_text(
    change: FileChange, language_id: str, at: int, start: int | None = None
) -> str:
    """The brace-language function around ``at`` of the edited text, from ``start``'s line."""
    result = change.result
    snapshot = Document(change.uri, language_id, 0, result).snapshot()
    language, tree = snapshot.language, snapshot.tree
    if language is None or tree is None:
        return result
    shape = brace_functions.function_at(language, tree, snapshot.lines, at)
    if shape is None:
        return result
    lines = snapshot.lines
    first = lines.starts[shape.first_row]
    if start is not None:
        first = min(first, lines.starts[lines.position_at(start, "utf-32")[0]])
    return result[first : shape.end]
