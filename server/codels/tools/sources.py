"""Pinned archives of other people's code for the real-code suites: fetched, verified, read.

An archive is a wheel or source distribution (fetched with pip), an npm package tarball
(``npm pack``) or a Debian binary package (``apt-get download``). Each is fetched into the cache
directory the first time an evaluation needs it, from whatever index or mirror the machine's own
pip, npm or apt is configured with, and checked against its pinned sha256 before it is read;
nothing is vendored. Imports :mod:`codels.models.catalogue` (for the cache directory).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codels.models.catalogue import cache_dir

Kind = Literal["wheel", "sdist", "npm", "deb"]

TEST_PATHS = ("/test/", "/tests/", "/__tests__/", "/testdata/", "/testing/", "_test.", ".test.")
"""Path parts of test code, left out everywhere: the suites measure library code."""
FETCH_TIMEOUT_S = 600
"""A source distribution's metadata is prepared by pip (build requirements installed first)."""


@dataclass(frozen=True)
class Source:
    """One pinned archive whose files become tasks."""

    name: str
    """The package's name on its index (``requests``, ``@tanstack/query-core``, a Debian name)."""
    version: str
    sha256: str
    """Of the archive file as fetched."""
    kind: Kind = "wheel"
    include: tuple[str, ...] = ()
    """Path prefixes (of :meth:`task_path`) of the files to read; all files when empty."""
    exclude: tuple[str, ...] = ()
    """Path parts of files left out besides tests (generated code, vendored copies)."""
    inner: str = ""
    """An archive inside this one (a source tarball in a Debian package) read instead."""

    @property
    def requirement(self) -> str:
        """What the package tool is asked for: exactly this version."""
        if self.kind == "npm":
            return f"{self.name}@{self.version}"
        if self.kind == "deb":
            return f"{self.name}={self.version}"
        return f"{self.name}=={self.version}"

    def task_path(self, member: str) -> str:
        """A file's path in task ids (npm packages' and inner archives' under their name)."""
        member = member.removeprefix("./")
        if self.inner:
            return f"{self.name}/{member}"
        if self.kind == "npm" and member.startswith("package/"):
            return f"{self.name}/{member.removeprefix('package/')}"
        return member

    def wanted(self, path: str, suffixes: tuple[str, ...]) -> bool:
        """Whether the file at task path ``path`` is one to read."""
        if not path.endswith(suffixes) or path.endswith((".d.ts", ".d.mts", ".d.cts")):
            return False
        if self.include and not path.startswith(self.include):
            return False
        lowered = f"/{path.lower()}"
        return not any(part in lowered for part in (*TEST_PATHS, ".dist-info/", *self.exclude))


class SourceError(Exception):
    """The sources could not be fetched or did not verify; the message says what to do."""


def sources_dir() -> Path:
    """Where fetched archives are kept."""
    return cache_dir() / "eval-sources"


def fetch(source: Source, folder: Path | None = None) -> Path:
    """The verified archive of ``source``, fetched on first use."""
    folder = folder or sources_dir()
    folder.mkdir(parents=True, exist_ok=True)
    archive = find_archive(folder, source)
    fetched = archive is None
    if archive is None:
        done = _run_fetch(source, folder)
        archive = find_archive(folder, source)
        if done.returncode != 0 or archive is None:
            raise SourceError(
                f"{_TOOL[source.kind]} could not fetch {source.requirement} for the real-code "
                f"suites ({failure_reason(done.stderr + done.stdout)}); check that "
                f"{_REACHES[source.kind]}, or put {_label(source)} in {folder} by hand"
            )
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != source.sha256:
        if fetched:
            # Kept, it would be refused on every later run without another fetch.
            archive.unlink()
            raise SourceError(
                f"{_TOOL[source.kind]} fetched {archive.name} with sha256 {digest}, not the "
                f"pinned {source.sha256} (a mirror that serves another build, or a damaged "
                "download), and it was deleted; run the evaluation again, and if the file "
                f"differs again put the original {_label(source)} in {folder} by hand"
            )
        raise SourceError(
            f"{archive} has sha256 {digest}, not the pinned {source.sha256}; delete it and run "
            "the evaluation again"
        )
    return archive


_NPM_NOISE = ("code ", "errno ", "syscall ", "a complete log")
"""npm's lines around its reason: the error code, the failed call and where its log is."""


def failure_reason(output: str) -> str:
    """The line of a package tool's output that says why it failed.

    pip and apt-get end with their error (``ERROR: No matching distribution…``, ``E: Version…
    was not found``); npm starts with it and follows with its error code and log file.
    """
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    npm = [
        line.removeprefix("npm error").removeprefix("npm ERR!").strip()
        for line in lines
        if line.startswith(("npm error", "npm ERR!"))
    ]
    told = [line for line in npm if line and not line.lower().startswith(_NPM_NOISE)]
    if told:
        return told[0]
    errors = [line for line in lines if line.startswith(("ERROR:", "E:", "error:"))]
    return (errors or lines or ["it saved nothing and gave no reason"])[-1]


_TOOL = {"wheel": "pip", "sdist": "pip", "npm": "npm", "deb": "apt-get"}
_REACHES = {
    "wheel": "pip reaches its package index",
    "sdist": "pip reaches its package index",
    "npm": "npm reaches its registry",
    "deb": (
        "apt reaches a Debian 12 archive (these are Debian 12 packages) and its package lists "
        "are current (apt-get update)"
    ),
}


def _run_fetch(source: Source, folder: Path) -> subprocess.CompletedProcess[str]:
    command = _fetch_command(source, folder)
    try:
        return subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceError(
            f"could not run {command[0]} to fetch {source.requirement} ({exc}); put "
            f"{_label(source)} in {folder} by hand"
        ) from None


def _fetch_command(source: Source, folder: Path) -> list[str]:
    """The command that downloads ``source`` into ``folder`` (which is its working directory)."""
    if source.kind in ("wheel", "sdist"):
        binary = ["--only-binary", ":all:"] if source.kind == "wheel" else []
        # An sdist of this package only: its build requirements may still come as wheels.
        sdist = ["--no-binary", source.name] if source.kind == "sdist" else []
        return [
            sys.executable,
            *("-m", "pip", "download", "--quiet", "--no-deps", *binary, *sdist),
            *("--dest", str(folder), source.requirement),
        ]
    tool = "npm" if source.kind == "npm" else "apt-get"
    found = shutil.which(tool)
    if found is None:
        raise SourceError(_missing_tool(source, folder))
    if source.kind == "npm":
        # Errors only: --silent would hide why a fetch failed.
        return [found, "pack", "--loglevel=error", "--ignore-scripts", source.requirement]
    return [found, "download", "--quiet", source.requirement]


def _missing_tool(source: Source, folder: Path) -> str:
    if source.kind == "npm":
        return (
            f"npm is not on PATH, and the JavaScript and TypeScript suites fetch their sources "
            f"with it ({source.requirement}); install Node.js, which brings npm, or put "
            f"{_label(source)} in {folder} by hand"
        )
    return (
        f"apt-get is not on PATH, and this suite's sources are Debian 12 packages "
        f"({source.requirement}); run it on Debian 12, or put {_label(source)} in "
        f"{folder} by hand"
    )


def _label(source: Source) -> str:
    """How a message names the archive to put in place by hand."""
    if source.kind == "wheel":
        return "the wheel"
    return archive_name(source)


def archive_name(source: Source) -> str:
    """The file name the package tool gives the archive (a pattern for wheels and debs)."""
    if source.kind == "npm":
        return f"{source.name.removeprefix('@').replace('/', '-')}-{source.version}.tgz"
    if source.kind == "deb":
        return f"{source.name}_{source.version.replace(':', '%3a')}_*.deb"
    if source.kind == "sdist":
        return f"{source.name}-{source.version}.tar.gz"
    return f"{source.name.replace('-', '_')}-{source.version}-*.whl"


def _normal(name: str) -> str:
    return name.replace("-", "_").replace(".", "_").lower()


def find_archive(folder: Path, source: Source) -> Path | None:
    """The archive of ``source`` in ``folder``, if it was fetched already."""
    if source.kind in ("npm", "deb"):
        return next(iter(sorted(folder.glob(archive_name(source)))), None)
    if source.kind == "sdist":
        stem = _normal(f"{source.name}-{source.version}")
        for path in sorted(folder.glob("*.tar.gz")):
            if _normal(path.name.removesuffix(".tar.gz")) == stem:
                return path
        return None
    for wheel in sorted(folder.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        if _normal(name) == _normal(source.name) and version == source.version:
            return wheel
    return None


def archive_files(path: Path, inner: str = "") -> Iterator[tuple[str, bytes]]:
    """``(member path, content)`` of each regular file of the archive at ``path``.

    Wheels are zip files, sdists and npm packages gzipped tarballs, Debian packages ``ar``
    archives around a data tarball; ``inner`` names an archive inside to read instead.
    """
    data = path.read_bytes()
    files = _read_archive(path.name, data)
    if inner:
        wanted = inner.removeprefix("./")
        found = next((body for name, body in files if name.removeprefix("./") == wanted), None)
        if found is None:
            raise SourceError(f"{path} has no {inner}; delete it and run the evaluation again")
        files = _read_archive(inner, found)
    yield from files


def _read_archive(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(io.BytesIO(data)) as zipped:
            for entry in zipped.namelist():
                if not entry.endswith("/"):
                    yield entry, zipped.read(entry)
        return
    if name.endswith(".deb"):
        yield from _read_archive(*_deb_data(name, data))
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tarred:
            for info in tarred.getmembers():
                content = tarred.extractfile(info) if info.isfile() else None
                if content is not None:
                    yield info.name, content.read()
    except tarfile.TarError as exc:
        raise SourceError(f"cannot read {name} ({exc}); delete it and run again") from None


def _deb_data(name: str, data: bytes) -> tuple[str, bytes]:
    """The data tarball of a Debian package (an ``ar`` archive: 60-byte headers, even sizes)."""
    if not data.startswith(b"!<arch>\n"):
        raise SourceError(f"{name} is not a Debian package; delete it and run again")
    at = 8
    while at + 60 <= len(data):
        header = data[at : at + 60]
        member = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        if member.startswith("data.tar"):
            if member.endswith(".zst"):
                raise SourceError(
                    f"{name} packs its files with zstd, which Python cannot read; use the "
                    "Debian 12 package the suite pins"
                )
            return member, data[at + 60 : at + 60 + size]
        at += 60 + size + (size & 1)
    raise SourceError(f"{name} has no data archive; delete it and run again")


def source_files(
    sources: Iterable[Source],
    suffixes: tuple[str, ...],
    *,
    min_lines: int,
    max_lines: int,
    folder: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """``(task path, text)`` of every wanted file of real size in the sources, in a fixed order."""
    for source in sources:
        found = []
        for member, content in archive_files(fetch(source, folder), source.inner):
            path = source.task_path(member)
            if not source.wanted(path, suffixes):
                continue
            text = content.decode("utf-8", errors="replace").replace("\r\n", "\n")
            if min_lines <= text.count("\n") + 1 <= max_lines:
                found.append((path, text))
        yield from sorted(found)
