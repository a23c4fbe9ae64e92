"""One completion through the whole pipeline: context, prompt, engine, post-processing.

The server, the ``codels complete`` command and the benchmark and evaluation commands all call
:meth:`CompletionService.complete`, so what is measured is what users get.

Before the model is asked, two cheaper answers are tried (:mod:`codels.completion.caches`): the rest of the
suggestion the person is typing into, and a recent result for the same text around the cursor.
With ``speculate`` on, a suggestion that was generated is followed by one more generation, as
if the person had accepted it, so that the next suggestion is ready when they do.
:class:`Stats` counts what happened, for ``codels/stats`` and ``codels bench``.

This module imports the pipeline stages and :mod:`codels.engines.llama`; nothing of LSP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codels.completion.caches import ResultCache, ShownSuggestions, state_key
from codels.config import Settings
from codels.documents import Document, DocumentSnapshot
from codels.engines.base import Engine, FimParts, GenerationRequest, GenerationResult
from codels.languages.python.keywords import BLOCK_OPENER_WORDS
from codels.pipeline.context import CompletionContext, CompletionKind, build_context
from codels.pipeline.postprocess import (
    Cleaned,
    StopRule,
    clean_completion,
    indent_settled,
    needs_header,
    stop_rule,
)
from codels.pipeline.prompt import Prompt, TokenCounter, build_prompt

log = logging.getLogger(__name__)

KEPT_TIMINGS = 10_000
"""Timings kept for the percentiles: a server that runs for days must not grow with them."""

LINE_MAX_TOKENS = 64
"""Most tokens for a single-line completion (a line rarely takes more)."""


@dataclass(frozen=True)
class CompletionOutcome:
    """The completion to show ("" for none) and how it came about."""

    text: str
    kind: CompletionKind
    note: str
    """Why there is no completion, or how it was cut; "" when nothing needs saying."""
    generation: GenerationResult | None = None
    context_ms: float = 0.0
    total_ms: float = 0.0
    source: str = "model"
    """``model``, ``typed-ahead``, ``continued``, ``cache``, ``speculative`` or ``none``."""


@dataclass
class Stats:
    """Counters of one service, since it started."""

    requests: int = 0
    typed_ahead: int = 0
    cache_hits: int = 0
    continued: int = 0
    """Answers from a generation that an earlier, cancelled request started."""
    speculative_runs: int = 0
    """Generations finished for a state guessed ahead (not in model_runs; their tokens are in
    the token counts)."""
    speculative_hits: int = 0
    """Answers such a generation gave (the suggestion was accepted or typed out)."""
    model_runs: int = 0
    cancelled: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    decode_ms: float = 0.0
    overhead_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per model run (the latest KEPT_TIMINGS): time outside the engine (context, prompt,
    post-processing, the event loop), not counting the wait for the model in :attr:`queued_ms`
    nor the wait for an earlier generation the request hoped to continue."""
    answer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per request (the latest KEPT_TIMINGS): time to the answer."""
    queued_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per model run: time waiting for the model (the run before it stopping)."""
    without_model_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per request answered by typing-ahead or from the result cache: time to the answer."""
    model_answer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_TIMINGS))
    """Per request answered by a model run it started (not cancelled): time to the answer."""

    def record(self, outcome: CompletionOutcome) -> None:
        """Count one answered request."""
        self.requests += 1
        self.answer_ms.append(outcome.total_ms)
        if outcome.source in ("typed-ahead", "cache", "speculative"):
            self.without_model_ms.append(outcome.total_ms)
        elif (
            outcome.source == "model"
            and outcome.generation is not None
            and not outcome.generation.cancelled
        ):
            self.model_answer_ms.append(outcome.total_ms)
        if outcome.source == "typed-ahead":
            self.typed_ahead += 1
        elif outcome.source == "cache":
            self.cache_hits += 1
        elif outcome.source == "continued":
            self.continued += 1
        elif outcome.source == "speculative":
            self.speculative_hits += 1

    def record_generation(
        self, result: GenerationResult, overhead_ms: float, speculative: bool = False
    ) -> None:
        """Count one run of the model (however many requests waited for it)."""
        if result.cancelled:
            self.cancelled += 1
            return
        self.prompt_tokens += result.prompt_tokens
        self.cached_tokens += result.cached_tokens
        self.generated_tokens += result.generated_tokens
        self.decode_ms += result.decode_ms
        if speculative:
            self.speculative_runs += 1
            return
        self.model_runs += 1
        self.overhead_ms.append(max(0.0, overhead_ms - result.queued_ms))
        self.queued_ms.append(result.queued_ms)

    def summary(self) -> dict[str, Any]:
        """The counters and derived figures, JSON-ready."""

        def p95(values: deque[float]) -> float | None:
            return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else None

        return {
            "server_requests": self.requests,
            "typed_ahead": self.typed_ahead,
            "cache_hits": self.cache_hits,
            "continued": self.continued,
            "speculative_runs": self.speculative_runs,
            "speculative_hits": self.speculative_hits,
            "model_runs": self.model_runs,
            "cancelled_runs": self.cancelled,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "kv_reuse": self.cached_tokens / self.prompt_tokens if self.prompt_tokens else None,
            "generated_tokens": self.generated_tokens,
            "decode_tokens_per_second": (
                self.generated_tokens / (self.decode_ms / 1000) if self.decode_ms else None
            ),
            "overhead_p50_ms": statistics.median(self.overhead_ms) if self.overhead_ms else None,
            "overhead_p95_ms": p95(self.overhead_ms),
            "queued_p95_ms": p95(self.queued_ms),
            "without_model_p95_ms": p95(self.without_model_ms),
            "model_answer_p50_ms": (
                statistics.median(self.model_answer_ms) if self.model_answer_ms else None
            ),
            "model_answer_p95_ms": p95(self.model_answer_ms),
            "server_answer_p50_ms": statistics.median(self.answer_ms) if self.answer_ms else None,
        }


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


@dataclass
class _Progress:
    """What a generation has written so far (set on the engine's thread, read on the loop)."""

    text: str = ""
    """The answer so far, without the healed whitespace the prompt left out."""

    def agrees(self, typed: str) -> bool:
        """Whether ``typed`` (after the generation's cursor) may still be the answer's start.

        Leading spaces and tabs are not compared (the answer's indentation is settled after).
        """
        written, typed = self.text.lstrip(" \t"), typed.lstrip(" \t")
        common = min(len(written), len(typed))
        return written[:common] == typed[:common]


@dataclass
class _InFlight:
    """A generation under way for one cursor state of a document."""

    text: str
    offset: int
    task: asyncio.Task[CompletionOutcome]
    progress: _Progress
    speculative: bool = False
    """Started as if the suggestion before it had been accepted, not by a request."""
    waiting: int = 0
    """Requests awaiting it now."""


class CompletionService:
    """Completes at a cursor with one engine; remembers what it showed and recent results.

    A generation runs in a task of its own. A request that is cancelled while it waits leaves
    the generation running for GRACE_SECONDS: if the next request only adds text before the
    cursor (the person typed on), it adopts the generation and, once it is done, serves the rest
    of its suggestion past what was typed. Otherwise the generation is stopped.
    """

    GRACE_SECONDS = 1.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._counter = TokenCounter(engine.count_tokens)
        self.shown = ShownSuggestions()
        self.results = ResultCache()
        self.stats = Stats()
        self._in_flight: dict[str, _InFlight] = {}
        self._guessed: dict[str, tuple[tuple[str, str], bool]] = {}
        """Per document, the state a speculative generation was started for, and whether its
        suggestion ended its line (so it may be followed by another speculation)."""

    def forget(self, uri: str) -> None:
        """Drop what was shown in, and stop what is generated for, a document that closed."""
        self.shown.forget(uri)
        self._guessed.pop(uri, None)
        flight = self._in_flight.pop(uri, None)
        if flight is not None:
            flight.task.cancel()

    async def complete(
        self, snapshot: DocumentSnapshot, offset: int, settings: Settings
    ) -> CompletionOutcome:
        """Complete at code-point ``offset`` of ``snapshot``."""
        started = time.perf_counter()
        outcome = await self._complete(snapshot, offset, settings, started)
        self.stats.record(outcome)
        return outcome

    def _without_model(
        self, snapshot: DocumentSnapshot, offset: int, started: float, source: str
    ) -> CompletionOutcome | None:
        """The rest of the suggestion typed into, or a cached result, if there is one."""
        rest = self.shown.typed_ahead(snapshot.uri, snapshot.text, offset)
        if rest is None:
            rest = self.results.get(snapshot.text, offset)
            if rest is None:
                return None
            guessed = self._guessed.get(snapshot.uri)
            if guessed is not None and guessed[0] == state_key(snapshot.text, offset):
                source = "speculative"
            elif source == "typed-ahead":
                source = "cache"
            # Shown now: typing into it must be served like typing into a generated one.
            self.shown.remember(snapshot.uri, snapshot.text, offset, rest)
        elapsed = (time.perf_counter() - started) * 1000
        return CompletionOutcome(rest, CompletionKind.LINE, source, total_ms=elapsed, source=source)

    async def _complete(
        self, snapshot: DocumentSnapshot, offset: int, settings: Settings, started: float
    ) -> CompletionOutcome:
        info = self.engine.info
        if info is None:
            return CompletionOutcome(
                "", CompletionKind.NONE, "the model is not loaded yet", source="none"
            )
        quick = self._without_model(snapshot, offset, started, "typed-ahead")
        if quick is not None:
            return self._followed(quick, snapshot, offset, settings)
        uri = snapshot.uri
        flight = self._in_flight.get(uri)
        waited_ms = 0.0
        if (
            flight is not None
            and self._continues(flight, snapshot.text, offset)
            and (
                flight.task.done() or flight.progress.agrees(snapshot.text[flight.offset : offset])
            )
        ):
            # A running flight is awaited only while what it wrote so far agrees with what was
            # typed since: once they differ, its answer cannot serve this state.
            if not flight.task.done():
                waiting = time.perf_counter()
                await self._wait(flight)
                waited_ms = (time.perf_counter() - waiting) * 1000
            if flight.speculative:
                # Reached or typed past: its suggestion is the one being typed into now.
                self._adopt(uri, flight)
            source = "speculative" if flight.speculative else "continued"
            quick = self._without_model(snapshot, offset, started, source)
            if quick is not None:
                return self._followed(quick, snapshot, offset, settings)
        flight = self._in_flight.get(uri)  # a speculation may have followed the one awaited
        if flight is not None and not flight.task.done():
            flight.task.cancel()
        context = _context_at(snapshot, offset, settings)
        if context.kind is CompletionKind.NONE:
            self.shown.remember(uri, snapshot.text, offset, "")
            return CompletionOutcome("", context.kind, context.reason, source="none")
        progress = _Progress()
        task = asyncio.ensure_future(
            self._generate(snapshot, offset, settings, context, started, progress, waited_ms)
        )
        flight = self._in_flight[uri] = _InFlight(snapshot.text, offset, task, progress)
        return await self._wait(flight)

    @staticmethod
    def _continues(flight: _InFlight, text: str, offset: int) -> bool:
        """Whether the state at ``offset`` of ``text`` is the flight's, or it plus typed text."""
        if offset < flight.offset:
            return False
        before, after = state_key(flight.text, flight.offset)
        now_before, _ = state_key(text, flight.offset)
        _, now_after = state_key(text, offset)
        return now_before == before and now_after == after

    async def _wait(self, flight: _InFlight) -> CompletionOutcome:
        """Await ``flight``; a cancelled waiter leaves it running for GRACE_SECONDS."""
        flight.waiting += 1
        try:
            return await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this request was cancelled
            return CompletionOutcome("", CompletionKind.NONE, "superseded", source="none")
        finally:
            flight.waiting -= 1
            if flight.waiting == 0 and not flight.task.done():
                asyncio.get_running_loop().call_later(self.GRACE_SECONDS, self._expire, flight)

    @staticmethod
    def _expire(flight: _InFlight) -> None:
        if flight.waiting == 0 and not flight.task.done():
            flight.task.cancel()
            log.info("stopped a generation nobody waits for")

    async def _generate(
        self,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
        context: CompletionContext,
        started: float,
        progress: _Progress,
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
        prompt = build_prompt(context, info.family, self._counter, settings.prompt_budget())
        context_ms = (time.perf_counter() - started) * 1000
        max_tokens = settings.max_tokens
        if context.kind is CompletionKind.LINE:
            max_tokens = min(max_tokens, LINE_MAX_TOKENS)
        stop = info.family.cut_strings if info.family else ()

        def clean(text: str, truncated: bool) -> Cleaned:
            return clean_completion(
                text, context, healed=prompt.healed, stop=stop, truncated=truncated
            )

        def showable(text: str) -> bool:
            return bool(clean(text, truncated=True).text)

        should_stop = _BudgetedStop(
            stop_rule(context, prompt.healed), settings.time_budget_ms, showable
        )
        healed = prompt.healed

        def watched(text: str) -> bool:
            progress.text = text[len(healed) :] if text.startswith(healed) else text
            return should_stop(text)

        request = GenerationRequest(
            prompt=prompt.text,
            max_tokens=max_tokens,
            key=snapshot.uri,
            stop=stop,
            should_stop=watched,
            parts=fim_parts(prompt, snapshot.uri),
            no_leading_space=bool(prompt.healed) and indent_settled(context),
            background=speculative,
        )
        result = await self._counted(request)
        if result.cancelled:
            self.stats.record_generation(result, 0.0)
            return CompletionOutcome("", context.kind, result.stop_reason, result, context_ms)
        cut_short = result.stop_reason == "length" or should_stop.budget_hit
        cleaned = clean(result.text, truncated=cut_short)
        retried = None
        if needs_header(context, cleaned.text) and self.engine.capabilities.constrains_tokens:
            # The code after the cursor is indented deeper and the answer opens no block for
            # it: ask once more for an answer that starts with a block's keyword.
            retry = dataclasses.replace(
                request,
                first_token_words=BLOCK_OPENER_WORDS,
                should_stop=stop_rule(context, prompt.healed),
                no_leading_space=False,
            )
            retried = await self._counted(retry)
            if not retried.cancelled:
                second = clean(retried.text, truncated=retried.stop_reason == "length")
                if second.text and not needs_header(context, second.text):
                    cleaned = Cleaned(second.text, "a block's header, asked for")
            self.stats.record_generation(retried, 0.0, speculative)
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
        if speculative:
            key = state_key(snapshot.text, offset)
            guessed = self._guessed.get(snapshot.uri)
            if guessed is not None and guessed[0] == key:
                self._guessed[snapshot.uri] = (key, line_ended)
        elif settings.speculate and line_ended:
            self._speculate(snapshot, offset, cleaned.text, settings)
        log.info(
            "%s %s: %s, prompt %d tokens (%d reused), generated %d, prefill %.0f ms, "
            "decode %.0f ms, total %.0f ms, stop %s%s",
            snapshot.uri.rsplit("/", 1)[-1],
            context.kind.value,
            f"{len(cleaned.text)} chars" if cleaned.text else "empty",
            result.prompt_tokens,
            result.cached_tokens,
            result.generated_tokens,
            result.prefill_ms,
            result.decode_ms,
            total_ms,
            "time budget" if should_stop.budget_hit else result.stop_reason,
            f" ({cleaned.note})" if cleaned.note else "",
        )
        return CompletionOutcome(
            cleaned.text, context.kind, cleaned.note, result, context_ms, total_ms
        )

    async def _counted(self, request: GenerationRequest) -> GenerationResult:
        """The engine's answer to ``request``; a cancelled request is counted."""
        try:
            return await self.engine.generate(request)
        except asyncio.CancelledError:
            self.stats.cancelled += 1
            raise

    def _speculate(
        self, snapshot: DocumentSnapshot, offset: int, suggestion: str, settings: Settings
    ) -> None:
        """Start generating for the next line, as if ``suggestion`` were accepted and Enter hit.

        Only for a suggestion that ends its line (nothing after it on the line, and the model
        ended the line there): the state right after it is then answered "" from the result
        cache (the model's own verdict), and the speculation runs for the new line the editor
        opens on Enter, indented as :func:`next_line_indent` guesses. It becomes the
        document's flight: a request at that state (or typed on from it) waits for it, and a
        request anywhere else stops it, as it stops any superseded generation. A generation
        running for another request wins over it.
        """
        uri = snapshot.uri
        accepted = snapshot.text[:offset] + suggestion + snapshot.text[offset:]
        end = offset + len(suggestion)
        if not accepted.startswith("\n", end) and end != len(accepted):
            return  # code after the suggestion on its line: no guess at the next line
        flight = self._in_flight.get(uri)
        other = flight.task if flight is not None else None
        if other is not None and not other.done() and other is not asyncio.current_task():
            return
        self.results.put(accepted, end, "")
        opened = "\n" + next_line_indent(accepted, end)
        text = accepted[:end] + opened + accepted[end:]
        at = end + len(opened)
        if self.results.get(text, at) is not None:
            return
        started = time.perf_counter()
        guess = Document.with_insertion(snapshot, offset, suggestion + opened)
        context = _context_at(guess, at, settings)
        if context.kind is CompletionKind.NONE:
            return
        self._guessed[uri] = (state_key(text, at), False)
        progress = _Progress()
        task = asyncio.ensure_future(
            self._generate(guess, at, settings, context, started, progress, speculative=True)
        )
        self._in_flight[uri] = _InFlight(text, at, task, progress, speculative=True)

    def _followed(
        self,
        outcome: CompletionOutcome,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
    ) -> CompletionOutcome:
        """``outcome``, after starting the speculation that follows a speculative answer."""
        if outcome.source == "speculative" and outcome.text and settings.speculate:
            guessed = self._guessed.get(snapshot.uri)
            if guessed is not None and guessed[1]:
                self._speculate(snapshot, offset, outcome.text, settings)
        return outcome

    def _adopt(self, uri: str, flight: _InFlight) -> None:
        """Take a finished speculative flight's suggestion as the one shown at its state."""
        task = flight.task
        if not task.done() or task.cancelled() or task.exception() is not None:
            return
        suggestion = task.result().text
        if suggestion:
            self.shown.remember(uri, flight.text, flight.offset, suggestion)


def _context_at(snapshot: DocumentSnapshot, offset: int, settings: Settings) -> CompletionContext:
    """The completion context at ``offset``, with the settings that decide where to complete."""
    return build_context(
        snapshot,
        offset,
        complete_in_strings=settings.complete_in_strings,
        complete_in_comments=settings.complete_in_comments,
    )


def ends_line(raw: str, suggestion: str, reason: str) -> bool:
    """Whether the model ended the line right after ``suggestion`` (cut from ``raw``).

    It did if a line break follows in what it wrote, or it stopped with its end token there.
    """
    at = raw.find(suggestion)
    while at >= 0:
        after = raw[at + len(suggestion) :]
        if after.lstrip(" \t").startswith("\n") or (not after.strip() and reason == "stop_token"):
            return True
        at = raw.find(suggestion, at + 1)
    return False


def next_line_indent(text: str, end: int) -> str:
    """The indentation an editor gives the line opened by Enter at ``end`` (a line's end).

    The line's own indentation, one level deeper after a line that opens a block or a
    bracket, one level shallower after ``return``, ``raise``, ``pass``, ``break`` or
    ``continue`` (what VS Code's Python rules and Neovim's Python indent do).
    """
    line = text[text.rfind("\n", 0, end) + 1 : end]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    unit = "\t" if indent.startswith("\t") else "    "
    code = line.strip()
    if code.endswith((":", "(", "[", "{")):
        return indent + unit
    if _ENDS_BLOCK.match(code) and indent.endswith(unit):
        return indent[: -len(unit)]
    return indent


_ENDS_BLOCK = re.compile(r"(return|raise|pass|break|continue)\b")


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
