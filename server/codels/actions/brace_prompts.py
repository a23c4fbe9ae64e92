"""What the model is asked for a code action in a brace language, in that language's words.

The same shape as Python's prompts (:mod:`.prompts`): the file's imports and neighbouring
signatures as context, the task last for a comment and first otherwise. Imports the actions'
site types and :class:`~codels.actions.prompts.ChatPrompt`, :mod:`codels.documents` and
:mod:`codels.languages`.
"""

from __future__ import annotations

import textwrap

from codels.actions.prompts import ChatPrompt, placed_with_context
from codels.actions.site_types import ActionKind, Site, Target
from codels.documents import DocumentSnapshot
from codels.languages import brace_functions
from codels.languages.base import FunctionSyntax

MAX_NEIGHBOURS = 8
"""Most signatures of neighbouring functions given as context."""


def _syntax(snapshot: DocumentSnapshot) -> FunctionSyntax:
    language = snapshot.language
    assert language is not None and language.functions is not None
    return language.functions


def system_text(syntax: FunctionSyntax) -> str:
    """The system message: an expert of the language who answers with one code block."""
    return (
        f"You are an expert {syntax.display_name} programmer. Answer with "
        f"{syntax.display_name} code in one ```{syntax.fence} code block and nothing else."
    )


def fence(syntax: FunctionSyntax, code: str) -> str:
    """``code`` in a Markdown code block of the language."""
    return f"```{syntax.fence}\n{code.rstrip()}\n```"


def context_text(snapshot: DocumentSnapshot, site: Site) -> str:
    """The file's imports and the signatures of the functions nearest the site."""
    language, tree = snapshot.language, snapshot.tree
    if language is None or tree is None:
        return ""
    lines = snapshot.lines
    parts: list[str] = []
    imports = [snippet.text for snippet in language.module_imports(tree, lines)]
    if imports:
        parts.append("\n".join(imports))
    neighbours = [
        shape
        for shape in brace_functions.functions_in(language, tree, lines)
        if not (shape.start <= site.start < shape.end)
    ]
    neighbours.sort(key=lambda shape: abs(shape.start - site.start))
    chosen = sorted(neighbours[:MAX_NEIGHBOURS], key=lambda shape: shape.start)
    signatures = [
        textwrap.dedent(snapshot.text[lines.starts[s.first_row] : s.body_open + 1]) + " ... }"
        for s in chosen
    ]
    if signatures:
        parts.append("\n".join(signatures))
    return "\n\n".join(parts)


def chat_prompt(
    snapshot: DocumentSnapshot, site: Site, *, retry_note: str = "", with_context: bool = True
) -> ChatPrompt:
    """The instruction prompt for ``site``; ``retry_note`` says what was wrong last time."""
    syntax = _syntax(snapshot)
    context = context_text(snapshot, site) if with_context else ""
    task = _task(snapshot, site, syntax)
    if retry_note:
        task += f"\n{retry_note}"
    system = system_text(syntax)
    if not context:
        return ChatPrompt(system, task)
    return placed_with_context(
        system, task, fence(syntax, context), snapshot.uri, site.target, "the file"
    )


def _task(snapshot: DocumentSnapshot, site: Site, syntax: FunctionSyntax) -> str:
    lang, tag = syntax.display_name, syntax.fence
    reply = f"Reply with the complete function in one ```{tag} code block."
    if site.target is Target.COMMENT:
        comment = snapshot.text[site.start : site.end]
        naming = f" Name it `{site.name}`." if site.name else ""
        return (
            f"Write the {lang} function that this comment describes:\n"
            f"{fence(syntax, textwrap.dedent(site.indent + comment))}\n"
            f"Reply with the complete function (signature and body) in one ```{tag} code "
            f"block.{naming}"
        )
    shape = brace_functions_at(snapshot, site)
    lines = snapshot.lines
    # The doc comment above a stub says what to write: it goes with the function.
    first = lines.starts[lines.position_at(shape.doc_start, "utf-32")[0]] if shape else 0
    span = (first, shape.end) if shape else (site.start, site.end)
    function = fence(syntax, textwrap.dedent(snapshot.text[span[0] : span[1]]))
    if site.target is Target.TODO:
        todo = brace_functions.comment_prose(snapshot.text[site.start : site.end])
        return (
            f"Implement this TODO in the {lang} function below: {todo}\n{function}\n"
            f"Keep the rest of the function as it is. {reply}"
        )
    if site.action is ActionKind.DOCSTRING:
        return (
            f"Write a doc comment for this {lang} function: a sentence that says what it "
            f"does and what it returns.\n{function}\nReply with the function and its new doc "
            f"comment right above it in one ```{tag} code block."
        )
    return (
        f"Complete this {lang} function: keep its signature and write its body in place of "
        f"the placeholder.\n{function}\n{reply}"
    )


def brace_functions_at(
    snapshot: DocumentSnapshot, site: Site
) -> brace_functions.BraceFunction | None:
    """The function the site is on (or in)."""
    language, tree = snapshot.language, snapshot.tree
    if language is None or tree is None:
        return None
    return brace_functions.function_at(language, tree, snapshot.lines, site.start)
