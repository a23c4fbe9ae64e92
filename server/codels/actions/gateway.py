"""How a code action asks the model: instruction (chat) prompts and fill-in-the-middle.

Requests run under the key ``<uri>#action`` (typing in the document does not stop them); engine
failures become :class:`~codels.actions.errors.ActionError`. Imports the actions prompts and
errors, config, documents, the pipeline (FIM through :mod:`codels.pipeline.fim`),
:mod:`codels.engines.base`, :mod:`codels.models.catalogue` and Python's functions in
:mod:`codels.languages`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from codels.actions.errors import ActionError, Unusable
from codels.actions.prompts import ChatPrompt, chat_stop_rule, extract_code
from codels.config import Settings
from codels.documents import Document
from codels.engines.base import Engine, GenerationRequest, GenerationResult, StopReason
from codels.languages.python.functions import function_end_index
from codels.models.catalogue import Family, ModelError
from codels.pipeline.context import CompletionKind, build_context
from codels.pipeline.fim import prepare_infill
from codels.pipeline.prompt import TokenCounter

PROMPT_MARGIN_TOKENS = 64
"""Room kept in the context window beside the prompt and the answer."""


class ModelGateway:
    """The model, as one action run asks it."""

    def __init__(
        self,
        engine: Engine,
        counter: TokenCounter,
        settings: Settings,
        uri: str,
        language_id: str = "python",
    ) -> None:
        self.engine = engine
        self.counter = counter
        self.settings = settings
        self.uri = uri
        self.language_id = language_id
        """The document's language id: infilling reads the text in its language."""
        self.generated = 0
        """Tokens generated so far, all attempts together."""

    @property
    def key(self) -> str:
        """The engine key of the action's requests."""
        return f"{self.uri}#action"

    def family(self) -> Family | None:
        """The loaded model's family (None: no model, or one that cannot infill)."""
        info = self.engine.info
        return info.family if info is not None else None

    def can_chat(self) -> bool:
        """Whether the model has an instruction template (for a retry that says what failed)."""
        family = self.family()
        return family is not None and bool(family.chat_template)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """The engine's answer to ``request``; a failure or a stop is an :class:`ActionError`."""
        try:
            result = await self.engine.generate(request)
        except ModelError as exc:
            raise ActionError(str(exc)) from exc
        except RuntimeError as exc:
            raise ActionError(f"the model cannot run now ({exc})") from exc
        if result.cancelled:
            raise ActionError("the generation was stopped")
        self.generated += result.generated_tokens
        return result

    async def ask_chat(
        self,
        prompt_for: Callable[[bool], ChatPrompt],
        *,
        function: str | None = None,
        temperature: float = 0.0,
    ) -> str:
        """The code block of the model's answer to an instruction prompt.

        ``prompt_for(with_context)`` builds the prompt; without context when it would not fit.
        With ``function`` (a name, or "" for the first function), generation stops once that
        function is written out.
        """
        family = self.family()
        if family is None or not family.chat_template:
            raise Unusable("this model has no instruction template")
        limit = self.settings.context_size - self.settings.action_max_tokens
        prompt = prompt_for(True)
        text = family.chat_prompt(prompt.system, prompt.user)
        if self.counter(text) > limit - PROMPT_MARGIN_TOKENS:
            prompt = prompt_for(False)
            text = family.chat_prompt(prompt.system, prompt.user)
        request = GenerationRequest(
            prompt=text,
            max_tokens=self.settings.action_max_tokens,
            key=self.key,
            stop=family.cut_strings,
            should_stop=chat_stop_rule(function),
            chat=(prompt.system, prompt.user),
            temperature=temperature,
        )
        result = await self.generate(request)
        code = extract_code(result.text)
        if not code.strip():
            raise Unusable("the model's answer held no code")
        return code

    async def ask_prose(
        self,
        prompt_for: Callable[[bool], ChatPrompt],
        *,
        max_tokens: int,
        should_stop: Callable[[str], bool] | None = None,
    ) -> tuple[str, StopReason]:
        """The model's whole answer to an instruction prompt (prose), and why it ended.

        ``prompt_for(with_context)`` builds the prompt; without context when it would not fit.
        """
        family = self.family()
        if family is None or not family.chat_template:
            raise ActionError(
                "the model has no instruction template, so it cannot explain code: pick an "
                "Instruct model (codels models list)"
            )
        limit = self.settings.context_size - max_tokens
        prompt = prompt_for(True)
        text = family.chat_prompt(prompt.system, prompt.user)
        if self.counter(text) > limit - PROMPT_MARGIN_TOKENS:
            prompt = prompt_for(False)
            text = family.chat_prompt(prompt.system, prompt.user)
        request = GenerationRequest(
            prompt=text,
            max_tokens=max_tokens,
            key=self.key,
            stop=family.cut_strings,
            should_stop=should_stop,
            chat=(prompt.system, prompt.user),
        )
        result = await self.generate(request)
        return result.text, result.stop_reason

    async def ask_fim(
        self,
        text: str,
        cursor: int,
        *,
        function_end: str | None = None,
        end_at: Callable[[str], int | None] | None = None,
        lead: str = "",
    ) -> str:
        """The completion at ``cursor`` of ``text`` (a blank line), as the pipeline cleans it.

        With ``function_end`` (an indentation), generation also stops at the first line
        indented no deeper than it after the function's body began. ``lead`` is text the
        answer must begin with (``def name(``): it ends the prompt, and the model goes on
        from it; the completion returned begins with it. ``end_at`` is another such end (where
        a brace function's body closes): the index it ends the answer at, or None.
        """
        info = self.engine.info
        if info is None:
            raise ActionError("the model is not loaded")
        snapshot = Document(self.uri, self.language_id, 0, text).snapshot()
        context = build_context(snapshot, cursor)
        if context.kind is not CompletionKind.BLOCK:
            raise Unusable(f"no place for code here ({context.reason})")
        infill = prepare_infill(context, info.family, self.counter, self.settings.prompt_budget())
        rule = infill.stop_rule()
        # The healed whitespace goes before the lead, as the model would have written it.
        seed = infill.prompt.healed + lead if lead else ""

        ending = end_at
        if ending is None and function_end is not None:
            ending = functools.partial(_indented_end, indent=function_end)

        def should_stop(answer: str) -> bool:
            if ending is not None:
                return ending(seed + answer) is not None
            return rule(seed + answer)

        request = infill.request(
            max_tokens=self.settings.action_max_tokens, key=self.key, should_stop=should_stop
        )
        if seed:
            request = dataclasses.replace(request, prompt=request.prompt + seed)
        result = await self.generate(request)
        raw = seed + result.text
        if ending is not None:
            end = ending(raw)
            raw = raw if end is None else raw[:end]
        cleaned = infill.clean(raw, truncated=result.stop_reason == "length")
        if not cleaned.text.strip():
            raise Unusable(f"the model wrote nothing usable ({cleaned.note or 'empty'})")
        return cleaned.text


def _indented_end(answer: str, *, indent: str) -> int | None:
    """Where a Python function ends in ``answer``: the first line indented no deeper."""
    return function_end_index(answer, indent)
