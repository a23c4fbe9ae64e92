"""Measures what the foundation issue asks for, through a real LSP session over stdio.

    python tests/e2e/latency_probe.py [--json] [--log FILE] [--file PATH] [--settings JSON]

Starts ``codels --stdio`` with the default model (``--settings`` are its initializationOptions),
opens ``tests/data/sample.py`` (or ``--file``: a file with the same empty body of a function
documented "Return the total value of all items in stock", to type into) and reports:
time from process start to the first non-empty inline completion; warm latency (p50, p95) of
inline completions requested after each of 40 typed characters in one file, each request sent
after the previous answer (an editor that waits for the model); and the server's resident memory
(current and peak). This is a probe, not the benchmark: ``codels bench`` replays whole editing
sessions with cancellation and a baseline.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient, make_test_lsp_client

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))

from lsp_session import initialize, inline_items, open_document, replace_text  # noqa: E402


def option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


SAMPLE = Path(option("--file", str(REPO / "tests" / "data" / "sample.py")))
DOCSTRING = '    """Return the total value of all items in stock (price times quantity)."""'
TYPED = "total = sum(item.price * item.quantity for item in items)\n    return total"


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def first_text(client: LanguageClient, uri: str, position: types.Position) -> str:
    items = await inline_items(client, uri, position)
    return items[0].insert_text if items else ""


async def probe() -> dict[str, object]:
    codels = str(Path(sys.executable).parent / "codels")
    client = make_test_lsp_client()  # pytest-lsp's client works outside pytest too
    started = time.perf_counter()
    log_args = ["--log-file", option("--log", "")] if "--log" in sys.argv else []
    await client.start_io(codels, "--stdio", *log_args)
    await initialize(client, options=json.loads(option("--settings", "null")))
    uri = SAMPLE.resolve().as_uri()
    text = SAMPLE.read_text()
    open_document(client, uri, text)
    # The empty body of total_value(), indented as an editor leaves it after the line break.
    row = text.split("\n").index(DOCSTRING) + 1
    line_end = types.Position(line=row, character=len(text.split("\n")[row]))
    replace_text(client, uri, 2, types.Position(line=row, character=0), "    ", end=line_end)
    first = ""
    while not first:
        first = await first_text(client, uri, types.Position(line=row, character=4))
        if not first:
            await asyncio.sleep(0.05)
    first_ms = (time.perf_counter() - started) * 1000

    latencies: list[float] = []
    column = 4
    for version, char in enumerate(TYPED, start=3):
        replace_text(client, uri, version, types.Position(line=row, character=column), char)
        if char == "\n":
            row, column = row + 1, 0
            continue
        column += 1
        if char == " " and column <= 4:
            continue  # indentation: an editor inserts it with the line break
        sent = time.perf_counter()
        await first_text(client, uri, types.Position(line=row, character=column))
        latencies.append((time.perf_counter() - sent) * 1000)
    memory = memory_kib(client._server.pid)  # type: ignore[union-attr]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    ordered = sorted(latencies)
    return {
        "first_completion_ms": round(first_ms),
        "first_completion": first,
        "warm_requests": len(latencies),
        "warm_p50_ms": round(statistics.median(ordered)),
        "warm_p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)]),
        "warm_max_ms": round(ordered[-1]),
        "rss_mib": round(memory["VmRSS"] / 1024),
        "peak_rss_mib": round(memory["VmHWM"] / 1024),
    }


def main() -> None:
    figures = asyncio.run(probe())
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:22} {value}")


if __name__ == "__main__":
    main()
