"""What codels keeps to itself: secret files, secret-looking lines, document text in the log."""

import logging
import subprocess
from pathlib import Path

import pytest

from codels.engines.base import FimParts, GenerationRequest
from codels.engines.remote_llama_server import LlamaServerEngine
from codels.models.catalogue import load_catalogue
from codels.privacy import (
    WITHHELD,
    DocumentTextFilter,
    PrivateFiles,
    looks_secret,
    withhold_secrets,
)

SECRET_LINES = [
    'OPENAI_API_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD"',
    'password = "hunter22hunter"',
    'PASSWORD: str = "correct-horse-battery"',
    'aws_id = "AKIAIOSFODNN7EXAMPLE"',
    'gh = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"',
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    'DATABASE_URL = "postgres://admin:s3cretpw@db.internal/app"',
    '    settings = {"api_key": "abcd1234efgh5678"}',
    'blob = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Q0NTY3ODkwMTIz"',
    'digest = "5f4dcc3b5aa765d61d8327deb882cf99"',
    "headers = {'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'}",
]
ORDINARY_LINES = [
    "x = compute(y) + 1",
    'name = "Alice Smith"',
    'password = os.environ["DB_PASSWORD"]',
    'password = "<your password>"',
    "token = get_token()",
    'TOKEN_URL = "https://auth.example.com/oauth/token"',
    'message = "The quick brown fox jumps over the lazy dog again"',
    'token = f"codels-{uuid.uuid4()}"',
    'path = "/usr/local/lib/python3.11/site-packages/codels/server.py"',
]


@pytest.mark.parametrize("line", SECRET_LINES)
def test_secret_looking_lines_are_recognised(line: str):
    assert looks_secret(line)


@pytest.mark.parametrize("line", ORDINARY_LINES)
def test_ordinary_code_is_not_taken_for_a_secret(line: str):
    assert not looks_secret(line)


def test_withholding_keeps_lines_and_indentation_and_whole_key_blocks():
    text = (
        "def connect():\n"
        '    token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"\n'
        "    return open_session(token)\n"
        "KEY = '''\n"
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEowIBAAKCAQEA1234\n"
        "abcdEFGH5678\n"
        "-----END RSA PRIVATE KEY-----\n"
        "'''\n"
    )
    withheld, count = withhold_secrets(text)
    lines = withheld.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert count == 5
    assert lines[1] == "    " + WITHHELD
    assert lines[2] == "    return open_session(token)"
    assert lines[4:8] == [WITHHELD] * 4
    assert "ghp_" not in withheld and "MIIE" not in withheld


@pytest.mark.parametrize(
    "name",
    [".env", ".env.local", "prod.env", "server.pem", "tls.key", "id_rsa", "id_ed25519.pub"],
)
def test_files_that_hold_secrets_are_private(tmp_path: Path, name: str):
    assert PrivateFiles(respect_gitignore=False).why_private((tmp_path / name).as_uri())


def test_files_under_secret_folders_and_user_patterns_are_private(tmp_path: Path):
    files = PrivateFiles(ignore=["secrets/", "*.local.py"], respect_gitignore=False)
    assert files.why_private((tmp_path / ".ssh" / "config").as_uri())
    assert files.why_private((tmp_path / "secrets" / "db.py").as_uri()) == (
        "matched by codels.ignoreFiles"
    )
    assert files.why_private((tmp_path / "settings.local.py").as_uri())
    assert files.why_private((tmp_path / "app.py").as_uri()) is None
    assert files.why_private("untitled:Untitled-1") is None


def test_files_git_ignores_are_private_unless_turned_off(tmp_path: Path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\n*.log.py\n")
    (tmp_path / "generated").mkdir()
    ignored = (tmp_path / "generated" / "tables.py").as_uri()
    assert PrivateFiles().why_private(ignored) == "ignored by git"
    assert PrivateFiles().why_private((tmp_path / "debug.log.py").as_uri()) == "ignored by git"
    assert PrivateFiles().why_private((tmp_path / "app.py").as_uri()) is None
    assert PrivateFiles(respect_gitignore=False).why_private(ignored) is None


def test_outside_a_repository_nothing_is_git_ignored(tmp_path: Path):
    assert PrivateFiles().why_private((tmp_path / "app.py").as_uri()) is None


def remote_engine() -> LlamaServerEngine:
    engine = LlamaServerEngine(load_catalogue())
    engine._family = load_catalogue().families["qwen2.5-coder"]
    return engine


def test_secret_lines_never_reach_a_remote_request():
    prefix = 'API_TOKEN = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"\n\ndef main():\n'
    request = GenerationRequest(
        prompt=f"<|fim_prefix|>{prefix}    <|fim_suffix|>\n<|fim_middle|>",
        max_tokens=8,
        parts=FimParts(prefix=prefix, suffix="\n", volatile="    ", extra=(("a.py", prefix),)),
    )
    safe = remote_engine()._without_secrets(request)
    assert safe is not None and safe.parts is not None
    sent = safe.prompt + safe.parts.prefix + safe.parts.suffix + safe.parts.extra[0][1]
    assert "ghp_" not in sent
    assert safe.prompt.startswith(f"<|fim_prefix|>{WITHHELD}\n\ndef main():\n")


def test_a_secret_on_the_cursor_line_is_not_sent_at_all():
    prefix = 'API_TOKEN = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'
    request = GenerationRequest(
        prompt=f"<|fim_prefix|>{prefix}<|fim_suffix|>\n<|fim_middle|>",
        max_tokens=8,
        parts=FimParts(prefix="", suffix='"\n', volatile=prefix),
    )
    assert remote_engine()._without_secrets(request) is None


def test_pygls_records_lose_their_message_contents_unless_allowed():
    guard = DocumentTextFilter()
    document = "def f():\n    return SECRET_MARKER\n" * 10

    def record() -> logging.LogRecord:
        return logging.LogRecord(
            "pygls.protocol.json_rpc", logging.ERROR, __file__, 1,
            "Failed to handle request %s %s %s", (7, "textDocument/didOpen", {"text": document}),
            None,
        )  # fmt: skip

    withheld = record()
    guard.filter(withheld)
    assert "SECRET_MARKER" not in withheld.getMessage()
    assert "Failed to handle request 7 textDocument/didOpen" in withheld.getMessage()
    guard.allow_text = True
    allowed = record()
    guard.filter(allowed)
    assert "SECRET_MARKER" in allowed.getMessage()


def test_secret_lines_never_reach_a_remote_instruction():
    code = 'def connect():\n    key = "AKIAIOSFODNN7EXAMPLE"\n    return key\n'
    request = GenerationRequest(
        prompt=f"<|im_start|>user\n{code}<|im_end|>\n", max_tokens=8, chat=("Be brief.", code)
    )
    safe = remote_engine()._without_secrets(request)
    assert safe is not None and safe.chat is not None
    assert "AKIA" not in safe.prompt + safe.chat[0] + safe.chat[1]
    assert safe.chat[1].split("\n")[1] == "    " + WITHHELD
