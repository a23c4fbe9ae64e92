"""``codels stats``: the local acceptance statistics (how many suggestions were accepted).

The numbers are the ones the server keeps in a file of the user's state directory
(:mod:`codels.completion.acceptance`); ``--reset`` deletes that file. Imports
:mod:`codels.completion.acceptance`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from codels.completion.acceptance import read_file, report, stats_path


def add_stats_parser(commands: Any) -> None:
    """Register ``codels stats`` on the main parser's subparsers."""
    stats = commands.add_parser(
        "stats",
        help="how many suggestions were shown and accepted (counted locally, never sent)",
    )
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.add_argument("--reset", action="store_true", help="delete the statistics file")


def run_stats(args: argparse.Namespace) -> int:
    """Print the statistics (or delete them with ``--reset``); returns the exit status."""
    path = stats_path()
    if args.reset:
        existed = path.exists()
        path.unlink(missing_ok=True)
        path.with_suffix(".lock").unlink(missing_ok=True)
        print(f"deleted {path}" if existed else f"no statistics to delete ({path} does not exist)")
        return 0
    data = read_file(path)
    since = data.get("since") if isinstance(data.get("since"), str) else None
    if args.json:
        print(json.dumps({"path": str(path), "since": since, "counts": data["counts"]}, indent=2))
        return 0
    print(report(data["counts"], path, since))
    return 0
