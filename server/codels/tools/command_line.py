"""What the ``codels`` subcommands share: usage errors, model options, settings, loading.

Imports config, the engine switch and the engine types.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TypeAlias, get_type_hints

from codels.config import (
    COMMAND_LINE_OPTIONS,
    Settings,
    camel_case,
    read_settings,
    setting_choices,
)
from codels.engines.base import ModelInfo
from codels.engines.switch import BackendEngine


class UsageError(Exception):
    """A mistake on the command line; the message says what to type instead."""


# The subparsers object each add_*_parser registers its one command on.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


_SETTING_TYPES = get_type_hints(Settings)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options every model-loading command takes (``--model``, ``--threads``, …)."""
    for name, help_text in COMMAND_LINE_OPTIONS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=_SETTING_TYPES[name],
            choices=setting_choices(name),
            help=help_text,
        )


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of ``--settings`` JSON and the model options; UsageError if invalid."""
    raw: dict[str, object] = {}
    if getattr(args, "settings", None):
        try:
            raw.update(json.loads(args.settings))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--settings is not a JSON object: {exc}") from None
    raw |= {
        camel_case(name): value
        for name in COMMAND_LINE_OPTIONS
        if (value := getattr(args, name, None)) is not None
    }
    settings, problems = read_settings(raw)
    if problems:
        raise UsageError("; ".join(problems))
    return settings


class ProgressPrinter:
    """Prints model progress to stderr: in place on a terminal, a few lines otherwise."""

    def __init__(self) -> None:
        self._interactive = sys.stderr.isatty()
        self._last = 0.0
        self._message = ""

    def __call__(self, message: str, fraction: float | None) -> None:
        """Show ``message`` at ``fraction`` done (None: a step without progress)."""
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


def load_engine(settings: Settings) -> tuple[BackendEngine, ModelInfo]:
    """Load the model the settings name, with progress on stderr."""
    engine = BackendEngine()
    try:
        info = engine.load(settings.engine_options(), ProgressPrinter())
    except BaseException:
        engine.close()
        raise
    return engine, info
