"""The VS Code extension's suggestion controls in a real VS Code (code-server, headless Chromium).

The keys people use on a suggestion: accepting its next word and next line with the rest still
shown, cycling through several suggestions with Alt+] and Alt+[, and the manual trigger mode
where only Alt+\\ runs the model. The server is the real one over stdio with the scripted fake
engine (``tests/support/fake_server.py``): these tests are about what the editor does with the
keys, so the answers are the same every time, and the engine counts its generations in a file
(VS Code cannot ask the server for its figures). ``test_vscode.py`` runs the real model.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import REPO
from vscode_harness import (
    ARTIFACTS,
    CodeServer,
    change_user_settings,
    ghost_text,
    go_to,
    launch_code_server,
    open_file,
    open_page,
    save_failure,
    skip_without_tools,
    status_tooltip,
)

skip_without_tools()

FAKE_SERVER = REPO / "tests" / "support" / "fake_server.py"
SOURCE = REPO / "tests" / "data" / "vscode-controls"
# The answer to every greedy request: a block for a new line in a body.
BLOCK = "subtotal = 0.0\n    for price in prices:\n        subtotal += price\n    return subtotal\n"
# The answers to the sampled requests an explicit one adds, in turn.
OTHERS = ["return min(prices)\n", "return sorted(prices)[0]\n"]


@pytest.fixture(scope="module")
def code_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServer]:
    root = tmp_path_factory.mktemp("vscode-controls")
    # codels.serverPath names one executable: a script that starts the fake server.
    script = root / "codels-fake"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_SERVER}" "$@"\n')
    script.chmod(0o755)
    runs = root / "runs.jsonl"
    runs.touch()
    environment = {
        "CODELS_FAKE_RESPONSE": BLOCK,
        "CODELS_FAKE_ALTERNATIVES": json.dumps(OTHERS),
        "CODELS_FAKE_RUNS_FILE": str(runs),
        "CODELS_STATE_DIR": str(root / "state"),
    }
    with launch_code_server(root, environment, str(script), SOURCE) as server:
        server.runs = runs  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def page(code_server: CodeServer) -> Iterator[Any]:
    with open_page(code_server) as tab:
        open_file(tab, "shop.py")
        status_tooltip(tab, "codels: ready", timeout=300_000)
        yield tab


def shown_now(page: Any) -> str:
    return f"ghost text: {ghost_text(page)!r}; cursor line: {current_line(page)!r}\n"


def model_runs(code_server: CodeServer) -> int:
    return len(code_server.runs.read_text().splitlines())  # type: ignore[attr-defined]


def extension_log(code_server: CodeServer) -> str:
    """The codels output channel: the extension's lines, the LSP trace and the server's log."""
    paths = sorted(code_server.user_data.glob("logs/**/*codels*.log"))
    return "\n".join(path.read_text(errors="replace") for path in paths)


def wait_until(what: str, check: Callable[[], Any], page: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(250)


def ghost_text_other_than(page: Any, old: str, what: str, among: set[str] | None = None) -> str:
    """Wait for ghost text other than ``old`` (and, if given, one of ``among``: a suggestion of
    several lines shows its first line a moment before the others)."""

    def shown() -> str:
        text = ghost_text(page)
        return text if text != old and (among is None or text in among) else ""

    return str(wait_until(what, shown, page))


def open_line_below(page: Any, row: int) -> None:
    """Put the cursor on a new line under ``row`` (1-based), as Enter at its end does."""
    go_to(page, row, 1)
    # Keys pressed while the Go to Line box is still closing go nowhere.
    page.locator(".quick-input-widget").wait_for(state="hidden")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    wait_until("a new line", lambda: current_line(page) == "    ", page)


def row_of(code_server: CodeServer, start: str) -> int:
    lines = (code_server.workspace / "shop.py").read_text().splitlines()
    return 1 + next(i for i, line in enumerate(lines) if line.strip().startswith(start))


def current_line(page: Any) -> str:
    """The cursor line's text in the document, without the ghost text shown in it."""
    text: str = page.evaluate(
        """() => {
            const editor = document.querySelector('.monaco-editor.focused')
                || document.querySelector('.monaco-editor');
            const cursor = editor.querySelector('.cursors-layer .cursor');
            for (const line of editor.querySelectorAll('.view-lines > .view-line')) {
                if (line.style.top !== cursor.style.top) continue;
                const copy = line.cloneNode(true);
                copy.querySelectorAll('[class*="ghost-text"]').forEach((n) => n.remove());
                return copy.textContent;
            }
            return '';
        }"""
    )
    return text.replace("\u00a0", " ")


def test_accepting_the_next_word_then_the_next_line_leaves_the_rest_shown(
    page: Any, code_server: CodeServer
) -> None:
    path = code_server.workspace / "shop.py"
    try:
        open_line_below(page, row_of(code_server, '"""Return the sum'))
        first = BLOCK.rstrip("\n")
        wait_until("the block as ghost text", lambda: ghost_text(page) == first, page)
        runs = model_runs(code_server)

        page.keyboard.press("Control+ArrowRight")
        rest = ghost_text_other_than(page, first, "the rest after the word")
        word = first[: len(first) - len(rest)]
        assert word and first.endswith(rest) and current_line(page).endswith(word), (word, rest)

        page.keyboard.press("Control+ArrowDown")
        # The line and its line break: the cursor goes to the next line, the rest shown there.
        rest = BLOCK.split("\n", 1)[1].rstrip("\n")
        wait_until("the rest on the next line", lambda: ghost_text(page) == rest, page)
        assert current_line(page) == ""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "vscode-partial-accept.png"))
        # VS Code asks again after each accept: the rest comes from the suggestion typed into.
        page.wait_for_timeout(1500)
        assert model_runs(code_server) == runs

        # VS Code's Tab indents first where the cursor is left of the suggestion's indentation
        # (`inlineSuggestionHasIndentationLessThanTabSize`); the next Tab accepts the rest.
        page.keyboard.press("Tab")
        wait_until("the line indented", lambda: ghost_text(page) == rest.lstrip(), page)
        page.keyboard.press("Tab")
        wait_until("the rest accepted", lambda: not ghost_text(page), page)
        page.keyboard.press("Control+S")
        body = "    " + BLOCK.rstrip("\n")
        wait_until("the saved body", lambda: body in path.read_text(), page)
    except Exception as exc:
        raise AssertionError(
            f"{exc}\n{shown_now(page)}{save_failure(page, code_server, 'vscode-partial')}"
        ) from exc
    ast.parse(path.read_text())


def test_alt_bracket_cycles_through_three_suggestions(page: Any, code_server: CodeServer) -> None:
    expected = {BLOCK.rstrip("\n"), *(other.rstrip("\n") for other in OTHERS)}
    try:
        open_line_below(page, row_of(code_server, '"""Return the lowest'))
        first = BLOCK.rstrip("\n")
        wait_until("the block as ghost text", lambda: ghost_text(page) == first, page)
        seen = [first]
        for _ in range(3):
            page.keyboard.press("Alt+BracketRight")
            seen.append(ghost_text_other_than(page, seen[-1], "another suggestion", expected))
        assert set(seen) == expected and seen[3] == seen[0], seen
        page.keyboard.press("Alt+BracketLeft")
        back = ghost_text_other_than(page, seen[0], "the previous one", expected)
        assert back == seen[2], (back, seen)
        page.keyboard.press("Escape")
        wait_until("no ghost text", lambda: not ghost_text(page), page)
    except Exception as exc:
        raise AssertionError(
            f"{exc}\n{shown_now(page)}{save_failure(page, code_server, 'vscode-cycle')}"
        ) from exc
    print(f"cycled through: {seen}")


def test_in_manual_mode_only_alt_backslash_runs_the_model(
    page: Any, code_server: CodeServer
) -> None:
    try:
        change_user_settings(page, code_server, {"codels.triggerMode": "manual"})
        wait_until(
            "the server to take the setting",
            lambda: "settings changed: triggerMode manual" in extension_log(code_server),
            page,
        )
        open_file(page, "shop.py")
        runs = model_runs(code_server)
        open_line_below(page, row_of(code_server, '"""Return the highest'))
        # VS Code asks by itself on the new line; the fake engine would answer in milliseconds.
        page.wait_for_timeout(3000)
        assert not ghost_text(page) and model_runs(code_server) == runs

        page.keyboard.press("Alt+Backslash")
        shown = wait_until("ghost text", lambda: ghost_text(page), page)
        assert shown in {BLOCK.rstrip("\n"), *(o.rstrip("\n") for o in OTHERS)}, shown
        assert model_runs(code_server) > runs
        page.keyboard.press("Escape")
    except Exception as exc:
        raise AssertionError(
            f"{exc}\n{shown_now(page)}{save_failure(page, code_server, 'vscode-manual')}"
        ) from exc
    finally:
        change_user_settings(page, code_server, {"codels.triggerMode": None})
