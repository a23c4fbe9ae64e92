"""The brace languages' real-code suites, ``<lang>-line`` and ``<lang>-body``, and their sources.

Each language's tasks come from several pinned projects of different styles, none written
here: npm packages for JavaScript and TypeScript (and two that carry Java), Debian 12 packages
for Go, Rust, Java, C and C++ (Go modules, Rust crates, a Java source tarball, C and C++
sources and headers), and source distributions on the package index that carry Rust, Java, C
or C++. Imports :mod:`codels.tools.brace_tasks`, :mod:`codels.tools.sources` and
:mod:`codels.tools.tasks`.
"""

from __future__ import annotations

from dataclasses import dataclass

from codels.tools import brace_tasks
from codels.tools.brace_tasks import BraceGrammar
from codels.tools.sources import Source, fetch, source_files
from codels.tools.tasks import EvalTask

MIN_LINES = 300
MAX_LINES = 3_000
"""Files of real size: a few hundred to a few thousand lines (brace code has many short
lines, so the band starts lower than Python's)."""

_GO = "usr/share/gocode/src/"
_CRATES = "usr/share/cargo/registry/"
_GTEST = "usr/src/googletest/"
# JavaCC's generated parser classes (BeanShell's grammar is compiled into them).
_JAVACC = tuple(
    f"/{name}.java"
    for name in (
        "parser",
        "parserconstants",
        "parsertokenmanager",
        "parsertreeconstants",
        "parseexception",
        "javacharstream",
        "jjtparserstate",
        "token",
        "tokenmgrerror",
    )
)


@dataclass(frozen=True)
class CodeLanguage:
    """One brace language's suites: its grammar and the projects its tasks come from."""

    short: str
    """The suites' first word: ``js`` names ``js-line`` and ``js-body``."""
    grammar: BraceGrammar
    sources: tuple[Source, ...]


JAVASCRIPT = CodeLanguage(
    "js",
    brace_tasks.JAVASCRIPT,
    (
        Source(
            "commander",
            "14.0.3",
            "5849703c500e0f324eb01340d8bda1f9ec48fc37bb7be9712eb0dd52aad92f6c",
            kind="npm",
            include=("commander/lib/",),
        ),
        Source(
            "ws",
            "8.23.1",
            "86236e8c3cc4fd2d136d413670efb5b105ebddfbda975f1143b8b0429d584ade",
            kind="npm",
            include=("ws/lib/",),
        ),
        Source(
            "express",
            "5.3.0",
            "62450d99e36dc393295f1ddd93cb9291e658c169f3b700b0110c1ae8fa799930",
            kind="npm",
            include=("express/lib/",),
        ),
        Source(
            "mocha",
            "11.8.0",
            "c84b52ae4f0310df25707771c89e97299e01ef139b42e2c51b118c25f771bb49",
            kind="npm",
            include=("mocha/lib/",),
        ),
        Source(
            "preact",
            "10.29.8",
            "b18cb0a457f3d43c7bb30391a74ade7d13e03bc6e77915e061c70c0fe1123299",
            kind="npm",
            include=("preact/src/", "preact/hooks/src/", "preact/compat/src/", "preact/debug/src/"),
        ),
        Source(
            "bluebird",
            "3.7.2",
            "c68b0b2a44f58961277e975053c6f0053d93bac8f68cef9dae596f2a04806ddc",
            kind="npm",
            include=("bluebird/js/release/",),
        ),
    ),
)
"""A CLI framework (classes), WebSockets (streams and events), a web framework (prototypes),
a test runner, a UI library's renderer and hooks, a promise library (ES5)."""

TYPESCRIPT = CodeLanguage(
    "ts",
    brace_tasks.TYPESCRIPT,
    (
        Source(
            "mobx",
            "6.16.1",
            "f204f2da40322c874b3cecb4b9a976217d3dffeb20fe958a33f34093927b2fad",
            kind="npm",
            include=("mobx/src/",),
        ),
        Source(
            "rxjs",
            "7.8.2",
            "2312f8ffd9726ffd7bd53ea12c5f13663d09a3dc3326f448c70b88f5ef6fac82",
            kind="npm",
            include=("rxjs/src/",),
        ),
        Source(
            "@tanstack/query-core",
            "5.108.4",
            "7660b37f747ce33f1e5456299009dbe217a08514f402c13e633ae95727e361e0",
            kind="npm",
            include=("@tanstack/query-core/src/",),
        ),
        Source(
            "@trpc/server",
            "11.25.2",
            "43d5562bf3d3ca2ba55bb37a91020c19d90ddaa3359a1eb55e5fefc62c6cb29a",
            kind="npm",
            include=("@trpc/server/src/",),
        ),
        Source(
            "@reduxjs/toolkit",
            "2.16.0",
            "f815be44e3876a2c72f01135768a872048c00cb7bfabf313b238004302c32f2a",
            kind="npm",
            include=("@reduxjs/toolkit/src/",),
        ),
        Source(
            "zod",
            "3.25.76",
            "9e1f1a05f0dd0c1dab64ee91ceb9bf55cd44d35368c70edda80a2fdc70a88377",
            kind="npm",
            include=("zod/src/v4/",),
        ),
    ),
)
"""Observable state, reactive streams, a data-fetching cache, an RPC server, a state toolkit,
a schema validator."""

GO = CodeLanguage(
    "go",
    brace_tasks.GO,
    (
        Source(
            "golang-github-spf13-cobra-dev",
            "1.6.1-1",
            "4f5d20855133319beef3c5b49d3c21a0406f270bf94fb4b6f4d406b691283cb2",
            kind="deb",
            include=(_GO,),
        ),
        Source(
            "golang-github-sirupsen-logrus-dev",
            "1.9.0-1",
            "51fb87b05452e96be38b97c03d5f997f6ce3a144421f911338d6c4ea2e8aa118",
            kind="deb",
            include=(_GO,),
        ),
        Source(
            "golang-github-gorilla-mux-dev",
            "1.8.0-1",
            "0880a4019fe68496a0e0a749c2948c029e489f49edd448bed2fedaba33f848c2",
            kind="deb",
            include=(_GO,),
        ),
        Source(
            "golang-github-burntsushi-toml-dev",
            "1.2.0-2",
            "eb0bc9f96d02b33034311604f787ca7ab071de026c9abdffa6ae40a63362f7b8",
            kind="deb",
            include=(_GO,),
        ),
        Source(
            "golang-gopkg-yaml.v3-dev",
            "3.0.1-3",
            "3ad4febd49700bc670f0f143f3291ecab4e032cc227d69521bacadbc493cfbbe",
            kind="deb",
            include=(_GO,),
        ),
        Source(
            "golang-github-google-go-cmp-dev",
            "0.5.9-1",
            "b68bd919daa7c1bdf02abfb68894e29e532f19b03b68c8615f50626c48f553b6",
            kind="deb",
            include=(_GO,),
        ),
    ),
)
"""A CLI framework, a logger, an HTTP router, a TOML and a YAML codec, a deep comparer."""

RUST = CodeLanguage(
    "rust",
    brace_tasks.RUST,
    (
        Source(
            "librust-regex-syntax-dev",
            "0.6.27-1",
            "16c9879e07d6f9c6b2618906126d17e51ec8b04bced0fe3bb0cf0f3062f8a353",
            kind="deb",
            include=(_CRATES,),
            exclude=("/unicode_tables/",),
        ),
        Source(
            "librust-serde-json-dev",
            "1.0.87-1",
            "2d053de630af6649c40a39d9ab6268d5469385289016a1205d0dec196e7b77d2",
            kind="deb",
            include=(_CRATES,),
        ),
        Source(
            "librust-clap-dev",
            "4.0.32-1",
            "00922f24c3eb5a899ae4438ebf7be2e82085559ee45055dbc856cdb113de9ebb",
            kind="deb",
            include=(_CRATES,),
        ),
        Source(
            "librust-itertools-dev",
            "0.10.3-1",
            "3e13fc328508275c2c84270133f41a300ffb58b9b77001b89373ba7f7ab57fde",
            kind="deb",
            include=(_CRATES,),
        ),
        Source(
            "librust-anyhow-dev",
            "1.0.69-1",
            "f877f024d95d8af3c3f62e2cf74e6ba5eb976a3cf27c920bda786cd32029b79d",
            kind="deb",
            include=(_CRATES,),
        ),
        Source(
            "librust-toml-dev",
            "0.5.11-1",
            "4c06a670fa97eda975b02781e4fa7aa3a529afb8ad3bef047496fdd464cc021b",
            kind="deb",
            include=(_CRATES,),
        ),
        Source(
            "cryptography",
            "41.0.7",
            "13f93ce9bea8016c253b34afc6bd6a75993e5c40672ed5405a9c832f0d4a00bc",
            kind="sdist",
            include=("cryptography-41.0.7/src/rust/",),
        ),
    ),
)
"""A regex parser, a JSON codec, a CLI parser, iterator adaptors, error handling, a TOML
codec (Debian's crates, amd64 packages), and Python cryptography's X.509 and backend code."""

JAVA = CodeLanguage(
    "java",
    brace_tasks.JAVA,
    (
        Source(
            "cordova-android",
            "13.0.0",
            "0f5f6800ea1b174763a737459754a954b9d4bc9615c6ac56450d6c3f8ad64d3d",
            kind="npm",
            include=("cordova-android/framework/src/",),
        ),
        Source(
            "react-native-webview",
            "13.16.0",
            "920d784d040c5d6e7aea8b0c79571e4a0f44fcd440ad114e2677e05aef3322bb",
            kind="npm",
            include=("react-native-webview/android/src/",),
        ),
        Source(
            "jpype1",
            "1.5.2",
            "74a42eccf21d30394c1832aec3985a14965fa5320da087b65029d172c0cec43b",
            kind="sdist",
            include=("jpype1-1.5.2/native/java/",),
        ),
        Source(
            "bsh-src",
            "2.0b4-20",
            "8bc67e9514560ef9e15beff101ed1ffb54a448588c2403987f407cd11547c00d",
            kind="deb",
            include=("bsh-src/src/",),
            exclude=_JAVACC,
            inner="usr/src/bsh-src/bsh.tar.gz",
        ),
    ),
)
"""Apache Cordova's Android framework, React Native's Android WebView, JPype's Java side, the
BeanShell interpreter (its hand-written classes)."""

C = CodeLanguage(
    "c",
    brace_tasks.C,
    (
        Source(
            "lz4",
            "4.3.3",
            "01fe674ef2889dbb9899d8a67361e0c4a2c833af5aeb37dd505727cf5d2a131e",
            kind="sdist",
            include=("lz4-4.3.3/lz4libs/", "lz4-4.3.3/lz4/"),
        ),
        Source(
            "Brotli",
            "1.1.0",
            "81de08ac11bcb85841e440c13611c00b67d3bf82698314928d0b676362546724",
            kind="sdist",
            include=("Brotli-1.1.0/c/",),
        ),
        Source(
            "psutil",
            "6.1.1",
            "cf8496728c18f2d0b45198f06895be52f36611711746b7f30c464b422b50e2f5",
            kind="sdist",
            include=("psutil-6.1.1/psutil/",),
        ),
        Source(
            "libxcrypt-source",
            "1:4.4.33-2",
            "2ceb03c27d8c0471f7a3ad5dd34265d93f6daad32cf6ca6c0eace7d60b1507df",
            kind="deb",
            include=("usr/src/libxcrypt/lib/",),
        ),
    ),
)
"""A compressor and its Python binding, another compressor, system calls of six operating
systems, password hashing."""

CPP = CodeLanguage(
    "cpp",
    brace_tasks.CPP,
    (
        Source(
            "googletest",
            "1.12.1-0.2",
            "927be72067517da503b6538026d451455c9e860f5dbfe237f792543db7d5a928",
            kind="deb",
            include=tuple(
                f"{_GTEST}{part}/{folder}/"
                for part in ("googletest", "googlemock")
                for folder in ("src", "include")
            ),
        ),
        Source(
            "nlohmann-json3-dev",
            "3.11.2-2",
            "ec57940def6b6186c30be0e0ee81d1e58f86d11a54a145b28686a1e3e4aae801",
            kind="deb",
            include=("usr/include/nlohmann/",),
        ),
        Source(
            "libcli11-dev",
            "2.1.2+ds-1",
            "f1f6ee9ec053e0e0bcec47345e241b6a8ee006321248b4329e9ce88d2b4b64a8",
            kind="deb",
            include=("usr/include/CLI/",),
        ),
        Source(
            "greenlet",
            "3.1.1",
            "4ce3ac6cdb6adf7946475d7ef31777c26d94bccc377e070a7986bd2d5c515467",
            kind="sdist",
            include=("greenlet-3.1.1/src/greenlet/",),
        ),
        Source(
            "kiwisolver",
            "1.4.7",
            "9893ff81bd7107f7b685d3017cc6583daadb4fc26e4a888350df530e41980a60",
            kind="sdist",
            include=("kiwisolver-1.4.7/kiwi/", "kiwisolver-1.4.7/py/"),
        ),
    ),
)
"""A test framework and its mocks, a JSON library and a CLI parser (header-only, templates),
coroutines for Python, a constraint solver."""

LANGUAGES = (JAVASCRIPT, TYPESCRIPT, GO, RUST, JAVA, C, CPP)
LINE_SUITES = tuple(f"{language.short}-line" for language in LANGUAGES)
"""Scored by exact match of the completion's first line."""
BODY_SUITES = tuple(f"{language.short}-body" for language in LANGUAGES)
"""Scored by the share of completions that are non-empty and add no syntax error."""
SUITES = tuple(name for pair in zip(LINE_SUITES, BODY_SUITES, strict=True) for name in pair)


def language_of(suite: str) -> CodeLanguage:
    """The language of suite ``suite`` (``ts-line``: TypeScript); KeyError if none."""
    short = suite.rsplit("-", 1)[0]
    for language in LANGUAGES:
        if language.short == short and suite in SUITES:
            return language
    raise KeyError(suite)


def fetch_sources(suite: str) -> None:
    """Fetch and verify the sources of ``suite`` (a SourceError says what went wrong)."""
    for source in language_of(suite).sources:
        fetch(source)


def build(suite: str) -> list[EvalTask]:
    """Every task of ``suite``: each masked line, or each short body emptied."""
    language = language_of(suite)
    make = brace_tasks.line_tasks if suite in LINE_SUITES else brace_tasks.body_tasks
    files = source_files(
        language.sources, language.grammar.suffixes, min_lines=MIN_LINES, max_lines=MAX_LINES
    )
    return [task for path, text in files for task in make(language.grammar, path, text)]
