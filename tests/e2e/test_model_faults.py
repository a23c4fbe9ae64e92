"""Model faults with the real server: one actionable message, and the server keeps answering.

``codels --stdio`` is started with a model that cannot be used — missing, truncated, not GGUF,
failing its checksum, too large for this machine's memory — and must say so once, in one
sentence that says what to do, answer completions with empty results, and keep serving.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO, codels_command, default_model_file
from lsp_session import initialize, inline_items, open_document, position_of
from lsprotocol import types
from pytest_lsp import ClientServerConfig
from pytest_lsp.client import make_test_lsp_client

WORK = Path(os.environ.get("TMPDIR", "/tmp")) / f"codels-faults-{os.getpid()}"
BODY = 'def double(x):\n    """Double x."""\n    █\n'


def make_faults() -> dict[str, tuple[dict[str, str], str]]:
    """Fault name -> (environment, model setting)."""
    WORK.mkdir(parents=True, exist_ok=True)
    real = default_model_file()
    truncated = WORK / "truncated.gguf"
    with real.open("rb") as source, truncated.open("wb") as target:
        target.write(source.read(4 * 1024 * 1024))
    not_gguf = WORK / "notes.gguf"
    not_gguf.write_text("these are my notes, not a model\n")
    huge = WORK / "huge.gguf"
    with huge.open("wb") as handle:  # a sparse file: 4 TB on paper, nothing on disk
        handle.write(b"GGUF")
        handle.truncate(4 * 1024**4)
    cache = WORK / "cache"
    (cache / "models").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(truncated, cache / "models" / "broken.gguf")
    catalogue = WORK / "models.toml"
    catalogue.write_text(
        (REPO / "models.toml").read_text()
        + '\n[models."broken"]\nfamily = "qwen2.5-coder"\ndescription = "a corrupted download"\n'
        'parameters = "0.5B"\nquantization = "Q4_K_M"\nfile = "broken.gguf"\n'
        f'sha256 = "{"0" * 64}"\ncontext_length = 32768\n\n[models."broken".sources]\n'
        'hf_repo = "example/broken"\nhf_file = "broken.gguf"\nhf_revision = "main"\n'
    )
    checksum_env = {"CODELS_CATALOGUE": str(catalogue), "CODELS_CACHE_DIR": str(cache)}
    return {
        "missing": ({}, str(WORK / "no-such-model.gguf")),
        "truncated": ({}, str(truncated)),
        "not_gguf": ({}, str(not_gguf)),
        "checksum": (checksum_env, "broken"),
        "too_large": ({}, str(huge)),
    }


NAMES = ["checksum", "missing", "not_gguf", "too_large", "truncated"]
EXPECTED = {
    "missing": "does not exist",
    "truncated": "",
    "not_gguf": "not a GGUF model file",
    "checksum": "sha256",
    "too_large": "memory",
}


@pytest.fixture(scope="module")
def faults():
    made = make_faults()
    assert sorted(made) == NAMES
    yield made
    shutil.rmtree(WORK, ignore_errors=True)


@pytest.mark.parametrize("name", NAMES)
async def test_a_broken_model_is_one_message_and_empty_answers(
    name: str, faults: dict[str, tuple[dict[str, str], str]]
):
    env, model = faults[name]
    config = ClientServerConfig(
        server_command=[codels_command(), "--stdio"], server_env={**os.environ, **env}
    )
    client = make_test_lsp_client()
    await client.start_io(*config.server_command, env=config.server_env)
    try:
        await initialize(client, options={"codels": {"model": model}})
        errors: list[str] = []
        for _ in range(600):
            errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
            if errors:
                break
            await asyncio.sleep(0.1)
        assert len(errors) == 1, (name, client.messages)
        message = errors[0]
        assert EXPECTED[name].lower() in message.lower(), message
        assert "Traceback" not in message and "\n" not in message.strip()
        text, position = position_of(BODY, "█")
        uri = (WORK / f"{name}.py").as_uri()
        open_document(client, uri, text)
        for _ in range(3):
            assert await inline_items(client, uri, position) == []
        status = await client.protocol.send_request_async("codels/status", {})
        assert status.model == "failed" and status.error, status
        await asyncio.sleep(0.5)
        assert len([m for m in client.messages if m.type == types.MessageType.Error]) == 1
        print(f"\n{name}: {message}")
    finally:
        await client.shutdown_session()
