"""The suggestions handed to editors lately, by id, so that an editor can say which it took.

Each inline item carries its id in the command an editor runs when the person accepts it
(``codels.accepted``); a partial accept (a word, a line) is reported with the characters kept
(``codels.acceptedPart``). Ids are kept for the latest :data:`KEPT` suggestions only.

Imports only the standard library.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass

KEPT = 512
"""Suggestions remembered by id (an accept comes within seconds of its suggestion)."""


@dataclass(frozen=True)
class Offered:
    """A suggestion handed to the editor."""

    uri: str
    language: str
    """The document's language id (``python``)."""
    text: str

    @property
    def kind(self) -> str:
        """``line`` (one line) or ``block`` (more)."""
        return "block" if "\n" in self.text.strip("\n") else "line"


class OfferedSuggestions:
    """Suggestions by id, the latest :data:`KEPT`."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Offered] = OrderedDict()
        self._numbers = itertools.count(1)

    def offer(self, uri: str, language: str, text: str) -> str:
        """Remember a suggestion handed out; its id."""
        suggestion_id = f"s{next(self._numbers)}"
        self._by_id[suggestion_id] = Offered(uri, language, text)
        while len(self._by_id) > KEPT:
            self._by_id.popitem(last=False)
        return suggestion_id

    def get(self, suggestion_id: object) -> Offered | None:
        """The suggestion with this id, if it is still remembered."""
        return self._by_id.get(suggestion_id) if isinstance(suggestion_id, str) else None
