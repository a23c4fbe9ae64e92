"""Writing a new function below the comment that describes it (target ``comment``).

Chat (the answer's function and imports) or FIM (infilled below the comment until the function
ends), in the order ``actionPrompt`` names. Imports the actions modules below it and
languages.python (the ``def name(`` lead).
"""

from __future__ import annotations

from codels.actions.edits import ActionEdit, comment_edit
from codels.actions.errors import Unusable
from codels.actions.job import Attempt, Job
from codels.actions.prompts import defined_names, has_reference, parse_code
from codels.languages.python.functions import header_lead


def attempts(job: Job) -> list[Attempt]:
    """Chat and FIM, the form the ``actionPrompt`` setting names first.

    When the chat prompt carries the file's signatures, a chat answer that misses the
    function is asked for again without them (the 0.5B model tends to write the functions
    it was shown).
    """
    chat: Attempt = ("chat", lambda: chat_comment(job))
    fim: Attempt = ("fim", lambda: fim_comment(job))
    chats = [chat]
    if has_reference(job.snapshot, job.site) and job.site.name:
        chats.append(("chat", lambda: chat_comment(job, with_context=False)))
    return [fim, *chats] if job.settings.action_prompt == "fim" else [*chats, fim]


async def chat_comment(job: Job, *, with_context: bool = True) -> ActionEdit:
    """A new function below the comment, from the chat answer."""
    name = job.site.name
    answer = await job.ask_chat(function=name, with_context=with_context)
    parts = parse_code(answer, name)
    if not parts.function.strip():
        written = defined_names(answer)
        if name and written:
            raise Unusable(f"the model wrote {', '.join(written)} but no function {name}")
        raise Unusable("the model's answer held no function")
    return _below_comment(job, parts.function, parts.imports)


async def fim_comment(job: Job) -> ActionEdit:
    """A new function infilled on a blank line below the comment.

    With a name in the comment, the infill starts from ``def name(`` so that the model writes
    that function (left to itself, it often ended the middle at once: the comment and the
    function after it looked complete).
    """
    site = job.site
    text = job.snapshot.text
    virtual = text[: site.end] + "\n" + site.indent + text[site.end :]
    cursor = site.end + 1 + len(site.indent)
    lead = header_lead(site.name)
    completion = await job.model.ask_fim(virtual, cursor, function_end=site.indent, lead=lead)
    parts = parse_code(site.indent + completion, site.name)
    if not parts.function.strip():
        raise Unusable("the model wrote no function")
    return _below_comment(job, parts.function, ())


def _below_comment(job: Job, function: str, imports: tuple[str, ...]) -> ActionEdit:
    site = job.site
    change = job.document_change([comment_edit(site, function), *job.import_edits(imports)])
    inner = 1 + len(site.indent) + 1  # into the new function's first line
    return ActionEdit((change,), job.shown(change, site.end, inner, start=site.start))
