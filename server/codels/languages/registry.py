"""The languages codels reads, found by LSP language id or file name ending.

This module imports :mod:`codels.languages` (base and each language's module).
"""

from __future__ import annotations

from codels.languages.base import Language
from codels.languages.c import C
from codels.languages.cpp import CPP
from codels.languages.go import GO
from codels.languages.java import JAVA
from codels.languages.javascript import JAVASCRIPT
from codels.languages.python import PYTHON
from codels.languages.rust import RUST
from codels.languages.typescript import TSX, TYPESCRIPT

LANGUAGES: tuple[Language, ...] = (PYTHON, JAVASCRIPT, TYPESCRIPT, TSX, GO, RUST, JAVA, C, CPP)
"""Every language codels reads."""

SUPPORTED_LANGUAGE_IDS: tuple[str, ...] = (
    "python",
    "javascript",
    "javascriptreact",
    "typescript",
    "typescriptreact",
    "go",
    "rust",
    "java",
    "c",
    "cpp",
)
"""The LSP language ids editors send for the languages codels reads (the ``languages``
setting's default and choices; other ids a language answers to are aliases)."""

_BY_ID = {language_id: language for language in LANGUAGES for language_id in language.language_ids}
_BY_NAME = {language.name: language for language in LANGUAGES}
_GENERIC_IDS = ("", "plaintext", "text")


def syntax_language(language_id: str, uri: str) -> Language | None:
    """Return the language codels reads a document in, or None if it reads none.

    The LSP ``languageId`` decides; a file name ending such as ``.py`` is the fallback for
    clients that send a generic id.
    """
    if (language := _BY_ID.get(language_id.lower())) is not None:
        return language
    if language_id.lower() not in _GENERIC_IDS:
        return None
    lowered = uri.lower()
    for candidate in LANGUAGES:
        if lowered.endswith(candidate.suffixes):
            return candidate
    return None


def language_named(name: str) -> Language:
    """The language called ``name`` (``"python"``); a ValueError if codels has none."""
    language = _BY_NAME.get(name)
    if language is None:
        raise ValueError(f"codels has no tree-sitter grammar for {name!r}")
    return language


def setting_language_id(language: Language, language_id: str) -> str:
    """The id of :data:`SUPPORTED_LANGUAGE_IDS` the ``languages`` setting names a document by.

    Its own LSP id where that is one of them, else its language's first (a generic id or an
    alias such as ``py``).
    """
    lowered = language_id.lower()
    return lowered if lowered in SUPPORTED_LANGUAGE_IDS else language.language_ids[0]
