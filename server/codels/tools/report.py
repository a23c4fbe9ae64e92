"""The head of the ``codels bench`` and ``codels eval`` JSON reports.

Both start with the same facts (codels's version and commit, the machine, the model, every
setting), so that a figure can be trusted and redone.

This module imports :mod:`codels.config` and :mod:`codels.engines.base`.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codels import __version__
from codels.config import Settings
from codels.engines.base import ModelInfo

MODEL_FACTS = ("name", "path", "sha256", "verified", "family", "threads", "build")
"""What a report records of the model, in this order."""


def git_commit() -> str:
    """The commit of the codels checkout running, or ``unknown`` outside a checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict[str, Any]:
    """What ran the figures: system, CPU, cores and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "system": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


def model_facts(info: ModelInfo, facts: Sequence[str] = MODEL_FACTS) -> dict[str, Any]:
    """The ``facts`` (names from :data:`MODEL_FACTS`) of the loaded model, in that order."""
    known: dict[str, Any] = {
        "name": info.name,
        "path": info.path,
        "sha256": info.sha256,
        "verified": info.verified,
        "family": info.family.name if info.family else None,
        "threads": info.threads,
        "build": info.build,
    }
    return {name: known[name] for name in facts}


def report_header(
    info: ModelInfo, settings: Settings, *, facts: Sequence[str] = MODEL_FACTS
) -> dict[str, Any]:
    """The keys a report starts with, in order: version, commit, machine, model, settings.

    ``facts`` says what is recorded of the model.
    """
    return {
        "codels": __version__,
        "git_commit": git_commit(),
        "machine": machine(),
        "model": model_facts(info, facts),
        "settings": dataclasses.asdict(settings),
    }
