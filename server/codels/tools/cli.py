"""The ``codels`` command: the language server, and completions and facts from the terminal.

``codels --stdio`` (or ``--tcp``) serves LSP; ``complete``, ``generate``, ``info``, ``eval``,
``bench``, ``models``, ``stats`` and ``sandbox`` work from the terminal (eval and bench in
:mod:`codels.tools.measure_commands`); errors are one sentence on stderr with a non-zero
exit status. In ``--stdio`` mode the LSP stream gets its own copy of the stdout descriptor and
descriptor 1 points at stderr, so nothing a library prints can corrupt the protocol. This module
may import every layer; the LSP server and the bench only when a command needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

from codels import __version__
from codels.actions.edits import ActionEdit
from codels.actions.errors import ActionError
from codels.actions.runner import ActionOutcome, ActionRunner
from codels.actions.sites import ActionKind, Site, find_sites
from codels.completion.service import CompletionService
from codels.documents import Document, DocumentSnapshot
from codels.engines.base import ModelInfo
from codels.languages.registry import LANGUAGES, syntax_language
from codels.models.auto import forget_measurement
from codels.models.catalogue import ModelError
from codels.positions import PositionError
from codels.privacy import log_guard
from codels.tools.command_line import (
    Commands,
    ProgressPrinter,
    UsageError,
    add_model_options,
    load_engine,
    settings_from,
)
from codels.tools.evaluation import (
    EvalError,
)
from codels.tools.measure_commands import (
    add_bench_parser,
    add_eval_parser,
    run_bench_command,
    run_eval,
)
from codels.tools.model_commands import add_models_parser, run_models
from codels.tools.sandbox_commands import add_sandbox_parser, describe, run_sandbox, sandbox_facts
from codels.tools.stats_command import add_stats_parser, run_stats

log = logging.getLogger("codels")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codels",
        description="Inline code completion from a local code model, as a language server.",
    )
    _add_server_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_complete_parser(commands)
    _add_generate_parser(commands)
    add_eval_parser(commands)
    add_models_parser(commands)
    add_stats_parser(commands)
    add_sandbox_parser(commands)
    add_bench_parser(commands)
    _add_info_parser(commands)
    return parser


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``codels`` itself: how to serve LSP, and the log."""
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


def _add_complete_parser(commands: Commands) -> None:
    """Register ``codels complete``."""
    complete = commands.add_parser(
        "complete", help="print the completion at PATH:LINE:COL (1-based, as editors show them)"
    )
    complete.add_argument("location", metavar="PATH:LINE:COL")
    complete.add_argument("--json", action="store_true", help="print JSON with timings")
    add_model_options(complete)


def _add_generate_parser(commands: Commands) -> None:
    """Register ``codels generate``."""
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
    add_model_options(generate)


def _add_info_parser(commands: Commands) -> None:
    """Register ``codels info``."""
    info = commands.add_parser(
        "info", help="show the model (and why model auto picked it), its checksum and the build"
    )
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument(
        "--measure-again",
        action="store_true",
        help="forget the speed model auto measured on this machine, and measure it again",
    )
    add_model_options(info)


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


def _source_document(path: Path) -> Document:
    """The file at ``path``, in the language its name says.

    A UsageError if it cannot be read, or codels reads no such files.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    uri = path.resolve().as_uri()
    language = syntax_language("", uri)
    if language is None:
        known = ", ".join(suffix for language in LANGUAGES for suffix in language.suffixes)
        raise UsageError(f"{path}: codels reads files ending {known}; rename it or pick another")
    return Document(uri, language.language_ids[0], 0, text)


def run_complete(args: argparse.Namespace) -> int:
    """``codels complete``: print the completion at a location of a file."""
    path, line, column = _parse_location(args.location)
    document = _source_document(path)
    try:
        offset = document.lines.offset_at(line - 1, column - 1, "utf-32")
    except PositionError:
        raise UsageError(
            f"{path} has {document.lines.line_count} lines; line {line} does not exist"
        ) from None
    # One answer, then exit: the whole of it, and nothing generated ahead.
    settings = dataclasses.replace(settings_from(args), speculate=False, show_early_ms=0)
    engine, info = load_engine(settings)
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
    snapshot, site = _action_site(args.location, args.action)
    settings = settings_from(args)
    engine, info = load_engine(settings)
    try:
        outcome = asyncio.run(ActionRunner(engine).run(snapshot, site, settings))
    except ActionError as exc:
        print(f"codels: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    if args.json:
        print(json.dumps(_generated_json(site, info, outcome), indent=2))
    else:
        print(outcome.edit.shown.rstrip("\n"))
        if outcome.examples is not None:
            print(f"codels: {outcome.examples.summary()}", file=sys.stderr)
    return 0


def _action_site(location: str, wanted: str | None) -> tuple[DocumentSnapshot, Site]:
    """The snapshot of the file at PATH:LINE and the action ``wanted`` offered there.

    Without ``wanted``: generate if it is offered, else the first action offered. A UsageError
    if there is none.
    """
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
    document = _source_document(path)  # any language; tests and fixes are Python's
    if line > document.lines.line_count:
        raise UsageError(
            f"{path} has {document.lines.line_count} lines; line {line} does not exist"
        )
    row_text = document.lines.line_text(line - 1)
    offset = document.lines.starts[line - 1] + len(row_text) - len(row_text.lstrip())
    snapshot = document.snapshot()
    sites = find_sites(snapshot, offset)
    site = next(
        (s for s in sites if s.action.value == (wanted or ActionKind.GENERATE.value)),
        None if wanted else (sites[0] if sites else None),
    )
    if site is None:
        offered = ", ".join(s.title for s in sites) or "none"
        raise UsageError(
            f"{wanted or 'no action'} is not offered at {location} (offered: {offered}); put "
            "LINE on a comment that describes a function, on a function's header, or on a TODO"
        )
    return snapshot, site


def _generated_json(site: Site, info: ModelInfo, outcome: ActionOutcome) -> dict[str, object]:
    """What ``codels generate --json`` prints: the action, its timings and the LSP edit."""
    return {
        "action": site.action.command,
        "title": site.title,
        "model": info.name,
        "form": outcome.form,
        "attempts": outcome.attempts,
        "timings": {
            "total_ms": round(outcome.total_ms, 1),
            "generated_tokens": outcome.generated_tokens,
        },
        "examples": (dataclasses.asdict(outcome.examples) if outcome.examples else None),
        "edit": _edit_json(outcome.edit),
    }


def run_info(args: argparse.Namespace) -> int:
    """``codels info``: which model, whether it is verified, threads, llama.cpp build."""
    settings = settings_from(args)
    if args.measure_again:
        forget_measurement()
    engine, info = load_engine(settings)
    engine.close()
    binding = _binding_version()
    facts = _info_facts(info, binding)
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
    if info.auto is not None:
        when = "kept from an earlier start" if info.auto.cached else "measured now"
        print(
            f"picked by auto:   {info.auto.reason} ({when}; `codels info --measure-again` "
            "measures again)"
        )
        if info.auto.hint:
            print(f"better:           {info.auto.hint}")
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


def _binding_version() -> str:
    """The installed llama-cpp-python's version, or "unknown"."""
    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return "unknown"


def _info_facts(info: ModelInfo, binding: str) -> dict[str, Any]:
    """What ``codels info --json`` says about the loaded model and this build."""
    return {
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
        "auto": info.auto.as_json() if info.auto is not None else None,
    }


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
        server.acceptance.flush()  # also when the editor went away without a shutdown
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
            return run_models(args, ProgressPrinter())
        if args.command == "stats":
            return run_stats(args)
        if args.command == "sandbox":
            return run_sandbox(args)
        return run_info(args)
    except (UsageError, ModelError, EvalError) as exc:
        print(f"codels: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        return 130
