"""Fill-in-the-middle generation, shared by completions and code actions.

The prompt for a context (with the token counter), stop strings and rule, the engine request and
the cleaning of the answer; callers run the request. Imports the other pipeline stages,
:mod:`codels.engines.base` and :mod:`codels.models.catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codels.engines.base import FimParts, GenerationRequest
from codels.models.catalogue import Family
from codels.pipeline.context import CompletionContext
from codels.pipeline.postprocess import Cleaned, StopRule, clean_completion, stop_rule
from codels.pipeline.prompt import Prompt, PromptBudget, TokenCounter, build_prompt


@dataclass(frozen=True)
class Infill:
    """The FIM prompt for one context, with its stop strings, stop rule and cleaning."""

    context: CompletionContext
    prompt: Prompt
    stop: tuple[str, ...]
    """The family's cut strings (none without a family)."""

    def stop_rule(self) -> StopRule:
        """The generation-time stop rule for the context (a new one each call)."""
        return stop_rule(self.context, self.prompt.healed)

    def request(
        self,
        *,
        max_tokens: int,
        key: str,
        should_stop: Callable[[str], bool],
        parts: FimParts | None = None,
        no_leading_space: bool = False,
        background: bool = False,
        avoid_repeat: bool = False,
    ) -> GenerationRequest:
        """The engine request for this prompt.

        ``avoid_repeat``: on a blank line, ask the engine for another first line than the
        line that follows (:attr:`GenerationRequest.avoid_line`).
        """
        return GenerationRequest(
            prompt=self.prompt.text,
            max_tokens=max_tokens,
            key=key,
            stop=self.stop,
            should_stop=should_stop,
            parts=parts,
            no_leading_space=no_leading_space,
            background=background,
            avoid_line=line_after_blank_cursor(self.context) if avoid_repeat else "",
        )

    def clean(self, text: str, *, truncated: bool) -> Cleaned:
        """The model's answer ``text`` post-processed for the context."""
        return clean_completion(
            text, self.context, healed=self.prompt.healed, stop=self.stop, truncated=truncated
        )


def line_after_blank_cursor(context: CompletionContext) -> str:
    """The first non-blank line after the cursor, stripped, when the cursor line is blank.

    "" when the cursor line holds text, or nothing follows within the suffix window.
    """
    if context.line_prefix.strip() or context.line_suffix.strip():
        return ""
    for line in context.suffix.split("\n")[1:]:
        if line.strip():
            return line.strip()
    return ""


def fim_parts(prompt: Prompt, uri: str) -> FimParts:
    """The prompt's pieces for a server that assembles the infilling prompt itself."""
    cut = prompt.prefix.rfind("\n") + 1
    name = uri.rsplit("/", 1)[-1]
    return FimParts(
        prefix=prompt.prefix[:cut],
        suffix=prompt.suffix,
        volatile=prompt.prefix[cut:],
        extra=((name, prompt.extra),) if prompt.extra else (),
    )


def prepare_infill(
    context: CompletionContext, family: Family | None, count: TokenCounter, budget: PromptBudget
) -> Infill:
    """Lay ``context`` out in ``family``'s FIM template within ``budget`` (tokens by ``count``)."""
    prompt = build_prompt(context, family, count, budget)
    return Infill(context, prompt, family.cut_strings if family else ())
