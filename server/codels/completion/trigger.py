"""When a request may reach the model: the debounce of automatic requests, per document.

Every request for a document takes a ticket as it arrives; an automatic one then waits
``debounceMs`` before it starts a generation and goes ahead only if no later request for the
same document came meanwhile. The wait is an ``asyncio.sleep``, so ``$/cancelRequest`` ends it
at once.

Imports :mod:`codels.config` (the trigger modes).
"""

from __future__ import annotations

import asyncio
import itertools

from codels.config import MANUAL


class Debouncer:
    """The latest request per document, and the wait of an automatic one."""

    def __init__(self) -> None:
        self._latest: dict[str, int] = {}
        self._tickets = itertools.count(1)

    def arrived(self, uri: str) -> int:
        """Note a request for ``uri``; its ticket (any earlier request's wait is now in vain)."""
        ticket = next(self._tickets)
        self._latest[uri] = ticket
        return ticket

    async def settled(self, uri: str, ticket: int, delay_ms: int) -> bool:
        """Wait ``delay_ms``; whether the request with ``ticket`` is still the latest then."""
        if delay_ms > 0 and self._latest.get(uri) == ticket:
            await asyncio.sleep(delay_ms / 1000)
        return self._latest.get(uri) == ticket

    def forget(self, uri: str) -> None:
        """The document closed: a request still waiting for it gives up."""
        self._latest.pop(uri, None)


async def held_back(
    debouncer: Debouncer, uri: str, ticket: int, trigger_mode: str, debounce_ms: int
) -> str | None:
    """Why an automatic request must not start a generation (``None``: it may, now).

    In ``manual`` trigger mode it never may; otherwise it waits ``debounce_ms`` first and may
    only if no later request for ``uri`` came meanwhile.
    """
    if trigger_mode == MANUAL:
        return "manual trigger mode: the model runs only when asked"
    if not await debouncer.settled(uri, ticket, debounce_ms):
        return "a newer request came while this one waited (debounceMs)"
    return None
