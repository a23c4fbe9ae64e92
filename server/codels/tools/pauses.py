"""The bench's pauses of reading: "after opening a file" and "switch back", replayed over LSP.

:func:`plan_pauses` (pure) takes a real file of about 2,000 lines (by default the first 2,000
of this Python's ``argparse.py``, on every machine) and cuts the tail off two ``return`` lines
past its middle, as if the person were writing them; each round opens it under a URI of its
own. :func:`replay_pauses` then does what a person does: open it (``didOpen`` and
``codels/didFocus`` at the first cut), read for :data:`OPEN_PAUSE_S`, ask there ("after
opening a file"); open another file, read, ask there; come back (``codels/didFocus`` at the
second cut), pause :data:`SWITCH_PAUSE_S`, ask there ("switch back"). Imports lsprotocol,
pygls's client and positions.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from codels.positions import LineIndex

OPEN_LINES = 2000
"""Lines of the file opened."""
OPEN_PAUSE_S = 2.0
"""Seconds of reading after opening the file, before the first request."""
SWITCH_PAUSE_S = 0.5
"""Seconds between coming back to the file and the request there."""
KINDS = ("after opening a file", "switch back")


def default_open_file() -> Path:
    """A real file of over 2,000 lines on any machine with Python: its ``argparse.py``."""
    return Path(argparse.__file__)


@dataclass(frozen=True)
class PauseRound:
    """One round: the opened text and the two cursors (code points) a tail was cut at."""

    text: str
    first: int
    second: int
    expected_first: str
    expected_second: str


def plan_pauses(source: str, rounds: int) -> list[PauseRound]:
    """Up to ``rounds`` rounds over the first :data:`OPEN_LINES` lines of ``source``.

    Round ``i`` cuts the ``2i``-th and ``2i+1``-th ``return <value>`` lines past the middle
    after ``return `` (the rest of such a line is what the person goes on to type).
    """
    lines = source.splitlines(keepends=True)[:OPEN_LINES]
    middle = len(lines) // 2
    returns = [
        index
        for index in range(middle, len(lines))
        if lines[index].strip().startswith("return ") and len(lines[index].strip()) > 12
    ]
    planned: list[PauseRound] = []
    for number in range(rounds):
        picked = returns[2 * number : 2 * number + 2]
        if len(picked) < 2:
            break
        cut = list(lines)
        cursors: list[int] = []
        expected: list[str] = []
        for index in picked:
            keep = cut[index].index("return ") + len("return ")
            expected.append(cut[index][keep:].rstrip("\n"))
            cut[index] = cut[index][:keep] + "\n"
        text = "".join(cut)
        for index in picked:
            cursors.append(sum(len(line) for line in cut[:index]) + len(cut[index]) - 1)
        planned.append(PauseRound(text, cursors[0], cursors[1], expected[0], expected[1]))
    return planned


@dataclass
class PauseRequest:
    """One request after a pause: its kind, when it was sent and answered, what it showed."""

    kind: str
    sent: float
    answered: float | None = None
    text: str = ""
    expected: str = ""

    @property
    def latency_ms(self) -> float | None:
        """Milliseconds from request to answer, or None if never answered."""
        return None if self.answered is None else (self.answered - self.sent) * 1000


def _position(text: str, offset: int) -> types.Position:
    line, character = LineIndex.of(text).position_at(offset, "utf-16")
    return types.Position(line=line, character=character)


def _open(client: LanguageClient, uri: str, text: str, at: int) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    _focus(client, uri, text, at)


def _focus(client: LanguageClient, uri: str, text: str, at: int) -> None:
    position = _position(text, at)
    client.protocol.notify(
        "codels/didFocus",
        {
            "textDocument": {"uri": uri},
            "position": {"line": position.line, "character": position.character},
        },
    )


async def _ask(
    client: LanguageClient, uri: str, text: str, at: int, kind: str, expected: str
) -> PauseRequest:
    record = PauseRequest(kind, time.monotonic(), expected=expected)
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=_position(text, at),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )
    record.answered = time.monotonic()
    items = getattr(result, "items", None) or []
    record.text = items[0].insert_text if items else ""
    return record


async def replay_pauses(
    client: LanguageClient,
    rounds: list[PauseRound],
    other: tuple[str, str],
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> list[PauseRequest]:
    """Replay ``rounds``; ``other`` is the (name, text) of the file switched to in between."""
    records: list[PauseRequest] = []
    other_name, other_text = other
    for number, round_ in enumerate(rounds):
        uri = f"file:///bench/pauses/{number}/opened.py"
        other_uri = f"file:///bench/pauses/{number}/{other_name}"
        _open(client, uri, round_.text, round_.first)
        await sleep(OPEN_PAUSE_S)
        records.append(
            await _ask(client, uri, round_.text, round_.first, KINDS[0], round_.expected_first)
        )
        # Another file, read and completed in: its state takes the engine's place.
        _open(client, other_uri, other_text, len(other_text))
        await sleep(OPEN_PAUSE_S)
        await _ask(client, other_uri, other_text, len(other_text), "other", "")
        _focus(client, uri, round_.text, round_.second)
        await sleep(SWITCH_PAUSE_S)
        records.append(
            await _ask(client, uri, round_.text, round_.second, KINDS[1], round_.expected_second)
        )
        for closing in (uri, other_uri):
            client.text_document_did_close(
                types.DidCloseTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=closing)
                )
            )
    return records


def pause_summary(records: list[PauseRequest]) -> dict[str, dict[str, Any]]:
    """Per kind: requests, answered, shown, and the latencies (ms) of the answers, in order."""
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        mine = [record for record in records if record.kind == kind]
        latencies = [r.latency_ms for r in mine if r.latency_ms is not None]
        out[kind] = {
            "requests": len(mine),
            "shown": sum(bool(r.text.strip()) for r in mine),
            "latencies_ms": [round(value, 1) for value in latencies],
            "first_ms": round(latencies[0], 1) if latencies else None,
            "max_ms": round(max(latencies), 1) if latencies else None,
        }
    return out


def format_pauses(pauses: dict[str, dict[str, Any]], replay: dict[str, Any]) -> list[str]:
    """The report's lines for the pauses of reading: each kind's requests and latencies."""

    def ms(value: Any) -> str:
        return "-" if value is None else f"{value:.0f}"

    lines = [
        f"after a pause of reading ({replay.get('open_file_lines')} lines of "
        f"{Path(replay.get('open_file') or '').name}): latency of each request (ms)",
        f"  {'pause':<22} {'requests':>8} {'shown':>6} {'max ms':>7}  each (ms)",
    ]
    for kind, row in pauses.items():
        each = ", ".join(f"{value:.0f}" for value in row["latencies_ms"]) or "-"
        lines.append(
            f"  {kind:<22} {row['requests']:>8} {row['shown']:>6} {ms(row['max_ms']):>7}  {each}"
        )
    return lines
