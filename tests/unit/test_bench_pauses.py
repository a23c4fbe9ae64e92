"""The bench's pauses of reading: the plan, the replay against the fake server, the report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lsp_session import capabilities
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from codels.tools import bench, pauses

FAKE_SERVER = str(Path(__file__).parents[1] / "support" / "fake_server.py")


def test_the_plan_cuts_two_return_lines_past_the_middle_of_2000_lines() -> None:
    source = pauses.default_open_file().read_text(encoding="utf-8")
    rounds = pauses.plan_pauses(source, 3)
    assert len(rounds) == 3
    for round_ in rounds:
        assert len(round_.text.splitlines()) == pauses.OPEN_LINES
        for cursor, expected in (
            (round_.first, round_.expected_first),
            (round_.second, round_.expected_second),
        ):
            assert round_.text[:cursor].endswith("return ") and round_.text[cursor] == "\n"
            assert expected.strip()
        assert round_.first < round_.second
        assert round_.first > len(round_.text) // 3  # past the middle, in lines


async def test_the_replay_asks_once_of_each_kind_per_round() -> None:
    source = "def f(x):\n    return x * 2 + 1\n" * 30
    rounds = pauses.plan_pauses(source, 1)
    client = LanguageClient("bench-test", "0")
    env = {**os.environ, "CODELS_FAKE_RESPONSE": "x * 2 + 1\n"}
    await client.start_io(sys.executable, FAKE_SERVER, env=env)

    async def no_wait(_seconds: float) -> None:
        return None

    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=capabilities(),
                initialization_options={"codels": {"keepAcceptanceStats": False}},
            )
        )
        client.initialized(types.InitializedParams())
        await bench._wait_until_ready(client, timeout=30)
        records = await pauses.replay_pauses(client, rounds, ("other.py", "x = 1\n"), no_wait)
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()  # type: ignore[no-untyped-call]
    assert [record.kind for record in records] == list(pauses.KINDS)
    assert all(record.text == "x * 2 + 1" for record in records)
    summary = pauses.pause_summary(records)
    assert summary["switch back"]["requests"] == 1 and summary["switch back"]["shown"] == 1


def test_the_report_has_a_row_per_pause_kind() -> None:
    run = {
        "requests": 4, "answered": 4, "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 30.0,
        "shown": 4, "shown_p50_ms": 10.0, "shown_p95_ms": 20.0, "useful_rate": 0.5,
    }  # fmt: skip
    records = [
        pauses.PauseRequest("after opening a file", 0.0, 0.9, "x"),
        pauses.PauseRequest("switch back", 1.0, 1.2, "y"),
    ]
    figures = {
        "replay": {
            "keystrokes": 10, "files": ["a.py"], "typed_seconds": 1.0,
            "open_file": "/usr/lib/python3/argparse.py", "open_file_lines": 2000,
        },
        "model": {"name": "fake", "threads": 2},
        "runs": {"codels": {**run, "pauses": pauses.pause_summary(records)}},
    }  # fmt: skip
    text = bench.format_report(figures)
    assert "2000 lines of argparse.py" in text
    assert "after opening a file          1      1     900  900" in text
    assert "switch back                   1      1     200  200" in text
