"""Evaluation tasks from real Python code: masked lines and emptied bodies in third-party modules.

The sources are pinned wheels of widely used packages of different styles, fetched with pip
into the cache directory when an evaluation first needs them (nothing is vendored) and checked
against their sha256 (:mod:`codels.tools.sources`). Imports :mod:`codels.languages`,
:mod:`codels.tools.sources` and :mod:`codels.tools.tasks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import tree_sitter

from codels.languages.base import Language
from codels.languages.syntax import new_parser
from codels.tools.sources import Source, SourceError, fetch, source_files, sources_dir
from codels.tools.tasks import EvalTask, indentation

PYTHON_CODE_SUITES = ("python-line", "python-block")
"""The suites of real Python code: a statement line masked, a short body emptied."""

__all__ = [
    "PYTHON_SOURCES",
    "Source",
    "SourceError",
    "block_tasks",
    "fetch",
    "line_tasks",
    "modules",
    "sources_dir",
]


PYTHON_SOURCES = (
    Source(
        "requests", "2.32.3", "70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6"
    ),
    Source("click", "8.1.7", "ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28"),
    Source("attrs", "24.2.0", "81921eb96de3191c8258c199618104dd27ac608d9366f5e35d011eae1867ede2"),
    Source("rich", "13.9.4", "6049d5e6ec054bf2779ab3358186963bac2ea89175919d699e378b99738c2a90"),
    Source("jinja2", "3.1.4", "bc5dd2abb727a5319567b7a813e6a2e7318c39f4f487cfe6c89c6f9c7d25197d"),
    Source("httpx", "0.27.2", "7bb2708e112d8fdd7829cd4243970f0c223274051cb35ee80c03301ee29a3df0"),
    Source(
        "pyparsing", "3.1.4", "a6a7ee4235a3f944aa1fa2249307708f893fe5717dc603503c6c7969c070fb7c"
    ),
    Source("tomlkit", "0.13.2", "7a974427f6e119197f670fbbbeae7bef749a6c14e793db934baefc1b5f03efde"),
    Source("markdown", "3.7", "7eb6df5690b81a1d7942992c97fad2938e956e79df20cbc6186e9c3a77b1c803"),
    Source(
        "more-itertools",
        "10.5.0",
        "037b0d3203ce90cca8ab1defbbdac29d5f993fc20131f3664dc8d6acfa872aef",
    ),
)
"""HTTP clients, a CLI framework, class builders, a terminal renderer, a template engine, a
parser combinator library, a TOML editor, a Markdown converter and iterator recipes."""

MIN_LINES = 500
MAX_LINES = 2_500
"""Modules of real size: the tasks' files are between these line counts."""
BLOCK_MIN_STATEMENTS = 2
BLOCK_MAX_LINES = 8
"""Bodies emptied for the block suite: at least two statements, at most eight lines."""


def modules(
    sources: tuple[Source, ...], suffix: str = ".py", folder: Path | None = None
) -> Iterator[tuple[str, str]]:
    """``(task path, text)`` of every module of real size in the sources, in a fixed order."""
    return source_files(sources, (suffix,), min_lines=MIN_LINES, max_lines=MAX_LINES, folder=folder)


def _functions(language: Language, root: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    kinds = {kind for kind, scope in language.nodes.scopes.items() if scope == "function"}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in kinds:
            yield node
        stack.extend(reversed(node.named_children))


def _is_docstring(language: Language, statement: tree_sitter.Node) -> bool:
    children = statement.named_children
    return len(children) == 1 and children[0].type in language.nodes.strings


def _statements(language: Language, function: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The statements of ``function``'s body, without comments and a leading docstring."""
    body = function.child_by_field_name("body")
    if body is None:
        return []
    statements = [
        child for child in body.named_children if child.type not in language.nodes.comments
    ]
    if statements and _is_docstring(language, statements[0]):
        statements = statements[1:]
    return statements


def _starts_line(text_lines: list[str], node: tree_sitter.Node) -> bool:
    row, column = node.start_point
    line = text_lines[row]
    return indentation(line).encode() == line.encode()[:column]


def line_tasks(language: Language, path: str, text: str) -> list[EvalTask]:
    """One task per statement that starts a line inside a function body: that line masked.

    The cursor stands after the line's indentation, as an editor leaves it; the expected
    completion is the rest of the line.
    """
    tree = new_parser(language).parse(text.encode("utf-8", "surrogatepass"))
    text_lines = text.split("\n")
    starts = _line_starts(text_lines)
    tasks: dict[int, EvalTask] = {}
    for function in _functions(language, tree.root_node):
        for statement in _statements(language, function):
            row = statement.start_point.row
            if row in tasks or not _starts_line(text_lines, statement):
                continue
            line = text_lines[row]
            indent = indentation(line)
            expected = line.strip()
            if len(expected) < 2:
                continue
            tasks[row] = EvalTask(
                task_id=f"{path}:{row + 1}",
                path=path,
                prefix=text[: starts[row]] + indent,
                suffix=text[starts[row] + len(line) :],
                expected=expected,
            )
    return [tasks[row] for row in sorted(tasks)]


def block_tasks(language: Language, path: str, text: str) -> list[EvalTask]:
    """One task per short function body (after its docstring): the whole body emptied."""
    tree = new_parser(language).parse(text.encode("utf-8", "surrogatepass"))
    text_lines = text.split("\n")
    starts = _line_starts(text_lines)
    tasks = []
    for function in _functions(language, tree.root_node):
        statements = _statements(language, function)
        if len(statements) < BLOCK_MIN_STATEMENTS:
            continue
        first, last = statements[0].start_point.row, statements[-1].end_point.row
        if last - first + 1 > BLOCK_MAX_LINES or not _starts_line(text_lines, statements[0]):
            continue
        if any(line.strip() == "" for line in text_lines[first : last + 1]):
            continue
        line = text_lines[first]
        indent = indentation(line)
        body = "\n".join(text_lines[first : last + 1])
        tasks.append(
            EvalTask(
                task_id=f"{path}:{first + 1}",
                path=path,
                prefix=text[: starts[first]] + indent,
                suffix=text[starts[last] + len(text_lines[last]) :],
                expected=body[len(indent) :],
            )
        )
    return sorted(tasks, key=lambda task: int(task.task_id.rsplit(":", 1)[1]))


def _line_starts(text_lines: list[str]) -> list[int]:
    starts, at = [], 0
    for line in text_lines:
        starts.append(at)
        at += len(line) + 1
    return starts
