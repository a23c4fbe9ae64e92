"""``codels eval`` and ``codels bench``: their options, and running them from the terminal.

Imports :mod:`codels.tools.evaluation`, :mod:`codels.tools.repo_eval` and
:mod:`codels.tools.command_line`; the repository suite's tasks only when it runs, and the bench
and its replay only when ``codels bench`` runs (they bring the LSP client).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codels.tools.command_line import (
    Commands,
    UsageError,
    add_model_options,
    load_engine,
    settings_from,
)
from codels.tools.eval_report import format_table, report_json
from codels.tools.evaluation import (
    REAL_CODE_SUITES,
    SUITES,
    EvalError,
    fetch_sources,
    load_problems,
    run_evaluation,
    scoring_sandbox,
)
from codels.tools.repo_eval import CONDITIONS as REPO_CONDITIONS
from codels.tools.repo_eval import SUITE as REPO_SUITE

if TYPE_CHECKING:
    from codels.tools.repo_eval import RepoReport
    from codels.tools.repo_tasks import RepoTask


def add_eval_parser(commands: Commands) -> None:
    """Register ``codels eval``."""
    evaluate = commands.add_parser(
        "eval",
        help="score completions: HumanEval suites by running them, real code against the original",
    )
    evaluate.add_argument(
        "--suite",
        action="append",
        choices=[*SUITES, REPO_SUITE],
        help="suite to run (repeat for several; default: humaneval-single; "
        f"{REPO_SUITE} runs on its own)",
    )
    evaluate.add_argument(
        "--repo-condition",
        action="append",
        choices=list(REPO_CONDITIONS),
        help=f"{REPO_SUITE}: condition to run (repeat for several; default: all of them)",
    )
    evaluate.add_argument("--limit", type=int, help="sample this many tasks per suite")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    evaluate.add_argument("--json", action="store_true", help="print the results as JSON")
    evaluate.add_argument("--output", help="also write the JSON results to this file")
    evaluate.add_argument(
        "--details", action="store_true", help="include every completion in the JSON"
    )
    evaluate.add_argument(
        "--no-baseline", action="store_true", help="skip the raw-FIM baseline run"
    )
    evaluate.add_argument(
        "--action",
        choices=["chat", "fim"],
        help="score humaneval-docstring through the generate code action with this prompt form",
    )
    evaluate.add_argument(
        "--timeout", type=float, default=10.0, help="seconds each scoring run may take"
    )
    evaluate.add_argument(
        "--settings", help="codels settings as JSON, e.g. '{\"suffixTokens\": 256}'"
    )
    evaluate.add_argument(
        "--unsafe-exec", action="store_true", help="score even where no OS sandbox works"
    )
    add_model_options(evaluate)


def add_bench_parser(commands: Commands) -> None:
    """Register ``codels bench``."""
    bench = commands.add_parser(
        "bench", help="replay typing sessions through the server and measure latency"
    )
    bench.add_argument(
        "--files", nargs="+", type=Path, help="Python files to type (default: the shipped corpus)"
    )
    bench.add_argument("--bodies", type=int, default=3, help="function bodies typed per file")
    bench.add_argument(
        "--gaps",
        type=int,
        default=2,
        help="statement lines per file typed back in between existing ones (0: none)",
    )
    bench.add_argument("--seed", type=int, default=0, help="seed of the typing rhythm")
    bench.add_argument("--cps", type=float, default=12.0, help="typing speed, characters/s")
    bench.add_argument(
        "--line-pause", type=float, default=0.8, help="extra seconds at the end of a line"
    )
    bench.add_argument(
        "--debounce", type=float, default=0.1, help="seconds without a key before a request"
    )
    bench.add_argument("--no-baseline", action="store_true", help="skip the naive-client run")
    bench.add_argument(
        "--pause-rounds",
        type=int,
        default=3,
        help="rounds of 'after opening a file' and 'switch back' requests (0: none)",
    )
    bench.add_argument(
        "--open-file",
        type=Path,
        help="the ~2,000-line file opened in those rounds (default: this Python's argparse.py)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument("--output", help="write the JSON here, and the latency plot beside it")
    bench.add_argument("--server-log", help="write the server's log to this file")
    bench.add_argument("--settings", help="codels settings as JSON")
    add_model_options(bench)


def run_eval(args: argparse.Namespace) -> int:
    """``codels eval``: codels against the raw-FIM baseline on HumanEval and real-code suites."""
    suites = args.suite or ["humaneval-single"]
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if REPO_SUITE in suites:
        if len(set(suites)) > 1:
            raise UsageError(f"run --suite {REPO_SUITE} on its own (its conditions differ)")
        return run_repo_eval(args)
    # Fail before loading the model when a data set is missing, or when completions would have
    # to run with nothing to isolate them (the real-code suites run nothing).
    if any(suite not in REAL_CODE_SUITES for suite in suites):
        load_problems()
        sandbox = scoring_sandbox(args.unsafe_exec)
    else:
        sandbox = {"backend": None, "isolation": [], "runs_code": False}
    if any(suite in REAL_CODE_SUITES for suite in suites):
        fetch_sources(suites)
    settings = settings_from(args)
    engine, info = load_engine(settings)
    started = time.monotonic()

    def progress(suite: str, done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            elapsed = time.monotonic() - started
            print(f"codels: {suite}: {done}/{total} ({elapsed:.0f} s)", file=sys.stderr, flush=True)

    try:
        reports = run_evaluation(
            engine,
            settings,
            suites,
            limit=args.limit,
            seed=args.seed,
            baseline=not args.no_baseline,
            timeout=args.timeout,
            progress=progress,
            action=args.action,
            unsafe_exec=args.unsafe_exec,
        )
    finally:
        engine.close()
    results = report_json(
        reports, info, settings, limit=args.limit, seed=args.seed, details=args.details
    )
    results["docstring_via_action"] = args.action
    results["sandbox"] = sandbox
    header = (
        f"model {info.name} ({info.build}, {info.threads} threads); sample: "
        f"{'all' if args.limit is None else args.limit} per suite, seed {args.seed}"
        + (f"; docstring suite through the generate action ({args.action})" if args.action else "")
    )
    _report(args, results, header, lambda: format_table(results["suites"]))
    return 0


def _report(
    args: argparse.Namespace, results: dict[str, Any], header: str, table: Callable[[], str]
) -> None:
    """Write ``results`` to ``--output``, and print them as JSON or as ``header`` and a table."""
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(header)
        print(table())


def run_repo_eval(args: argparse.Namespace) -> int:
    """``codels eval --suite repo-python``: the file alone against the oracle's placements."""
    from codels.languages.python import PYTHON
    from codels.tools.realcode import SourceError
    from codels.tools.repo_eval import format_repo_table, run_repo_suite
    from codels.tools.repo_tasks import repo_tasks
    from codels.tools.report import report_header

    try:
        tasks = repo_tasks(PYTHON)
    except SourceError as exc:
        raise EvalError(str(exc)) from None
    chosen = tasks
    if args.limit is not None and args.limit < len(tasks):
        picked = sorted(random.Random(args.seed).sample(range(len(tasks)), args.limit))
        chosen = [tasks[index] for index in picked]
    settings = settings_from(args)
    engine, info = load_engine(settings)
    if info.family is None:
        engine.close()
        raise UsageError(f"{REPO_SUITE} needs a model with a fill-in-the-middle family")
    started = time.monotonic()

    def progress(done: int, total: int, report: RepoReport) -> None:
        if done == total or done % 5 == 0:
            elapsed = time.monotonic() - started
            exact = ", ".join(
                f"{condition} {sum(a.exact for a in answers)}"
                for condition, answers in report.answers.items()
            )
            print(
                f"codels: {REPO_SUITE}: {done}/{total} ({elapsed:.0f} s); exact so far: {exact}",
                file=sys.stderr,
                flush=True,
            )

    conditions = args.repo_condition or REPO_CONDITIONS
    try:
        report = asyncio.run(
            run_repo_suite(engine, info.family, chosen, len(tasks), conditions, progress)
        )
    finally:
        engine.close()
    results: dict[str, Any] = {
        **report_header(info, settings),
        "sample": {"limit": args.limit, "seed": args.seed},
        "suites": [report.figures()],
    }
    if args.details:
        results["details"] = _repo_details(chosen, report)
    header = (
        f"model {info.name} ({info.build}, {info.threads} threads); sample: "
        f"{'all' if args.limit is None else args.limit} of {len(tasks)} tasks, seed {args.seed}"
    )
    _report(args, results, header, lambda: format_repo_table(results["suites"][0]))
    return 0


def _repo_details(tasks: Sequence[RepoTask], report: RepoReport) -> dict[str, Any]:
    """Every answer of a repo-python run, per condition, beside its task's expected line."""
    return {
        condition: [
            {"task_id": task.task_id, "expected": task.expected, **dataclasses.asdict(answer)}
            for task, answer in zip(tasks, answers, strict=True)
        ]
        for condition, answers in report.answers.items()
    }


def run_bench_command(args: argparse.Namespace) -> int:
    """``codels bench``: keystroke replay through the server, and a naive baseline."""
    from codels.tools.bench import BenchOptions, default_corpus, format_report, run_bench, save
    from codels.tools.replay import TypingModel

    files = tuple(args.files) if args.files else default_corpus()
    if not files:
        raise UsageError("no corpus found beside the package: name files with --files")
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise UsageError(f"cannot read {', '.join(missing)}")
    if args.bodies < 1 or args.gaps < 0 or args.cps <= 0 or args.debounce < 0:
        raise UsageError(
            "--bodies must be at least 1, --gaps at least 0, --cps above 0, --debounce at least 0"
        )
    settings = settings_from(args)
    options = BenchOptions(
        files=files,
        typing=TypingModel(chars_per_second=args.cps, line_end_pause=args.line_pause),
        debounce=args.debounce,
        bodies=args.bodies,
        gaps=args.gaps,
        seed=args.seed,
        baseline=not args.no_baseline,
        pause_rounds=max(0, args.pause_rounds),
        open_file=args.open_file,
    )
    figures = run_bench(options, settings, log_file=args.server_log)
    plot = save(figures, Path(args.output)) if args.output else None
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(format_report(figures))
        if args.output:
            print(f"figures: {args.output}" + (f", plot: {plot}" if plot else ""))
    return 0
