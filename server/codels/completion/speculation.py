"""Speculation: after a suggestion that ends its line, generate the next line's ahead.

With the ``speculate`` setting on, the state after accepting the suggestion and pressing Enter
is guessed, and a generation started for it, so that the next suggestion is ready when the
person gets there. The service runs the generation; this module decides when and where.

Imports the completion package's caches, inflight and outcome modules, :mod:`codels.config`
and :mod:`codels.documents`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from codels.completion.caches import ResultCache, ShownSuggestions, state_key
from codels.completion.inflight import InFlight, InFlightGenerations
from codels.completion.outcome import CompletionOutcome
from codels.config import Settings
from codels.documents import Document, DocumentSnapshot

GenerateAhead = Callable[[DocumentSnapshot, str, int, Settings, float], InFlight | None]
"""Starts a speculative generation at an offset of a guessed snapshot (whose text is given),
timed from a start; None where there is nothing to complete."""


class Speculation:
    """The speculative generations of one service, and the states they were started for."""

    def __init__(
        self,
        flights: InFlightGenerations,
        results: ResultCache,
        shown: ShownSuggestions,
        generate_ahead: GenerateAhead,
    ) -> None:
        self._flights = flights
        self._results = results
        self._shown = shown
        self._generate_ahead = generate_ahead
        self.guessed: dict[str, tuple[tuple[str, str], bool]] = {}
        """Per document, the state a speculative generation was started for, and whether its
        suggestion ended its line (so it may be followed by another speculation)."""

    def forget(self, uri: str) -> None:
        """Drop what was guessed for a document that closed."""
        self.guessed.pop(uri, None)

    def reached(self, uri: str, text: str, offset: int) -> bool:
        """Whether ``offset`` of ``text`` is the state the document's speculation was for."""
        guessed = self.guessed.get(uri)
        return guessed is not None and guessed[0] == state_key(text, offset)

    def start(
        self, snapshot: DocumentSnapshot, offset: int, suggestion: str, settings: Settings
    ) -> None:
        """Start generating for the next line, as if ``suggestion`` were accepted and Enter hit.

        Only for a suggestion that ends its line (nothing after it on the line, and the model
        ended the line there): the state right after it is then answered "" from the result
        cache (the model's own verdict), and the speculation runs for the new line the editor
        opens on Enter, indented as the document's language guesses. It becomes the
        document's flight: a request at that state (or typed on from it) waits for it, and a
        request anywhere else stops it, as it stops any superseded generation. A generation
        running for another request wins over it.
        """
        uri = snapshot.uri
        accepted = snapshot.text[:offset] + suggestion + snapshot.text[offset:]
        end = offset + len(suggestion)
        if not accepted.startswith("\n", end) and end != len(accepted):
            return  # code after the suggestion on its line: no guess at the next line
        flight = self._flights.get(uri)
        other = flight.task if flight is not None else None
        if other is not None and not other.done() and other is not asyncio.current_task():
            return
        self._results.put(accepted, end, "")
        opened = "\n" + _next_line_indent(snapshot, accepted, end)
        text = accepted[:end] + opened + accepted[end:]
        at = end + len(opened)
        if self._results.get(text, at) is not None:
            return
        started = time.perf_counter()
        guess = Document.with_insertion(snapshot, offset, suggestion + opened)
        ahead = self._generate_ahead(guess, text, at, settings, started)
        if ahead is None:
            return
        # The generation's task starts at the loop's next turn, after both lines below.
        self.guessed[uri] = (state_key(text, at), False)
        self._flights.track(uri, ahead)

    def follow(
        self,
        outcome: CompletionOutcome,
        snapshot: DocumentSnapshot,
        offset: int,
        settings: Settings,
    ) -> CompletionOutcome:
        """``outcome``, after starting the speculation that follows a speculative answer."""
        if outcome.source == "speculative" and outcome.text and settings.speculate:
            guessed = self.guessed.get(snapshot.uri)
            if guessed is not None and guessed[1]:
                self.start(snapshot, offset, outcome.text, settings)
        return outcome

    def adopt(self, uri: str, flight: InFlight) -> None:
        """Take a finished speculative flight's suggestion as the one shown at its state."""
        suggestion = flight.suggestion()
        if suggestion:
            self._shown.remember(uri, flight.text, flight.offset, suggestion)


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


def _next_line_indent(snapshot: DocumentSnapshot, text: str, end: int) -> str:
    """The indentation an editor gives the line opened by Enter at ``end`` (a line's end).

    The snapshot's language's block model says; where codels reads no language, the line's
    own indentation.
    """
    if snapshot.language is not None:
        return snapshot.language.blocks.next_line_indent(text, end)
    line = text[text.rfind("\n", 0, end) + 1 : end]
    return line[: len(line) - len(line.lstrip(" \t"))]
