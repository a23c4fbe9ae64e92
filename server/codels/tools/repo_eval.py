"""``codels eval --suite repo-python``: how much a definition from another module helps.

Each task of :mod:`codels.tools.repo_tasks` is completed under several conditions in one run,
all with the raw FIM prompt of the model's family and a newline stop, so that only the context
differs: the current file alone, and the oracle — the renamed name's definition, its signature
and docstring or the whole of it — in one of three placements: the family's repository form
first (``<|repo_name|>``, ``<|file_sep|>path``), a path-comment snippet above the prefix (as
Copilot and Tabby place theirs), or after the suffix before the middle marker. Every context is
checked not to hold the masked line. Scored by exact match, edit similarity, and whether the
renamed name is called with a number of arguments its signature accepts. Imports the engines'
interface, the model catalogue, :mod:`codels.tools.evaluation` (its statistics) and
:mod:`codels.tools.repo_tasks`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from codels.engines.base import Engine, GenerationRequest
from codels.models.catalogue import Family, fill
from codels.tools.eval_report import difference_interval, wilson_interval
from codels.tools.evaluation import edit_similarity
from codels.tools.repo_tasks import RepoTask, ensure_no_leak, first_call

SUITE = "repo-python"
PLACEMENTS = ("repo", "comment", "suffix")
"""Where the oracle goes: repository form first, path comment above the prefix, after the
suffix."""
ORACLES = ("signature", "definition")
"""What the oracle is: the signature and docstring, or the whole definition."""
CONDITIONS = (
    "file",
    *(f"{place}-{oracle}" for place in ("suffix", "repo", "comment") for oracle in ORACLES),
)
"""Every condition, in the order each task runs them: the after-suffix ones share the whole
file-only prompt but its last marker, so they follow it and the KV cache reuses it."""
PREFIX_CHARS = 600
SUFFIX_CHARS = 150
"""The current file's window either side of the cursor, cut at line boundaries: small, so the
oracle is a large part of the prompt and seven prompts per task stay affordable on a CPU."""
MAX_TOKENS = 48
COMMENT = "# "


@dataclass(frozen=True)
class Prompted:
    """The prompt of one condition, and the context it added."""

    prompt: str
    context: str


def window(task: RepoTask) -> tuple[str, str]:
    """The prefix and suffix the prompts show: whole lines within the character budgets."""
    prefix = task.prefix
    if len(prefix) > PREFIX_CHARS:
        cut = prefix.find("\n", len(prefix) - PREFIX_CHARS)
        prefix = prefix[cut + 1 :]
    suffix = task.suffix
    if len(suffix) > SUFFIX_CHARS:
        suffix = suffix[: suffix.rfind("\n", 0, SUFFIX_CHARS) + 1]
    return prefix, suffix


def oracle(task: RepoTask, kind: str) -> str:
    """The definition's text the oracle gives: ``signature`` or ``definition``."""
    return task.definition.signature if kind == "signature" else task.definition.whole


def comment_snippet(path: str, text: str) -> str:
    """The snippet as path comments, each line commented (Copilot's and Tabby's form)."""
    lines = [f"{COMMENT}Path: {path}", *(f"{COMMENT}{line}".rstrip() for line in text.split("\n"))]
    return "\n".join(lines) + "\n"


def available(family: Family, condition: str) -> bool:
    """Whether ``family``'s templates can express ``condition``."""
    if condition.startswith("repo-"):
        return bool(family.repo_template and family.file_template)
    if condition.startswith("suffix-"):
        return family.middle_last
    return True


def build_prompt(family: Family, task: RepoTask, condition: str) -> Prompted:
    """The raw FIM prompt of ``task`` under ``condition`` (LeakError if its context leaks)."""
    prefix, suffix = window(task)
    if condition == "file":
        return Prompted(family.fim_prompt(prefix, suffix), "")
    placement, kind = condition.split("-", 1)
    text = oracle(task, kind)
    definition_path = task.definition.path
    if placement == "repo":
        head = (
            fill(family.repo_template, repo=task.package)
            + fill(family.file_template, path=definition_path)
            + text
            + "\n"
        )
        context = ensure_no_leak(task, head)
        return Prompted(context + family.fim_prompt(prefix, suffix, path=task.path), context)
    context = ensure_no_leak(task, comment_snippet(definition_path, text))
    if placement == "comment":
        return Prompted(family.fim_prompt(context + prefix, suffix), context)
    if placement == "suffix":
        return Prompted(family.fim_prompt(prefix, f"{suffix}\n{context}"), context)
    raise ValueError(f"unknown condition {condition!r}")


@dataclass
class Answer:
    """One condition's completion of one task, and its scores."""

    completion: str
    latency_ms: float
    exact: bool = False
    similarity: float = 0.0
    name_used: bool = False
    """The completion calls the renamed name."""
    arguments_fit: bool = False
    """It calls the name with a number of arguments the signature accepts."""


def score(task: RepoTask, completion: str, latency_ms: float) -> Answer:
    """Exact match, edit similarity and the argument check of one completion."""
    got, want = completion.strip(), task.expected.strip()
    count = first_call(got, task.name)
    return Answer(
        completion=completion,
        latency_ms=latency_ms,
        exact=got == want,
        similarity=edit_similarity(got, want),
        name_used=count is not None,
        arguments_fit=count is not None and task.definition.arity.fits(count),
    )


@dataclass
class RepoReport:
    """Every condition's answers to the same tasks."""

    tasks: int
    """How many tasks the suite has (before sampling)."""
    conditions: list[str]
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    task_ids: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """Per condition: exact match (with its 95 % interval), edit similarity, arguments.

        The oracle conditions also get their exact-match gain over the current file alone.
        """
        n = len(self.task_ids)
        out: dict[str, Any] = {"suite": SUITE, "tasks": self.tasks, "n": n, "conditions": {}}
        for condition in self.conditions:
            answers = self.answers.get(condition, [])
            exact = sum(a.exact for a in answers)
            figures: dict[str, Any] = {
                "exact_match": exact / n if n else 0.0,
                "exact": exact,
                "exact_ci95": list(wilson_interval(exact, n)),
                "edit_similarity": sum(a.similarity for a in answers) / n if n else 0.0,
                "name_used": sum(a.name_used for a in answers) / n if n else 0.0,
                "arguments_fit": sum(a.arguments_fit for a in answers) / n if n else 0.0,
                "mean_latency_ms": sum(a.latency_ms for a in answers) / n if n else 0.0,
            }
            if condition != "file" and "file" in self.answers:
                base = sum(a.exact for a in self.answers["file"])
                figures["gain"] = (exact - base) / n if n else 0.0
                figures["gain_ci95"] = list(difference_interval(exact, base, n))
            out["conditions"][condition] = figures
        return out


async def run_repo_suite(
    engine: Engine,
    family: Family,
    tasks: Sequence[RepoTask],
    total: int,
    conditions: Sequence[str] = CONDITIONS,
    progress: Callable[[int, int, RepoReport], None] | None = None,
) -> RepoReport:
    """Complete every task under every condition the family can express, greedily."""
    chosen = [condition for condition in CONDITIONS if condition in conditions]
    chosen = [condition for condition in chosen if available(family, condition)]
    report = RepoReport(tasks=total, conditions=chosen)
    for index, task in enumerate(tasks):
        for condition in chosen:
            prompted = build_prompt(family, task, condition)
            request = GenerationRequest(
                prompt=prompted.prompt,
                max_tokens=MAX_TOKENS,
                key="eval-repo",
                stop=family.stop,
                should_stop=lambda text: "\n" in text,
            )
            started = time.perf_counter()
            result = await engine.generate(request)
            completion = result.text.split("\n", 1)[0]
            answer = score(task, completion, (time.perf_counter() - started) * 1000)
            report.answers.setdefault(condition, []).append(answer)
        report.task_ids.append(task.task_id)
        if progress:
            progress(index + 1, len(tasks), report)
    return report


def format_repo_table(figures: dict[str, Any]) -> str:
    """A plain-text table: one row per condition."""
    rows = [
        f"{'condition':<22} {'n':>4} {'exact':>6} {'95% CI':<14} {'gain':>6} {'editsim':>7} "
        f"{'name':>5} {'args':>5} {'mean ms':>8}"
    ]
    for condition, numbers in figures["conditions"].items():
        low, high = numbers["exact_ci95"]
        gain = f"{100 * numbers['gain']:+5.1f}" if "gain" in numbers else ""
        rows.append(
            f"{condition:<22} {figures['n']:>4} {100 * numbers['exact_match']:5.1f}% "
            f"{f'[{100 * low:.1f}, {100 * high:.1f}]':<14} {gain:>6} "
            f"{100 * numbers['edit_similarity']:7.1f} {100 * numbers['name_used']:5.1f} "
            f"{100 * numbers['arguments_fit']:5.1f} {numbers['mean_latency_ms']:8.0f}"
        )
    rows.append(
        "(exact: exact match of the masked rest of the line; name: the renamed name is called; "
        "args: with an argument count its signature accepts)"
    )
    return "\n".join(rows)
