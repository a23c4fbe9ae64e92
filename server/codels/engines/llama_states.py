"""The KV state of recently used documents, kept aside so that switching back is not cold.

When requests move from one document to another, what the request sequence holds for the old
one is copied out (llama.cpp's per-sequence state: the positions and K/V data of its cells,
about 12 KB a token for the 0.5B model) and kept, least recently used first out, within a count
and a byte budget. When the document comes back, its state is copied in again if it keeps more
of the new prompt than what the sequence holds. Copies take milliseconds; evaluating a 2,000-token
prompt takes seconds.

Only the worker thread uses it. This module imports :mod:`codels.engines.kv_plan` (the cache
it works on reads and writes the states through ``llama_cpp``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codels.engines.kv_plan import HOLE

if TYPE_CHECKING:
    from codels.engines.llama_kv import KvCache

log = logging.getLogger(__name__)

DOCUMENT_STATES = 4
"""Documents whose state is kept beside the one the request sequence holds."""
DOCUMENT_STATE_BYTES = 256 * 1024 * 1024
"""Bytes the kept states may take together."""


@dataclass
class SavedState:
    """A document's cells as llama.cpp wrote them, and the token at each position."""

    tokens: list[int]
    data: Any
    """The bytes llama.cpp wrote (a ctypes array)."""
    approximate_from: int | None = None
    """Where the cells kept across an edit began (see :attr:`KvCache.approximate_from`)."""

    @property
    def size(self) -> int:
        """Bytes of the state."""
        return len(self.data)


class DocumentStates:
    """The states of the documents the request sequence held before the current one."""

    def __init__(
        self, capacity: int = DOCUMENT_STATES, max_bytes: int = DOCUMENT_STATE_BYTES
    ) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.current = ""
        """The document whose prompt the request sequence holds ("" before any)."""
        self._saved: OrderedDict[str, SavedState] = OrderedDict()

    @property
    def documents(self) -> list[str]:
        """The documents with a kept state, least recently used first."""
        return list(self._saved)

    @property
    def bytes(self) -> int:
        """What the kept states take."""
        return sum(state.size for state in self._saved.values())

    def forget(self, document: str) -> None:
        """Drop a document's state (it was closed)."""
        self._saved.pop(document, None)

    def switch(self, cache: KvCache, document: str, tokens: list[int]) -> bool:
        """Before ``tokens`` of ``document`` go into ``cache``: save and bring back states.

        The state of the document ``cache`` holds now is kept (unless it is ``document``);
        ``document``'s own kept state is copied in if it keeps more of ``tokens`` than what
        ``cache`` holds. Returns whether it was.
        """
        if not document or document == self.current:
            return False
        if self.current and cache.tokens:
            self._save(cache, self.current)
        self.current = document
        saved = self._saved.get(document)
        if saved is None:
            return False
        if cache.plan_for(saved.tokens, tokens).reused <= cache.plan(tokens).reused:
            return False
        restored = self._restore(cache, saved)
        del self._saved[document]  # the sequence holds it now, and will be saved again
        return restored

    def _save(self, cache: KvCache, document: str) -> None:
        if self.capacity <= 0:
            return
        if HOLE in cache.tokens:
            # Cells parked after a stop may still wait for their shift (applied at the next
            # decode); a state written now would hold them unrotated, so they stay out.
            cache.truncate(cache.tokens.index(HOLE))
        if not cache.tokens:
            return
        data = cache.export_state(self.max_bytes)
        if data is None:
            log.info("KV state of %s not kept (over %d MB)", document, self.max_bytes >> 20)
            return
        self._saved.pop(document, None)
        self._saved[document] = SavedState(list(cache.tokens), data, cache.approximate_from)
        while len(self._saved) > self.capacity or self.bytes > self.max_bytes:
            self._saved.popitem(last=False)

    def _restore(self, cache: KvCache, saved: SavedState) -> bool:
        if not cache.import_state(saved.data):
            log.info("a kept KV state could not be read back: the prompt is evaluated")
            cache.clear()
            return False
        cache.tokens = list(saved.tokens)
        cache.prompt_length = len(cache.tokens)
        cache.approximate_from = saved.approximate_from
        return True
