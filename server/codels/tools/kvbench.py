"""``python -m codels.tools.kvbench``: what keeping shifted KV cells after an edit costs and buys.

Lines of real Python modules are typed again, character by character, and every keystroke asks
for a greedy single-line completion (stop at the first line break) of a fill-in-the-middle
prompt. The same keystrokes go to an engine that keeps the common prefix only (exact: what
codels did before) and to engines that also keep the unchanged chunks after the edit, shifted
(:mod:`codels.engines.kv_plan`). Reported for each suffix budget and each reuse setting: how
often the answer equals the exact one, prompt tokens evaluated per request, prefill and total
time per request (median and 95th percentile).

The exact engine answers only every ``--every``-th keystroke (its cost is the point of the
change); each engine keeps its own cache, so the reusing ones carry their approximation from
keystroke to keystroke as they would in use. The first request at each place is cold for every
engine and is left out of the figures.

Layouts: ``raw`` (the whole prefix before the suffix marker: every keystroke edits just before
the suffix) and ``codels`` (the cursor line after the middle marker, as codels lays out Qwen's
prompt: only a new line moves text before the suffix).

This module imports the llama engine and :mod:`codels.tools.report` (machine facts).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import importlib.util
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codels.engines.base import EngineOptions, GenerationRequest, GenerationResult
from codels.engines.llama import LlamaEngine
from codels.models.catalogue import Family
from codels.tools.report import git_commit, machine

DEFAULT_MODULES = ("textwrap", "pygls.protocol.json_rpc", "jinja2.lexer")
"""Modules of different styles found in a codels install (missing ones are skipped)."""
SWITCH_MODULES = ("subprocess", "logging", "argparse", "tarfile", "zipfile")
"""Standard-library modules of 2,200 to 2,900 lines: five files opened in turn."""
PREFIX_CHARS = 6000
"""Characters of prefix before the typed lines (whole lines; the window does not slide)."""
MAX_TOKENS = 16


@dataclass(frozen=True)
class Site:
    """A place where ``lines`` consecutive lines are typed again into a module."""

    name: str
    before: str
    """The text before the line break that opens the first typed line."""
    keys: tuple[str, ...]
    """What each keystroke inserts (a line break comes with the next line's indentation)."""
    after: str
    """The text after the typed lines (from the line break that ended the last one)."""


@dataclass(frozen=True)
class Config:
    """One reuse setting of an engine.

    The shortest chunk kept, the leading tokens of each evaluated again, and the quiet time
    before kept cells are evaluated again in the background (0: never).
    """

    min_chunk: int
    refresh: int
    repair_ms: int = 0

    @property
    def name(self) -> str:
        """How the figures name it."""
        if self.min_chunk <= 0:
            return "exact"
        repair = f" r{self.repair_ms}" if self.repair_ms else ""
        return f"reuse{self.min_chunk}+{self.refresh}{repair}"


@dataclass
class Figures:
    """What one engine measured at one budget."""

    evaluated: list[int] = field(default_factory=list)
    prefill_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    same: int = 0
    compared: int = 0
    right: int = 0
    scored: int = 0
    moved: Figures | None = None
    """The same figures for the keystrokes that changed text before the suffix marker."""

    def record(self, result: GenerationResult, moved: bool) -> None:
        """Count one request's figures."""
        self.evaluated.append(result.prompt_tokens - result.cached_tokens)
        self.prefill_ms.append(result.prefill_ms)
        self.total_ms.append(result.total_ms)
        if moved:
            if self.moved is None:
                self.moved = Figures()
            self.moved.record(result, False)

    def summary(self) -> dict[str, Any]:
        """Medians, 95th percentiles and the share of answers equal to the exact ones."""
        return {
            "requests": len(self.evaluated),
            "right": self.right / self.scored if self.scored else None,
            "scored": self.scored,
            "evaluated_median": _percentile(self.evaluated, 50),
            "evaluated_p95": _percentile(self.evaluated, 95),
            "evaluated_mean": statistics.fmean(self.evaluated) if self.evaluated else None,
            "prefill_ms_median": _percentile(self.prefill_ms, 50),
            "prefill_ms_p95": _percentile(self.prefill_ms, 95),
            "total_ms_median": _percentile(self.total_ms, 50),
            "total_ms_p95": _percentile(self.total_ms, 95),
            "identical": self.same / self.compared if self.compared else None,
            "compared": self.compared,
            "moved": self.moved.summary() if self.moved is not None else None,
        }


def _percentile(values: Sequence[float], percent: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))])


def module_files(names: Sequence[str]) -> list[Path]:
    """The source files of the importable modules among ``names``."""
    files = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            files.append(Path(spec.origin))
        else:
            print(f"kvbench: module {name} is not installed; skipped", file=sys.stderr)
    return files


def statement_lines(text: str) -> set[int]:
    """0-based numbers of the one-line statements inside function bodies (no docstrings)."""
    found: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for statement in ast.walk(node):
            if statement is node or not isinstance(statement, ast.stmt):
                continue
            docstring = isinstance(statement, ast.Expr) and isinstance(
                statement.value, ast.Constant
            )
            if not docstring and statement.lineno == statement.end_lineno:
                found.add(statement.lineno - 1)
    return found


def find_sites(path: Path, count: int, lines: int) -> list[Site]:
    """``count`` places spread over ``path``: ``lines`` statements in a body, typed again.

    Each place starts at the end of the statement before them, so the first keystroke
    is the line break that opens the first typed line (with its indentation, as an editor
    indents).
    """
    text = path.read_text(encoding="utf-8")
    all_lines = text.splitlines(keepends=True)
    starts = [0]
    for line in all_lines:
        starts.append(starts[-1] + len(line))
    statements = statement_lines(text)
    usable = [
        index
        for index in range(len(all_lines) - lines)
        if index > 20
        and all(index + k in statements for k in range(-1, lines))
        and all(12 <= len(all_lines[index + k].strip()) <= 60 for k in range(lines))
    ]
    sites: list[Site] = []
    for k in range(count):
        wanted = (k + 1) * len(all_lines) // (count + 1)
        chosen = next((index for index in usable if index >= wanted), None)
        if chosen is None or any(site.name.endswith(f":{chosen + 1}") for site in sites):
            continue
        keys: list[str] = []
        for offset in range(lines):
            line = all_lines[chosen + offset].rstrip("\n")
            indent = line[: len(line) - len(line.lstrip())]
            keys.extend(["\n" + indent, *line[len(indent) :]])
        before = text[: starts[chosen] - 1]  # up to the end of the line before
        after = text[starts[chosen + lines] - 1 :]  # from the break after the last typed line
        sites.append(Site(f"{path.name}:{chosen + 1}", before, tuple(keys), after))
    return sites


def fit_suffix(engine: LlamaEngine, suffix: str, limit: int) -> str:
    """``suffix`` cut at a line end within ``limit`` tokens (its first line always kept)."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(suffix.splitlines(keepends=True)):
        tokens = engine.count_tokens(line)
        if index > 0 and used + tokens > limit:
            break
        kept.append(line)
        used += tokens
    return "".join(kept)


def prompt(family: Family, prefix: str, suffix: str, layout: str) -> str:
    """The FIM prompt in ``layout``: ``raw`` or ``codels`` (cursor line after the middle)."""
    if layout == "raw":
        return family.fim_prompt(prefix, suffix)
    cut = prefix.rfind("\n") + 1
    return family.fim_prompt(prefix[:cut], suffix) + prefix[cut:]


def _first_line(text: str) -> bool:
    return "\n" in text


async def run_site(
    site: Site,
    engines: dict[Config, LlamaEngine],
    family: Family,
    budget: int,
    layout: str,
    every: int,
    figures: dict[Config, Figures],
    pause_ms: int = 0,
) -> None:
    """Type ``site`` into every engine; the exact one answers every ``every``-th keystroke."""
    exact_engine = next(iter(engines.values()))
    window = site.before.find("\n", max(0, len(site.before) - PREFIX_CHARS)) + 1
    if len(site.before) <= PREFIX_CHARS:
        window = 0
    suffix = fit_suffix(exact_engine, site.after, budget)
    full = "".join(site.keys)
    typed = ""
    for step in range(len(site.keys) + 1):
        key = site.keys[step - 1] if step else ""
        typed += key
        # The rest of the line the person is about to type: what a right answer says.
        rest = full[len(typed) :].split("\n")[0].rstrip()
        moved = layout == "raw" or "\n" in key
        text = prompt(family, site.before[window:] + typed, suffix, layout)
        request = GenerationRequest(
            prompt=text,
            max_tokens=MAX_TOKENS,
            key="kvbench",
            stop=family.cut_strings,
            should_stop=_first_line,
        )
        exact_text: str | None = None
        sampled = step % every == 0 or step == len(site.keys)
        for config, engine in engines.items():
            if config.min_chunk <= 0 and not sampled:
                continue
            result = await engine.generate(request)
            answer = result.text.split("\n")[0]
            if step == 0:
                continue  # cold for every engine: not a keystroke
            counted = figures[config]
            counted.record(result, moved)
            if sampled and rest:
                counted.scored += 1
                counted.right += answer.rstrip() == rest
            if config.min_chunk <= 0:
                exact_text = answer
            elif exact_text is not None:
                counted.compared += 1
                counted.same += answer == exact_text
        if moved and pause_ms and step:
            await asyncio.sleep(pause_ms / 1000)


def run(
    model: str,
    files: Sequence[Path],
    *,
    sites_per_file: int,
    lines: int,
    budgets: Sequence[int],
    configs: Sequence[Config],
    layout: str,
    every: int,
    threads: int,
    pause_ms: int = 0,
) -> dict[str, Any]:
    """Measure every config at every budget; the figures as a JSON-ready dict."""
    options = EngineOptions(model=model, context_size=4096, threads=threads)
    exact = Config(0, 0)
    engines: dict[Config, LlamaEngine] = {}
    for config in [exact, *configs]:
        engine = LlamaEngine(
            cache_reuse=config.min_chunk,
            cache_refresh=config.refresh,
            cache_repair_ms=config.repair_ms,
        )
        engine.load(options)
        engines[config] = engine
    info = engines[exact].info
    assert info is not None
    if info.family is None:
        raise SystemExit(f"kvbench: {info.name} cannot infill (no FIM family)")
    sites = [site for path in files for site in find_sites(path, sites_per_file, lines)]
    started = time.time()
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    try:
        for budget in budgets:
            figures = {config: Figures() for config in engines}
            for site in sites:
                asyncio.run(
                    run_site(site, engines, info.family, budget, layout, every, figures, pause_ms)
                )
            results[str(budget)] = {config.name: figures[config].summary() for config in engines}
            print(format_budget(budget, results[str(budget)]), flush=True)
    finally:
        for engine in engines.values():
            engine.close()
    return {
        "model": info.name,
        "sha256": info.sha256,
        "threads": info.threads,
        "layout": layout,
        "lines_per_site": lines,
        "sites": [site.name for site in sites],
        "keystrokes": sum(len(site.keys) for site in sites),
        "every": every,
        "pause_ms": pause_ms,
        "max_tokens": MAX_TOKENS,
        "prefix_chars": PREFIX_CHARS,
        "seconds": round(time.time() - started),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "machine": machine(),
        "commit": git_commit(),
        "budgets": results,
    }


def run_switch(
    model: str, files: Sequence[Path], *, budget: int, layout: str, threads: int
) -> dict[str, Any]:
    """Open ``files`` one after the other, then switch back to the first: how long it takes.

    One request at a statement in the middle of each file (cold: a new document), then the
    same request in the first file again (its state was kept: the engine keeps four beside the
    current one), then one more keystroke there. Peak memory is this process's.
    """
    engine = LlamaEngine()
    engine.load(EngineOptions(model=model, context_size=4096, threads=threads))
    info = engine.info
    assert info is not None and info.family is not None
    family = info.family
    started = time.time()

    def ask(path: Path, site: Site, typed: str) -> GenerationResult:
        window = site.before.find("\n", max(0, len(site.before) - PREFIX_CHARS)) + 1
        suffix = fit_suffix(engine, site.after, budget)
        request = GenerationRequest(
            prompt=prompt(family, site.before[window:] + typed, suffix, layout),
            max_tokens=MAX_TOKENS,
            key=str(path),
            stop=family.cut_strings,
            should_stop=_first_line,
        )
        return asyncio.run(engine.generate(request))

    def row(result: GenerationResult) -> dict[str, Any]:
        return {
            "prompt_tokens": result.prompt_tokens,
            "evaluated": result.prompt_tokens - result.cached_tokens,
            "prefill_ms": round(result.prefill_ms),
            "total_ms": round(result.total_ms),
        }

    sites = [find_sites(path, 1, 1)[0] for path in files]
    try:
        opened = [ask(path, site, site.keys[0]) for path, site in zip(files, sites, strict=True)]
        back = ask(files[0], sites[0], sites[0].keys[0])
        typed = ask(files[0], sites[0], "".join(sites[0].keys[:2]))
        kept = engine.kept_states()
    finally:
        engine.close()
    return {
        "model": info.name,
        "threads": info.threads,
        "layout": layout,
        "suffix_budget": budget,
        "files": [site.name for site in sites],
        "opened": [row(result) for result in opened],
        "switched_back": row(back),
        "next_keystroke": row(typed),
        "kept_states": {"documents": kept[0], "bytes": kept[1]},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "seconds": round(time.time() - started),
        "load_average": os.getloadavg(),
        "machine": machine(),
        "commit": git_commit(),
    }


def format_budget(budget: int, rows: dict[str, dict[str, Any]]) -> str:
    """One budget's figures as a small table."""

    def number(value: Any, digits: int = 0) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    def share(value: Any) -> str:
        return "-" if value is None else f"{value * 100:.0f}%"

    out = [
        f"suffix budget {budget} tokens",
        f"  {'engine':<16} {'reqs':>5} {'same':>5} {'right':>5} {'eval p50':>8} {'p95':>5} "
        f"{'prefill p50':>11} {'p95':>6} {'total p50':>9} {'p95':>6}",
    ]
    for name, row in rows.items():
        lines = [(name, row)]
        moved = row["moved"]
        if moved is not None and moved["requests"] < row["requests"]:
            lines.append(("  edit < suffix", moved))  # the keystrokes that moved the suffix
        for label, figures in lines:
            out.append(
                f"  {label:<16.16} {figures['requests']:>5} {share(figures['identical']):>5} "
                f"{share(figures['right']):>5} "
                f"{number(figures['evaluated_median']):>8} {number(figures['evaluated_p95']):>5} "
                f"{number(figures['prefill_ms_median']):>11} "
                f"{number(figures['prefill_ms_p95']):>6} "
                f"{number(figures['total_ms_median']):>9} {number(figures['total_ms_p95']):>6}"
            )
    return "\n".join(out)


def _configs(text: str) -> list[Config]:
    configs = []
    for part in text.split(","):
        numbers = [int(number) for number in part.split(":")] + [0, 0]
        configs.append(Config(numbers[0], numbers[1], numbers[2]))
    return configs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m codels.tools.kvbench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--model", default="", help="catalogue name or GGUF path")
    parser.add_argument("files", nargs="*", type=Path, help="Python files (default: modules)")
    parser.add_argument("--modules", default=",".join(DEFAULT_MODULES))
    parser.add_argument("--sites", type=int, default=2, help="places per file")
    parser.add_argument("--lines", type=int, default=1, help="lines typed at each place")
    parser.add_argument("--budgets", default="128,512,1024", help="suffix budgets in tokens")
    parser.add_argument(
        "--configs",
        default="64:0,64:16",
        help="reuse settings MIN_CHUNK:REFRESH[:REPAIR_MS], comma-separated (the exact engine "
        "always runs)",
    )
    parser.add_argument("--layout", choices=("raw", "codels"), default="raw")
    parser.add_argument("--every", type=int, default=4, help="keystrokes per exact answer")
    parser.add_argument(
        "--pause-ms",
        type=int,
        default=0,
        help="quiet time after each keystroke that edits before the suffix (repairs run then)",
    )
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--switch",
        action="store_true",
        help="measure switching back to a recently used file instead (modules: "
        + ",".join(SWITCH_MODULES)
        + "; the first budget)",
    )
    args = parser.parse_args(argv)
    if args.switch:
        files = list(args.files) or module_files(SWITCH_MODULES)
        result = run_switch(
            args.model,
            files,
            budget=int(args.budgets.split(",")[0]),
            layout=args.layout,
            threads=args.threads,
        )
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        return 0
    files = list(args.files) or module_files(args.modules.split(","))
    figures = run(
        args.model,
        files,
        sites_per_file=args.sites,
        lines=args.lines,
        budgets=[int(budget) for budget in args.budgets.split(",")],
        configs=_configs(args.configs),
        layout=args.layout,
        every=max(1, args.every),
        threads=args.threads,
        pause_ms=args.pause_ms,
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
