"""Code actions in a brace language: a function, a stub's body, a TODO, a doc comment.

FIM and chat, in the order Python's actions of the same kind use them.

Every edit is judged by the runner with the language's tree-sitter grammar (no new ERROR or
MISSING node), as Python's are. Imports the actions modules below the strategies,
:mod:`codels.documents`, :mod:`codels.engines.base` and :mod:`codels.languages`.
"""

from __future__ import annotations

import textwrap

from codels.actions.brace_prompts import brace_functions_at
from codels.actions.edits import ActionEdit, FileChange, TextEdit
from codels.actions.errors import ActionError, Unusable
from codels.actions.job import Attempt, Job, brace_function_text
from codels.actions.site_types import ActionKind, Target
from codels.actions.todo import fim_todo
from codels.engines.base import GenerationRequest
from codels.languages import brace_functions
from codels.languages.base import FunctionSyntax, Language
from codels.languages.brace_functions import BraceFunction, WrittenFunction, indent_lines

DOC_MAX_TOKENS = 80
"""A doc comment's summary line rarely needs more."""
PREFIX_CHARS = 12_000
"""Most of the text before the doc comment put in the infilling prompt."""
SUFFIX_CHARS = 2_000
"""Most of the function after it put in the prompt."""


def attempts(job: Job) -> list[Attempt]:
    """The attempts for a brace-language site, in the order Python's action of its kind uses."""
    site = job.site
    if site.action is ActionKind.DOCSTRING:
        return [("fim", lambda: fim_doc(job)), ("chat", lambda: chat_doc(job))]
    if site.target is Target.TODO:
        return [("fim", lambda: fim_todo(job)), ("chat", lambda: chat_rewrite(job))]
    if site.target is Target.COMMENT:
        chat: Attempt = ("chat", lambda: chat_comment(job))
        fim: Attempt = ("fim", lambda: fim_comment(job))
    else:
        chat = ("chat", lambda: chat_stub(job))
        fim = ("fim", lambda: fim_stub(job))
    return [fim, chat] if job.settings.action_prompt == "fim" else [chat, fim]


def _language(job: Job) -> tuple[Language, FunctionSyntax]:
    language = job.snapshot.language
    if language is None or language.functions is None:
        raise ActionError("this document's language has no code actions")
    return language, language.functions


def _function(job: Job) -> BraceFunction:
    shape = brace_functions_at(job.snapshot, job.site)
    if shape is None:
        raise ActionError("the function is gone")
    return shape


def _shown(job: Job, change: FileChange, at: int, start: int | None = None) -> str:
    """The function around ``at`` of the edited text, from ``start``'s line if given."""
    return brace_function_text(change, job.snapshot.language_id, at, start)


async def _chat_function(job: Job, name: str) -> WrittenFunction:
    language, _ = _language(job)
    code = await job.ask_chat(function=None)
    written = brace_functions.written_function(language, code, name)
    if written is None:
        raise Unusable(f"the model's answer held no function {name}".rstrip())
    return written


# -- a function from its comment ---------------------------------------------------------------


async def chat_comment(job: Job) -> ActionEdit:
    """A new function below the comment, from the chat answer."""
    written = await _chat_function(job, job.site.name)
    return _below_comment(job, written.function)


async def fim_comment(job: Job) -> ActionEdit:
    """A new function infilled on a blank line below the comment, until its body closes."""
    language, _ = _language(job)
    site = job.site
    text = job.snapshot.text
    virtual = text[: site.end] + "\n" + site.indent + text[site.end :]
    cursor = site.end + 1 + len(site.indent)
    completion = await job.model.ask_fim(
        virtual, cursor, end_at=lambda answer: brace_functions.function_end(language, answer)
    )
    function = textwrap.dedent(site.indent + completion).strip("\n")
    if brace_functions.written_function(language, function) is None:
        raise Unusable("the model wrote no function")
    return _below_comment(job, function)


def _below_comment(job: Job, function: str) -> ActionEdit:
    site = job.site
    edit = TextEdit(site.end, site.end, "\n" + indent_lines(function, site.indent))
    change = job.document_change([edit])
    return ActionEdit((change,), _shown(job, change, site.end + 1 + len(site.indent), site.start))


# -- a stub's body -----------------------------------------------------------------------------


async def chat_stub(job: Job) -> ActionEdit:
    """The stub's body from the chat answer's function of the same name."""
    shape = _function(job)
    written = await _chat_function(job, shape.name)
    if written.is_stub or not written.body.strip():
        raise Unusable("the model's answer left the function a stub")
    return _with_body(job, shape, written.body)


async def fim_stub(job: Job) -> ActionEdit:
    """The body infilled on a blank line where the placeholder was."""
    shape = _function(job)
    text = job.snapshot.text
    inside = "\n" + shape.body_indent
    virtual = text[: shape.body_open + 1] + inside + "\n" + shape.indent + text[shape.body_close :]
    cursor = shape.body_open + 1 + len(inside)
    completion = await job.model.ask_fim(virtual, cursor)
    body = textwrap.dedent(shape.body_indent + completion).strip("\n")
    _, syntax = _language(job)
    if not body.strip() or syntax.stub.fullmatch(" ".join(body.split())):
        raise Unusable("the model wrote no body")
    return _with_body(job, shape, body)


def _with_body(job: Job, shape: BraceFunction, body: str) -> ActionEdit:
    new_body = "\n" + indent_lines(body, shape.body_indent) + "\n" + shape.indent
    change = job.document_change([TextEdit(shape.body_open + 1, shape.body_close, new_body)])
    return ActionEdit((change,), _shown(job, change, shape.body_open))


# -- a TODO ------------------------------------------------------------------------------------


async def chat_rewrite(job: Job) -> ActionEdit:
    """The whole function replaced by the chat answer's version of it."""
    shape = _function(job)
    written = await _chat_function(job, shape.name)
    lines = job.snapshot.lines
    line_start = lines.starts[shape.first_row]
    original = textwrap.dedent(job.snapshot.text[line_start : shape.end])
    if "".join(original.split()) == "".join(written.function.split()):
        raise Unusable("the model gave the function back unchanged")
    edit = TextEdit(line_start, shape.end, indent_lines(written.function, shape.indent))
    change = job.document_change([edit])
    return ActionEdit((change,), _shown(job, change, line_start + len(shape.indent)))


# -- a doc comment -----------------------------------------------------------------------------


async def fim_doc(job: Job) -> ActionEdit:
    """The doc comment's first sentence infilled after its opening marker."""
    _, syntax = _language(job)
    shape = _function(job)
    family = job.model.family()
    if family is None:
        raise Unusable("this model cannot infill")
    text = job.snapshot.text
    line_start = job.snapshot.lines.starts[shape.first_row]
    indent = shape.indent
    if syntax.doc_style == "/**":
        lead, close = f"{indent}/**\n{indent} * ", f"\n{indent} */"
    else:
        name = f"{shape.name} " if syntax.doc_style == "//" else ""
        lead, close = f"{indent}{syntax.doc_style} {name}", ""
    prefix = (text[:line_start] + lead)[-PREFIX_CHARS:]
    suffix = (close + "\n" + text[line_start : shape.end])[:SUFFIX_CHARS] + "\n"
    request = family_request(job, family.fim_prompt(prefix, suffix), family.cut_strings)
    result = await job.model.generate(request)
    words = result.text.split("\n", 1)[0].split("*/", 1)[0]
    for marker in family.cut_strings:
        words = words.split(marker, 1)[0]
    if len(words.split()) < 2:
        raise Unusable("the model wrote no doc comment")
    if syntax.doc_style == "//":
        words = f"{shape.name} {words.strip()}"
    return _with_doc(job, shape, words)


def family_request(job: Job, prompt: str, stop: tuple[str, ...]) -> GenerationRequest:
    """A request for one line of a doc comment."""
    return GenerationRequest(
        prompt=prompt,
        max_tokens=DOC_MAX_TOKENS,
        key=job.model.key,
        stop=stop,
        should_stop=lambda answer: "\n" in answer,
    )


async def chat_doc(job: Job) -> ActionEdit:
    """The doc comment the chat answer puts above its copy of the function."""
    shape = _function(job)
    written = await _chat_function(job, shape.name)
    words = brace_functions.doc_words(written.doc)
    if len(words.split()) < 2:
        raise Unusable("the model's answer held no doc comment")
    return _with_doc(job, shape, words)


def _with_doc(job: Job, shape: BraceFunction, words: str) -> ActionEdit:
    _, syntax = _language(job)
    line_start = job.snapshot.lines.starts[shape.first_row]
    doc = brace_functions.doc_comment(syntax, shape.name, words, shape.indent)
    change = job.document_change([TextEdit(line_start, line_start, doc + "\n")])
    at = line_start + len(doc) + 1 + len(shape.indent)
    return ActionEdit((change,), _shown(job, change, at, line_start))
