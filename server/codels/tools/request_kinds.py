"""The kinds of request in the bench's typing replay, and each kind's figures.

:func:`request_kind` tells, from the document and cursor when the request goes out and whether
the replay has just pressed Tab, what the person is doing: typing in a line ("mid-line"), on a
line blank up to the cursor, having just pressed Enter ("new line"), or going on after
accepting a suggestion ("after accept"). :func:`kind_rows` gives each kind's counts and latency
percentiles, for the typing requests and the pauses of reading alike, and :func:`format_kinds`
the report's lines. Pure: it imports nothing of codels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

MID_LINE = "mid-line"
"""The cursor's line has text before the cursor."""
NEW_LINE = "new line"
"""The cursor's line is blank before the cursor (Enter was just pressed, the editor indented)."""
AFTER_ACCEPT = "after accept"
"""The first request after the replay pressed Tab on a suggestion."""
TYPING_KINDS = (MID_LINE, NEW_LINE, AFTER_ACCEPT)


def request_kind(text: str, cursor: int, *, after_accept: bool = False) -> str:
    """The kind of a request at code-point ``cursor`` of ``text``."""
    if after_accept:
        return AFTER_ACCEPT
    line_start = text.rfind("\n", 0, cursor) + 1
    return NEW_LINE if not text[line_start:cursor].strip() else MID_LINE


class Answered(Protocol):
    """What a row needs of a request: its kind, its latency and the suggestion it showed."""

    @property
    def kind(self) -> str:
        """The request's kind."""
        ...

    @property
    def text(self) -> str:
        """The suggestion shown ("" for none)."""
        ...

    @property
    def latency_ms(self) -> float | None:
        """Milliseconds from request to answer, or None if never answered."""
        ...


def percentile(ordered: Sequence[float], percent: float) -> float | None:
    """The nearest-rank ``percent`` percentile of sorted values, or None for none."""
    if not ordered:
        return None
    rank = max(0, min(len(ordered) - 1, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def kind_rows(records: Iterable[Answered], kinds: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per kind: requests, answered, p50/p95 latency, and the same of those that showed text.

    'Shown' is what the bench's overall row calls so: answered with a non-blank suggestion.
    """
    records = list(records)
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        mine = [record for record in records if record.kind == kind]
        latencies = sorted(r.latency_ms for r in mine if r.latency_ms is not None)
        shown = sorted(r.latency_ms for r in mine if r.latency_ms is not None and r.text.strip())
        out[kind] = {
            "requests": len(mine),
            "answered": len(latencies),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "shown": len(shown),
            "shown_p50_ms": percentile(shown, 50),
            "shown_p95_ms": percentile(shown, 95),
        }
    return out


def format_kinds(runs: dict[str, dict[str, Any]]) -> list[str]:
    """The report's table of the runs' kinds of request (the kinds with requests)."""

    def ms(value: Any) -> str:
        return "-" if value is None else f"{value:.0f}"

    lines = [
        "per kind of request (typing, then the pauses of reading):",
        f"  {'run':<9} {'kind':<22} {'requests':>8} {'answered':>8} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'shown':>6} {'shown p50':>9} {'shown p95':>9}",
    ]
    for name, run in runs.items():
        for kind, row in run.get("kinds", {}).items():
            if not row["requests"]:
                continue
            lines.append(
                f"  {name:<9} {kind:<22} {row['requests']:>8} {row['answered']:>8} "
                f"{ms(row['p50_ms']):>7} {ms(row['p95_ms']):>7} {row['shown']:>6} "
                f"{ms(row['shown_p50_ms']):>9} {ms(row['shown_p95_ms']):>9}"
            )
    return lines
