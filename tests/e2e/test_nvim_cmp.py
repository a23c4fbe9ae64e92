"""The README's nvim-cmp and blink.cmp set-ups, run as written in a real headless Neovim 0.12.

Each test reads its plugin's Lua snippet from README.md (the ```lua block after the line ending
in "nvim-cmp:" or "blink.cmp:") and runs it in the init, after the plugin's checkout is put
first on the 'runtimepath'. The server is the real one with the fake engine, as in
``test_nvim_controls.py``. Neither plugin is a Python package, so a test runs only where an
environment variable names a checkout (CODELS_NVIM_CMP, CODELS_BLINK_CMP) and is skipped
otherwise; the README says which commits were tested.

What is test-only is added around the snippet, never edited into it: nvim-cmp gets a source of
the buffer's words (the snippet names none) and ``<C-e>`` to cancel the menu (as its preset
maps it; blink.cmp's default keymap has it), and blink.cmp its Lua fuzzy matcher (no prebuilt
binary to download) with only its buffer source, so that the menu lists the buffer's words, and
``auto_insert = false``: with it on, blink.cmp's own suppression of the events its preview
causes (a timing guess, by its source's comment) now and then closes the menu on Tab when the
machine is loaded, which is about blink.cmp, not codels.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO
from test_nvim import NVIM_0_12, Editor, wait_for
from test_nvim_controls import FAKE_SERVER, environment, shown, typing_in

# The fake engine answers every request with this; typed after "to" it makes "total = ...".
ANSWER = "tal = sum(items)"
SOURCE = "def total(items):\n    totals = []\n    tomato = 1\n    █\n"
WORDS = ("total", "totals", "tomato")  # the menu's items once "to" is typed


@dataclass(frozen=True)
class CompletionPlugin:
    """A completion plugin's README set-up and what the test asks of the plugin's Lua API."""

    name: str
    """As the README introduces its snippet ("nvim-cmp:")."""
    checkout_variable: str
    """The environment variable naming a checkout of the plugin."""
    before: str
    """Test-only Lua run before the README's snippet."""
    after: str
    """Test-only Lua run after it."""
    menu_visible: str
    """A Lua expression: whether the plugin's menu is open."""
    selected_index: str
    """A Lua expression: the index of the selected menu item, nil for none."""


NVIM_CMP = CompletionPlugin(
    name="nvim-cmp",
    checkout_variable="CODELS_NVIM_CMP",
    before="",
    after="""
local cmp = require('cmp')
cmp.register_source('words', {
  complete = function(_, _, callback)
    local items, seen = {}, {}
    local typing = vim.api.nvim_win_get_cursor(0)[1]
    for row, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
      for word in line:gmatch('[%a_][%w_]+') do
        if row ~= typing and not seen[word] then
          seen[word] = true
          table.insert(items, { label = word })
        end
      end
    end
    callback(items)
  end,
})
-- Merged into the README's set-up; <C-e> as nvim-cmp's insert-mode preset maps it.
cmp.setup({ sources = { { name = 'words' } }, mapping = { ['<C-e>'] = cmp.mapping.abort() } })
""",
    menu_visible="require('cmp').visible()",
    selected_index="require('cmp').get_selected_index()",
)

BLINK_CMP = CompletionPlugin(
    name="blink.cmp",
    checkout_variable="CODELS_BLINK_CMP",
    before="""
local blink = require('blink.cmp')
local setup = blink.setup
blink.setup = function(opts)
  return setup(vim.tbl_deep_extend('force', opts or {}, {
    fuzzy = { implementation = 'lua' },
    sources = { default = { 'buffer' } },
    completion = { list = { selection = { auto_insert = false } } },
  }))
end
""",
    after="",
    menu_visible="require('blink.cmp').is_menu_visible()",
    selected_index="require('blink.cmp').get_selected_item_idx()",
)


def readme_lua(introduced_by: str) -> str:
    """The README's ```lua block that follows the line ending in ``introduced_by``."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(
        rf"{re.escape(introduced_by)}\n\n```lua\n(.*?)\n```\n", readme, re.MULTILINE | re.DOTALL
    )
    assert found, f"no ```lua block after {introduced_by!r} in README.md"
    return found.group(1)


def plugin_init(plugin: CompletionPlugin, checkout: Path) -> str:
    """The init's Lua for ``plugin``: its checkout on the 'runtimepath', the README snippet."""
    snippet = readme_lua(f"{plugin.name}:")
    runtimepath = f"vim.opt.runtimepath:prepend({json.dumps(str(checkout))})\n"
    return "\n".join([runtimepath, plugin.before, snippet, plugin.after])


@pytest.fixture
def editor(plugin: CompletionPlugin, tmp_path: Path) -> Iterator[Editor]:
    """Neovim with ``plugin`` set up from the README."""
    checkout = os.environ.get(plugin.checkout_variable)
    if not checkout:
        pytest.skip(
            f"{plugin.name} is not installable offline: set {plugin.checkout_variable} to a "
            f"checkout of it to run this test (the README names the commit tested)"
        )
    # The test's setup() gives the fake server; the README's own setup() call that follows
    # keeps it (vim.lsp.config merges) and turns the Tab key off.
    config = {"cmd": [sys.executable, str(FAKE_SERVER)], "settings": {}}
    with environment(CODELS_FAKE_RESPONSE=ANSWER + "\n", CODELS_STATE_DIR=str(tmp_path / "state")):
        init_lua = plugin_init(plugin, Path(checkout))
        editor = Editor(NVIM_0_12, tmp_path / "nvim", config, init_lua)
    yield editor
    editor.close()


def menu_visible(editor: Editor, plugin: CompletionPlugin) -> bool:
    return editor.lua(f"return {plugin.menu_visible} == true") is True


def selected_index(editor: Editor, plugin: CompletionPlugin) -> int | None:
    return editor.lua(f"return {plugin.selected_index}")  # type: ignore[no-any-return]


def tab_moves_through_the_menu(editor: Editor, plugin: CompletionPlugin) -> None:
    """Press Tab in the open menu: it selects another item, the suggestion stays hidden."""
    before = selected_index(editor, plugin)
    editor.nvim.input("<Tab>")
    # nvim-cmp types the selected item in; on a loaded machine it may then filter its menu by
    # that word (so the selection starts again), which is nvim-cmp's business: either shows
    # that Tab went to the menu.
    wait_for(
        f"Tab to select another item (was {before})",
        lambda: selected_index(editor, plugin) != before or editor.lines()[3].strip() in WORDS,
        timeout=10,
    )
    assert menu_visible(editor, plugin), "the menu closed on Tab"
    assert shown(editor) is None, "the suggestion came back while the menu is open"
    assert "sum(items)" not in "\n".join(editor.lines()), "Tab took the hidden suggestion"


@pytest.mark.parametrize("plugin", [NVIM_CMP, BLINK_CMP], ids=lambda plugin: plugin.name)
def test_the_readme_set_up_shares_tab_between_the_menu_and_the_suggestion(
    editor: Editor, plugin: CompletionPlugin
) -> None:
    typing_in(editor, SOURCE)
    wait_for("ghost text", lambda: shown(editor) == ANSWER, timeout=30)

    editor.nvim.input("to")  # the buffer's WORDS fill the menu
    wait_for(f"the {plugin.name} menu", lambda: menu_visible(editor, plugin), timeout=10)
    wait_for("the ghost text to go", lambda: shown(editor) is None, timeout=10)
    tab_moves_through_the_menu(editor, plugin)

    editor.nvim.input("<C-e>")  # cancel: the menu closes and takes back the selected item
    wait_for("the menu to close", lambda: not menu_visible(editor, plugin), timeout=10)
    wait_for("the ghost text to come back", lambda: shown(editor) == ANSWER, timeout=30)
    typed = editor.lines()[3]
    assert typed.startswith("    to"), typed  # "to", or the item nvim-cmp filtered by

    editor.nvim.input("<Tab>")
    wait_for(
        "the suggestion in the buffer", lambda: editor.lines()[3] == typed + ANSWER, timeout=10
    )
    assert editor.mode() == "i"
    said = editor.messages()
    for trace in ("stack traceback", "E5108", "Error executing"):
        assert trace not in said, said
