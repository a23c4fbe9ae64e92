"""Fixtures for tests that run programs: the machine's OS sandbox, or none at all."""

import os

import pytest

from codels.sandbox import forget, isolation


@pytest.fixture
def os_sandbox():
    """This machine's sandbox; the test is skipped without one (fails with
    CODELS_REQUIRE_SANDBOX=1, as in CI, where an escape suite that skipped would prove nothing).
    """
    found = isolation()
    if not found.available:
        if os.environ.get("CODELS_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"CODELS_REQUIRE_SANDBOX=1, but {found.message()}")
        pytest.skip(found.message())
    return found


@pytest.fixture
def no_sandbox(monkeypatch: pytest.MonkeyPatch):
    """As on a machine where no OS sandbox works (``CODELS_SANDBOX=off``)."""
    monkeypatch.setenv("CODELS_SANDBOX", "off")
    forget()
    yield
    forget()  # probed again, once monkeypatch has put the environment back
