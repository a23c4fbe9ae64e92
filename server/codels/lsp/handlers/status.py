"""codels's own requests: ``codels/status``, ``codels/stats`` and ``codels/acceptance``.

Where the model stands, what the server did since it started, and the local acceptance
statistics. This module imports :mod:`codels.completion.acceptance` (the server only for type
checking).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codels.completion.acceptance import read_file, report, stats_path

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

STATUS = "codels/status"
"""Custom request: where the model stands."""
STATS = "codels/stats"
"""Custom request: what the server has done (counted locally, never sent anywhere)."""
ACCEPTANCE = "codels/acceptance"
"""Custom request: the acceptance statistics of this machine (the local file, brought up to
date first), as counts and as a table."""


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


def codels_acceptance(ls: CodelsLanguageServer, params: Any) -> dict[str, Any]:
    """``codels/acceptance``: the counts in the local file, with this server's added first."""
    ls.acceptance.flush()
    path = ls.acceptance.path or stats_path()
    data = read_file(path)
    since = data.get("since") if isinstance(data.get("since"), str) else None
    return {
        "path": str(path),
        "counts": data["counts"],
        "since": since,
        "enabled": ls.acceptance.enabled,
        "text": report(data["counts"], path, since),
    }
