"""The report header that ``codels bench`` and ``codels eval`` both start their JSON with."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fake_engine import QWEN, FakeEngine

from codels import __version__
from codels.config import Settings
from codels.engines.base import EngineOptions
from codels.tools import bench, report
from codels.tools.eval_report import Attempt, SuiteReport, TaskResult, report_json

HEADER_KEYS = ["codels", "git_commit", "machine", "model", "settings"]


@pytest.fixture
def fixed_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "git_commit", lambda: "0" * 40)


def test_the_header_names_version_commit_machine_model_and_every_setting(fixed_commit):
    settings = Settings(threads=3, max_tokens=64, ignore_files=("*.env",))
    info = FakeEngine().load(EngineOptions(model="m"))
    header = report.report_header(info, settings)
    assert list(header) == HEADER_KEYS
    assert header["codels"] == __version__
    assert header["git_commit"] == "0" * 40
    assert list(header["machine"]) == ["system", "cpu", "cores", "python"]
    assert header["model"] == {
        "name": "m",
        "path": "/dev/null",
        "sha256": "",
        "verified": False,
        "family": QWEN.name,
        "threads": 1,
        "build": "CPU",
    }
    assert header["settings"] == dataclasses.asdict(settings)
    assert header["settings"]["ignore_files"] == ("*.env",)


def test_the_model_facts_are_the_ones_asked_for_in_their_order():
    info = FakeEngine(fim=False).load(EngineOptions())
    assert report.model_facts(info)["family"] is None
    assert list(report.model_facts(info, ("build", "name"))) == ["build", "name"]
    with pytest.raises(KeyError):
        report.model_facts(info, ("colour",))


def test_git_commit_is_the_checkout_head_or_unknown(monkeypatch: pytest.MonkeyPatch):
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", report.git_commit())

    def no_git(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert report.git_commit() == "unknown"


def test_eval_and_bench_reports_start_with_the_same_header(
    fixed_commit, monkeypatch: pytest.MonkeyPatch
):
    settings = Settings(threads=2)
    engine = FakeEngine()
    info = engine.load(settings.engine_options())
    suite = SuiteReport("humaneval-single", 1, [TaskResult("t", Attempt("a", 1.0))])
    evaluated = report_json([suite], info, settings, limit=1, seed=0)
    assert list(evaluated) == [*HEADER_KEYS, "sample", "suites"]
    assert {k: evaluated[k] for k in HEADER_KEYS} == report.report_header(info, settings)

    async def replay(*args: Any, **kwargs: Any) -> bench.RunFigures:
        return bench.RunFigures("codels")

    monkeypatch.setattr(bench, "replay_codels", replay)
    monkeypatch.setattr(bench, "BackendEngine", FakeEngine)
    corpus = Path(__file__).resolve().parents[1] / "data" / "inventory.py"
    options = bench.BenchOptions(files=(corpus,), bodies=1, baseline=False)
    figures = bench.run_bench(options, settings)
    assert list(figures)[: len(HEADER_KEYS)] == HEADER_KEYS
    assert figures["model"] == report.model_facts(info, bench.BENCH_MODEL_FACTS)
    assert list(figures["model"]) == ["name", "path", "sha256", "threads", "build"]
    header = report.report_header(info, settings, facts=bench.BENCH_MODEL_FACTS)
    assert {k: figures[k] for k in HEADER_KEYS} == header
