"""Local acceptance statistics: counting, the file, ``codels stats``, and over LSP."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest_lsp
from lsp_session import initialize, inline_params, open_document, position_of, replace_text
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.completion.acceptance import AcceptanceStats, OfferedSuggestions, read_file, report


def test_each_suggestion_is_counted_once_as_accepted_partial_or_not(tmp_path: Path):
    path = tmp_path / "acceptance.json"
    offered = OfferedSuggestions()
    stats = AcceptanceStats(path=path)
    uri = "file:///work/a.py"
    ids = [offered.offer(uri, "python", text) for text in ("x = 1", "y = 2", "for a in b:\n    c")]
    for suggestion_id in ids:
        stats.shown(offered.get(suggestion_id))
    whole, part_then_all, part_only = (offered.get(i) for i in ids)
    stats.accepted(whole)
    stats.accepted(whole)  # run twice (a client retrying): still one
    stats.accepted_part(part_then_all, 2)
    rest = offered.get(offered.offer(uri, "python", "2", continues=True))
    assert rest.root == ids[1]
    stats.accepted(offered.root(rest))
    stats.accepted_part(part_only, 4)
    stats.flush()
    counts = read_file(path)["counts"]["python"]
    assert counts["line"] == {"shown": 2, "accepted": 2, "partial": 0, "chars_kept": 2}
    assert counts["block"] == {"shown": 1, "accepted": 0, "partial": 1, "chars_kept": 4}
    text = report(read_file(path)["counts"], path)
    assert "python    line   2      2 (100%)" in text and str(path) in text


def test_servers_add_to_the_same_file_and_nothing_is_kept_when_off(tmp_path: Path):
    path = tmp_path / "acceptance.json"
    offered = OfferedSuggestions()
    suggestion = offered.get(offered.offer("file:///a.py", "python", "x = 1"))
    for _ in range(2):
        stats = AcceptanceStats(path=path)
        stats.shown(suggestion)
        stats.flush()
    off = AcceptanceStats(path=path, enabled=False)
    off.shown(suggestion)
    off.flush()
    data = read_file(path)
    assert data["counts"]["python"]["line"]["shown"] == 2
    assert "never sent anywhere" in data["about"] and data["since"]


def test_an_unreadable_file_is_started_again_not_a_crash(tmp_path: Path):
    path = tmp_path / "acceptance.json"
    path.write_text("{not json")
    offered = OfferedSuggestions()
    stats = AcceptanceStats(path=path)
    stats.shown(offered.get(offered.offer("file:///a.py", "python", "x = 1")))
    stats.flush()
    assert read_file(path)["counts"]["python"]["line"]["shown"] == 1


def codels_stats(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"CODELS_STATE_DIR": str(state), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "codels", "stats", *args],
        env=env | {"PYTHONPATH": str(Path(__file__).parents[2] / "server")},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_stats_command_shows_and_deletes_the_file(tmp_path: Path):
    assert "No suggestions counted yet." in codels_stats(tmp_path).stdout
    offered = OfferedSuggestions()
    stats = AcceptanceStats(path=tmp_path / "acceptance.json")
    stats.shown(offered.get(offered.offer("u", "python", "x = 1")))
    stats.flush()
    shown = codels_stats(tmp_path)
    assert shown.returncode == 0 and "python" in shown.stdout and "never sent" in shown.stdout
    as_json = json.loads(codels_stats(tmp_path, "--json").stdout)
    assert as_json["counts"]["python"]["line"]["shown"] == 1
    reset = codels_stats(tmp_path, "--reset")
    assert reset.returncode == 0 and "deleted" in reset.stdout
    assert not (tmp_path / "acceptance.json").exists()


FAKE_SERVER = str(Path(__file__).parents[1] / "support" / "fake_server.py")
URI = "file:///work/example.py"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, FAKE_SERVER],
        server_env={"CODELS_FAKE_RESPONSE": " return x * 2\n"},
    )
)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def python_line(client: LanguageClient) -> dict:
    """This server's counts of Python line suggestions (the file's, with its own added)."""
    answer = await client.protocol.send_request_async("codels/acceptance", {})
    python = getattr(answer.counts, "python", None)
    line = getattr(python, "line", None)
    return {name: getattr(line, name, 0) for name in ("shown", "accepted")}


async def test_over_lsp_shown_once_while_typed_into_and_accepted_by_its_command(
    client: LanguageClient,
):
    await initialize(client)
    text, position = position_of("def double(x):\n    █\n", "█")
    open_document(client, URI, text)
    before = await python_line(client)
    items: list[types.InlineCompletionItem] = []
    for _ in range(100):  # the fake model loads in the background
        result = await client.text_document_inline_completion_async(inline_params(URI, position))
        items = list(result.items) if result else []
        if items:
            break
        await asyncio.sleep(0.05)
    assert [item.insert_text for item in items] == ["return x * 2"]
    replace_text(client, URI, 2, position, "return ")
    after = types.Position(line=position.line, character=position.character + 7)
    result = await client.text_document_inline_completion_async(inline_params(URI, after))
    assert [item.insert_text for item in result.items] == ["x * 2"]  # typed into: not new
    command = result.items[0].command
    assert command is not None and command.command == "codels.accepted"
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    now = await python_line(client)
    assert now == {"shown": before["shown"] + 1, "accepted": before["accepted"] + 1}


def test_a_block_shown_early_then_with_more_lines_is_one_suggestion(tmp_path: Path):
    offered = OfferedSuggestions()
    stats = AcceptanceStats(path=tmp_path / "acceptance.json")
    uri = "file:///work/a.py"
    first = offered.get(offered.offer(uri, "python", "total = 0"))
    stats.shown(first)
    # "to" typed into it meanwhile; the same generation has written its next line since.
    grown = offered.get(offered.offer(uri, "python", "tal = 0\n    for item in items:", grows=True))
    assert grown.root == first.root
    # The whole block once written, nothing more typed: still the same one.
    whole = offered.offer(
        uri, "python", "tal = 0\n    for item in items:\n        total += item", grows=True
    )
    assert offered.get(whole).root == first.root
    stats.accepted(offered.root(offered.get(whole)))
    # Something else in another file, or unlike the latest one, is a new suggestion.
    other = offered.get(offered.offer("file:///work/b.py", "python", "tal = 0\n    x", grows=True))
    assert other.root != first.root
    unlike = offered.get(offered.offer(uri, "python", "count = 1\n    y", grows=True))
    assert unlike.root != first.root
    stats.flush()
    counts = read_file(tmp_path / "acceptance.json")["counts"]["python"]
    assert counts["line"]["shown"] == 1 and counts["line"]["accepted"] == 1
