"""Rewriting a whole function from the chat answer: a fix, and a TODO's retry.

An answer that gives the function back unchanged is no answer. Imports the actions modules
below it.
"""

from __future__ import annotations

import textwrap

from codels.actions.edits import ActionEdit, function_edit
from codels.actions.errors import Unusable
from codels.actions.job import Attempt, Job
from codels.actions.prompts import parse_code

FIX_RETRY_NOTE = (
    "Your previous answer was not a valid, changed function. Reply with the "
    "corrected complete function only."
)


def attempts(job: Job) -> list[Attempt]:
    """A fix: the rewrite, then the rewrite that says the first did not work."""
    return [
        ("chat", lambda: chat_rewrite(job)),
        ("chat", lambda: chat_rewrite(job, retry_note=FIX_RETRY_NOTE)),
    ]


async def chat_rewrite(job: Job, retry_note: str = "") -> ActionEdit:
    """The whole function replaced by the chat answer's version (TODO, fix)."""
    shape = job.function()
    parts = parse_code(await job.ask_chat(retry_note=retry_note, function=shape.name), shape.name)
    if not parts.function.strip():
        raise Unusable("the model's answer held no function")
    lines = job.snapshot.lines
    row, _ = lines.position_at(shape.start, "utf-32")
    original = textwrap.dedent(job.snapshot.text[lines.starts[row] : shape.end])
    if _same_code(parts.function, original):
        raise Unusable("the model gave the function back unchanged")
    change = job.document_change(
        [function_edit(job.snapshot, shape, parts.function), *job.import_edits(parts.imports)]
    )
    line_start = lines.starts[row]
    return ActionEdit((change,), job.shown(change, line_start, len(shape.indent) + 1))


def _same_code(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())
