"""codels's own requests: ``codels/status`` (where the model stands) and ``codels/stats``.

This module imports nothing of codels at run time (the server only for type checking).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

STATUS = "codels/status"
"""Custom request: where the model stands."""
STATS = "codels/stats"
"""Custom request: what the server has done (counted locally, never sent anywhere)."""


def codels_status(ls: CodelsLanguageServer, params: Any) -> dict[str, Any]:
    """``codels/status``: the model's state, for editors' status bars and the benchmark."""
    info = ls.engine.info
    return {
        "model": ls.model.state.value,
        "name": info.name if info else None,
        "error": ls.model.error or None,
        "enabled": ls.settings.enabled,
        "loading": ls.model.loading,
        "family": info.family.name if info and info.family else None,
        "infilling": bool(info and info.family),
    }


def codels_stats(ls: CodelsLanguageServer, params: Any) -> dict[str, Any]:
    """``codels/stats``: counters since the server started (requests, caches, tokens)."""
    return ls.completions.stats.summary()
