"""What ``codels eval`` reports: each run's attempts, a suite's figures, the JSON and the table.

Pass@1 with Wilson intervals, the gain over the baseline with Newcombe's interval, exact match,
edit similarity, syntax errors, empty answers and latency, per suite and run
(:class:`SuiteReport`), and the report's JSON and plain-text table. Imports the real-code
suites' modules of :mod:`codels.tools`, config, engines' types and the shared report header.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from codels.config import Settings
from codels.engines.base import ModelInfo
from codels.tools import code_suites
from codels.tools.realcode import PYTHON_CODE_SUITES
from codels.tools.report import report_header

# -- statistics --------------------------------------------------------------------------------

Z95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default)."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(
    successes_a: int, successes_b: int, total: int, z: float = Z95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p_a - p_b (from the two Wilson intervals).

    It treats the samples as independent, which is conservative (wider) for the paired samples
    of an evaluation that runs both on the same tasks.
    """
    if total == 0:
        return -1.0, 1.0
    pa, pb = successes_a / total, successes_b / total
    la, ua = wilson_interval(successes_a, total, z)
    lb, ub = wilson_interval(successes_b, total, z)
    difference = pa - pb
    return (
        difference - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2),
        difference + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2),
    )


# -- figures -----------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One completion for one task, and how it scored."""

    completion: str
    latency_ms: float
    passed: bool = False
    reason: str = ""
    exact: bool = False
    similarity: float = 0.0
    """Edit similarity to the expected text (1 - normalised Levenshtein distance)."""
    syntax_error: bool = False
    document: str = ""
    """The whole edited document, when a code action made it (scored instead of completion)."""
    attempts: int = 1
    """The code action's attempt that made the edit."""
    examples: str = ""
    """How the code action's edit fared on the docstring's examples (empty: not checked)."""


@dataclass
class TaskResult:
    """Both runs of one task."""

    task_id: str
    codels: Attempt
    baseline: Attempt | None = None


@dataclass
class SuiteReport:
    """The figures of one suite."""

    suite: str
    tasks: int
    results: list[TaskResult] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """Pass@1 with intervals, exact match, latency and syntax errors, for both runs."""
        out: dict[str, Any] = {
            "suite": self.suite,
            "tasks": self.tasks,
            "n": len(self.results),
            # A real-code suite has no tests to run: pass@1 is matching or clean syntax.
            "scored_by": scored_by(self.suite),
        }
        runs: dict[str, list[Attempt]] = {"codels": [r.codels for r in self.results]}
        if self.results and all(r.baseline is not None for r in self.results):
            runs["baseline"] = [r.baseline for r in self.results if r.baseline is not None]
        for name, attempts in runs.items():
            n = len(attempts)
            passed = sum(a.passed for a in attempts)
            low, high = wilson_interval(passed, n)
            out[name] = {
                "pass_at_1": passed / n if n else 0.0,
                "pass_at_1_ci95": [low, high],
                "passed": passed,
                "exact_match": sum(a.exact for a in attempts) / n if n else 0.0,
                "edit_similarity": sum(a.similarity for a in attempts) / n if n else 0.0,
                "syntax_error_rate": sum(a.syntax_error for a in attempts) / n if n else 0.0,
                "empty_rate": sum(not a.completion.strip() for a in attempts) / n if n else 0.0,
                "mean_latency_ms": sum(a.latency_ms for a in attempts) / n if n else 0.0,
            }
        if "baseline" in out:
            n = len(self.results)
            gain = out["codels"]["pass_at_1"] - out["baseline"]["pass_at_1"]
            out["gain"] = gain
            out["gain_ci95"] = list(
                difference_interval(out["codels"]["passed"], out["baseline"]["passed"], n)
            )
        return out


def scored_by(suite: str) -> str:
    """What pass@1 of ``suite`` counts."""
    if suite in code_suites.LINE_SUITES:
        return "first_line_exact_match"
    if suite in code_suites.BODY_SUITES:
        return "non_empty_and_syntax_clean"
    return "exact_match" if suite in PYTHON_CODE_SUITES else "tests"


# -- the report ----------------------------------------------------------------------------------


def report_json(
    reports: Sequence[SuiteReport],
    info: ModelInfo,
    settings: Settings,
    *,
    limit: int | None,
    seed: int,
    details: bool = False,
) -> dict[str, Any]:
    """Everything needed to trust (and redo) the figures."""
    out: dict[str, Any] = {
        **report_header(info, settings),
        "sample": {"limit": limit, "seed": seed},
        "suites": [report.figures() for report in reports],
    }
    if details:
        out["details"] = {
            report.suite: [dataclasses.asdict(result) for result in report.results]
            for report in reports
        }
    return out


def format_table(figures: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of the suite figures."""

    def percent(value: float) -> str:
        return f"{100 * value:5.1f}"

    def interval(pair: Sequence[float]) -> str:
        return f"[{100 * pair[0]:.1f}, {100 * pair[1]:.1f}]"

    rows = [
        f"{'suite':<20} {'n':>5}  {'run':<8} {'pass@1':>6} {'95% CI':<14} {'exact':>5} "
        f"{'editsim':>7} {'syntax':>6} {'empty':>5} {'mean ms':>8}"
    ]
    for suite in figures:
        for run in ("codels", "baseline"):
            if run not in suite:
                continue
            numbers = suite[run]
            rows.append(
                f"{suite['suite']:<20} {suite['n']:>5}  {run:<8} {percent(numbers['pass_at_1'])}% "
                f"{interval(numbers['pass_at_1_ci95']):<14} {percent(numbers['exact_match'])} "
                f"{percent(numbers.get('edit_similarity', 0.0)):>7} "
                f"{percent(numbers['syntax_error_rate'])} {percent(numbers['empty_rate'])} "
                f"{numbers['mean_latency_ms']:8.0f}"
            )
        if "gain" in suite:
            rows.append(
                f"{'':<20} {'':>5}  {'gain':<8} {100 * suite['gain']:+5.1f}  "
                f"{interval(suite['gain_ci95'])}"
            )
    scoring = {suite.get("scored_by") for suite in figures}
    if "exact_match" in scoring:
        rows.append("(python-line, python-block: pass@1 is exact match; no tests to run)")
    if "first_line_exact_match" in scoring:
        rows.append("(<lang>-line: pass@1 is exact match of the completion's first line)")
    if "non_empty_and_syntax_clean" in scoring:
        rows.append("(<lang>-body: pass@1 is the share non-empty and adding no syntax error)")
    return "\n".join(rows)
