"""A pytest plugin: servers and commands the tests start keep their state out of the user's.

The acceptance statistics go to ``CODELS_STATE_DIR``; for the whole test session it points at a
temporary folder (removed at the end), so running the tests never adds to the statistics of the
person running them. Tests that look at the file set their own.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_made: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if "CODELS_STATE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="codels-test-state-")
        _made.append(folder)
        os.environ["CODELS_STATE_DIR"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("CODELS_STATE_DIR") == folder:
            del os.environ["CODELS_STATE_DIR"]
