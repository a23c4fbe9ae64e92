"""Show early, keep going: a block answered with its first complete lines while it is written.

A block completion that is not done after ``showEarlyMs`` is answered with the complete lines
its generation wrote so far, post-processed like a whole answer
(:meth:`~codels.completion.inflight.Progress.preview`); the generation goes on, and the
requests that follow at the same place (the person types into the suggestion, or accepts part
or all of it) are served from what it has written by then. Its whole answer, once written, is
remembered like any other, so the quality is the whole generation's: the time budget never
stops the model. The completion service decides when; this module says whether a flight may
answer early, and what. Imports the completion package's caches, inflight and outcome modules,
config, documents, :mod:`codels.engines.base` and :mod:`codels.pipeline.context`.
"""

from __future__ import annotations

import time

from codels.completion.caches import ShownSuggestions
from codels.completion.inflight import EarlyAnswer, InFlight, InFlightGenerations
from codels.completion.outcome import CompletionOutcome
from codels.config import Settings
from codels.documents import DocumentSnapshot
from codels.engines.base import EngineCapabilities
from codels.pipeline.context import CompletionContext, CompletionKind

EARLY_NOTE = "shown early: the generation goes on"


def shows_early(
    settings: Settings, context: CompletionContext, capabilities: EngineCapabilities
) -> bool:
    """Whether a new generation for ``context`` may be answered before it ends.

    Only blocks (a line is over at its line break anyway), only with ``showEarlyMs`` above 0,
    and only on an engine that tells what it wrote while it writes.
    """
    return (
        settings.show_early_ms > 0
        and context.kind is CompletionKind.BLOCK
        and capabilities.streams_text
    )


def early_flight(flights: InFlightGenerations, uri: str, text: str, offset: int) -> InFlight | None:
    """The document's running flight that answered early, if it may serve ``offset`` of ``text``.

    It may while the state is its own plus typed text that agrees with what it may show so
    far (or goes past it into the line it is writing, agreeing with what it wrote).
    """
    flight = flights.get(uri)
    if flight is None or not flight.early or flight.task.done():
        return None
    if not flight.continued_by(text, offset):
        return None
    typed = text[flight.offset : offset]
    preview = flight.progress.preview()
    if preview.startswith(typed) or (typed.startswith(preview) and flight.progress.agrees(typed)):
        return flight
    return None


def early_answer(
    flight: InFlight,
    shown: ShownSuggestions,
    snapshot: DocumentSnapshot,
    offset: int,
    started: float,
    after_seconds: float,
) -> EarlyAnswer:
    """How the request at ``offset`` of ``snapshot`` may be answered from ``flight`` early.

    With the rest, past what was typed since its cursor, of what it may show so far: once
    that is longer than what was typed (accepting all of it waits for its next line). What is
    answered is remembered as shown, so that typing into it needs nothing more.
    """

    def answer() -> CompletionOutcome | None:
        preview = flight.progress.preview()
        typed = snapshot.text[flight.offset : offset]
        if len(preview) <= len(typed) or not preview.startswith(typed):
            return None
        rest = preview[len(typed) :]
        shown.remember(snapshot.uri, snapshot.text, offset, rest)
        elapsed = (time.perf_counter() - started) * 1000
        return CompletionOutcome(
            rest, CompletionKind.BLOCK, EARLY_NOTE, total_ms=elapsed, source="early"
        )

    return EarlyAnswer(after_seconds, answer)
