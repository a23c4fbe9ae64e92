"""End-to-end tests: ``codels`` runs as a process with the real default model."""

import functools
import shutil
import sys
from pathlib import Path

import pytest

from codels.models.catalogue import load_catalogue, resolve_catalogue_model

REPO = Path(__file__).resolve().parents[2]


def codels_command() -> str:
    """The installed ``codels`` console script of the interpreter running the tests."""
    beside = Path(sys.executable).parent / "codels"
    found = str(beside) if beside.exists() else shutil.which("codels")
    assert found, "the codels command is not installed: pip install -e '.[default-model,test]'"
    return found


@functools.cache
def default_model_file() -> Path:
    """The default model's verified file, assembled from its installed packages if not yet."""
    entry = load_catalogue().model("qwen2.5-coder-0.5b")
    return resolve_catalogue_model(entry, is_default=True).path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)
