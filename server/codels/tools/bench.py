"""``codels bench``: replay typing sessions through the real server and measure latency.

The same keystroke timeline (:mod:`codels.tools.replay`) goes through ``codels --stdio``, driven
over LSP as an editor drives it (a ``didChange`` per key, a request after the debounce,
``$/cancelRequest`` when a key comes meanwhile; Tab, pressed on a suggestion that is what the
person typed next, runs the item's ``codels.accepted`` command, and the figures count the
accepts the server counted), and through a naive client of the same model in this process
(raw FIM prompt, no caches, no cancellation, one request at a time). Every request is of a kind
(:mod:`codels.tools.request_kinds`: mid-line, new line, after accept), with figures per kind
beside the pauses of reading's. ``--json`` records the figures with machine, model, sha256,
settings and git commit. This module imports config, engines, positions, the shared report
header, the replay, the request kinds, lsprotocol and pygls's client.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from codels import __version__
from codels.config import Settings, camel_case
from codels.engines.base import Engine, GenerationRequest
from codels.engines.switch import BackendEngine
from codels.positions import LineIndex
from codels.tools.pauses import KINDS as PAUSE_KINDS
from codels.tools.pauses import (
    PauseRequest,
    PauseRound,
    default_open_file,
    format_pauses,
    pause_summary,
    plan_pauses,
    replay_pauses,
)
from codels.tools.replay import Keystroke, Session, TypingModel, corpus_sessions
from codels.tools.report import report_header
from codels.tools.request_kinds import (
    TYPING_KINDS,
    format_kinds,
    kind_rows,
    percentile,
    request_kind,
)

log = logging.getLogger(__name__)

BASELINE_MAX_TOKENS = 128
"""A naive client's usual cap."""
BASELINE_CONTEXT_CHARS = (6000, 1500)
"""Characters before and after the cursor a naive client sends (about the same tokens as
codels's budget)."""
BENCH_MODEL_FACTS = ("name", "path", "sha256", "threads", "build")
"""What the bench's report records of the model (the evaluation's adds verified and family)."""


@dataclass
class Request:
    """One completion request of a replay."""

    session: str
    keystroke: int
    sent: float
    answered: float | None = None
    cancelled: bool = False
    text: str = ""
    expected: str = ""
    """What the person typed next from this cursor (the rest of the line)."""
    command: types.Command | None = None
    """The command the answer's first item carries (``codels.accepted``), run on accepting it."""
    tab: bool = False
    """The replay accepted this suggestion with Tab (and ran its command)."""
    accepted: bool = False
    """The server counted that accept (it remembered the suggestion)."""
    kind: str = ""
    """Mid-line, new line or after accept (see :mod:`~codels.tools.request_kinds`)."""

    @property
    def latency_ms(self) -> float | None:
        """Milliseconds from request to answer, or None if never answered."""
        return None if self.answered is None else (self.answered - self.sent) * 1000


@dataclass
class RunFigures:
    """The figures of one run."""

    name: str
    requests: list[Request] = field(default_factory=list)
    server: dict[str, Any] = field(default_factory=dict)
    peak_rss_mib: float | None = None
    pauses: list[PauseRequest] = field(default_factory=list)
    """The requests after a pause of reading (:mod:`~codels.tools.pauses`)."""

    def summary(self) -> dict[str, Any]:
        """Percentiles and counts."""
        latencies = sorted(r.latency_ms for r in self.requests if r.latency_ms is not None)
        shown = [r for r in self.requests if r.answered is not None and r.text.strip()]
        useful = [r for r in shown if _matches(r.text, r.expected)]
        shown_latencies = sorted(r.latency_ms for r in shown if r.latency_ms is not None)
        accepted = sum(r.accepted for r in self.requests)
        out: dict[str, Any] = {
            "requests": len(self.requests),
            "answered": len(latencies),
            "cancelled": sum(r.cancelled for r in self.requests),
            "shown": len(shown),
            "useful": len(useful),
            "useful_rate": len(useful) / len(shown) if shown else 0.0,
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
            "mean_ms": statistics.fmean(latencies) if latencies else None,
            "shown_p50_ms": percentile(shown_latencies, 50),
            "shown_p95_ms": percentile(shown_latencies, 95),
            "tab_accepts": sum(r.tab for r in self.requests),
            "accepted": accepted,
            "accepted_rate": accepted / len(shown) if shown else 0.0,
            "peak_rss_mib": self.peak_rss_mib,
        }
        out.update(self.server)
        out["kinds"] = kind_rows(self.requests, TYPING_KINDS)
        if self.pauses:
            out["kinds"].update(kind_rows(self.pauses, PAUSE_KINDS))
            out["pauses"] = pause_summary(self.pauses)
        return out


def _matches(suggestion: str, expected: str) -> bool:
    """Whether the first line of the suggestion is what the person typed next (3+ chars)."""
    first = suggestion.split("\n", 1)[0].rstrip()
    return len(first.strip()) >= 3 and expected.startswith(first)


def _expected_after(final_text: str, typed_text: str, offset: int) -> str:
    """The rest of the line the person goes on to type from ``offset``."""
    # Until the session ends, the document is the final text with a hole after the cursor.
    suffix_len = len(typed_text) - offset
    rest = final_text[offset : len(final_text) - suffix_len]
    return rest.split("\n", 1)[0]


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _position(text: str, offset: int) -> types.Position:
    line, character = LineIndex.of(text).position_at(offset, "utf-16")
    return types.Position(line=line, character=character)


class _Timeline:
    """Walks the keystrokes of sessions in real time, calling back for edits and requests."""

    def __init__(self, debounce: float) -> None:
        self.debounce = debounce

    @staticmethod
    def apply(text: str, offset: int, inserted: str) -> str:
        return text[:offset] + inserted + text[offset:]


async def replay_codels(
    sessions: Sequence[Session],
    debounce: float,
    settings: Settings,
    *,
    log_file: str | None = None,
    pauses: Sequence[PauseRound] = (),
) -> RunFigures:
    """Replay ``sessions``, then the ``pauses``, against ``codels --stdio``; return the figures."""
    figures = RunFigures("codels")
    client = LanguageClient("codels-bench", __version__)
    command = [sys.executable, "-m", "codels", "--stdio"]
    if log_file:
        command += ["--log-file", log_file]
    await client.start_io(*command)
    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    text_document=types.TextDocumentClientCapabilities(
                        inline_completion=types.InlineCompletionClientCapabilities()
                    )
                ),
                # The replay's accepts are no person's: keep them out of the local statistics.
                initialization_options={
                    "codels": {**_settings_dict(settings), "keepAcceptanceStats": False}
                },
            )
        )
        client.initialized(types.InitializedParams())
        await _wait_until_ready(client)
        for session in sessions:
            await _replay_session(client, session, debounce, figures)
        if pauses and sessions:
            other = (sessions[0].name, sessions[0].final_text)
            figures.pauses = await replay_pauses(client, list(pauses), other)
        figures.server = plain(await client.protocol.send_request_async("codels/stats", None))
        server_process = client._server  # pygls keeps the child process here
        if server_process is not None:
            figures.peak_rss_mib = _peak_rss_mib(server_process.pid)
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()  # type: ignore[no-untyped-call]
    return figures


def plain(value: Any) -> Any:
    """Turn the namedtuples pygls makes of custom results back into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _settings_dict(settings: Settings) -> dict[str, Any]:
    return {camel_case(k): v for k, v in dataclasses.asdict(settings).items()}


async def _wait_until_ready(client: LanguageClient, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = plain(await client.protocol.send_request_async("codels/status", None))
        state = status.get("model") if isinstance(status, dict) else None
        if state == "ready":
            return
        if state == "failed":
            raise RuntimeError(f"the model did not load: {status}")
        if time.monotonic() > deadline:
            raise TimeoutError("the model did not load in time")
        await asyncio.sleep(0.2)


async def _replay_session(
    client: LanguageClient, session: Session, debounce: float, figures: RunFigures
) -> None:
    uri = f"file:///bench/{session.name}"
    text = session.start_text
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    pending: tuple[str, asyncio.Future[Any], Request] | None = None
    keys = session.keystrokes
    for index, key in enumerate(keys):
        if pending is not None and pending[1].done():
            await tab_if_useful(client, pending[2])
        elif pending is not None:
            client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=pending[0]))
        text = _type_key(client, uri, index + 2, text, key)
        gap = keys[index + 1].gap if index + 1 < len(keys) else 1.5
        if gap <= debounce:
            await asyncio.sleep(gap)
            continue
        await asyncio.sleep(debounce)
        cursor = key.offset + len(key.text)
        # Tab was pressed, if at all, on the request before this one, at the top of the loop.
        after_accept = pending is not None and pending[2].tab
        record = Request(
            session.name,
            index,
            time.monotonic(),
            expected=_expected_after(session.final_text, text, cursor),
            kind=request_kind(text, cursor, after_accept=after_accept),
        )
        figures.requests.append(record)
        msg_id, future = _request_inline_completion(client, uri, _position(text, cursor))
        future.add_done_callback(functools.partial(_settle, record=record))
        pending = (msg_id, future, record)
        await asyncio.sleep(gap - debounce)
    if pending is not None and not pending[1].done():
        with contextlib.suppress(Exception):  # an error answer ends the wait as well
            await asyncio.wait_for(asyncio.shield(pending[1]), timeout=30)
    if pending is not None and pending[1].done():
        await tab_if_useful(client, pending[2])
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )


def _type_key(client: LanguageClient, uri: str, version: int, text: str, key: Keystroke) -> str:
    """Send ``key`` as an incremental change to the open document; return the new text."""
    start = _position(text, key.offset)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=start, end=start), text=key.text
                )
            ],
        )
    )
    return _Timeline.apply(text, key.offset, key.text)


def _request_inline_completion(
    client: LanguageClient, uri: str, position: types.Position
) -> tuple[str, asyncio.Future[Any]]:
    """Ask for an automatic inline completion at ``position``; the request id and its answer."""
    msg_id = f"bench-{uuid.uuid4()}"
    future = client.protocol.send_request_async(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        ),
        msg_id=msg_id,
    )
    return msg_id, future


def _settle(future: asyncio.Future[Any], record: Request) -> None:
    """Record the answer (or the cancellation) of a replayed request."""
    if future.cancelled() or future.exception() is not None:
        record.cancelled = True
        return
    record.answered = time.monotonic()
    result = future.result()
    items = getattr(result, "items", None) or []
    record.text = items[0].insert_text if items else ""
    record.command = items[0].command if items else None


async def tab_if_useful(client: LanguageClient, record: Request) -> None:
    """Press Tab on ``record``'s suggestion if it is what the person typed next.

    The keystrokes then go on as recorded: they type what the accept would have inserted, so
    the document, and every later request, is the same as without the accept.
    """
    if record.answered is not None and not record.tab and _matches(record.text, record.expected):
        await accept_with_tab(client, record)


async def accept_with_tab(client: LanguageClient, record: Request) -> bool:
    """Accept ``record``'s suggestion as an editor does on Tab: run the command it carries.

    That is ``codels.accepted`` with the suggestion's id, which every editor sends; the server
    answers whether it counted it. Whether the accept was counted is recorded and returned.
    """
    command = record.command
    if command is None or record.answered is None:
        return False
    record.tab = True
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    record.accepted = answer is True
    return record.accepted


async def replay_baseline(
    sessions: Sequence[Session], debounce: float, engine: Engine
) -> RunFigures:
    """Replay ``sessions`` as a naive client of the same model in this process would.

    At the same moments as the codels run it sends the raw FIM prompt of the document (no KV
    cache reuse, no result cache, no cancellation; stopped at a blank line or the end token) and
    waits for the answer, asking nothing more while one is in flight.
    """
    # Its latency is pure service time, so the ratio to it is conservative: a naive client that
    # queued its requests would look worse.
    figures = RunFigures("baseline")
    info = engine.info
    if info is None:
        raise RuntimeError("no model is loaded")
    before_chars, after_chars = BASELINE_CONTEXT_CHARS
    for session in sessions:
        text = session.start_text
        busy: asyncio.Task[None] | None = None
        keys = session.keystrokes
        for index, key in enumerate(keys):
            text = _Timeline.apply(text, key.offset, key.text)
            gap = keys[index + 1].gap if index + 1 < len(keys) else 1.5
            if gap <= debounce or (busy is not None and not busy.done()):
                await asyncio.sleep(gap)
                continue
            await asyncio.sleep(debounce)
            cursor = key.offset + len(key.text)
            prefix, suffix = (
                text[max(0, cursor - before_chars) : cursor],
                text[cursor:][:after_chars],
            )
            prompt = info.family.fim_prompt(prefix, suffix) if info.family else prefix
            record = Request(
                session.name,
                index,
                time.monotonic(),
                expected=_expected_after(session.final_text, text, cursor),
                kind=request_kind(text, cursor),  # it never presses Tab
            )
            figures.requests.append(record)
            request = GenerationRequest(
                prompt=prompt,
                max_tokens=BASELINE_MAX_TOKENS,
                key=f"baseline-{index}",
                stop=info.family.stop if info.family else (),
                should_stop=lambda answer: "\n\n" in answer,
                reuse_cache=False,
            )

            async def ask(request: GenerationRequest = request, record: Request = record) -> None:
                result = await engine.generate(request)
                record.answered = time.monotonic()
                record.text = result.text.split("\n\n", 1)[0]

            busy = asyncio.ensure_future(ask())
            await asyncio.sleep(gap - debounce)
        if busy is not None:
            await busy
    return figures


@dataclass(frozen=True)
class BenchOptions:
    """What to replay and how."""

    files: tuple[Path, ...]
    typing: TypingModel = field(default_factory=TypingModel)
    debounce: float = 0.1
    bodies: int = 3
    gaps: int = 2
    """Statement lines per file typed back in between existing ones (a session of their own)."""
    seed: int = 0
    baseline: bool = True
    pause_rounds: int = 3
    """Rounds of the "after opening a file" and "switch back" requests."""
    open_file: Path | None = None
    """The file opened in them (default: :func:`~codels.tools.pauses.default_open_file`)."""


def default_corpus() -> tuple[Path, ...]:
    """The corpus shipped in ``tests/data`` of a checkout (five files of varied shape)."""
    data = Path(__file__).resolve().parents[3] / "tests" / "data"
    files = [*sorted((data / "corpus").glob("*.py")), data / "inventory.py"]
    return tuple(path for path in files if path.is_file())


def run_bench(
    options: BenchOptions, settings: Settings, *, log_file: str | None = None
) -> dict[str, Any]:
    """Run the codels replay, then the baseline; return the figures as a JSON-ready dict."""
    sessions = corpus_sessions(
        options.files, options.typing, options.seed, bodies=options.bodies, gaps=options.gaps
    )
    open_file = options.open_file or default_open_file()
    pauses = (
        plan_pauses(open_file.read_text(encoding="utf-8"), options.pause_rounds)
        if options.pause_rounds
        else []
    )
    codels = asyncio.run(
        replay_codels(sessions, options.debounce, settings, log_file=log_file, pauses=pauses)
    )
    runs = [codels]
    engine = BackendEngine()
    try:
        info = engine.load(settings.engine_options())
        if options.baseline:
            runs.append(asyncio.run(replay_baseline(sessions, options.debounce, engine)))
    finally:
        engine.close()
    summaries = {run.name: run.summary() for run in runs}
    out: dict[str, Any] = {
        **report_header(info, settings, facts=BENCH_MODEL_FACTS),
        "replay": {
            "files": [path.name for path in options.files],
            "keystrokes": sum(len(s.keystrokes) for s in sessions),
            "gaps": options.gaps,
            "typed_seconds": round(sum(k.gap for s in sessions for k in s.keystrokes), 1),
            "chars_per_second": options.typing.chars_per_second,
            "line_end_pause": options.typing.line_end_pause,
            "debounce": options.debounce,
            "seed": options.seed,
            "open_file": str(open_file) if pauses else None,
            "open_file_lines": len(pauses[0].text.splitlines()) if pauses else None,
        },
        "runs": summaries,
        "latencies_ms": {
            run.name: [r.latency_ms for r in run.requests if r.latency_ms is not None]
            for run in runs
        },
    }
    baseline_p50 = summaries.get("baseline", {}).get("shown_p50_ms")
    codels_p50 = summaries["codels"].get("shown_p50_ms")
    if baseline_p50 and codels_p50:
        out["speedup_p50"] = baseline_p50 / codels_p50
    return out


def write_plot(figures: dict[str, Any], path: Path) -> bool:
    """Draw the latency distributions as a PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, values in figures["latencies_ms"].items():
        if values:
            ordered = sorted(values)
            ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("latency from request to answer (ms, log scale)")
    ax.set_ylabel("share of requests answered")
    ax.set_title(
        f"codels bench: {figures['model']['name']}, {figures['replay']['keystrokes']} keys"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


SERVER_FIGURES = (
    ("typed_ahead", "answered by typing-ahead"),
    ("continued", "answered by a generation an earlier request started"),
    ("cache_hits", "answered from the result cache"),
    ("early", "answered early, the generation going on (setting showEarlyMs)"),
    ("speculative_runs", "speculative generations finished (setting speculate)"),
    ("speculative_hits", "answered by a speculative generation"),
    ("kv_reuse", "share of prompt tokens reused from the KV cache"),
    ("decode_tokens_per_second", "decode tokens/s"),
    ("without_model_p95_ms", "answers by typing-ahead or cache, p95 (ms)"),
    ("model_answer_p50_ms", "answers the model generated, p50 in the server (ms)"),
    ("model_answer_p95_ms", "answers the model generated, p95 in the server (ms)"),
    ("overhead_p95_ms", "time outside the model, p95 (ms)"),
    ("queued_p95_ms", "wait for the previous generation to stop, p95 (ms)"),
    ("peak_rss_mib", "peak resident memory (MiB)"),
)
"""The codels run's own figures the report lists, each with what it says."""


def format_report(figures: dict[str, Any]) -> str:
    """A plain-text report of the bench figures."""

    def ms(value: Any) -> str:
        return "-" if value is None else f"{value:.0f}"

    replay = figures["replay"]
    lines = [
        f"codels bench: {replay['keystrokes']} keystrokes in {len(replay['files'])} files "
        f"({replay['typed_seconds']} s of typing), model {figures['model']['name']}, "
        f"{figures['model']['threads']} threads"
        + (f"; {replay['gaps']} lines a file typed between others" if replay.get("gaps") else ""),
        "latency from request to answer; 'shown': answers that carried a suggestion",
        f"{'run':<9} {'requests':>8} {'answered':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'shown':>6} {'shown p50':>9} {'shown p95':>9} {'useful':>7}",
    ]
    for name, run in figures["runs"].items():
        lines.append(
            f"{name:<9} {run['requests']:>8} {run['answered']:>8} {ms(run['p50_ms']):>7} "
            f"{ms(run['p95_ms']):>7} {ms(run['p99_ms']):>7} {run['shown']:>6} "
            f"{ms(run['shown_p50_ms']):>9} {ms(run['shown_p95_ms']):>9} "
            f"{100 * run['useful_rate']:>6.1f}%"
        )
    codels = figures["runs"]["codels"]
    if codels.get("tab_accepts"):
        lines.append(
            f"  suggestions accepted with Tab: {codels['accepted']} of {codels['shown']} shown "
            f"({100 * codels['accepted_rate']:.1f}%; counted by the server's codels.accepted, "
            f"{codels['tab_accepts']} Tab presses)"
        )
    for key, label in SERVER_FIGURES:
        if codels.get(key) is not None:
            value = codels[key]
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            lines.append(f"  {label}: {shown}")
    if any(run.get("kinds") for run in figures["runs"].values()):
        lines.extend(format_kinds(figures["runs"]))
    if codels.get("pauses"):
        lines.extend(format_pauses(codels["pauses"], replay))
    if "speedup_p50" in figures:
        lines.append(
            f"codels's p50 for a suggestion is {figures['speedup_p50']:.1f}x the baseline's speed"
        )
    return "\n".join(lines)


def save(figures: dict[str, Any], path: Path) -> Path | None:
    """Write the JSON (without raw latencies) and the plot beside it; returns the plot path."""
    path.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    plot = path.with_suffix(".png")
    return plot if write_plot(figures, plot) else None
