"""What codels keeps to itself: files it never reads into a prompt, lines it never sends away.

:class:`PrivateFiles` decides whether a document's text may reach a prompt at all: not for files
that usually hold secrets, files matching ``codels.ignoreFiles`` (gitignore syntax) or, unless
``codels.respectGitignore`` is off, files that git ignores. :func:`withhold_secrets` replaces
each line that looks like a key, token or password with a placeholder comment before a prompt
goes to a remote backend. This module imports pathspec; nothing of LSP or the engine.
"""

from __future__ import annotations

import logging
import math
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path, PurePath
from urllib.parse import unquote, urlparse

import pathspec

log = logging.getLogger(__name__)

SECRET_FILE_PATTERNS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pgpass",
    ".htpasswd",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    "credentials",
    "credentials.json",
    "secrets.*",
    ".aws/",
    ".ssh/",
    ".gnupg/",
)
"""Files that usually hold secrets, in gitignore syntax: never read into a prompt."""

GIT_TIMEOUT_S = 2.0
GIT_ANSWER_TTL_S = 30.0
"""How long git's answer for one file is trusted (a .gitignore may change meanwhile)."""


def path_of(uri: str) -> Path | None:
    """The local path of a ``file:`` URI; None for other schemes (``untitled:``, ``vscode-…``)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


class PrivateFiles:
    """Which documents codels must not read, by name, by the user's patterns and by git."""

    def __init__(self, ignore: Iterable[str] = (), respect_gitignore: bool = True) -> None:
        self.user_patterns = tuple(ignore)
        self.respect_gitignore = respect_gitignore
        self._secret = pathspec.GitIgnoreSpec.from_lines(SECRET_FILE_PATTERNS)
        self._user = pathspec.GitIgnoreSpec.from_lines(self.user_patterns)
        self._git_answers: dict[Path, tuple[float, bool]] = {}
        self._git_missing = False

    def configure(self, ignore: Iterable[str], respect_gitignore: bool) -> None:
        """Take new settings (forgetting git's earlier answers only when they matter)."""
        ignore = tuple(ignore)
        if ignore != self.user_patterns:
            self.user_patterns = ignore
            self._user = pathspec.GitIgnoreSpec.from_lines(ignore)
        self.respect_gitignore = respect_gitignore

    def why_private(self, uri: str) -> str | None:
        """Why the document at ``uri`` must stay out of prompts, or None when it may be read."""
        path = path_of(uri)
        if path is None:
            return None
        relative = _as_relative(path)
        if self._secret.match_file(relative):
            return "a file that usually holds secrets"
        if self.user_patterns and self._user.match_file(relative):
            return "matched by codels.ignoreFiles"
        if self.respect_gitignore and self._git_ignores(path):
            return "ignored by git"
        return None

    def _git_ignores(self, path: Path) -> bool:
        if self._git_missing:
            return False
        now = time.monotonic()
        known = self._git_answers.get(path)
        if known is not None and now - known[0] < GIT_ANSWER_TTL_S:
            return known[1]
        directory = path.parent
        while not directory.is_dir() and directory != directory.parent:
            directory = directory.parent
        # git itself rather than a reading of .gitignore: it knows nested .gitignore files and
        # the user's global excludes.
        try:
            answer = subprocess.run(
                ["git", "check-ignore", "--quiet", "--", str(path)],
                cwd=directory,
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            self._git_missing = True
            log.info("git is not installed: files git ignores are not recognised")
            return False
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.info("git check-ignore failed (%s): treating the file as not ignored", exc)
            return False
        # 0: ignored; 1: not ignored; 128: not in a repository (or another error).
        ignored = answer.returncode == 0
        self._git_answers[path] = (now, ignored)
        if len(self._git_answers) > 4096:
            self._git_answers.clear()
        return ignored


def _as_relative(path: Path) -> str:
    """The path without its root, so that patterns like ``.ssh/`` match at any depth."""
    parts = PurePath(path).parts
    return "/".join(part for part in parts if part not in ("/", "\\") and not part.endswith(":\\"))


# -- secret-looking lines ------------------------------------------------------------------------
# The common token formats (cloud and forge keys, JWTs, private-key blocks), secret-named
# variables assigned a string literal, and long high-entropy literals. A false positive costs
# one line of context; a false negative would send a secret away: the patterns lean wide.

_TOKEN_FORMATS = re.compile(
    r"""
    -----BEGIN[ A-Z]*PRIVATE[ ]KEY-----            # PEM private keys
    | \bAKIA[0-9A-Z]{16}\b | \bASIA[0-9A-Z]{16}\b   # AWS access key ids
    | \bgh[pousr]_[A-Za-z0-9]{30,}                  # GitHub tokens
    | \bgithub_pat_[A-Za-z0-9_]{30,}
    | \bglpat-[A-Za-z0-9_-]{20,}                    # GitLab
    | \bxox[abposr]-[A-Za-z0-9-]{10,}               # Slack
    | \bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}        # OpenAI, Anthropic and similar
    | \bsk_(?:live|test)_[A-Za-z0-9]{16,}           # Stripe
    | \bAIza[0-9A-Za-z_-]{35}                       # Google API keys
    | \bhf_[A-Za-z0-9]{30,}                         # Hugging Face
    | \bnpm_[A-Za-z0-9]{36}                         # npm
    | \bpypi-[A-Za-z0-9_-]{50,}                     # PyPI
    | \beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}  # JWTs
    | ://[^/\s:@]+:[^/\s@]{3,}@                    # credentials in a URL
    """,
    re.VERBOSE,
)
_LITERAL = re.compile(r"""[rbuf]*["']([^"'\s{}()]{8,})["']""", re.IGNORECASE)
"""A string literal of eight or more characters without spaces or f-string fields."""
_SECRET_NAME_BEFORE = re.compile(
    r"""(?ix)
    (?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|
       private[_-]?key|client[_-]?secret|auth[_-]?key|credential|bearer)
    [\w-]*["']?\s*(?::\s*[\w\[\],. |]+?\s*)?(?::|=|:=|=>)\s*$
    """
)
"""A secret-sounding name and an assignment, just before a literal."""
_TOKEN_PREFIXES = (
    "-----BEGIN", "AKIA", "ASIA", "gh", "github_pat_", "glpat-", "xox", "sk-", "sk_", "AIza",
    "hf_", "npm_", "pypi-", "eyJ", "://",
)  # fmt: skip
"""Every match of ``_TOKEN_FORMATS`` holds one of these: lines without any skip the regex."""
_QUOTED = re.compile(r"""["']([A-Za-z0-9+/=_\-.~]{32,})["']""")
_PLACEHOLDER_VALUES = re.compile(
    r"(?i)^(?:x+|\*+|\.+|<[^>]*>|\$\{?[A-Z_]+\}?|your[_-].*|changeme)$"
)


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_secret(line: str) -> bool:
    """Whether ``line`` looks like it holds a key, token or password."""
    if any(prefix in line for prefix in _TOKEN_PREFIXES) and _TOKEN_FORMATS.search(line):
        return True
    for match in _LITERAL.finditer(line):
        value = match.group(1)
        if "://" in value or _PLACEHOLDER_VALUES.match(value):
            continue
        if _SECRET_NAME_BEFORE.search(line, max(0, match.start() - 60), match.start()):
            return True
    for match in _QUOTED.finditer(line):
        value = match.group(1)
        if "/" in value and value.count("/") > 2:
            continue  # a path or an address
        hexadecimal = all(c in "0123456789abcdefABCDEF" for c in value)
        if _entropy(value) > (3.0 if hexadecimal else 4.2):
            return True
    return False


WITHHELD = "# (codels withheld this line: it looks like a secret)"


def withhold_secrets(text: str, tokens: Iterable[str] = ()) -> tuple[str, int]:
    """``text`` with every secret-looking line replaced by a comment at its indentation.

    Returns the new text and how many lines were withheld. Line breaks are kept, so line
    numbers do not move; a private-key block is withheld whole. On a line that holds one of
    ``tokens`` (a prompt template's special tokens), only the secret-looking pieces between the
    tokens are withheld, so the template stays whole.
    """
    splitter = _token_splitter(tuple(tokens))
    lines = text.split("\n")
    withheld = 0
    in_key_block = False
    for number, line in enumerate(lines):
        if not in_key_block and splitter is not None and splitter.search(line):
            pieces = splitter.split(line)
            kept = [WITHHELD if looks_secret(piece) else piece for piece in pieces]
            if kept != pieces:
                lines[number] = "".join(kept)
                withheld += 1
            continue
        if in_key_block or looks_secret(line):
            if "-----BEGIN" in line and "PRIVATE KEY" in line:
                in_key_block = "-----END" not in line
            elif in_key_block and "-----END" in line:
                in_key_block = False
            indent = line[: len(line) - len(line.lstrip())]
            lines[number] = indent + WITHHELD
            withheld += 1
    return "\n".join(lines), withheld


def _token_splitter(tokens: tuple[str, ...]) -> re.Pattern[str] | None:
    tokens = tuple(token for token in tokens if token)
    if not tokens:
        return None
    ordered = sorted(tokens, key=len, reverse=True)
    return re.compile("(" + "|".join(re.escape(token) for token in ordered) + ")")


# -- the log -------------------------------------------------------------------------------------

_WITHHELD_ARG = "(withheld: set codels.logDocumentText to log message contents)"


class DocumentTextFilter(logging.Filter):
    """Keeps document text out of the log unless ``allow_text`` is set.

    codels's own records never format document text; pygls's do (whole messages at debug level,
    the parameters of a request that failed). For pygls records, every argument that could hold
    text — anything but numbers and short one-line strings — is replaced by a note. Python
    tracebacks pass: they show code, not documents.
    """

    def __init__(self) -> None:
        super().__init__()
        self.allow_text = False

    def filter(self, record: logging.LogRecord) -> bool:
        """Withhold the text-bearing arguments of ``record`` (never drops a record)."""
        if self.allow_text or not record.name.startswith("pygls") or not record.args:
            return True
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        record.args = tuple(_shown_arg(arg) for arg in args)
        return True


def _shown_arg(arg: object) -> object:
    if isinstance(arg, int | float) or arg is None:
        return arg
    if isinstance(arg, str):
        if arg.startswith("Traceback (most recent call last)"):
            return arg
        if len(arg) <= 80 and "\n" not in arg:
            return arg
    return _WITHHELD_ARG


log_guard = DocumentTextFilter()
"""The one filter the log handlers carry; the server sets ``allow_text`` from the settings."""
