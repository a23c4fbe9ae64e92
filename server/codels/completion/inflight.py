"""Generations under way, one per document, that a later request may continue.

A request cancelled while it waits leaves its generation running for
:attr:`InFlightGenerations.GRACE_SECONDS`: a next request that only adds text before the cursor
(the person typed on) awaits it instead of starting one; otherwise it is stopped. A request may
also be answered early (:class:`EarlyAnswer`: the complete lines of a block written so far); its
generation then goes on, for the requests that follow at the same place, until it ends or a
request elsewhere stops it. Imports :mod:`codels.completion.caches`,
:mod:`codels.completion.outcome` and :mod:`codels.pipeline.context`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from codels.completion.caches import state_key
from codels.completion.outcome import CompletionOutcome
from codels.pipeline.context import CompletionKind

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """What a generation has written so far (set on the engine's thread, read on the loop)."""

    text: str = ""
    """The answer so far, without the healed whitespace the prompt left out."""
    raw: str = ""
    """The answer so far as the engine wrote it (what post-processing takes)."""
    clean: Callable[[str], str] | None = field(default=None, repr=False)
    """Post-processes a raw answer cut short (its unfinished last line dropped) into what may be
    shown of it ("": nothing yet); None while the generation has not said how."""
    _preview: tuple[str, str] = field(default=("", ""), init=False, repr=False)
    """The last complete lines post-processed, and what came of them."""

    def preview(self) -> str:
        """What may be shown of the answer so far: its complete lines, post-processed."""
        raw, clean = self.raw, self.clean
        whole = raw[: raw.rfind("\n") + 1]
        if clean is None or not whole:
            return ""
        if self._preview[0] != whole:  # post-processing parses: once per new line
            self._preview = (whole, clean(whole))
        return self._preview[1]

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
    early_after: float | None = None
    """Seconds after which a request may be answered with what it wrote so far (None: never;
    :mod:`codels.completion.early`)."""
    early: bool = False
    """A request was answered with what it wrote so far: it goes on for the ones that follow,
    and is not stopped when nobody waits for it."""

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


@dataclass(frozen=True)
class EarlyAnswer:
    """How a request may be answered before its generation ends."""

    after_seconds: float
    """How long to wait for the whole answer first."""
    answer: Callable[[], CompletionOutcome | None]
    """The answer to give now, from what the generation wrote so far; None while it wrote
    nothing that may be shown."""


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

    def stop_early_elsewhere(self, uri: str) -> None:
        """Stop the generations answered early in documents other than ``uri``.

        The person moved on to ``uri``: what they were shown there stays shown, but writing
        on would keep the model from the document they are in now.
        """
        for other, flight in self._flights.items():
            if other != uri and flight.early and not flight.task.done():
                flight.task.cancel()

    def forget(self, uri: str) -> None:
        """Drop, and stop, the generation of a document that closed."""
        flight = self._flights.pop(uri, None)
        if flight is not None:
            flight.task.cancel()

    async def wait(self, flight: InFlight, early: EarlyAnswer | None = None) -> CompletionOutcome:
        """Await ``flight``; a cancelled waiter leaves it running for GRACE_SECONDS.

        With ``early``, answer with what it gives once it gives something (after its delay),
        if ``flight`` has not ended by then: ``flight`` then goes on, however many wait for it.
        """
        flight.waiting += 1
        try:
            if early is not None:
                answer = await _answered_early(flight, early)
                if answer is not None:
                    return answer
            return await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this request was cancelled
            return CompletionOutcome("", CompletionKind.NONE, "superseded", source="none")
        finally:
            flight.waiting -= 1
            if flight.waiting == 0 and not flight.task.done() and not flight.early:
                asyncio.get_running_loop().call_later(self.GRACE_SECONDS, _expire, flight)


EARLY_POLL_SECONDS = 0.01
"""How often a request that may be answered early looks at what its generation wrote."""


async def _answered_early(flight: InFlight, early: EarlyAnswer) -> CompletionOutcome | None:
    """``early``'s answer once it has one; None if ``flight`` ends first (it is not stopped)."""
    # asyncio.wait never cancels what it waits for: the generation goes on after a timeout.
    await asyncio.wait({flight.task}, timeout=early.after_seconds)
    while not flight.task.done():
        answer = early.answer()
        if answer is not None:
            flight.early = True
            return answer
        await asyncio.wait({flight.task}, timeout=EARLY_POLL_SECONDS)
    # Woken by the poll's timer in the turn the flight ended: one more turn lets what its end
    # started (a speculation) take its first step first, as for a request awaiting the flight.
    await asyncio.sleep(0)
    return None


def _expire(flight: InFlight) -> None:
    if flight.waiting == 0 and not flight.task.done() and not flight.early:
        flight.task.cancel()
        log.info("stopped a generation nobody waits for")
