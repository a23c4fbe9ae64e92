"""Measures what the foundation issue asks for, through a real LSP session over stdio.

    python tests/e2e/latency_probe.py [--json] [--log FILE]

Starts ``codels --stdio`` with the default model, opens ``tests/data/sample.py`` and reports:
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
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "data" / "sample.py"
TYPED = "total = sum(item.price * item.quantity for item in items)\n    return total"


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def inline(client: LanguageClient, uri: str, position: types.Position) -> str:
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    return items[0].insert_text if items else ""


async def probe() -> dict[str, object]:
    codels = str(Path(sys.executable).parent / "codels")
    client = LanguageClient("latency-probe", "1")
    started = time.perf_counter()
    log_args = ["--log-file", sys.argv[sys.argv.index("--log") + 1]] if "--log" in sys.argv else []
    await client.start_io(codels, "--stdio", *log_args)
    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities()
        )
    )
    await client.initialize_async(types.InitializeParams(capabilities=caps))
    client.initialized(types.InitializedParams())
    uri = SAMPLE.resolve().as_uri()
    text = SAMPLE.read_text()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    # The empty body of total_value(), indented as an editor leaves it after the line break.
    docstring = '    """Return the total value of all items in stock (price times quantity)."""'
    line = text.split("\n").index(docstring) + 1
    existing = len(text.split("\n")[line])
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=line, character=0),
                        end=types.Position(line=line, character=existing),
                    ),
                    text="    ",
                )
            ],
        )
    )
    position = types.Position(line=line, character=4)
    first = ""
    while not first:
        first = await inline(client, uri, position)
        if not first:
            await asyncio.sleep(0.05)
    first_ms = (time.perf_counter() - started) * 1000

    latencies: list[float] = []
    version = 2
    column = 4
    row = line
    for char in TYPED:
        version += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=row, character=column),
                            end=types.Position(line=row, character=column),
                        ),
                        text=char,
                    )
                ],
            )
        )
        if char == "\n":
            row, column = row + 1, 0
            continue
        column += 1
        if char == " " and column <= 4:
            continue  # indentation: an editor inserts it with the line break
        sent = time.perf_counter()
        await inline(client, uri, types.Position(line=row, character=column))
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
