"""The Neovim plugin's controls in a real headless Neovim 0.12, against the codels server.

The server is the real one over stdio with the fake engine (``tests/support/fake_server.py``):
these tests are about what the editor does with the keys and commands, so the answers are
scripted and the same every time. ``test_nvim.py`` runs the plugin with the real model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_hub import FakeHub, HubFile
from nvim_screen import capture
from test_nvim import ARTIFACTS, NVIM_0_11, NVIM_0_12, Editor, floating_text, wait_for

FAKE_SERVER = Path(__file__).resolve().parents[1] / "support" / "fake_server.py"
BODY = "def total(items):\n    █\n"
LOOP = "total = 0\n    for item in items:\n        total += item\n    return total\n"

# A model the fake hub serves (~24 MB, so that pulling it takes a few progress steps).
TINY = b"GGUF" + bytes(range(256)) * 96_000
TINY_RESOLVE = "acme/tiny-coder-GGUF/resolve/main/tiny-coder.Q4_K_M.gguf"
RECORD_PROGRESS = """
_G.progress = {}
local echo = vim.api.nvim_echo
vim.api.nvim_echo = function(chunks, history, opts)
  if type(opts) == 'table' and opts.kind == 'progress' then
    table.insert(_G.progress, { status = opts.status, percent = opts.percent })
  end
  return echo(chunks, history, opts)
end
"""


def tiny_catalogue(where: Path) -> None:
    """A catalogue of one model, ``tiny``, on the fake hub (pinned by size and sha256)."""
    (where / "models.toml").write_text(
        f"""
default = "tiny"

[families."qwen2.5-coder"]
fim_template = "<|fim_prefix|>{{prefix}}<|fim_suffix|>{{suffix}}<|fim_middle|>"
stop = ["<|endoftext|>"]

[models.tiny]
family = "qwen2.5-coder"
file = "tiny.gguf"
size = {len(TINY)}
sha256 = "{hashlib.sha256(TINY).hexdigest()}"
context_length = 4096

[models.tiny.sources]
hf_repo = "acme/tiny-coder-GGUF"
hf_file = "tiny-coder.Q4_K_M.gguf"
hf_revision = "main"
""",
        encoding="utf-8",
    )


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in values.items():
            patch.setenv(key, value)
        yield


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Editor]]:
    editors: list[Editor] = []

    def start(
        answer: str = "return sum(items)\n",
        alternatives: list[str] | None = None,
        settings: dict[str, Any] | None = None,
        *,
        chat: str | None = None,
        binary: Path = NVIM_0_12,
        **setup: Any,
    ) -> Editor:
        config = {"cmd": [sys.executable, str(FAKE_SERVER)], "settings": settings or {}}
        with environment(
            CODELS_FAKE_RESPONSE=answer,
            CODELS_FAKE_CHAT_RESPONSE=answer if chat is None else chat,
            CODELS_FAKE_ALTERNATIVES=json.dumps(alternatives or []),
            CODELS_STATE_DIR=str(tmp_path / f"state{len(editors)}"),
        ):
            editor = Editor(binary, tmp_path / f"nvim{len(editors)}", config | setup)
        editors.append(editor)
        return editor

    yield start
    for editor in editors:
        editor.close()


def shown(editor: Editor) -> str | None:
    return editor.lua("return require('codels').suggestion_text(0)")  # type: ignore[no-any-return]


def server_stats(editor: Editor) -> dict[str, Any]:
    answer = editor.lua(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = 'codels' })[1]
        local answer = client and client:request_sync('codels/stats', vim.empty_dict(), 10000)
        return answer and answer.result or {}
        """
    )
    return answer or {}


def typing_in(editor: Editor, source: str = BODY) -> None:
    """Open ``source`` and enter insert mode at its cursor marker, the model ready."""
    row, col = editor.open("shop.py", source)
    editor.client_id()
    editor.wait_until_ready()
    editor.nvim.current.window.cursor = (row, col)
    editor.nvim.input("<Esc>A")
    wait_for("insert mode", lambda: editor.mode() == "i", timeout=30)


def test_accepting_a_word_then_a_line_leaves_the_rest_shown(start: Callable[..., Editor]) -> None:
    editor = start(answer=LOOP)
    typing_in(editor)
    wait_for("ghost text", lambda: shown(editor) == LOOP.rstrip("\n"), timeout=30)
    runs = server_stats(editor)["model_runs"]

    # What a user sees: the line typed so far, then the suggestion in a colour of its own.
    screen = capture(editor.nvim)
    screen.save_png(ARTIFACTS / "nvim-ghost-text.png")
    header, ghost = screen.find("def total(items):"), screen.find("total = 0")
    assert ghost[0] == header[0] + 1, "\n".join(screen.text())
    assert screen.find("for item in items:")[0] == ghost[0] + 1
    ghost_colour = screen.colours_at(*ghost).foreground
    assert ghost_colour not in (screen.colours_at(*header).foreground, screen.default_foreground)

    editor.nvim.input("<C-Right>")
    wait_for("the word in the buffer", lambda: editor.lines()[1] == "    total", timeout=10)
    assert shown(editor) == LOOP[len("total") :].rstrip("\n")

    editor.nvim.input("<C-Down>")
    wait_for("the line in the buffer", lambda: editor.lines()[1] == "    total = 0", timeout=10)
    assert shown(editor) == "\n" + LOOP.split("\n", 1)[1].rstrip("\n")
    assert editor.mode() == "i"

    # Neovim asks again after each change; the server answers from the suggestion typed into.
    wait_for("a request answered by typing ahead", lambda: server_stats(editor)["typed_ahead"], 10)
    assert server_stats(editor)["model_runs"] == runs
    editor.nvim.input("<Tab>")
    expected = ["def total(items):", *("    " + LOOP).rstrip("\n").split("\n")]
    wait_for("the rest in the buffer", lambda: editor.lines()[: len(expected)] == expected, 10)


def test_the_completion_menu_hides_ghost_text_and_keeps_tab(start: Callable[..., Editor]) -> None:
    editor = start()
    typing_in(editor, "def total(items):\n    totals = []\n    █\n")
    wait_for("ghost text", lambda: shown(editor) == "return sum(items)", timeout=30)
    editor.nvim.input("to<C-n>")  # Vim's own keyword completion: the menu opens
    wait_for("the menu", lambda: editor.lua("return vim.fn.pumvisible()") == 1, timeout=10)
    wait_for("the ghost text to go", lambda: shown(editor) is None, timeout=10)
    editor.nvim.input("<Tab>")
    time.sleep(0.3)
    assert "return sum(items)" not in "\n".join(editor.lines()), "Tab took the hidden suggestion"
    editor.nvim.input("<C-e>")  # close the menu: ghost text may come back
    wait_for("the menu to close", lambda: editor.lua("return vim.fn.pumvisible()") == 0, 10)


def test_an_active_snippet_hides_ghost_text(start: Callable[..., Editor]) -> None:
    editor = start()
    typing_in(editor)
    wait_for("ghost text", lambda: shown(editor) == "return sum(items)", timeout=30)
    editor.lua("vim.snippet.expand('for ${1:item} in ${2:items}:')")
    wait_for("the snippet", lambda: editor.lua("return vim.snippet.active()"), timeout=10)
    wait_for("the ghost text to go", lambda: shown(editor) is None, timeout=10)


def test_manual_mode_waits_for_the_trigger_key(start: Callable[..., Editor]) -> None:
    editor = start(settings={"triggerMode": "manual"})
    typing_in(editor)
    # Neovim asks by itself on entering insert mode; the server does not run the model for it.
    wait_for(
        "an automatic request to be answered",
        lambda: server_stats(editor).get("server_requests", 0) >= 1,
        timeout=30,
    )
    assert shown(editor) is None and server_stats(editor)["model_runs"] == 0
    editor.nvim.input("<M-\\>")
    wait_for("ghost text", lambda: shown(editor) == "return sum(items)", timeout=30)
    assert server_stats(editor)["model_runs"] == 1


def test_next_and_previous_cycle_through_three_suggestions(start: Callable[..., Editor]) -> None:
    editor = start(alternatives=["return len(items)\n", "return max(items)\n"])
    typing_in(editor)
    wait_for("ghost text", lambda: shown(editor) == "return sum(items)", timeout=30)
    seen = []
    for _ in range(3):
        before = shown(editor)
        editor.nvim.input("<M-]>")
        seen.append(
            wait_for(
                "the next suggestion", lambda b=before: shown(editor) != b and shown(editor), 30
            )
        )
    assert seen == [
        "return len(items) (2/3)",
        "return max(items) (3/3)",
        "return sum(items) (1/3)",
    ]
    editor.nvim.input("<M-[>")
    wait_for("the previous one", lambda: shown(editor) == "return max(items) (3/3)", timeout=10)
    editor.nvim.input("<Tab>")
    wait_for("it in the buffer", lambda: editor.lines()[1] == "    return max(items)", timeout=10)


def test_toggle_snooze_and_the_statusline(start: Callable[..., Editor]) -> None:
    editor = start()
    typing_in(editor)
    wait_for(
        "a ready statusline",
        lambda: (editor.lua("return require('codels').status()") or "").startswith(
            "codels: ready (fake"
        ),
        timeout=30,
    )
    editor.nvim.input("<Esc>")
    editor.nvim.command("Codels toggle")
    wait_for("the server disabled", lambda: editor.status().get("enabled") is False, 10)
    assert editor.lua("return require('codels').status()") == "codels: off"
    editor.nvim.command("Codels toggle")
    wait_for("the server enabled", lambda: editor.status().get("enabled") is True, 10)
    editor.nvim.command("Codels snooze 10")
    wait_for("the server snoozed", lambda: editor.status().get("enabled") is False, 10)
    assert editor.lua("return require('codels').status()") == "codels: snoozed 10 min"
    editor.nvim.command("Codels snooze 0")
    wait_for("the snooze over", lambda: editor.status().get("enabled") is True, 10)
    editor.nvim.command("Codels snooze 0.01")  # under a second
    wait_for("the server snoozed", lambda: editor.status().get("enabled") is False, 10)
    wait_for("the snooze to end by itself", lambda: editor.status().get("enabled") is True, 30)
    assert "snooze over" in editor.messages()


def test_status_restart_log_and_mistakes(start: Callable[..., Editor]) -> None:
    editor = start()
    typing_in(editor)
    editor.nvim.input("<Esc>")
    first = editor.client_id()
    editor.nvim.command("Codels status")
    editor.note("model: fake", timeout=10)
    editor.nvim.command("Codels restart")
    second = wait_for(
        "a new server",
        lambda: editor.client_id() if editor.client_id() != first else None,
        timeout=60,
    )
    assert second != first
    editor.nvim.command("Codels log")
    assert editor.nvim.current.buffer.name.endswith("lsp.log")
    editor.nvim.command("tabclose")
    editor.nvim.command("Codels bogus")
    editor.note('no subcommand "bogus"', timeout=10)
    editor.nvim.command("Codels snooze soon")
    editor.note("snooze takes a number of minutes", timeout=10)
    said = editor.messages()
    assert "Traceback" not in said and "stack traceback" not in said and "E5108" not in said


def test_inline_completion_internals_not_found_give_one_message_not_an_error(
    start: Callable[..., Editor],
) -> None:
    editor = start()
    typing_in(editor)
    wait_for("ghost text", lambda: shown(editor) == "return sum(items)", timeout=30)
    # As in a Neovim whose inline completion keeps its state under other names.
    editor.lua("package.loaded['vim.lsp._capability'].all.inline_completion.active = {}")
    editor.nvim.input("<M-]>")
    note = editor.note("asking for several suggestions is not available", timeout=10)
    assert note["level"] == 3  # vim.log.levels.WARN
    said = editor.messages()
    assert "stack traceback" not in said and "E5108" not in said, said


def test_picking_a_model_that_is_not_installed_pulls_it_with_progress(
    start: Callable[..., Editor], tmp_path: Path
) -> None:
    hub = FakeHub(files={TINY_RESOLVE: HubFile(TINY)}, delay_per_chunk=0.01)
    url = hub.start()
    try:
        tiny_catalogue(tmp_path)
        with environment(
            HF_ENDPOINT=url,
            HF_HOME=str(tmp_path / "hf-home"),
            HF_HUB_DISABLE_TELEMETRY="1",
            CODELS_CACHE_DIR=str(tmp_path / "cache"),
            CODELS_CATALOGUE=str(tmp_path / "models.toml"),
        ):
            editor = start()
        typing_in(editor)
        editor.nvim.input("<Esc>")
        # The picker lists auto, then the catalogue; choose its only model, not installed.
        editor.lua(
            "vim.ui.select = function(items, opts, on_choice) _G.offered = items; "
            "on_choice(items[2], 2) end"
        )
        editor.lua(RECORD_PROGRESS)
        editor.nvim.command("Codels model")
        editor.note("tiny is not installed; pulling it", timeout=30)
        offered = editor.lua("return vim.tbl_map(function(item) return item.name end, _G.offered)")
        assert offered == ["auto", "tiny"], offered
        editor.note("tiny is installed and verified", timeout=120)
        wait_for("the server on tiny", lambda: editor.status().get("name") == "tiny", 30)
        assert (tmp_path / "cache" / "models" / "tiny.gguf").read_bytes() == TINY
        progress = editor.lua("return _G.progress")
        assert progress and progress[-1]["status"] == "success", progress
        assert any(step["status"] == "running" for step in progress), progress
    finally:
        hub.stop()


def test_statistics_count_what_was_shown_and_accepted(start: Callable[..., Editor]) -> None:
    editor = start(answer=LOOP)
    typing_in(editor)
    wait_for("ghost text", lambda: shown(editor) == LOOP.rstrip("\n"), timeout=30)
    editor.nvim.input("<C-Right>")  # a word, then the rest with Tab: one suggestion, accepted
    wait_for("the word in the buffer", lambda: editor.lines()[1] == "    total", timeout=10)
    editor.nvim.input("<Tab>")
    wait_for("the rest in the buffer", lambda: len(editor.lines()) >= 5, timeout=10)
    editor.nvim.input("<Esc>")
    editor.nvim.command("Codels stats")
    table = wait_for(
        "the statistics",
        lambda: "\n".join(editor.lines()) if "python" in "\n".join(editor.lines()) else None,
        timeout=10,
    )
    row = next(line for line in table.split("\n") if line.startswith("python"))
    assert row.split()[:4] == ["python", "block", "1", "1"], table
    assert "never sent anywhere" in table


EXPLANATION = "It adds up the items and returns the total. An empty list gives 0."
SHOP = (
    "def total(items):\n    █return sum(items)\n\n\n"
    "def count(items):\n    return len(items)\n\n\nLIMIT = 10\n"
)


def test_codels_explain_shows_the_explanation_in_a_floating_window(
    start: Callable[..., Editor],
) -> None:
    editor = start(chat=EXPLANATION)
    typing_in(editor, SHOP)
    editor.nvim.input("<Esc>")
    before = editor.lines()
    editor.nvim.command("Codels explain")
    text = wait_for("a floating window", lambda: floating_text(editor), timeout=30)
    assert text.startswith("# Explanation of `total`"), text
    assert EXPLANATION in text and "written by the local model" in text
    assert editor.lines() == before  # nothing edited
    # Moving the cursor closes it, as a hover does; the range form explains those lines.
    editor.nvim.input("j")
    wait_for("the window to close", lambda: floating_text(editor) is None, timeout=10)
    editor.nvim.command("5,6Codels explain")
    text = wait_for("a floating window", lambda: floating_text(editor), timeout=30)
    assert text.startswith("# Explanation of the selection"), text
    # Outside any function: the server's sentence, no float, no error.
    editor.nvim.command("normal! G")
    editor.nvim.command("Codels explain")
    note = editor.note("put the cursor inside a function, or select", timeout=30)
    assert note["level"] == 3  # vim.log.levels.WARN
    said = editor.messages()
    assert "stack traceback" not in said and "E5108" not in said, said


def test_setup_turns_inline_completion_on_in_codels_buffers_only(
    start: Callable[..., Editor],
) -> None:
    editor = start()
    typing_in(editor)
    editor.nvim.input("<Esc>")
    codels_buffer = editor.nvim.current.buffer.number
    editor.nvim.command("enew")  # a buffer codels does not serve
    other = editor.nvim.current.buffer.number
    state = editor.lua(
        """
        local ic = vim.lsp.inline_completion
        return {
          everywhere = ic.is_enabled(),
          codels = ic.is_enabled({ bufnr = ... }),
          other = ic.is_enabled({ bufnr = select(2, ...) }),
          global = vim.g._lsp_enabled_inline_completion,
        }
        """,
        codels_buffer,
        other,
    )
    assert state == {"everywhere": False, "codels": True, "other": False}, state


def test_inline_completion_is_found_by_what_it_does_not_by_private_names(
    start: Callable[..., Editor],
) -> None:
    editor = start(alternatives=["return len(items)\n", "return max(items)\n"])
    typing_in(editor)
    wait_for("ghost text", lambda: shown(editor) == "return sum(items)", timeout=30)
    # As in a build whose capability registry is elsewhere and whose cycling is still `jump`.
    editor.lua(
        """
        package.loaded['vim.lsp._capability'] = {}
        local ic = vim.lsp.inline_completion
        ic.jump, ic.select = ic.select, nil
        """
    )
    editor.nvim.input("<M-]>")
    wait_for("the second suggestion", lambda: shown(editor) == "return len(items) (2/3)", 30)
    said = editor.messages()
    assert "not available" not in said and "stack traceback" not in said, said


def test_neovim_0_11_leaves_the_cursor_at_the_end_of_the_accepted_line(
    start: Callable[..., Editor],
) -> None:
    editor = start(binary=NVIM_0_11)
    typing_in(editor)
    editor.nvim.input("<M-]>")  # ask in the menu; one item, put in at once
    wait_for(
        "the suggestion in the buffer",
        lambda: editor.lines()[1] == "    return sum(items)",
        timeout=30,
    )
    cursor = wait_for(
        "the cursor after it",
        lambda: (
            tuple(c := editor.nvim.current.window.cursor) == (2, len("    return sum(items)")) and c
        ),
        timeout=10,
    )
    assert editor.mode().startswith("i"), cursor  # "ic" while the completion mode lasts


def test_entering_a_codels_buffer_sends_did_focus_with_the_cursor(
    start: Callable[..., Editor],
) -> None:
    editor = start()
    typing_in(editor)
    editor.nvim.input("<Esc>")
    codels_buffer = editor.nvim.current.buffer.number
    # Record what the plugin notifies the server of from now on.
    editor.lua(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = 'codels' })[1]
        _G.codels_sent = {}
        local notify = client.notify
        client.notify = function(self, method, params)
          table.insert(_G.codels_sent, { method = method, params = params })
          return notify(self, method, params)
        end
        """
    )
    editor.nvim.command("enew")  # a buffer codels does not serve: nothing is sent
    editor.nvim.command(f"buffer {codels_buffer}")

    def focus_sent() -> list[dict[str, Any]] | None:
        sent = editor.lua("return _G.codels_sent")
        return [note for note in sent if note["method"] == "codels/didFocus"] or None

    focus = wait_for("codels/didFocus", focus_sent, timeout=10)
    sent = editor.lua("return _G.codels_sent")
    row, col = editor.nvim.current.window.cursor
    assert len(focus) == 1, sent
    assert focus[0]["params"]["textDocument"]["uri"].endswith("shop.py")
    assert focus[0]["params"]["position"] == {"line": row - 1, "character": col}
