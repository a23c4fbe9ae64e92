"""One completion at a cursor: the cheapest answer that fits, else a new generation.

The server, ``codels complete``, ``codels bench`` and ``codels eval`` all call
:meth:`CompletionService.complete`, so what is measured is what users get. Cheaper answers come
first (:mod:`~codels.completion.caches`), then a generation already under way
(:mod:`~codels.completion.inflight`), then a new one (:mod:`~codels.completion.generation`).
Imports the completion package's modules, config, documents, :mod:`codels.pipeline.context`
and :mod:`codels.engines.base`; nothing of LSP.
"""

from __future__ import annotations

import asyncio
import time

from codels.completion.alternatives import sample_alternatives
from codels.completion.caches import ResultCache, ShownSuggestions, state_key
from codels.completion.early import early_answer, early_flight, shows_early
from codels.completion.generation import LINE_MAX_TOKENS, Generator, context_at
from codels.completion.inflight import InFlight, InFlightGenerations, Progress
from codels.completion.outcome import CompletionOutcome
from codels.completion.speculation import Speculation
from codels.completion.stats import Stats
from codels.completion.trigger import Debouncer, held_back
from codels.config import Settings
from codels.documents import DocumentSnapshot
from codels.engines.base import Engine, GenerationResult
from codels.pipeline.context import CompletionKind


class CompletionService:
    """Completes at a cursor with one engine; remembers what it showed and recent results.

    A generation runs in a task of its own, tracked in :attr:`flights`: a request that only adds
    text before the cursor of one under way awaits it and serves the rest of its suggestion past
    what was typed (:class:`~codels.completion.inflight.InFlightGenerations`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shown = ShownSuggestions()
        self.results = ResultCache()
        self.stats = Stats()
        self.generator = Generator(engine, self.stats, self.results, self.shown)
        self.generator.answered = self._speculate_after
        self.flights = InFlightGenerations()
        self.speculation = Speculation(self.flights, self.results, self.shown, self._generate_ahead)
        self.debouncer = Debouncer()

    def forget(self, uri: str) -> None:
        """Drop what was shown in, and stop what is generated for, a document that closed."""
        self.shown.forget(uri)
        self.speculation.forget(uri)
        self.flights.forget(uri)
        self.debouncer.forget(uri)

    async def complete(
        self,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
        *,
        automatic: bool = False,
    ) -> CompletionOutcome:
        """Complete at code-point ``offset`` of ``snapshot``.

        An ``automatic`` request (the editor asked as the person typed) that needs the model
        waits ``debounce_ms`` first, and gets none in ``manual`` trigger mode
        (:mod:`~codels.completion.trigger`).
        """
        started = time.perf_counter()
        outcome = await self._complete(snapshot, offset, settings, started, automatic)
        self.stats.record(outcome)
        return outcome

    async def alternatives(
        self, snapshot: DocumentSnapshot, offset: int, settings: Settings, first: str, count: int
    ) -> list[str]:
        """Up to ``count`` more suggestions unlike ``first`` at ``offset``, for cycling.

        They are sampled (:mod:`~codels.completion.alternatives`) and remembered beside
        ``first``, so typing into any of them is served without the model.
        """
        context = context_at(snapshot, offset, settings)
        found = await sample_alternatives(
            self.engine,
            self.generator.counter,
            snapshot,
            context,
            settings,
            [first],
            count,
            LINE_MAX_TOKENS,
        )
        self.shown.remember_others(snapshot.uri, snapshot.text, offset, first, tuple(found))
        return found

    async def prefill(
        self, snapshot: DocumentSnapshot, offset: int, settings: Settings
    ) -> GenerationResult | None:
        """Evaluate the prompt a request at ``offset`` would send, generating nothing.

        For a document just opened or brought back into focus, while the person reads: the
        next request there then finds its prompt in the KV cache. None when there is nothing
        to do (no model, or an engine that keeps no document states).
        """
        self.flights.stop_early_elsewhere(snapshot.uri)
        return await self.generator.prefill(snapshot, offset, settings)

    def _without_model(
        self, snapshot: DocumentSnapshot, offset: int, started: float, source: str
    ) -> CompletionOutcome | None:
        """The rest of the suggestion typed into, or a cached result, if there is one."""
        rest = self.shown.typed_ahead(snapshot.uri, snapshot.text, offset)
        if rest is None:
            rest = self.results.get(snapshot.text, offset)
            if rest is None:
                return None
            if self.speculation.reached(snapshot.uri, snapshot.text, offset):
                source = "speculative"
            elif source == "typed-ahead":
                source = "cache"
            # Shown now: typing into it must be served like typing into a generated one.
            self.shown.remember(snapshot.uri, snapshot.text, offset, rest)
        elapsed = (time.perf_counter() - started) * 1000
        return CompletionOutcome(rest, CompletionKind.LINE, source, total_ms=elapsed, source=source)

    async def _complete(
        self,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
        started: float,
        automatic: bool = False,
    ) -> CompletionOutcome:
        info = self.engine.info
        if info is None:
            return CompletionOutcome(
                "", CompletionKind.NONE, "the model is not loaded yet", source="none"
            )
        ticket = self.debouncer.arrived(snapshot.uri)
        uri = snapshot.uri
        self.flights.stop_early_elsewhere(uri)
        # A generation answered early and still writing knows more than what it showed.
        early = early_flight(self.flights, uri, snapshot.text, offset)
        if early is None:
            quick = self._without_model(snapshot, offset, started, "typed-ahead")
            if quick is not None:
                return self.speculation.follow(quick, snapshot, offset, settings)
        continued, waited_ms = await self._continued(snapshot, offset, settings, started, early)
        if continued is not None:
            return continued
        self.flights.stop(uri)  # a speculation may have followed the one awaited
        if automatic:
            holding = time.perf_counter()
            why = await held_back(
                self.debouncer, uri, ticket, settings.trigger_mode, settings.debounce_ms
            )
            if why is not None:
                return CompletionOutcome("", CompletionKind.NONE, why, source="none")
            waited_ms += (time.perf_counter() - holding) * 1000  # not the server's work
        context = context_at(snapshot, offset, settings)
        if context.kind is CompletionKind.NONE:
            self.shown.remember(uri, snapshot.text, offset, "")
            return CompletionOutcome("", context.kind, context.reason, source="none")
        progress = Progress()
        task = asyncio.ensure_future(
            self.generator.generate(
                snapshot, offset, settings, context, started, progress, waited_ms
            )
        )
        flight = self.flights.track(uri, InFlight(snapshot.text, offset, task, progress))
        if not shows_early(settings, context, self.engine.capabilities):
            return await self.flights.wait(flight)
        flight.early_after = settings.show_early_ms / 1000
        answer = early_answer(flight, self.shown, snapshot, offset, started, flight.early_after)
        return await self.flights.wait(flight, answer)

    async def _continued(
        self,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
        started: float,
        early: InFlight | None,
    ) -> tuple[CompletionOutcome | None, float]:
        """The answer of the generation under way that serves this state, if there is one.

        ``early`` is a generation that answered early and still writes: it answers now with
        what it wrote past the typed text, else once it has written more. Also returns how
        long the request waited for a generation (model time, not the server's).
        """
        uri = snapshot.uri
        flight = early or self.flights.answering(uri, snapshot.text, offset)
        if flight is None:
            return None, 0.0
        waited_ms = 0.0
        if not flight.task.done():
            waiting = time.perf_counter()
            answer = None
            if flight.early_after is not None:
                after = 0.0 if flight.early else flight.early_after
                answer = early_answer(flight, self.shown, snapshot, offset, started, after)
            outcome = await self.flights.wait(flight, answer)
            if outcome.source == "early":
                return outcome, 0.0
            waited_ms = (time.perf_counter() - waiting) * 1000
        if flight.speculative:
            # Reached or typed past: its suggestion is the one being typed into now.
            self.speculation.adopt(uri, flight)
        source = "speculative" if flight.speculative else "continued"
        quick = self._without_model(snapshot, offset, started, source)
        if quick is not None:
            return self.speculation.follow(quick, snapshot, offset, settings), waited_ms
        return None, waited_ms

    def _speculate_after(
        self,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
        suggestion: str,
        line_ended: bool,
        speculative: bool,
    ) -> None:
        """Note whether a speculation's answer ended its line, or start the next speculation."""
        if speculative:
            key = state_key(snapshot.text, offset)
            guessed = self.speculation.guessed.get(snapshot.uri)
            if guessed is not None and guessed[0] == key:
                self.speculation.guessed[snapshot.uri] = (key, line_ended)
        elif settings.speculate and line_ended:
            self.speculation.start(snapshot, offset, suggestion, settings)

    def _generate_ahead(
        self, guess: DocumentSnapshot, text: str, at: int, settings: Settings, started: float
    ) -> InFlight | None:
        """Start a speculative generation at ``at`` of ``guess`` (whose text is ``text``)."""
        context = context_at(guess, at, settings)
        if context.kind is CompletionKind.NONE:
            return None
        progress = Progress()
        task = asyncio.ensure_future(
            self.generator.generate(
                guess, at, settings, context, started, progress, speculative=True
            )
        )
        return InFlight(text, at, task, progress, speculative=True)
