"""What became of the suggestions shown: accepted, partly accepted or not, counted locally.

Each inline item carries an id in the command an editor runs when the person accepts it
(``codels.accepted``); a partial accept (a word, a line) is reported with the characters kept
(``codels.acceptedPart``). :class:`OfferedSuggestions` keeps the latest ids; an item that is the
rest of a suggestion being typed into counts as that suggestion (its *root*), so typing into one
does not count it shown again.

:class:`AcceptanceStats` counts per language and kind (``line`` or ``block``) and adds its counts
to a JSON file in the user's state directory (``CODELS_STATE_DIR`` moves it): nothing is sent
anywhere, the person can read the file and delete it to start again. Several servers (editor
windows) add to the same file under a lock. Each suggestion is counted in exactly one of
accepted, partial (some of it taken with the word or line keys, not all) and not accepted, so
those three add up to shown.

Imports the standard library and platformdirs.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

try:
    import fcntl
except ImportError:  # Windows: one server at a time is the common case there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

KEPT = 512
"""Suggestions remembered by id (an accept comes within seconds of its suggestion)."""
COUNTERS = ("shown", "accepted", "partial", "chars_kept")
"""What is counted per language and kind."""
FLUSH_EVERY_S = 60.0
"""Counts are added to the file at most this long after they change (and at shutdown)."""
ABOUT = (
    "codels acceptance statistics: counted on this machine by the codels server, never sent "
    "anywhere. shown = suggestions shown (typing into one does not count it again); accepted = "
    "taken whole; partial = partly taken (word or line keys) and not all; chars_kept = "
    "characters taken by partial accepts. Delete this file to start again."
)


def stats_path() -> Path:
    """The statistics file (``CODELS_STATE_DIR`` overrides the platform's state directory)."""
    override = os.environ.get("CODELS_STATE_DIR")
    folder = Path(override) if override else Path(platformdirs.user_state_dir("codels"))
    return folder / "acceptance.json"


def kind_of(text: str) -> str:
    """``line`` (one line) or ``block`` (more)."""
    return "block" if "\n" in text.strip("\n") else "line"


@dataclass(frozen=True)
class Offered:
    """A suggestion handed to the editor."""

    uri: str
    language: str
    """The document's language id (``python``)."""
    text: str
    root: str
    """The id of the suggestion this one is (the same id, or the one it is the rest of)."""

    @property
    def kind(self) -> str:
        """``line`` (one line) or ``block`` (more)."""
        return kind_of(self.text)


class OfferedSuggestions:
    """Suggestions by id, the latest :data:`KEPT`."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Offered] = OrderedDict()
        self._numbers = itertools.count(1)

    def offer(
        self, uri: str, language: str, text: str, *, continues: bool = False, grows: bool = False
    ) -> str:
        """Remember a suggestion handed out; its id.

        ``continues``: it is the rest of one shown before in ``uri`` (typing into it), which
        becomes its root. ``grows``: it may also be a longer version of the latest one shown
        in ``uri`` (a block shown early, then with the lines written since, past what was
        typed into it): it has the same root when it starts with a tail of that one.
        """
        suggestion_id = f"s{next(self._numbers)}"
        root = suggestion_id
        if continues or grows:
            for earlier in reversed(self._by_id.values()):
                if earlier.uri != uri:
                    continue
                if (continues and earlier.text.endswith(text)) or (
                    grows and _grows(earlier.text, text)
                ):
                    root = earlier.root
                    break
                if grows and not continues:
                    break  # only the latest one in ``uri`` may have grown
        self._by_id[suggestion_id] = Offered(uri, language, text, root)
        while len(self._by_id) > KEPT:
            self._by_id.popitem(last=False)
        return suggestion_id

    def get(self, suggestion_id: object) -> Offered | None:
        """The suggestion with this id, if it is still remembered."""
        return self._by_id.get(suggestion_id) if isinstance(suggestion_id, str) else None

    def root(self, offered: Offered) -> Offered:
        """The suggestion ``offered`` is the rest of (itself if it is not one, or if forgotten)."""
        return self._by_id.get(offered.root, offered)


def _grows(earlier: str, text: str) -> bool:
    """Whether ``text`` starts with a tail of ``earlier`` and goes on past it."""
    return any(
        len(text) > len(earlier) - start and text.startswith(earlier[start:])
        for start in range(len(earlier))
    )


Counts = dict[str, dict[str, dict[str, int]]]
"""language -> kind -> counter -> value."""


@dataclass
class _Fate:
    partial: bool = False
    accepted: bool = False


@dataclass
class AcceptanceStats:
    """Counts since the last flush, added to the file at :meth:`flush`."""

    path: Path | None = None
    """Where the counts go (None: :func:`stats_path`)."""
    enabled: bool = True
    """False: nothing is counted or written (the ``keepAcceptanceStats`` setting)."""
    pending: Counts = field(default_factory=dict)
    _fates: OrderedDict[str, _Fate] = field(default_factory=OrderedDict)
    _last_flush: float = field(default_factory=time.monotonic)

    def _add(self, offered: Offered, counter: str, amount: int = 1) -> None:
        by_kind = self.pending.setdefault(offered.language or "unknown", {})
        counts = by_kind.setdefault(offered.kind, dict.fromkeys(COUNTERS, 0))
        counts[counter] += amount

    def _fate(self, root: Offered) -> _Fate:
        fate = self._fates.get(root.root)
        if fate is None:
            fate = self._fates[root.root] = _Fate()
            while len(self._fates) > KEPT:
                self._fates.popitem(last=False)
        return fate

    def shown(self, offered: Offered) -> None:
        """A new suggestion was shown (not the rest of one typed into)."""
        if self.enabled:
            self._add(offered, "shown")
            self._flush_if_due()

    def accepted(self, root: Offered) -> None:
        """The suggestion ``root`` was accepted whole (perhaps after partial accepts)."""
        if not self.enabled:
            return
        fate = self._fate(root)
        if fate.accepted:
            return
        fate.accepted = True
        self._add(root, "accepted")
        if fate.partial:
            self._add(root, "partial", -1)  # it counts as accepted now
        self.flush()

    def accepted_part(self, root: Offered, chars: int) -> None:
        """``chars`` characters of the suggestion ``root`` were accepted (a word, a line)."""
        if not self.enabled:
            return
        fate = self._fate(root)
        self._add(root, "chars_kept", max(0, chars))
        if not fate.partial and not fate.accepted:
            fate.partial = True
            self._add(root, "partial")
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        if time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Add the pending counts to the file (under a lock, for other servers); never raises."""
        self._last_flush = time.monotonic()
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        try:
            add_to_file(self.path or stats_path(), pending)
        except OSError as exc:
            log.warning("could not write the acceptance statistics: %s", exc)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_file(path: Path | None = None) -> dict[str, Any]:
    """The statistics file's content (an empty one if there is none or it is unreadable)."""
    path = path or stats_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"counts": {}}
    except (OSError, ValueError) as exc:
        log.warning("ignoring an unreadable statistics file %s: %s", path, exc)
        return {"counts": {}}
    if not isinstance(data, dict) or not isinstance(data.get("counts"), dict):
        return {"counts": {}}
    return data


def add_to_file(path: Path, counts: Counts) -> None:
    """Add ``counts`` to the file at ``path`` (created if need be)."""
    with _locked(path):
        data = read_file(path)
        data["about"] = ABOUT
        data.setdefault("since", datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
        data["counts"] = merged(data["counts"], counts)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(path)


def merged(saved: Counts, pending: Counts) -> Counts:
    """``saved`` plus ``pending`` (what a server counted since its last flush)."""
    total: Counts = json.loads(json.dumps(saved))
    for language, by_kind in pending.items():
        for kind, values in by_kind.items():
            kept = total.setdefault(language, {}).setdefault(kind, {})
            for counter in COUNTERS:
                kept[counter] = int(kept.get(counter, 0)) + values.get(counter, 0)
    return total


def report(counts: Counts, path: Path, since: str | None = None) -> str:
    """The counts as a table, for people (``codels stats`` and the editors' commands)."""
    header = ("language", "kind", "shown", "accepted", "partial", "not accepted", "chars kept")
    rows: list[tuple[str, ...]] = []
    for language in sorted(counts):
        for kind in sorted(counts[language]):
            values = counts[language][kind]
            shown = values.get("shown", 0)
            accepted = values.get("accepted", 0)
            partial = values.get("partial", 0)
            rate = f" ({accepted / shown:.0%})" if shown else ""
            rows.append(
                (
                    language,
                    kind,
                    str(shown),
                    f"{accepted}{rate}",
                    str(partial),
                    str(max(0, shown - accepted - partial)),
                    str(values.get("chars_kept", 0)),
                )
            )
    lines = []
    if rows:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            lines.append("  ".join(cells).rstrip())
    else:
        lines.append("No suggestions counted yet.")
    lines.append("")
    lines.append(
        f"Counted on this machine only{f' since {since}' if since else ''}, never sent anywhere;"
    )
    lines.append(f"the file is {path} (delete it, or run `codels stats --reset`, to start again).")
    return "\n".join(lines)
