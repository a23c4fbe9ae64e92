"""Remote backends against real servers on loopback, started by the tests.

* ``openai``: llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``, the
  ``server`` extra) with the default model;
* ``llama-server``: llama.cpp's own server, built by ``.ci/build-llama-server`` from the llama.cpp
  sources in the llama-cpp-python source distribution (found through ``CODELS_LLAMA_SERVER`` or
  that script's cache; skipped when absent unless ``CODELS_REQUIRE_LLAMA_SERVER=1``).

For each: a completion through the LSP server, a code action (the generate action on a stub:
chat completions on the OpenAI-compatible server, ``/completion`` on llama-server), cancellation
closing the stream, the server
killed mid-request (empty answer and one message; completions come back when it returns) and a
wrong API key. No mocks stand in for the servers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import pytest_lsp
from conftest import codels_command, default_model_file
from lsp_session import (
    apply_edit,
    initialize,
    inline_items,
    inline_params,
    open_document,
    position_of,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.languages.syntax import count_syntax_errors, new_parser

KEY = "codels-test-key"
KEY_ENV = "CODELS_TEST_REMOTE_KEY"


def llama_server_binary() -> str | None:
    explicit = os.environ.get("CODELS_LLAMA_SERVER")
    if explicit:
        return explicit
    cache = Path(os.environ.get("CODELS_CI_CACHE", Path.home() / ".cache" / "codels-ci"))
    found = sorted(cache.glob("llama-server-*/bin/llama-server"))
    return str(found[-1]) if found else None


LLAMA_SERVER = llama_server_binary()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RealServer:
    """A model server process on loopback that can be killed and started again."""

    def __init__(self, kind: str, log_dir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{kind}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.kind == "openai":
            return [
                sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_file()),
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096",
                "--n_threads", "2", "--api_key", KEY,
            ]  # fmt: skip
        assert LLAMA_SERVER
        return [
            LLAMA_SERVER, "--model", str(default_model_file()),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--ctx-size", "4096", "--threads", "2", "--parallel", "1", "--api-key", KEY,
            "--no-webui",
        ]  # fmt: skip

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 180
        probe = "/v1/models" if self.kind == "openai" else "/health"
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text(errors="replace")[-3000:]
            try:
                answer = httpx.get(
                    self.endpoint + probe, headers={"Authorization": f"Bearer {KEY}"}, timeout=2
                )
                if answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.kind} did not start: {self.log_path}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


KINDS = [
    "openai",
    pytest.param(
        "llama-server",
        marks=pytest.mark.skipif(
            LLAMA_SERVER is None and os.environ.get("CODELS_REQUIRE_LLAMA_SERVER") != "1",
            reason="no llama-server: run .ci/build-llama-server (or set CODELS_LLAMA_SERVER)",
        ),
    ),
]


@pytest.fixture(scope="module", params=KINDS)
def remote(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    server = RealServer(request.param, tmp_path_factory.mktemp(request.param))
    server.start()
    yield server
    server.kill()


def settings(server: RealServer, **extra: object) -> dict[str, object]:
    return {
        "backend": server.kind,
        "endpoint": server.endpoint,
        "apiKeyEnv": KEY_ENV,
        "remoteFamily": "qwen2.5-coder",
        "requestTimeoutMs": 60_000,
        **extra,
    }


CONFIG = ClientServerConfig(server_command=[codels_command(), "--stdio"], server_env={KEY_ENV: KEY})
BODY = '''def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    █
'''
URI = "file:///work/circle.py"
LONG_BODY = """def count():
    # print 1 to 500, one call per line
    print(1)
    print(2)
    █
"""


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def until_ready(client: LanguageClient, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = (await client.protocol.send_request_async("codels/status", {}))._asdict()
        if status["model"] in ("ready", "failed") or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def test_completion_through_the_lsp_server(client: LanguageClient, remote: RealServer):
    await initialize(client, options=settings(remote))
    status = await until_ready(client)
    assert status["model"] == "ready", status
    assert remote.endpoint in status["name"]
    text, position = position_of(BODY, "█")
    open_document(client, URI, text)
    items = await inline_items(client, URI, position)
    assert items and items[0].insert_text.strip(), client.messages
    assert "radius" in items[0].insert_text


async def test_cancelling_a_request_closes_the_stream(client: LanguageClient, remote: RealServer):
    # showEarlyMs 0: shown early, the request would be answered with its first line long
    # before the cancel (its generation going on, as it should, for the requests after it).
    await initialize(
        client, options=settings(remote, maxTokens=2000, timeBudgetMs=0, showEarlyMs=0)
    )
    assert (await until_ready(client))["model"] == "ready"
    # A body the model would go on writing for a long time.
    source = (
        "def count():\n    # print 1 to 500, one call per line\n    print(1)\n    print(2)\n    █\n"
    )
    text, position = position_of(source, "█")
    open_document(client, URI, text)
    before = remote.log()
    request = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            inline_params(URI, position),
            msg_id=f"cancel-{remote.kind}",
        )
    )
    await asyncio.sleep(2.0)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=f"cancel-{remote.kind}"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(request, 30)
    if remote.kind == "openai":
        deadline = time.monotonic() + 20
        while "Disconnected from client" not in remote.log()[len(before) :]:
            assert time.monotonic() < deadline, remote.log()[len(before) :]
            await asyncio.sleep(0.2)
    else:
        headers = {"Authorization": f"Bearer {KEY}"}
        deadline = time.monotonic() + 20
        while True:
            slots = httpx.get(remote.endpoint + "/slots", headers=headers, timeout=5).json()
            if not any(slot.get("is_processing") for slot in slots):
                break
            assert time.monotonic() < deadline, slots
            await asyncio.sleep(0.2)
        # The slot is free long before its 2,000 tokens could have been written.


async def test_a_wrong_api_key_is_one_clear_message(remote: RealServer):
    config = ClientServerConfig(
        server_command=[codels_command(), "--stdio"], server_env={KEY_ENV: "wrong"}
    )
    client = await config.start()  # type: ignore[attr-defined]
    try:
        await initialize(client, options=settings(remote))
        status = await until_ready(client)
        assert status["model"] == "failed"
        assert "refused the API key (HTTP 401)" in status["error"]
        errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1 and KEY_ENV in errors[0]
        text, position = position_of(BODY, "█")
        open_document(client, URI, text)
        assert await inline_items(client, URI, position) == []
    finally:
        await client.shutdown_session()
        await client.stop()  # type: ignore[attr-defined]


async def test_the_server_killed_mid_request_then_back(client: LanguageClient, remote: RealServer):
    # showEarlyMs 0: the request must still be waiting when the server is killed.
    await initialize(
        client, options=settings(remote, maxTokens=2000, timeBudgetMs=0, showEarlyMs=0)
    )
    assert (await until_ready(client))["model"] == "ready"
    source = (
        "def count():\n    # print 1 to 500, one call per line\n    print(1)\n    print(2)\n    █\n"
    )
    text, position = position_of(source, "█")
    open_document(client, URI, text)
    pending = asyncio.ensure_future(inline_items(client, URI, position))
    await asyncio.sleep(1.5)
    remote.kill()
    assert await asyncio.wait_for(pending, 30) == []
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any(remote.endpoint in w for w in warnings), client.messages
    # While it is down, answers are immediate and empty; no more messages pile up.
    assert await asyncio.wait_for(inline_items(client, URI, position), 10) == []
    remote.start()
    body, body_position = position_of(BODY, "█")
    open_document(client, "file:///work/after.py", body)
    deadline = time.monotonic() + 90
    items: list[types.InlineCompletionItem] = []
    while not items and time.monotonic() < deadline:
        items = await inline_items(client, "file:///work/after.py", body_position)
        await asyncio.sleep(1.0)
    assert items, client.messages
    infos = [m.message for m in client.messages if m.type == types.MessageType.Info]
    assert any("is back" in m for m in infos)
    warnings_after = [m for m in client.messages if m.type == types.MessageType.Warning]
    assert len(warnings_after) == len(warnings)  # one message for the outage, not one per request


GENERATE = "refactor.rewrite.codels.generate"
STUB = '''def circle_area(radius: float) -> float:█
    """Return the area of a circle with the given radius."""
    ...
'''


async def test_a_code_action_through_the_remote_server(client: LanguageClient, remote: RealServer):
    await initialize(client, options=settings(remote))
    status = await until_ready(client)
    assert status["model"] == "ready", status
    text, position = position_of(STUB, "█")
    uri = "file:///work/stub.py"
    open_document(client, uri, text)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=position, end=position),
            context=types.CodeActionContext(
                diagnostics=[], trigger_kind=types.CodeActionTriggerKind.Invoked
            ),
        )
    )
    generate = [
        action
        for action in actions or []
        if isinstance(action, types.CodeAction)
        and action.kind == "refactor.rewrite.codels.generate"
    ]
    assert generate, actions
    resolved = await client.code_action_resolve_async(generate[0])
    assert resolved.edit is not None, client.messages
    edited = apply_edit(text, resolved.edit, uri)
    assert count_syntax_errors(new_parser("python").parse(edited.encode()).root_node) == 0
    assert edited.startswith("def circle_area(radius: float) -> float:")
    assert "return" in edited, edited
