"""`codels models …` against a loopback server that answers like the Hugging Face hub.

The download path is the real one (huggingface_hub over HTTP); only the server is local. Each
test runs the `codels` command as a process with HF_ENDPOINT pointed at the fake hub and its own
cache directory and catalogue.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_hub import FakeHub, HubFile

REPO = "acme/tiny-coder-GGUF"
FILE = "tiny-coder.Q4_K_M.gguf"
RESOLVE = f"{REPO}/resolve/main/{FILE}"
# ~24 MB, starting like a GGUF file: huggingface_hub writes in 10 MB chunks, so a download has
# to be longer than that to leave something to resume.
CONTENT = b"GGUF" + bytes(range(256)) * 96_000
SHA = hashlib.sha256(CONTENT).hexdigest()


def catalogue(tmp_path: Path, *, pinned: bool = True, sha: str = SHA) -> Path:
    pin = f'size = {len(CONTENT)}\nsha256 = "{sha}"\n' if pinned else ""
    text = f"""
default = "tiny"

[families."qwen2.5-coder"]
fim_template = "<|fim_prefix|>{{prefix}}<|fim_suffix|>{{suffix}}<|fim_middle|>"
stop = ["<|endoftext|>"]

[models.tiny]
family = "qwen2.5-coder"
file = "tiny.gguf"
{pin}context_length = 4096

[models.tiny.sources]
hf_repo = "{REPO}"
hf_file = "{FILE}"
hf_revision = "main"
"""
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hub():
    server = FakeHub(files={RESOLVE: HubFile(CONTENT)})
    server.url = server.start()
    yield server
    server.stop()


def codels_env(tmp_path: Path, hub: FakeHub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "CODELS_"))}
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HOME=str(tmp_path / "hf-home"),
        CODELS_CACHE_DIR=str(tmp_path / "cache"),
        CODELS_CATALOGUE=str(tmp_path / "models.toml"),
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    env.update(extra)
    return env


def codels(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "codels", "models", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def installed(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "models" / "tiny.gguf"


def test_full_pull_then_list_verify_path_and_rm(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path)
    env = codels_env(tmp_path, hub)
    pulled = codels(env, "pull", "tiny", "--source", "hub")
    assert pulled.returncode == 0, pulled.stderr
    assert installed(tmp_path).read_bytes() == CONTENT
    assert "downloaded from the hub" in pulled.stdout
    assert any(method == "GET" for method, _, _ in hub.requests)

    listing = json.loads(codels(env, "list", "--json").stdout)
    assert listing[0]["installed"] and listing[0]["verified"] and listing[0]["pinned"]

    verified = codels(env, "verify", "tiny")
    assert verified.returncode == 0 and "OK" in verified.stdout
    assert codels(env, "path", "tiny").stdout.strip() == str(installed(tmp_path))

    hub.requests.clear()
    again = codels(env, "pull", "tiny")
    assert again.returncode == 0 and "already installed" in again.stdout
    assert hub.requests == []  # a verified file is not fetched again

    removed = codels(env, "rm", "tiny")
    assert removed.returncode == 0 and not installed(tmp_path).exists()
    missing = codels(env, "path", "tiny")
    assert missing.returncode == 1 and "codels models pull tiny" in missing.stderr


def test_a_dropped_connection_is_resumed_with_a_range_request(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path)
    hub.drop_after = len(CONTENT) * 2 // 3
    pulled = codels(codels_env(tmp_path, hub), "pull", "tiny", "--source", "hub")
    assert pulled.returncode == 0, pulled.stderr
    assert installed(tmp_path).read_bytes() == CONTENT
    ranges = [r for method, _, r in hub.requests if method == "GET" and r]
    assert ranges, hub.requests
    assert int(ranges[0].removeprefix("bytes=").split("-")[0]) > 0


def test_an_interrupted_pull_resumes_where_it_stopped(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path)
    env = codels_env(tmp_path, hub)
    hub.delay_per_chunk = 0.02  # ~8 s for the whole file
    process = subprocess.Popen(
        [sys.executable, "-m", "codels", "models", "pull", "tiny", "--source", "hub"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    partial_dir = tmp_path / "cache" / "models" / ".partial"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partials = list(partial_dir.glob("*.incomplete")) if partial_dir.is_dir() else []
        if partials and partials[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = partials[0].stat().st_size
    assert 0 < kept < len(CONTENT)

    hub.delay_per_chunk = 0.0
    hub.requests.clear()
    pulled = codels(env, "pull", "tiny", "--source", "hub")
    assert pulled.returncode == 0, pulled.stderr
    assert "resuming" in pulled.stderr
    assert installed(tmp_path).read_bytes() == CONTENT
    ranges = [r for method, _, r in hub.requests if method == "GET"]
    assert ranges[0] == f"bytes={kept}-"
    assert not list(partial_dir.glob("*.incomplete"))


def test_a_checksum_mismatch_removes_the_file_and_fails(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path, sha="0" * 64)
    pulled = codels(codels_env(tmp_path, hub), "pull", "tiny", "--source", "hub")
    assert pulled.returncode == 1
    message = pulled.stderr.strip().splitlines()[-1]
    assert "sha256" in message and "removed" in message
    assert not installed(tmp_path).exists()


def test_an_unpinned_model_is_checked_against_the_hubs_sha256(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path, pinned=False)
    env = codels_env(tmp_path, hub)
    assert codels(env, "pull", "tiny").returncode == 0
    listing = json.loads(codels(env, "list", "--json").stdout)
    assert listing[0]["verified"] and not listing[0]["pinned"]
    assert listing[0]["sha256"] == SHA

    codels(env, "rm", "tiny")
    hub.files[RESOLVE] = HubFile(CONTENT, etag="f" * 64)  # the bytes are not what it says
    lying = codels(env, "pull", "tiny")
    assert lying.returncode == 1 and "sha256" in lying.stderr
    assert not installed(tmp_path).exists()


def test_a_corrupted_installed_file_fails_verification(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path)
    env = codels_env(tmp_path, hub)
    assert codels(env, "pull", "tiny").returncode == 0
    with installed(tmp_path).open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"corrupt")
    verified = codels(env, "verify", "tiny")
    assert verified.returncode == 1 and "FAILED" in verified.stdout


@pytest.mark.parametrize(
    ("status", "words"), [(401, "refused"), (404, "refused"), (500, "answered HTTP 500")]
)
def test_hub_refusals_are_one_sentence(tmp_path: Path, hub: FakeHub, status: int, words: str):
    catalogue(tmp_path)
    hub.status = status
    pulled = codels(codels_env(tmp_path, hub), "pull", "tiny")
    assert pulled.returncode == 1
    lines = pulled.stderr.strip().splitlines()
    assert words in lines[-1], pulled.stderr
    assert "Traceback" not in pulled.stderr


def test_offline_mode_and_no_network_say_what_to_do(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path)
    offline = codels(codels_env(tmp_path, hub, HF_HUB_OFFLINE="1"), "pull", "tiny")
    assert offline.returncode == 1 and "HF_HUB_OFFLINE" in offline.stderr
    hub.stop()
    unreachable = codels(codels_env(tmp_path, hub, HF_HUB_ETAG_TIMEOUT="2"), "pull", "tiny")
    assert unreachable.returncode == 1
    assert "check the network" in unreachable.stderr.strip().splitlines()[-1]
    assert "Traceback" not in unreachable.stderr
    hub.start()  # the fixture stops it again


def test_unknown_model_names_list_the_known_ones(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path)
    result = codels(codels_env(tmp_path, hub), "pull", "nope")
    assert result.returncode == 1 and "tiny" in result.stderr


def test_pull_json_reports_progress_lines_and_the_result(tmp_path: Path, hub: FakeHub):
    catalogue(tmp_path)
    pulled = codels(codels_env(tmp_path, hub), "pull", "tiny", "--source", "hub", "--json")
    assert pulled.returncode == 0, pulled.stderr
    result = json.loads(pulled.stdout)
    assert result == {
        "name": "tiny",
        "path": str(installed(tmp_path)),
        "sha256": SHA,
        "source": "hub",
    }
    steps = [json.loads(line) for line in pulled.stderr.splitlines() if line.startswith("{")]
    assert steps and all(set(step) == {"message", "fraction"} for step in steps)
    fractions = [step["fraction"] for step in steps if step["fraction"] is not None]
    assert fractions and fractions[-1] == 1.0
