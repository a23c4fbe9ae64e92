"""Adding a docstring to a function: FIM between the quotes, then chat.

Either way the words become a triple-quoted docstring at the body's indentation.
Imports the actions modules below it, :mod:`codels.engines.base` and :mod:`codels.languages`.
"""

from __future__ import annotations

from codels.actions.edits import ActionEdit, docstring_edit
from codels.actions.errors import Unusable
from codels.actions.job import Attempt, Job
from codels.actions.prompts import parse_code
from codels.engines.base import GenerationRequest
from codels.languages.python.functions import (
    DOCSTRING_OPEN,
    before_closing_quotes,
    closes_docstring,
    docstring_words,
    format_docstring,
)

DOCSTRING_MAX_TOKENS = 160
"""A docstring rarely needs more."""
PREFIX_CHARS = 12_000
"""Most of the text before the docstring put in the infilling prompt."""
SUFFIX_CHARS = 2_000
"""Most of the function after the signature put in it."""


def attempts(job: Job) -> list[Attempt]:
    """FIM between the quotes, then chat."""
    return [("fim", lambda: fim_docstring(job)), ("chat", lambda: chat_docstring(job))]


async def fim_docstring(job: Job) -> ActionEdit:
    """The docstring's words infilled between opening and closing quotes."""
    shape = job.function()
    family = job.model.family()
    if family is None:
        raise Unusable("this model cannot infill")
    text = job.snapshot.text
    lines = job.snapshot.lines
    header_line_end = lines.starts[shape.header_row] + len(lines.line_text(shape.header_row))
    prefix = text[:header_line_end] + "\n" + shape.body_indent + DOCSTRING_OPEN
    prefix = prefix[-PREFIX_CHARS:]
    suffix = "\n" + text[header_line_end + 1 : shape.end][:SUFFIX_CHARS] + "\n"
    request = GenerationRequest(
        prompt=family.fim_prompt(prefix, suffix),
        max_tokens=DOCSTRING_MAX_TOKENS,
        key=job.model.key,
        stop=family.cut_strings,
        should_stop=closes_docstring,
    )
    result = await job.model.generate(request)
    words = before_closing_quotes(result.text)
    for marker in family.cut_strings:
        words = words.split(marker, 1)[0]
    if result.stop_reason == "length" and "\n" in words:
        words = words[: words.rfind("\n")]
    if not words.strip() or len(words.split()) < 2:
        raise Unusable("the model wrote no docstring")
    docstring = format_docstring(words, shape.body_indent)
    change = job.document_change([docstring_edit(shape, docstring)])
    return ActionEdit((change,), job.shown(change, shape.start))


async def chat_docstring(job: Job) -> ActionEdit:
    """The docstring of the function the chat answer gives back."""
    shape = job.function()
    parts = parse_code(await job.ask_chat(function=shape.name), shape.name)
    if not parts.docstring:
        raise Unusable("the model's answer held no docstring")
    docstring = format_docstring(docstring_words(parts.docstring), shape.body_indent)
    change = job.document_change([docstring_edit(shape, docstring)])
    return ActionEdit((change,), job.shown(change, shape.start))
