"""Writing a new function below the comment that describes it (target ``comment``).

Chat (the answer's function and imports) or FIM (infilled below the comment until the function
ends), in the order ``actionPrompt`` names. Imports the actions modules below it.
"""

from __future__ import annotations

from codels.actions.edits import ActionEdit, comment_edit
from codels.actions.errors import Unusable
from codels.actions.job import Attempt, Job
from codels.actions.prompts import parse_code


def attempts(job: Job) -> list[Attempt]:
    """Chat and FIM, the form the ``actionPrompt`` setting names first."""
    chat: Attempt = ("chat", lambda: chat_comment(job))
    fim: Attempt = ("fim", lambda: fim_comment(job))
    return [fim, chat] if job.settings.action_prompt == "fim" else [chat, fim]


async def chat_comment(job: Job) -> ActionEdit:
    """A new function below the comment, from the chat answer."""
    parts = parse_code(await job.ask_chat(function=job.site.name), job.site.name)
    if not parts.function.strip():
        raise Unusable("the model's answer held no function")
    return _below_comment(job, parts.function, parts.imports)


async def fim_comment(job: Job) -> ActionEdit:
    """A new function infilled on a blank line below the comment."""
    site = job.site
    text = job.snapshot.text
    virtual = text[: site.end] + "\n" + site.indent + text[site.end :]
    cursor = site.end + 1 + len(site.indent)
    completion = await job.model.ask_fim(virtual, cursor, function_end=site.indent)
    parts = parse_code(site.indent + completion, site.name)
    if not parts.function.strip():
        raise Unusable("the model wrote no function")
    return _below_comment(job, parts.function, ())


def _below_comment(job: Job, function: str, imports: tuple[str, ...]) -> ActionEdit:
    site = job.site
    change = job.document_change([comment_edit(site, function), *job.import_edits(imports)])
    inner = 1 + len(site.indent) + 1  # into the new function's first line
    return ActionEdit((change,), job.shown(change, site.end, inner, start=site.start))
