"""Writing the body of a stub (target ``stub``): chat or FIM, as ``actionPrompt`` orders.

A top-level stub's docstring examples check the body (:mod:`codels.languages.python.examples`).
Imports the actions modules below it and :mod:`codels.languages`.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Awaitable, Callable

from codels.actions.edits import ActionEdit, body_edit
from codels.actions.errors import Unusable
from codels.actions.job import Attempt, Job
from codels.actions.prompts import parse_code
from codels.actions.sites import ActionKind, Target, function_at
from codels.languages.python.examples import ExamplesResult, check_examples, find_examples

ExamplesCheck = Callable[[ActionEdit], Awaitable[ExamplesResult]]
"""Runs the stub's docstring examples on an edit."""


def attempts(job: Job) -> list[Attempt]:
    """Chat and FIM, the form the ``actionPrompt`` setting names first."""
    chat: Attempt = ("chat", lambda: chat_stub(job))
    fim: Attempt = ("fim", lambda: fim_stub(job))
    return [fim, chat] if job.settings.action_prompt == "fim" else [chat, fim]


async def chat_stub(job: Job, retry_note: str = "", temperature: float = 0.0) -> ActionEdit:
    """The function's body from the chat answer; ``retry_note``: what the last one missed."""
    shape = job.function()
    answer = await job.ask_chat(retry_note=retry_note, function=shape.name, temperature=temperature)
    parts = parse_code(answer, shape.name)
    if not parts.body.strip():
        raise Unusable("the model's answer held no function body")
    change = job.document_change(
        [body_edit(job.snapshot, shape, parts.body), *job.import_edits(parts.imports)]
    )
    return ActionEdit((change,), job.shown(change, shape.header_end))


async def fim_stub(job: Job) -> ActionEdit:
    """The body infilled at a blank line where the placeholder was."""
    shape = job.function()
    text = job.snapshot.text
    lines = job.snapshot.lines
    if shape.statements:
        row, _ = lines.position_at(shape.statements[0][0], "utf-32")
        start = lines.starts[row]
        virtual = text[:start] + shape.body_indent + text[shape.statements[-1][1] :]
        cursor = start + len(shape.body_indent)
    else:
        assert shape.docstring is not None
        at = shape.docstring[1]
        virtual = text[:at] + "\n" + shape.body_indent + text[at:]
        cursor = at + 1 + len(shape.body_indent)
    completion = await job.model.ask_fim(virtual, cursor)
    body = textwrap.dedent(shape.body_indent + completion)
    change = job.document_change([body_edit(job.snapshot, shape, body)])
    return ActionEdit((change,), job.shown(change, shape.header_end))


def examples_check(job: Job) -> ExamplesCheck | None:
    """What checks an edit against the stub's docstring examples; None if there are none.

    Only a top-level function written for its stub is checked (a method's examples need
    an object, which the docstring may not say how to make).
    """
    site = job.site
    if site.action is not ActionKind.GENERATE or site.target is not Target.STUB:
        return None
    shape = function_at(job.snapshot, site.start)
    if shape is None or shape.indent or shape.class_name or shape.docstring is None:
        return None
    docstring = job.snapshot.text[shape.docstring[0] : shape.docstring[1]]
    name = shape.name
    examples = find_examples(docstring, name)
    if not examples.total:
        return None

    async def check(edit: ActionEdit) -> ExamplesResult:
        source = edit.changes[0].result
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, check_examples, source, name, examples)

    return check
