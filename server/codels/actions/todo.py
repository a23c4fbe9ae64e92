"""Implementing a ``# TODO`` in a function: FIM below the comment, then the chat rewrite.

Imports the actions modules below it.
"""

from __future__ import annotations

from codels.actions.edits import ActionEdit, TextEdit
from codels.actions.job import Attempt, Job
from codels.actions.rewrite import chat_rewrite


def attempts(job: Job) -> list[Attempt]:
    """FIM below the comment, then the chat rewrite."""
    return [("fim", lambda: fim_todo(job)), ("chat", lambda: chat_rewrite(job))]


async def fim_todo(job: Job) -> ActionEdit:
    """Code infilled on a blank line below the TODO comment (which stays)."""
    site = job.site
    text = job.snapshot.text
    virtual = text[: site.end] + "\n" + site.indent + text[site.end :]
    cursor = site.end + 1 + len(site.indent)
    completion = await job.model.ask_fim(virtual, cursor)
    change = job.document_change([TextEdit(site.end, site.end, "\n" + site.indent + completion)])
    return ActionEdit((change,), job.shown(change, site.start))
