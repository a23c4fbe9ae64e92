"""Answers that need no model: typing ahead into the suggestion shown, and recent results.

:class:`ShownSuggestions` serves the rest of the suggestion shown while what is typed matches
it; :class:`ResultCache` keeps recent completions keyed by the text around the cursor (a
backspace, the same spot asked again). Both compare bounded windows of text around the cursor,
never whole documents. This module imports only the standard library.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

PREFIX_KEY_CHARS = 1500
"""Characters before the cursor that identify a state."""
SUFFIX_KEY_CHARS = 400
"""Characters after the cursor that identify a state."""


def state_key(text: str, offset: int) -> tuple[str, str]:
    """The key of the text around the cursor at code-point ``offset`` of ``text``."""
    return text[max(0, offset - PREFIX_KEY_CHARS) : offset], text[
        offset : offset + SUFFIX_KEY_CHARS
    ]


@dataclass(frozen=True)
class Shown:
    """A suggestion shown at a cursor."""

    offset: int
    """Where the cursor was (code points into the document)."""
    before: str
    """The text just before the cursor (PREFIX_KEY_CHARS)."""
    after: str
    """The text just after the cursor (SUFFIX_KEY_CHARS)."""
    completion: str
    others: tuple[str, ...] = ()
    """More suggestions offered at the same cursor, for a client that cycles through them."""


class ShownSuggestions:
    """The last suggestion shown per document, for typing ahead."""

    def __init__(self) -> None:
        self._shown: dict[str, Shown] = {}

    def remember(self, uri: str, text: str, offset: int, completion: str) -> None:
        """Record that ``completion`` was offered at ``offset`` of ``text``."""
        if not completion:
            self._shown.pop(uri, None)
            return
        before, after = state_key(text, offset)
        self._shown[uri] = Shown(offset, before, after, completion)

    def remember_others(
        self, uri: str, text: str, offset: int, completion: str, others: tuple[str, ...]
    ) -> None:
        """Record ``others`` as offered beside ``completion`` at ``offset`` of ``text``."""
        if not completion and not others:
            return
        if not completion:
            completion, others = others[0], others[1:]
        before, after = state_key(text, offset)
        self._shown[uri] = Shown(offset, before, after, completion, others)

    def prefer(self, uri: str, completion: str) -> None:
        """Serve ``completion`` first among those shown together: the one the person took part of.

        Typing into text that fits several of them then continues that one.
        """
        shown = self._shown.get(uri)
        if shown is None or not completion or shown.completion.endswith(completion):
            return
        # ``completion`` may be the rest of one, served after the person typed its start.
        chosen = next((other for other in shown.others if other.endswith(completion)), None)
        if chosen is None:
            return
        others = tuple(other for other in (shown.completion, *shown.others) if other != chosen)
        self._shown[uri] = Shown(shown.offset, shown.before, shown.after, chosen, others)

    def forget(self, uri: str) -> None:
        """Drop what was shown in ``uri`` (the document closed)."""
        self._shown.pop(uri, None)

    def typed_ahead(self, uri: str, text: str, offset: int) -> str | None:
        """The rest of the shown suggestion if the person has typed its start, else None.

        That is: the text after the cursor is unchanged, and the text before it is what it was
        plus the first characters of the suggestion (the first one offered, else the first of
        the others that fits).
        """
        shown = self._shown.get(uri)
        if shown is None:
            return None
        typed = offset - shown.offset
        if typed <= 0:
            return None
        fitting = [
            candidate
            for candidate in (shown.completion, *shown.others)
            if typed < len(candidate) and text[shown.offset : offset] == candidate[:typed]
        ]
        if not fitting:
            return None
        before, _ = state_key(text, shown.offset)
        _, after = state_key(text, offset)
        if before != shown.before or after != shown.after:
            return None
        return fitting[0][typed:]


class ResultCache:
    """Completions of recent states, least recently used dropped first."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, text: str, offset: int) -> str | None:
        """The completion recorded for the state at ``offset`` of ``text``, if any."""
        key = state_key(text, offset)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, text: str, offset: int, completion: str) -> None:
        """Record the completion of the state at ``offset`` of ``text``."""
        key = state_key(text, offset)
        self._entries[key] = completion
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
