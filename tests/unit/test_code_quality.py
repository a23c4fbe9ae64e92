"""The code is ruff-clean, formatted, and type-checks strictly."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_check():
    result = run(str(BIN / "ruff"), "check", "server", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = run(str(BIN / "ruff"), "format", "--check", "server", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict():
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr
