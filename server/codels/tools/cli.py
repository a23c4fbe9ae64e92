"""The ``codels`` command: the language server, and completions and facts from the terminal.

``codels --stdio`` (or ``--tcp``) serves LSP; ``codels complete PATH:LINE:COL`` prints the
completion the server would offer there; ``codels info`` says which model, build and settings
are in use. Errors go to stderr as one sentence, with a non-zero exit status.

In ``--stdio`` mode the LSP stream gets its own copy of the stdout file descriptor and
descriptor 1 is pointed at stderr, so nothing a library prints can corrupt the protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import BinaryIO, get_type_hints

from codels import __version__
from codels.actions.edits import ActionEdit
from codels.actions.errors import ActionError
from codels.actions.runner import ActionRunner
from codels.actions.sites import ActionKind, find_sites
from codels.completion.service import CompletionService
from codels.config import Settings, camel_case, read_settings, setting_choices
from codels.documents import Document
from codels.engines.base import ModelInfo
from codels.engines.switch import BackendEngine
from codels.languages.registry import syntax_language
from codels.models.catalogue import ModelError
from codels.positions import PositionError
from codels.privacy import log_guard
from codels.tools.evaluation import (
    SUITES,
    EvalError,
    format_table,
    load_problems,
    report_json,
    run_evaluation,
    scoring_sandbox,
)
from codels.tools.model_commands import add_models_parser, run_models
from codels.tools.sandbox_commands import add_sandbox_parser, describe, run_sandbox, sandbox_facts

log = logging.getLogger("codels")


class UsageError(Exception):
    """A mistake on the command line; the message says what to type instead."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codels",
        description="Inline code completion from a local code model, as a language server.",
    )
    parser.add_argument("--version", action="version", version=f"codels {__version__}")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", help="serve LSP on stdin/stdout")
    mode.add_argument("--tcp", action="store_true", help="serve LSP on a TCP port")
    parser.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    parser.add_argument("--log-file", help="write the log to this file instead of stderr")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["debug", "info", "warning", "error"],
        help="log level (default: info for the server, warning for commands)",
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    complete = commands.add_parser(
        "complete", help="print the completion at PATH:LINE:COL (1-based, as editors show them)"
    )
    complete.add_argument("location", metavar="PATH:LINE:COL")
    complete.add_argument("--json", action="store_true", help="print JSON with timings")
    _add_model_options(complete)
    generate = commands.add_parser(
        "generate",
        help="run a code action at PATH:LINE (1-based) and print the edited function",
    )
    generate.add_argument("location", metavar="PATH:LINE")
    generate.add_argument(
        "--action",
        choices=[kind.value for kind in ActionKind if kind is not ActionKind.FIX],
        default=None,
        help="which action (default: generate if offered there, else the first offered)",
    )
    generate.add_argument(
        "--json", action="store_true", help="print the LSP workspace edit and timings as JSON"
    )
    generate.add_argument("--settings", help="codels settings as JSON")
    _add_model_options(generate)
    evaluate = commands.add_parser(
        "eval", help="score completions by running HumanEval-based suites (against a baseline)"
    )
    evaluate.add_argument(
        "--suite",
        action="append",
        choices=list(SUITES),
        help="suite to run (repeat for several; default: humaneval-single)",
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
    _add_model_options(evaluate)
    add_models_parser(commands)
    add_sandbox_parser(commands)
    bench = commands.add_parser(
        "bench", help="replay typing sessions through the server and measure latency"
    )
    bench.add_argument(
        "--files", nargs="+", type=Path, help="Python files to type (default: the shipped corpus)"
    )
    bench.add_argument("--bodies", type=int, default=3, help="function bodies typed per file")
    bench.add_argument("--seed", type=int, default=0, help="seed of the typing rhythm")
    bench.add_argument("--cps", type=float, default=12.0, help="typing speed, characters/s")
    bench.add_argument(
        "--line-pause", type=float, default=0.8, help="extra seconds at the end of a line"
    )
    bench.add_argument(
        "--debounce", type=float, default=0.1, help="seconds without a key before a request"
    )
    bench.add_argument("--no-baseline", action="store_true", help="skip the naive-client run")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument("--output", help="write the JSON here, and the latency plot beside it")
    bench.add_argument("--server-log", help="write the server's log to this file")
    bench.add_argument("--settings", help="codels settings as JSON")
    _add_model_options(bench)
    info = commands.add_parser("info", help="show the model, its checksum state and the build")
    info.add_argument("--json", action="store_true", help="print JSON")
    _add_model_options(info)
    return parser


_MODEL_OPTIONS: dict[str, str] = {
    "model": "catalogue name or GGUF path (default: CODELS_MODEL or the default model)",
    "threads": "CPU threads (default: number of cores, at most 8)",
    "context_size": "context window in tokens",
    "max_tokens": "most tokens generated",
    "gpu_layers": "layers to offload in a GPU build (-1: all)",
    "backend": "where the model runs (default local: in process)",
    "endpoint": "remote server address, e.g. http://127.0.0.1:8080",
    "api_key_env": "environment variable that holds the remote server's API key",
    "remote_model": "model name to ask the OpenAI-compatible server for",
    "remote_family": "family of the remote model (default: guessed)",
}
"""The settings a command takes as options, with their help: ``--context-size`` sets
``contextSize``, with the setting's type and choices."""

_SETTING_TYPES = get_type_hints(Settings)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    for name, help_text in _MODEL_OPTIONS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=_SETTING_TYPES[name],
            choices=setting_choices(name),
            help=help_text,
        )


def _settings_from(args: argparse.Namespace) -> Settings:
    raw: dict[str, object] = {}
    if getattr(args, "settings", None):
        try:
            raw.update(json.loads(args.settings))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--settings is not a JSON object: {exc}") from None
    raw |= {
        camel_case(name): value
        for name in _MODEL_OPTIONS
        if (value := getattr(args, name, None)) is not None
    }
    settings, problems = read_settings(raw)
    if problems:
        raise UsageError("; ".join(problems))
    return settings


def _setup_logging(level: str, log_file: str | None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(log_guard)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))
    if level != "debug":
        logging.getLogger("pygls").setLevel(logging.WARNING)


class _ProgressPrinter:
    """Prints model progress to stderr: in place on a terminal, a few lines otherwise."""

    def __init__(self) -> None:
        self._interactive = sys.stderr.isatty()
        self._last = 0.0
        self._message = ""

    def __call__(self, message: str, fraction: float | None) -> None:
        if fraction is None:
            return  # a step without progress (loading takes about a second): nothing to show
        now = time.monotonic()
        quiet_for = 0.2 if self._interactive else 5.0
        repeat = message == self._message and now - self._last < quiet_for
        if repeat and fraction != 1.0:
            return
        self._last, self._message = now, message
        shown = f"{message}: {fraction:.0%}"
        if self._interactive:
            end = "\r" if fraction != 1.0 else "\n"
            print(f"codels: {shown}\033[K", end=end, file=sys.stderr, flush=True)
        else:
            print(f"codels: {shown}", file=sys.stderr, flush=True)


def _parse_location(location: str) -> tuple[Path, int, int]:
    try:
        path, line, column = location.rsplit(":", 2)
        line_number, column_number = int(line), int(column)
    except ValueError:
        raise UsageError(
            f"{location!r} is not PATH:LINE:COL; write for example src/app.py:12:5"
        ) from None
    if line_number < 1 or column_number < 1:
        raise UsageError(f"{location!r}: LINE and COL start at 1")
    return Path(path), line_number, column_number


def _load(settings: Settings) -> tuple[BackendEngine, ModelInfo]:
    engine = BackendEngine()
    try:
        info = engine.load(settings.engine_options(), _ProgressPrinter())
    except BaseException:
        engine.close()
        raise
    return engine, info


def _python_document(path: Path, verb: str) -> Document:
    """The Python file at ``path``; a UsageError if it cannot be read or is not Python."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    uri = path.resolve().as_uri()
    if syntax_language("", uri) is None:
        raise UsageError(f"{path}: codels {verb} Python files (.py) only for now")
    return Document(uri, "python", 0, text)


def run_complete(args: argparse.Namespace) -> int:
    """``codels complete``: print the completion at a location of a file."""
    path, line, column = _parse_location(args.location)
    document = _python_document(path, "completes")
    try:
        offset = document.lines.offset_at(line - 1, column - 1, "utf-32")
    except PositionError:
        raise UsageError(
            f"{path} has {document.lines.line_count} lines; line {line} does not exist"
        ) from None
    settings = dataclasses.replace(_settings_from(args), speculate=False)  # one answer, then exit
    engine, info = _load(settings)
    try:
        outcome = asyncio.run(
            CompletionService(engine).complete(document.snapshot(), offset, settings)
        )
    finally:
        engine.close()
    result = outcome.generation
    if args.json:
        print(
            json.dumps(
                {
                    "completion": outcome.text,
                    "model": info.name,
                    "kind": outcome.kind.value,
                    "note": outcome.note,
                    "timings": {
                        "total_ms": round(outcome.total_ms, 1),
                        "prompt_tokens": result.prompt_tokens if result else 0,
                        "cached_tokens": result.cached_tokens if result else 0,
                        "generated_tokens": result.generated_tokens if result else 0,
                    },
                },
                indent=2,
            )
        )
    elif outcome.text:
        print(outcome.text)
    else:
        print(f"codels: no completion at {args.location}: {outcome.note}", file=sys.stderr)
    return 0


def run_generate(args: argparse.Namespace) -> int:
    """``codels generate``: run a code action at a line and print what it wrote."""
    location = args.location
    try:
        path_text, line_text = location.rsplit(":", 1)
        line = int(line_text)
    except ValueError:
        raise UsageError(
            f"{location!r} is not PATH:LINE; write for example src/app.py:12"
        ) from None
    if line < 1:
        raise UsageError(f"{location!r}: LINE starts at 1")
    path = Path(path_text)
    document = _python_document(path, "works on")
    if line > document.lines.line_count:
        raise UsageError(
            f"{path} has {document.lines.line_count} lines; line {line} does not exist"
        )
    row_text = document.lines.line_text(line - 1)
    offset = document.lines.starts[line - 1] + len(row_text) - len(row_text.lstrip())
    snapshot = document.snapshot()
    sites = find_sites(snapshot, offset)
    wanted = args.action
    site = next(
        (s for s in sites if s.action.value == (wanted or ActionKind.GENERATE.value)),
        None if wanted else (sites[0] if sites else None),
    )
    if site is None:
        offered = ", ".join(s.title for s in sites) or "none"
        raise UsageError(
            f"{wanted or 'no action'} is not offered at {location} (offered: {offered}); put "
            "LINE on a comment that describes a function, on a def, or on a # TODO"
        )
    settings = _settings_from(args)
    engine, info = _load(settings)
    try:
        outcome = asyncio.run(ActionRunner(engine).run(snapshot, site, settings))
    except ActionError as exc:
        print(f"codels: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    if args.json:
        print(
            json.dumps(
                {
                    "action": site.action.command,
                    "title": site.title,
                    "model": info.name,
                    "form": outcome.form,
                    "attempts": outcome.attempts,
                    "timings": {
                        "total_ms": round(outcome.total_ms, 1),
                        "generated_tokens": outcome.generated_tokens,
                    },
                    "examples": (
                        dataclasses.asdict(outcome.examples) if outcome.examples else None
                    ),
                    "edit": _edit_json(outcome.edit),
                },
                indent=2,
            )
        )
    else:
        print(outcome.edit.shown.rstrip("\n"))
        if outcome.examples is not None:
            print(f"codels: {outcome.examples.summary()}", file=sys.stderr)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """``codels eval``: pass@1 of codels and of the raw-FIM baseline on HumanEval suites."""
    suites = args.suite or ["humaneval-single"]
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    load_problems()  # fail before loading the model when the data set is missing
    sandbox = scoring_sandbox(args.unsafe_exec)  # and when nothing could be scored safely
    settings = _settings_from(args)
    engine, info = _load(settings)
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
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"model {info.name} ({info.build}, {info.threads} threads); sample: "
            f"{'all' if args.limit is None else args.limit} per suite, seed {args.seed}"
            + (
                f"; docstring suite through the generate action ({args.action})"
                if args.action
                else ""
            )
        )
        print(format_table(results["suites"]))
    return 0


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
    if args.bodies < 1 or args.cps <= 0 or args.debounce < 0:
        raise UsageError("--bodies must be at least 1, --cps above 0, --debounce at least 0")
    settings = _settings_from(args)
    options = BenchOptions(
        files=files,
        typing=TypingModel(chars_per_second=args.cps, line_end_pause=args.line_pause),
        debounce=args.debounce,
        bodies=args.bodies,
        seed=args.seed,
        baseline=not args.no_baseline,
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


def run_info(args: argparse.Namespace) -> int:
    """``codels info``: which model, whether it is verified, threads, llama.cpp build."""
    settings = _settings_from(args)
    engine, info = _load(settings)
    engine.close()
    try:
        binding = version("llama-cpp-python")
    except PackageNotFoundError:
        binding = "unknown"
    facts = {
        "version": __version__,
        "model": info.name,
        "path": info.path,
        "verified": info.verified,
        "sha256": info.sha256,
        "family": info.family.name if info.family else None,
        "infilling": info.family is not None,
        "family_reason": info.family_reason,
        "architecture": info.architecture,
        "trained_context": info.trained_context,
        "threads": info.threads,
        "context_size": info.context_size,
        "gpu_layers": info.gpu_layers,
        "build": info.build,
        "llama_cpp_python": binding,
    }
    facts["sandbox"] = sandbox = sandbox_facts()
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    checksum = (
        f"verified (sha256 {info.sha256[:16]}…)"
        if info.verified
        else "not verified (file not in the catalogue)"
    )
    family = info.family_reason or (info.family.name if info.family else "none")
    print(f"codels {__version__}")
    print(f"model:            {info.name}")
    print(f"path:             {info.path}")
    print(f"checksum:         {checksum}")
    print(f"family:           {family}")
    print(f"architecture:     {info.architecture or 'unknown'}")
    if info.trained_context:
        print(f"trained context:  {info.trained_context}")
    print(f"threads:          {info.threads}")
    print(f"context size:     {info.context_size}")
    print(f"gpu layers:       {info.gpu_layers}")
    print(f"llama.cpp build:  {info.build} (llama-cpp-python {binding})")
    print(f"sandbox:          {describe(sandbox)}")
    return 0


def _lsp_stdout() -> BinaryIO:
    """Give the LSP stream a private copy of stdout and point descriptor 1 at stderr."""
    private = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return private


def _edit_json(edit: ActionEdit) -> dict[str, object]:
    from codels.lsp.edits import workspace_edit_json  # lsprotocol only when it is needed

    return workspace_edit_json(edit)


def run_server(args: argparse.Namespace) -> int:
    """Serve LSP on stdio or TCP."""
    from codels.lsp.server import create_server

    server = create_server()
    try:
        if args.tcp:
            server.start_tcp(args.host, args.port)
        else:
            server.start_io(sys.stdin.buffer, _lsp_stdout())
    finally:
        server.engine.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``codels`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    serving = args.stdio or args.tcp
    if serving and args.command:
        parser.error("--stdio/--tcp serve LSP; leave out the command, or run it without them")
    if not serving and not args.command:
        parser.print_help(sys.stderr)
        return 2
    _setup_logging(args.log_level or ("info" if serving else "warning"), args.log_file)
    try:
        if serving:
            return run_server(args)
        if args.command == "complete":
            return run_complete(args)
        if args.command == "eval":
            return run_eval(args)
        if args.command == "generate":
            return run_generate(args)
        if args.command == "bench":
            return run_bench_command(args)
        if args.command == "models":
            return run_models(args, _ProgressPrinter())
        if args.command == "sandbox":
            return run_sandbox(args)
        return run_info(args)
    except (UsageError, ModelError, EvalError) as exc:
        print(f"codels: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        return 130
