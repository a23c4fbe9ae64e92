"""Explain code: a short explanation from the model of the selection or the function at a cursor.

The model gets the instruction (chat) prompt the other actions use, asking for prose; the answer
is shown to the person and never edited into the file. It is bounded twice: in tokens
(:data:`EXPLAIN_MAX_TOKENS`, and never more than ``actionMaxTokens``) and in time
(:data:`EXPLAIN_TIME_BUDGET_S`); an answer cut short ends at its last whole sentence. The code is
found through the document's :class:`~codels.languages.base.Language` (its scope node types and
imports), so any language codels reads can be explained. Imports the actions gateway, errors and
prompts, config, documents, :mod:`codels.languages` (base and trees) and positions.
"""

from __future__ import annotations

import re
import textwrap
import time
from dataclasses import dataclass

import tree_sitter

from codels.actions.errors import ActionError
from codels.actions.gateway import PROMPT_MARGIN_TOKENS, ModelGateway
from codels.actions.prompts import ChatPrompt
from codels.config import Settings
from codels.documents import DocumentSnapshot
from codels.languages.base import Language
from codels.languages.trees import node_before

EXPLAIN_MAX_TOKENS = 256
"""Most tokens of an explanation: a few sentences, about six seconds of decoding at 44 tokens/s
(the 0.5B model on two cores)."""
EXPLAIN_TIME_BUDGET_S = 30.0
"""After this long the explanation stops where it is (cut back to its last whole sentence)."""
MAX_CONTEXT_CHARS = 1500
"""Most characters of imports and enclosing class given besides the code."""
SYSTEM = (
    "You are an expert programmer who explains code to a colleague. Answer in a few short "
    "sentences of plain English (Markdown is fine, inline `code` too), without code blocks "
    "and without rewriting the code."
)
_SENTENCE_END = re.compile(r"[.!?:][)\"'`*]*(?=\s|$)|\n\s*\n")
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class ExplainTarget:
    """The code to explain: where it is and what it is."""

    start: int
    """Code-point offset where the code starts (a whole line's start for a function)."""
    end: int
    code: str
    """The code, dedented."""
    subject: str
    """What it is, for the prompt and titles: ``the function `area```, ``the selected code``."""
    name: str = ""
    """The function's name ("" for a selection)."""


@dataclass(frozen=True)
class Explanation:
    """A finished explanation."""

    markdown: str
    target: ExplainTarget
    generated_tokens: int
    total_ms: float
    truncated: bool
    """Cut short (by the token or time bound) and ended at its last whole sentence."""


def explain_target(snapshot: DocumentSnapshot, start: int, end: int) -> ExplainTarget:
    """The selection ``start``-``end`` if it holds code, else the function around ``start``.

    Raises :class:`ActionError` where there is neither.
    """
    start, end = min(start, end), max(start, end)
    text = snapshot.text
    if text[start:end].strip():
        code = textwrap.dedent(_from_line_start(text, start, end)).strip("\n")
        return ExplainTarget(start, end, code, "the selected code")
    language, tree = snapshot.language, snapshot.tree
    found = None
    if language is not None and tree is not None:
        found = function_around(language, tree, snapshot, start)
    if found is None:
        raise ActionError(
            "there is no function at the cursor to explain: put the cursor inside a function, "
            "or select the code to explain"
        )
    node_start, node_end, name = found
    code = textwrap.dedent(_from_line_start(text, node_start, node_end)).strip("\n")
    return ExplainTarget(node_start, node_end, code, f"the function `{name}`", name)


def _from_line_start(text: str, start: int, end: int) -> str:
    """``text[start:end]`` from the start of ``start``'s line (so that dedenting works)."""
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    return text[line_start:end] if not prefix.strip() else text[start:end]


def function_around(
    language: Language, tree: tree_sitter.Tree, snapshot: DocumentSnapshot, offset: int
) -> tuple[int, int, str] | None:
    """Start, end and name of the innermost function whose node covers ``offset``.

    A node that wraps the function and ends where it ends (Python's decorators, an ``export``)
    is included. On a blank line the last code before the cursor decides.
    """
    lines = snapshot.lines
    byte = lines.byte_offset(offset)
    node: tree_sitter.Node | None = tree.root_node.descendant_for_byte_range(byte, byte)
    if node is None or node.type == tree.root_node.type:
        anchor = offset
        while anchor > 0 and snapshot.text[anchor - 1].isspace():
            anchor -= 1
        node = node_before(tree, lines, anchor)
    while node is not None and language.nodes.scopes.get(node.type) != "function":
        node = node.parent
    if node is None:
        return None
    outer = node
    while (
        outer.parent is not None
        and outer.parent.parent is not None  # never the whole module
        and outer.parent.end_byte == node.end_byte
        and outer.parent.type not in language.nodes.scopes
    ):
        outer = outer.parent
    name_node = node.child_by_field_name("name")
    name = name_node.text.decode("utf-8", "replace") if name_node and name_node.text else ""
    return (
        lines.offset_of_point(outer.start_point.row, outer.start_point.column),
        lines.offset_of_point(node.end_point.row, node.end_point.column),
        name or "(anonymous)",
    )


def context_of(snapshot: DocumentSnapshot, target: ExplainTarget) -> str:
    """The file's imports and the class around the code, as the language reads them."""
    language, tree = snapshot.language, snapshot.tree
    if language is None or tree is None:
        return ""
    parts = [snippet.text for snippet in language.module_imports(tree, snapshot.lines)]
    classes = [
        scope
        for scope in language.enclosing_scopes(tree, snapshot.lines, target.start)
        if scope.kind == "class"
    ]
    if classes:
        parts.append(classes[-1].indent + classes[-1].header.text)
    context = "\n".join(parts)
    return context if len(context) <= MAX_CONTEXT_CHARS else context[:MAX_CONTEXT_CHARS]


def explain_prompt(
    snapshot: DocumentSnapshot, target: ExplainTarget, *, with_context: bool = True
) -> ChatPrompt:
    """The instruction prompt that asks for an explanation of ``target``."""
    language = snapshot.language.name if snapshot.language is not None else ""
    task = (
        f"Explain {target.subject} below in 2 to 4 short sentences: what it does, what it "
        "takes and returns, and anything surprising (edge cases, side effects).\n"
        f"```{language}\n{target.code.rstrip()}\n```"
    )
    context = context_of(snapshot, target) if with_context else ""
    if context:
        task += f"\n\nFor reference, the file also has:\n```{language}\n{context}\n```"
    return ChatPrompt(SYSTEM, task)


def read_explanation(answer: str, *, truncated: bool) -> str:
    """The explanation in a model's answer, code blocks taken out.

    One ``truncated`` ends at its last whole sentence (or, with none, in an ellipsis).
    """
    text = _FENCED.sub("", answer).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    if truncated and text:
        ends = [match.end() for match in _SENTENCE_END.finditer(text)]
        text = text[: ends[-1]].rstrip() if ends else text.rstrip() + "…"
    return text


async def explain(
    model: ModelGateway, snapshot: DocumentSnapshot, start: int, end: int, settings: Settings
) -> Explanation:
    """Ask the model to explain the code at ``start``-``end``; :class:`ActionError` if it cannot."""
    started = time.perf_counter()
    target = explain_target(snapshot, start, end)
    max_tokens = min(EXPLAIN_MAX_TOKENS, settings.action_max_tokens)
    room = settings.context_size - max_tokens - PROMPT_MARGIN_TOKENS
    code_tokens = model.counter(target.code)
    if code_tokens > room:
        raise ActionError(
            f"{target.subject} is too long to explain ({code_tokens} tokens; the "
            f"model's context leaves room for {room}): select a part of it"
        )
    deadline = time.monotonic() + EXPLAIN_TIME_BUDGET_S

    def out_of_time(_text: str) -> bool:
        return time.monotonic() > deadline

    answer, stop_reason = await model.ask_prose(
        lambda with_context: explain_prompt(snapshot, target, with_context=with_context),
        max_tokens=max_tokens,
        should_stop=out_of_time,
    )
    truncated = stop_reason in ("length", "rule")
    markdown = read_explanation(answer, truncated=truncated)
    if not markdown:
        raise ActionError("the model's answer held no explanation; try again, or select less code")
    return Explanation(
        markdown,
        target,
        model.generated,
        (time.perf_counter() - started) * 1000,
        truncated,
    )
