"""One generation for a completion context: prompt, engine, cleaning, and what is remembered.

:class:`Generator` builds the fill-in-the-middle prompt for a context, runs it on the engine
with the language's stop rule, cleans the answer (asking once more for a block's header when
the code below needs one) and remembers it for typing-ahead and the result cache. Imports the
completion package's caches, inflight, outcome and stats, config, documents, the pipeline
stages, :mod:`codels.engines.base`; nothing of LSP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from codels.completion.caches import ResultCache, ShownSuggestions
from codels.completion.inflight import Progress
from codels.completion.outcome import CompletionOutcome
from codels.completion.speculation import ends_line
from codels.completion.stats import Stats
from codels.config import Settings
from codels.documents import DocumentSnapshot
from codels.engines.base import Engine, GenerationRequest, GenerationResult
from codels.pipeline.context import CompletionContext, CompletionKind, build_context
from codels.pipeline.fim import Infill, fim_parts, prepare_infill
from codels.pipeline.postprocess import Cleaned, StopRule, indent_settled, needs_header
from codels.pipeline.prompt import TokenCounter

log = logging.getLogger(__name__)

LINE_MAX_TOKENS = 64
"""Most tokens for a single-line completion (a line rarely takes more)."""

Answered = Callable[[DocumentSnapshot, int, Settings, str, bool, bool], None]
"""Told of each answer: snapshot, offset, settings, suggestion, whether it ended its line, and
whether it was speculative (the completion service starts the next speculation from it)."""


class _BudgetedStop:
    """A stop rule with a time budget: past the deadline, stop once there is something to show.

    "Something to show" is judged by ``showable`` on the text so far, once per completed line:
    stopping after a lone block header (``for item in items:``) would leave nothing that parses,
    so generation goes on to the first line of its body.
    """

    def __init__(
        self, rule: StopRule, budget_ms: int, showable: Callable[[str], bool] | None = None
    ) -> None:
        self.rule = rule
        self.deadline = time.perf_counter() + budget_ms / 1000 if budget_ms > 0 else None
        self.showable = showable
        self.budget_hit = False
        self._lines_judged = 0

    def __call__(self, text: str) -> bool:
        if self.rule(text):
            return True
        if self.deadline is None or time.perf_counter() <= self.deadline:
            return False
        lines = text.lstrip("\n").count("\n")
        if lines == 0 or lines == self._lines_judged:
            return False
        self._lines_judged = lines
        if self.showable is not None and not self.showable(text):
            return False
        self.budget_hit = True
        return True


class Generator:
    """Generates completions with one engine and remembers their answers."""

    def __init__(
        self, engine: Engine, stats: Stats, results: ResultCache, shown: ShownSuggestions
    ) -> None:
        self.engine = engine
        self.counter = TokenCounter(engine.count_tokens)
        self.stats = stats
        self.results = results
        self.shown = shown
        self.answered: Answered = lambda *_answer: None

    async def prefill(
        self, snapshot: DocumentSnapshot, offset: int, settings: Settings
    ) -> GenerationResult | None:
        """Evaluate the prompt a request at ``offset`` would send, generating nothing.

        For a document just opened or brought back into focus, while the person reads: the
        next request there then finds its prompt in the KV cache. The engine stops it at once
        for any request someone waits for. None when there is nothing to do (no model, or an
        engine that keeps no document states).
        """
        info = self.engine.info
        if info is None or not self.engine.capabilities.document_states:
            return None  # a remote server keeps its own cache: nothing to do ahead here
        # Whatever the kind at ``offset`` (a file opened at its first line has text right of the
        # cursor): the prompt's windows are the same, and they are what the next request reuses.
        context = context_at(snapshot, offset, settings)
        infill = prepare_infill(context, info.family, self.counter, settings.prompt_budget())
        request = request_for(infill, snapshot.uri, settings, lambda _text: True, Progress(), True)
        self.stats.prefills += 1
        try:
            result = await self.engine.prefill(request)
        except asyncio.CancelledError:
            self.stats.prefills_stopped += 1
            raise
        self.stats.record_prefill(result)
        return result

    async def generate(
        self,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
        context: CompletionContext,
        started: float,
        progress: Progress,
        waited_ms: float = 0.0,
        speculative: bool = False,
    ) -> CompletionOutcome:
        """Generate a completion for ``context`` and remember it.

        ``waited_ms`` went on an earlier generation that did not answer this state: model
        time, kept out of the overhead figure. A ``speculative`` generation (no one asked for
        it yet) goes to the result cache only, and starts no speculation of its own.
        """
        info = self.engine.info
        if info is None:
            return CompletionOutcome("", context.kind, "the model is not loaded", source="none")
        infill = prepare_infill(context, info.family, self.counter, settings.prompt_budget())
        context_ms = (time.perf_counter() - started) * 1000

        def showable(text: str) -> bool:
            return bool(infill.clean(text, truncated=True).text)

        progress.clean = early_preview(infill, self.engine.capabilities.constrains_tokens)

        should_stop = _BudgetedStop(infill.stop_rule(), settings.time_budget_ms, showable)
        request = request_for(infill, snapshot.uri, settings, should_stop, progress, speculative)
        result = await self.counted(request)
        if result.cancelled:
            self.stats.record_generation(result, 0.0)
            return CompletionOutcome("", context.kind, result.stop_reason, result, context_ms)
        cut_short = result.stop_reason == "length" or should_stop.budget_hit
        cleaned = infill.clean(result.text, truncated=cut_short)
        cleaned, retried = await self._with_header(infill, request, cleaned, speculative)
        total_ms = (time.perf_counter() - started) * 1000
        if cleaned.text or not cut_short:
            # An empty answer cut short by a limit is not the model's verdict on this state:
            # asking again must generate again, not serve the empty answer from memory.
            self.results.put(snapshot.text, offset, cleaned.text)
            if not speculative:
                self.shown.remember(snapshot.uri, snapshot.text, offset, cleaned.text)
        model_ms = result.total_ms + (retried.total_ms if retried is not None else 0.0)
        self.stats.record_generation(result, total_ms - model_ms - waited_ms, speculative)
        line_ended = (
            (speculative or settings.speculate)
            and bool(cleaned.text)
            and not cut_short
            and ends_line(result.text, cleaned.text, result.stop_reason)
        )
        self.answered(snapshot, offset, settings, cleaned.text, line_ended, speculative)
        log_generation(snapshot.uri, context, cleaned, result, total_ms, should_stop.budget_hit)
        return CompletionOutcome(
            cleaned.text, context.kind, cleaned.note, result, context_ms, total_ms
        )

    async def _with_header(
        self, infill: Infill, request: GenerationRequest, cleaned: Cleaned, speculative: bool
    ) -> tuple[Cleaned, GenerationResult | None]:
        """``cleaned``, or a second answer that opens the block the code below needs.

        The second generation's result comes back too (None when none ran), for its time.
        """
        context = infill.context
        language = context.language
        if not (
            language is not None
            and needs_header(context, cleaned.text)
            and self.engine.capabilities.constrains_tokens
        ):
            return cleaned, None
        # The code after the cursor is indented deeper and the answer opens no block for
        # it: ask once more for an answer that starts with a block's keyword.
        retry = dataclasses.replace(
            request,
            first_token_words=language.block_opener_words,
            should_stop=infill.stop_rule(),
            no_leading_space=False,
        )
        retried = await self.counted(retry)
        if not retried.cancelled:
            second = infill.clean(retried.text, truncated=retried.stop_reason == "length")
            if second.text and not needs_header(context, second.text):
                cleaned = Cleaned(second.text, "a block's header, asked for")
        self.stats.record_generation(retried, 0.0, speculative)
        return cleaned, retried

    async def counted(self, request: GenerationRequest) -> GenerationResult:
        """The engine's answer to ``request``; a cancelled request is counted."""
        try:
            return await self.engine.generate(request)
        except asyncio.CancelledError:
            self.stats.cancelled += 1
            raise


def context_at(snapshot: DocumentSnapshot, offset: int, settings: Settings) -> CompletionContext:
    """The completion context at ``offset``, with the settings that decide where to complete."""
    return build_context(
        snapshot,
        offset,
        complete_in_strings=settings.complete_in_strings,
        complete_in_comments=settings.complete_in_comments,
    )


def early_preview(infill: Infill, asks_header: bool) -> Callable[[str], str]:
    """What may be shown of a block's answer cut short: the cleaned text, "" for nothing.

    With ``asks_header`` (the engine can be asked for a block's header), nothing while the
    answer leaves the code below without the header it needs: the generation asks again for
    one when it ends, so its answer will not begin like this one.
    """

    def preview(raw: str) -> str:
        text = infill.clean(raw, truncated=True).text
        return "" if asks_header and needs_header(infill.context, text) else text

    return preview


def request_for(
    infill: Infill,
    key: str,
    settings: Settings,
    should_stop: Callable[[str], bool],
    progress: Progress,
    speculative: bool,
) -> GenerationRequest:
    """The engine request for ``infill``; ``progress`` follows the text as it is generated."""
    context = infill.context
    prompt = infill.prompt
    max_tokens = settings.max_tokens
    if context.kind is CompletionKind.LINE:
        max_tokens = min(max_tokens, LINE_MAX_TOKENS)
    healed = prompt.healed

    def watched(text: str) -> bool:
        progress.text = text[len(healed) :] if text.startswith(healed) else text
        progress.raw = text
        return should_stop(text)

    return infill.request(
        max_tokens=max_tokens,
        key=key,
        should_stop=watched,
        parts=fim_parts(prompt, key),
        no_leading_space=bool(prompt.healed) and indent_settled(context),
        background=speculative,
        # A blank line is where the person is about to write: an answer that repeats the line
        # after it would be dropped, and nothing shown.
        avoid_repeat=True,
    )


def log_generation(
    uri: str,
    context: CompletionContext,
    cleaned: Cleaned,
    result: GenerationResult,
    total_ms: float,
    budget_hit: bool,
) -> None:
    """Log one generation: what it gave, its tokens and times, and why it stopped."""
    log.info(
        "%s %s: %s, prompt %d tokens (%d reused), generated %d, prefill %.0f ms, "
        "decode %.0f ms, total %.0f ms, stop %s%s",
        uri.rsplit("/", 1)[-1],
        context.kind.value,
        f"{len(cleaned.text)} chars" if cleaned.text else "empty",
        result.prompt_tokens,
        result.cached_tokens,
        result.generated_tokens,
        result.prefill_ms,
        result.decode_ms,
        total_ms,
        "time budget" if budget_hit else result.stop_reason,
        f" ({cleaned.note})" if cleaned.note else "",
    )
