"""The bench's kinds of request and its gap replay: the classifier, the plan, the figures."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from cursor import CURSOR

from codels.tools import bench, pauses, replay
from codels.tools.request_kinds import (
    AFTER_ACCEPT,
    MID_LINE,
    NEW_LINE,
    TYPING_KINDS,
    kind_rows,
    request_kind,
)


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("def total(items):\n    ret█", MID_LINE),
        ("def total(items):\n    return sum(items)█\n", MID_LINE),
        ("x = f(█)\n", MID_LINE),
        ("def total(items):\n    █", NEW_LINE),
        ("def total(items):\n    █\n    return 0\n", NEW_LINE),
        ("def total(items):\n█", NEW_LINE),
        ("\t█pass\n", NEW_LINE),  # what follows the cursor does not count
        ("█", NEW_LINE),
    ],
)
def test_the_kind_is_told_by_the_line_before_the_cursor(source: str, kind: str) -> None:
    cursor = source.index(CURSOR)
    assert request_kind(source.replace(CURSOR, ""), cursor) == kind


def test_the_first_request_after_tab_is_after_accept_wherever_the_cursor_is() -> None:
    for text, cursor in (("x = 1", 5), ("x = 1\n    ", 10)):
        assert request_kind(text, cursor, after_accept=True) == AFTER_ACCEPT


SOURCE = '''"""A module."""

limit = compute_limit()
other = 2


def report(rows):
    """Tell the rows."""
    total = 0
    for row in rows:
        total += row.amount
        print(row.name, row.amount)
        seen.add(row.name)
    average = total / len(rows)
    print("average", average)
    return total


def short(x):
    return x


def setup(config):
    config.load_defaults()
    config.read_user_file()
    config.read_project_file()
    config.apply_overrides()
    config.validate_all()
    return config
'''


def replayed(session: replay.Session) -> list[str]:
    """The document after each keystroke, checking every offset is in it."""
    texts = []
    text = session.start_text
    for key in session.keystrokes:
        assert 0 <= key.offset <= len(text)
        text = text[: key.offset] + key.text + text[key.offset :]
        texts.append(text)
    return texts


def test_gap_lines_are_statements_between_two_others_of_their_block_in_a_function(
    tmp_path: Path,
) -> None:
    path = tmp_path / "report.py"
    path.write_text(SOURCE, encoding="utf-8")
    lines = [SOURCE[start:end] for start, end in replay._gap_lines(SOURCE)]
    # Not the module's assignments, not a block's first or last statement, not a line under 8
    # characters, not below a deeper line (Enter there indents deeper); the docstring counts as
    # the statement above.
    assert lines == [
        "\n    total = 0",
        "\n        print(row.name, row.amount)",
        '\n    print("average", average)',
        "\n    config.read_user_file()",
        "\n    config.read_project_file()",
        "\n    config.apply_overrides()",
        "\n    config.validate_all()",
    ]


def test_a_gap_session_types_each_line_back_from_the_end_of_the_line_above(
    tmp_path: Path,
) -> None:
    path = tmp_path / "report.py"
    path.write_text(SOURCE, encoding="utf-8")
    typing = replay.TypingModel()
    # Of the seven lines, five are typed, none next to another: three in report, two in setup.
    session = replay.plan_gap_session(path, typing, random.Random(1), gaps=7)
    assert session.name == "gaps/report.py" and session.final_text == SOURCE
    texts = replayed(session)
    assert texts[-1] == SOURCE
    enters = [index for index, key in enumerate(session.keystrokes) if key.text.startswith("\n")]
    assert len(enters) == 5
    assert len(session.start_text.splitlines()) == len(SOURCE.splitlines()) - 5
    for index in enters:
        key = session.keystrokes[index]
        # Enter at the end of an existing line, with the indentation of that line...
        before = session.start_text if index == 0 else texts[index - 1]
        line_above = before[: key.offset].rsplit("\n", 1)[-1]
        indentation = line_above[: len(line_above) - len(line_above.lstrip())]
        assert before[key.offset] == "\n" and key.text == "\n" + indentation
        # ...then a pause on the new line (the request there is a new line's) before typing.
        cursor = key.offset + len(key.text)
        assert request_kind(texts[index], cursor) == NEW_LINE
        assert session.keystrokes[index + 1].gap > typing.line_end_pause * 0.5
        # Two lines are never next to each other: the line above was there from the start.
        assert f"\n{line_above}\n" in f"\n{session.start_text}"
    assert replay.plan_gap_session(path, typing, random.Random(1), gaps=7) == session
    fewer = replay.plan_gap_session(path, typing, random.Random(1), gaps=2)
    assert sum(key.text.startswith("\n") for key in fewer.keystrokes) == 2


def test_every_corpus_file_plans_gap_sessions_that_end_in_the_file() -> None:
    files = bench.default_corpus()
    sessions = replay.corpus_sessions(files, replay.TypingModel(), 0, gaps=2)
    without = replay.corpus_sessions(files, replay.TypingModel(), 0)
    assert sessions[: len(files)] == without  # the body sessions do not move
    gap_sessions = sessions[len(files) :]
    assert gap_sessions and all(s.name.startswith("gaps/") for s in gap_sessions)
    for session in gap_sessions:
        assert replayed(session)[-1] == session.final_text
        assert 1 <= sum(key.text.startswith("\n") for key in session.keystrokes) <= 2


def request(kind: str, latency_ms: float | None, text: str = "") -> bench.Request:
    answered = None if latency_ms is None else latency_ms / 1000
    return bench.Request("a.py", 0, 0.0, answered=answered, text=text, kind=kind)


def test_the_summary_has_a_row_per_kind_with_the_shown_latencies_apart() -> None:
    requests = [
        request(MID_LINE, 10.0, "x"),
        request(MID_LINE, 20.0, ""),
        request(MID_LINE, 30.0, "y"),
        request(MID_LINE, 40.0, "w"),
        request(MID_LINE, None),  # cancelled
        request(NEW_LINE, 100.0, "z"),
        request(NEW_LINE, 200.0, ""),
        request(NEW_LINE, 300.0, "   "),  # blank: not shown
    ]
    records = [pauses.PauseRequest("after opening a file", 0.0, 0.9, "w")]
    summary = bench.RunFigures("codels", requests=requests, pauses=records).summary()
    rows = summary["kinds"]
    assert list(rows) == [*TYPING_KINDS, *pauses.KINDS]
    assert rows[MID_LINE] == {
        "requests": 5, "answered": 4, "p50_ms": 20.0, "p95_ms": 40.0,
        "shown": 3, "shown_p50_ms": 30.0, "shown_p95_ms": 40.0,
    }  # fmt: skip
    assert (rows[NEW_LINE]["p50_ms"], rows[NEW_LINE]["p95_ms"]) == (200.0, 300.0)
    assert (rows[NEW_LINE]["shown"], rows[NEW_LINE]["shown_p95_ms"]) == (1, 100.0)
    assert rows[AFTER_ACCEPT]["requests"] == 0 and rows[AFTER_ACCEPT]["p50_ms"] is None
    opened = rows["after opening a file"]
    assert opened["requests"] == 1 and opened["shown_p50_ms"] == pytest.approx(900.0)
    assert rows["switch back"]["requests"] == 0
    # The kinds' shown latencies are the overall row's, split.
    assert summary["shown"] == sum(rows[kind]["shown"] for kind in TYPING_KINDS)
    assert kind_rows([], TYPING_KINDS)[MID_LINE]["shown_p95_ms"] is None


def test_the_report_has_a_row_per_kind_of_each_run() -> None:
    codels = bench.RunFigures(
        "codels", requests=[request(MID_LINE, 12.0, "x"), request(AFTER_ACCEPT, 40.0, "y")]
    ).summary()
    baseline = bench.RunFigures("baseline", requests=[request(NEW_LINE, 250.0, "z")]).summary()
    figures = {
        "replay": {"keystrokes": 10, "files": ["a.py"], "typed_seconds": 1.0, "gaps": 2},
        "model": {"name": "fake", "threads": 2},
        "runs": {"codels": codels, "baseline": baseline},
    }
    text = bench.format_report(figures)
    assert "2 lines a file typed between others" in text
    assert "codels    mid-line                      1        1      12      12      1" in text
    assert "codels    after accept                  1        1      40      40      1" in text
    assert "baseline  new line                      1        1     250     250      1" in text
    assert "codels    new line" not in text  # a kind without requests has no row
