"""Generations under way, one per document, that a later request may continue.

A request cancelled while it waits leaves its generation running for
:attr:`InFlightGenerations.GRACE_SECONDS`: a next request that only adds text before the cursor
(the person typed on) awaits it instead of starting one; otherwise it is stopped. Imports
:mod:`codels.completion.caches`, :mod:`codels.completion.outcome` and
:mod:`codels.pipeline.context`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from codels.completion.caches import state_key
from codels.completion.outcome import CompletionOutcome
from codels.pipeline.context import CompletionKind

log = logging.getLogger(__name__)


@dataclass
class Progress:
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
class InFlight:
    """A generation under way for one cursor state of a document."""

    text: str
    offset: int
    task: asyncio.Task[CompletionOutcome]
    progress: Progress
    speculative: bool = False
    """Started as if the suggestion before it had been accepted, not by a request."""
    waiting: int = 0
    """Requests awaiting it now."""

    def continued_by(self, text: str, offset: int) -> bool:
        """Whether the state at ``offset`` of ``text`` is this one's, or it plus typed text."""
        if offset < self.offset:
            return False
        before, after = state_key(self.text, self.offset)
        now_before, _ = state_key(text, self.offset)
        _, now_after = state_key(text, offset)
        return now_before == before and now_after == after

    def suggestion(self) -> str:
        """The suggestion of a generation that finished with one; "" otherwise."""
        task = self.task
        if not task.done() or task.cancelled() or task.exception() is not None:
            return ""
        return task.result().text


class InFlightGenerations:
    """The generation under way in each document, and the requests waiting for it."""

    GRACE_SECONDS = 1.0

    def __init__(self) -> None:
        self._flights: dict[str, InFlight] = {}

    def get(self, uri: str) -> InFlight | None:
        """The document's latest generation, finished or not."""
        return self._flights.get(uri)

    def track(self, uri: str, flight: InFlight) -> InFlight:
        """Make ``flight`` the document's generation (the one before it is left alone)."""
        self._flights[uri] = flight
        return flight

    def answering(self, uri: str, text: str, offset: int) -> InFlight | None:
        """The document's generation, if its answer may serve the state at ``offset``.

        A running one may only while what it wrote so far agrees with what was typed since its
        cursor: once they differ, its answer cannot serve this state.
        """
        flight = self._flights.get(uri)
        if (
            flight is not None
            and flight.continued_by(text, offset)
            and (flight.task.done() or flight.progress.agrees(text[flight.offset : offset]))
        ):
            return flight
        return None

    def stop(self, uri: str) -> None:
        """Stop the document's generation if it is still running."""
        flight = self._flights.get(uri)
        if flight is not None and not flight.task.done():
            flight.task.cancel()

    def forget(self, uri: str) -> None:
        """Drop, and stop, the generation of a document that closed."""
        flight = self._flights.pop(uri, None)
        if flight is not None:
            flight.task.cancel()

    async def wait(self, flight: InFlight) -> CompletionOutcome:
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
                asyncio.get_running_loop().call_later(self.GRACE_SECONDS, _expire, flight)


def _expire(flight: InFlight) -> None:
    if flight.waiting == 0 and not flight.task.done():
        flight.task.cancel()
        log.info("stopped a generation nobody waits for")
