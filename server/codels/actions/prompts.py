"""What the model is asked for a code action, and how its answer is read.

Instruction prompts with their context, the stop rules that end an answer, and the code, imports
and wanted function read out of it. Imports :mod:`codels.actions.sites`, :mod:`codels.documents`,
:mod:`codels.languages` and :mod:`codels.positions`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from codels.actions.sites import ActionKind, Site, Target, function_at, functions_in
from codels.documents import DocumentSnapshot
from codels.languages.python.functions import (
    comment_prose,
    definition_pattern,
    function_end_index,
    line_start_text,
    parse,
    read_function,
)
from codels.languages.python.scopes import enclosing_scopes, module_imports
from codels.positions import LineIndex

SYSTEM = (
    "You are an expert Python programmer. Answer with Python code in one ```python code block "
    "and nothing else."
)
MAX_NEIGHBOURS = 8
"""Most signatures of neighbouring functions given as context."""


@dataclass(frozen=True)
class ChatPrompt:
    """An instruction prompt: the system text and the user's message."""

    system: str
    user: str


def context_text(snapshot: DocumentSnapshot, site: Site) -> str:
    """What the model should see besides the target: imports, class, neighbour signatures."""
    tree = snapshot.tree
    if tree is None:
        return ""
    lines = snapshot.lines
    parts: list[str] = []
    imports = [snippet.text for snippet in module_imports(tree, lines)]
    if imports:
        parts.append("\n".join(imports))
    scopes = enclosing_scopes(tree, lines, site.start)
    classes = [scope for scope in scopes if scope.kind == "class"]
    neighbours = [
        shape
        for shape in functions_in(snapshot)
        if not (shape.start <= site.start < shape.end) and not shape.name.startswith("test_")
    ]
    neighbours.sort(key=lambda shape: abs(shape.start - site.start))
    chosen = sorted(neighbours[:MAX_NEIGHBOURS], key=lambda shape: shape.start)
    if classes:
        parts.append(classes[-1].indent + classes[-1].header.text)
    if chosen:
        parts.append(
            "\n".join(
                f"{textwrap.dedent(line_start_text(lines, s.start, s.header_end))} ..."
                for s in chosen
            )
        )
    return "\n\n".join(parts)


def _fence(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def chat_prompt(
    snapshot: DocumentSnapshot,
    site: Site,
    *,
    retry_note: str = "",
    module: str = "",
    with_context: bool = True,
) -> ChatPrompt:
    """The instruction prompt for ``site``; ``retry_note`` says what was wrong last time.

    ``module`` is the importable name of the file (for tests); ``with_context`` False leaves
    out the imports and neighbouring signatures (when the prompt would not fit).
    """
    context = context_text(snapshot, site) if with_context else ""
    if site.target is Target.COMMENT:
        task = _comment_task(snapshot, site)
    elif site.target is Target.TODO:
        task = _todo_task(snapshot, site)
    else:
        task = _function_task(snapshot, site, module)
    if retry_note:
        task += f"\n{retry_note}"
    if not context:
        return ChatPrompt(SYSTEM, task)
    return placed_with_context(
        SYSTEM, task, _fence(context), snapshot.uri, site.target, "the module"
    )


def placed_with_context(
    system: str, task: str, fenced: str, uri: str, target: Target, unnamed: str
) -> ChatPrompt:
    """The chat prompt of ``task`` with the file's other code (``fenced``) for context.

    Named by the file of ``uri`` (``unnamed`` where it has no name): before the task for a
    comment's function, after it otherwise.
    """
    name = PurePosixPath(urlparse(uri).path).name or unnamed
    if target is Target.COMMENT:
        # The task comes last: with the file's signatures after it, the 0.5B model wrote
        # those functions instead of the one the comment asks for.
        opening = f"{name} already has this code (context only; do not write it again):\n"
        return ChatPrompt(system, f"{opening}{fenced}\n\n{task}")
    closing = f"\n\nFor reference only (do not repeat it), {name} also has:\n{fenced}"
    return ChatPrompt(system, task + closing)


def has_reference(snapshot: DocumentSnapshot, site: Site) -> bool:
    """Whether the site's prompt carries the file's context (a retry without it differs)."""
    return bool(context_text(snapshot, site))


def _comment_task(snapshot: DocumentSnapshot, site: Site) -> str:
    comment = comment_prose(snapshot.text[site.start : site.end])
    naming = f" Name it `{site.name}`." if site.name else ""
    return (
        "Write the Python function that this comment describes:\n"
        f"{_fence(textwrap.indent(comment, '# '))}\n"
        f"Reply with the complete function (def line and body) in one ```python code "
        f"block.{naming}"
    )


def _todo_task(snapshot: DocumentSnapshot, site: Site) -> str:
    shape = function_at(snapshot, site.start)
    span = (shape.start, shape.end) if shape is not None else (site.start, site.end)
    function = textwrap.dedent(line_start_text(snapshot.lines, *span))
    todo = comment_prose(snapshot.text[site.start : site.end])
    return (
        f"Implement this TODO in the function below: {todo}\n{_fence(function)}\nKeep the "
        "rest of the function as it is. Reply with the complete function in one ```python "
        "code block."
    )


def _function_task(snapshot: DocumentSnapshot, site: Site, module: str) -> str:
    """The task for an action on a whole function: generate, docstring, fix or tests."""
    function = textwrap.dedent(line_start_text(snapshot.lines, site.start, site.end))
    if site.action is ActionKind.GENERATE:
        return (
            "Complete this Python function: keep its signature and docstring and write "
            f"its body.\n{_fence(function)}\nReply with the complete function in one "
            "```python code block."
        )
    if site.action is ActionKind.DOCSTRING:
        return (
            "Add a docstring to this Python function (a summary line, then the arguments "
            f"and what it returns).\n{_fence(function)}\nReply with the function and its "
            "new docstring in one ```python code block."
        )
    if site.action is ActionKind.FIX:
        problems = "\n".join(f"- {problem}" for problem in site.diagnostics)
        return (
            f"A checker reported these problems in the function below:\n{problems}\n\n"
            f"{_fence(function)}\nRewrite the function so that the problems are gone and "
            "it still does what it is meant to. Reply with the corrected function in one "
            "```python code block."
        )
    subject = site.name
    target = _import_target(site, snapshot)
    return (
        f"Write pytest tests for the function `{subject}` of the module `{module}`:\n"
        f"{_fence(function)}\nStart with `from {module} import {target}`. Write a few "
        "small test functions named test_..., with plain assert statements. Do not "
        "repeat the function itself. Reply with the test code in one ```python code "
        "block."
    )


def _import_target(site: Site, snapshot: DocumentSnapshot) -> str:
    shape = function_at(snapshot, site.start)
    return shape.class_name if shape is not None and shape.class_name else site.name


def chat_should_stop(text: str) -> bool:
    """Generation-time rule for a chat answer: stop once the code block is closed."""
    opened = text.find("```")
    return opened != -1 and text.find("```", opened + 3) != -1


def chat_stop_rule(function: str | None) -> Callable[[str], bool]:
    """Stop a chat answer when its code block closes, or once a function is written out.

    ``function`` names the function ("" for the first one); None waits for the block's end.
    """
    if function is None:
        return chat_should_stop
    pattern = definition_pattern(function)

    def should_stop(text: str) -> bool:
        if chat_should_stop(text):
            return True
        match = pattern.search(text)
        if match is None:
            return False
        indent = match.group(1)
        return function_end_index(text[match.start() + len(indent) :], indent) is not None

    return should_stop


# -- reading answers ---------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"```[ \t]*(?:[A-Za-z][\w+#-]*)?[ \t]*\n")
"""A code block's opening fence, with any language tag (``python``, ``rust``, ``c++``)."""


def extract_code(answer: str) -> str:
    """The code in a model's answer: the first fenced block (closed or not), else all of it."""
    match = _FENCE_OPEN.search(answer)
    if match is None:
        stripped = answer.strip()
        return stripped.strip("`") if stripped.startswith("```") else answer
    rest = answer[match.end() :]
    close = rest.find("```")
    return rest if close == -1 else rest[:close]


@dataclass(frozen=True)
class CodeParts:
    """What a piece of generated code holds: its imports and the wanted function."""

    imports: tuple[str, ...]
    function: str
    """The whole function (decorators, signature, body), dedented; "" if none was found."""
    body: str
    """The function's statements after its docstring, dedented; "" if none."""
    docstring: str
    """The function's docstring statement as written ("" if none)."""
    name: str


def parse_code(code: str, name: str = "") -> CodeParts:
    """Find the function ``name`` (with no name, the first function) and the imports."""
    tree = parse(code)
    lines = LineIndex.of(code)
    imports = tuple(snippet.text for snippet in module_imports(tree, lines))
    found = read_function(tree, lines, name)
    return CodeParts(imports, found.function, found.body, found.docstring, found.name)


def defined_names(code: str) -> list[str]:
    """The names of the functions ``code`` defines, in order (for saying what it wrote)."""
    return [match.group(2) for match in _DEFINITION.finditer(code)]


_DEFINITION = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
