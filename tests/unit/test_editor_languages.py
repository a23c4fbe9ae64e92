"""The ``languages`` setting, and the editors attach to every language the server reads."""

import json
import re
from pathlib import Path

from codels.config import Settings, read_settings
from codels.languages.registry import LANGUAGES, SUPPORTED_LANGUAGE_IDS, syntax_language

REPO = Path(__file__).resolve().parents[2]
VSCODE = REPO / "editors" / "vscode"
NVIM = REPO / "editors" / "nvim"


def test_every_language_answers_to_one_of_the_supported_ids():
    assert {language.language_ids[0] for language in LANGUAGES} <= set(SUPPORTED_LANGUAGE_IDS)
    for language_id in SUPPORTED_LANGUAGE_IDS:
        assert syntax_language(language_id, "") is not None, language_id


def test_the_languages_setting_defaults_to_every_language_and_names_ids():
    assert Settings().languages == SUPPORTED_LANGUAGE_IDS
    settings, problems = read_settings({"codels": {"languages": ["go", "typescriptreact"]}})
    assert problems == [] and settings.languages == ("go", "typescriptreact")
    go = syntax_language("go", "")
    tsx = syntax_language("typescriptreact", "")
    ts = syntax_language("typescript", "")
    assert go is not None and tsx is not None and ts is not None
    assert settings.works_in(go, "go") and settings.works_in(tsx, "typescriptreact")
    assert not settings.works_in(ts, "typescript")
    # A document opened with a generic id goes by its language's own id.
    assert settings.works_in(tsx, "plaintext") and not settings.works_in(ts, "plaintext")


def test_an_unknown_language_id_keeps_the_previous_setting_and_says_which():
    base = Settings(languages=("python",))
    settings, problems = read_settings({"languages": ["go", "cobol"]}, base)
    assert settings.languages == ("python",)
    assert len(problems) == 1 and "codels.languages" in problems[0] and "'cobol'" in problems[0]
    _, problems = read_settings({"languages": "go"}, base)
    assert problems and "a list of strings" in problems[0]


def test_vscode_attaches_to_and_offers_every_supported_language():
    manifest = json.loads((VSCODE / "package.json").read_text())
    events = [e.removeprefix("onLanguage:") for e in manifest["activationEvents"]]
    assert events == list(SUPPORTED_LANGUAGE_IDS)
    schema = manifest["contributes"]["configuration"]["properties"]["codels.languages"]
    assert schema["items"]["enum"] == list(SUPPORTED_LANGUAGE_IDS)
    source = (VSCODE / "src" / "settings.ts").read_text()
    block = re.search(r"SUPPORTED_LANGUAGES = \[(.*?)\] as const", source, re.S)
    assert block is not None
    assert re.findall(r'"([a-z]+)"', block.group(1)) == list(SUPPORTED_LANGUAGE_IDS)
    assert "documentSelector: documentSelector()" in (VSCODE / "src" / "extension.ts").read_text()


def test_neovim_attaches_to_every_supported_language():
    config = (NVIM / "lsp" / "codels.lua").read_text()
    filetypes = re.search(r"filetypes = \{(.*?)\}", config, re.S)
    assert filetypes is not None
    assert re.findall(r"'([a-z]+)'", filetypes.group(1)) == list(SUPPORTED_LANGUAGE_IDS)
    plugin = (NVIM / "lua" / "codels" / "init.lua").read_text()
    fallback = re.search(r"local LANGUAGES = \{(.*?)\}", plugin, re.S)
    assert fallback is not None
    assert re.findall(r"'([a-z]+)'", fallback.group(1)) == list(SUPPORTED_LANGUAGE_IDS)
