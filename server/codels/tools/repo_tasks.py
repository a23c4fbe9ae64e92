"""Tasks of the ``repo-python`` suite: a call of a name another module of the package defines.

CrossCodeEval's rule: a task is a line that calls a name imported from another module of the
same package, with the cursor right before that name's first use on the line and the rest of
the line masked. The package is copied (in memory) and the name renamed consistently in every
file of the copy, so a model can know its signature only from context it is given, never from
training. The packages are the pinned wheels of :mod:`codels.tools.realcode`, fetched when the
evaluation runs. Imports :mod:`codels.languages` and :mod:`codels.tools.realcode`.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import tree_sitter

from codels.languages.base import Language
from codels.languages.syntax import new_parser
from codels.tools import realcode

TASKS_PER_NAME = 3
"""At most this many tasks call one renamed name, so a few popular helpers do not fill the
suite."""
DEFINITION_MAX_LINES = 20
"""The whole-definition context is cut to this many lines (a class can be hundreds)."""
_SYLLABLES = ("ka", "lo", "mi", "ren", "tu", "vos", "zel", "dar", "fen", "gri", "pol", "qua")
_DEFINITIONS = ("function_definition", "class_definition")


@dataclass(frozen=True)
class Arity:
    """How many arguments a call of a definition may pass."""

    required: int
    """Parameters without a default (keyword-only ones included)."""
    maximum: int | None
    """All named parameters; None when ``*args`` or ``**kwargs`` take any number."""

    def fits(self, count: int) -> bool:
        """Whether a call with ``count`` arguments can bind to the signature."""
        return self.required <= count and (self.maximum is None or count <= self.maximum)


@dataclass(frozen=True)
class Definition:
    """A top-level function or class of one module, with the two oracle contexts."""

    name: str
    path: str
    signature: str
    """The header (decorators included) and docstring; a class adds its ``__init__``'s."""
    whole: str
    """The whole definition, cut to :data:`DEFINITION_MAX_LINES` lines."""
    arity: Arity


@dataclass(frozen=True)
class RepoTask:
    """One masked rest of a line that starts with a renamed name from another module."""

    task_id: str
    package: str
    path: str
    prefix: str
    """The module before the cursor (the cursor stands right before the name)."""
    suffix: str
    """The module after the masked line (it starts with the line break)."""
    expected: str
    """The masked rest of the line, from the name on."""
    line: str
    """The whole masked line, as the renamed copy has it."""
    name: str
    """The name as renamed in the copy."""
    original_name: str
    definition: Definition
    """The renamed name's definition in the copy (the oracle)."""


class LeakError(Exception):
    """A context given to the model holds the masked line (a bug in the suite, not the model)."""


def leaks(task: RepoTask, context: str) -> bool:
    """Whether ``context`` holds the task's masked line or the masked text itself."""
    masked = task.expected.strip()
    return masked in context or any(
        line.strip() == task.line.strip() for line in context.splitlines()
    )


def ensure_no_leak(task: RepoTask, context: str) -> str:
    """``context``, after checking that it does not give the answer away (LeakError if so)."""
    if leaks(task, context):
        raise LeakError(f"the context of {task.task_id} holds its masked line")
    return context


def new_name(name: str, taken: str) -> str:
    """A made-up name in ``name``'s style (leading underscores, snake or Camel case).

    The same name always gets the same replacement; it never occurs in ``taken``.
    """
    leading = name[: len(name) - len(name.lstrip("_"))]
    camel = name.lstrip("_")[:1].isupper()
    for attempt in range(100):
        digest = hashlib.sha256(f"{name}:{attempt}".encode()).digest()
        words = [
            _SYLLABLES[digest[i] % len(_SYLLABLES)] + _SYLLABLES[digest[i + 4] % len(_SYLLABLES)]
            for i in range(2)
        ]
        made = "".join(word.title() for word in words) if camel else "_".join(words)
        candidate = leading + made
        if not re.search(rf"\b{candidate}\b", taken):
            return candidate
    raise ValueError(f"no free replacement for {name}")


def rename(files: Mapping[str, str], old: str, new: str) -> dict[str, str]:
    """A copy of ``files`` with every whole-word ``old`` replaced by ``new``.

    Callers only rename names that never follow a dot in the package, so every occurrence is
    the name itself (or its mention in a string or comment, renamed alike).
    """
    pattern = re.compile(rf"\b{re.escape(old)}\b")
    return {path: pattern.sub(new, text) for path, text in files.items()}


def package_files(wheel: Path) -> dict[str, dict[str, str]]:
    """``{package: {path: text}}`` of the Python modules in a wheel, by top-level package."""
    packages: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if not name.endswith(".py") or ".dist-info/" in name or "/" not in name:
                continue
            text = archive.read(name).decode("utf-8", errors="replace").replace("\r\n", "\n")
            packages.setdefault(name.split("/", 1)[0], {})[name] = text
    return {name: files for name, files in packages.items() if len(files) > 1}


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _arity(parameters: tree_sitter.Node | None, *, skip_first: bool) -> Arity:
    required, named, unbounded = 0, 0, False
    children = list(parameters.named_children) if parameters is not None else []
    for child in children:
        kind = child.type
        if kind == "typed_parameter" and child.named_children:
            kind = child.named_children[0].type
        if kind in ("list_splat_pattern", "dictionary_splat_pattern"):
            unbounded = True
        elif kind in ("identifier", "typed_parameter"):
            required, named = required + 1, named + 1
        elif kind in ("default_parameter", "typed_default_parameter"):
            named += 1
    if skip_first and children and named:
        required, named = max(0, required - 1), named - 1
    return Arity(required, None if unbounded else named)


def _header_and_docstring(node: tree_sitter.Node, outer: tree_sitter.Node, source: str) -> str:
    """The text of ``outer`` (the decorated node) up to the body, plus the docstring."""
    body = node.child_by_field_name("body")
    if body is None:
        return _text(outer)
    lines = source.split("\n")
    end = body.start_point.row
    first = body.named_children[0] if body.named_children else None
    if (
        first is not None
        and first.type == "expression_statement"
        and first.named_children
        and first.named_children[0].type == "string"
    ):
        end = first.end_point.row + 1
    header = "\n".join(lines[outer.start_point.row : max(end, node.start_point.row + 1)])
    return header.rstrip()


def definitions(language: Language, path: str, source: str) -> Iterator[Definition]:
    """The top-level functions, and the classes with an ``__init__``, of one module."""
    tree = new_parser(language).parse(source.encode("utf-8", "surrogatepass"))
    for outer in tree.root_node.named_children:
        node = (
            outer.child_by_field_name("definition")
            if outer.type == "decorated_definition"
            else outer
        )
        if node is None or node.type not in _DEFINITIONS:
            continue
        name_node = node.child_by_field_name("name")
        if name_node is None:
            continue
        signature = _header_and_docstring(node, outer, source)
        if node.type == "function_definition":
            arity = _arity(node.child_by_field_name("parameters"), skip_first=False)
        else:
            init = _init_of(node)
            if init is None:
                continue  # its signature would be a guess (dataclass, inherited __init__)
            init_node, init_outer = init
            arity = _arity(init_node.child_by_field_name("parameters"), skip_first=True)
            signature += "\n" + _header_and_docstring(init_node, init_outer, source)
        whole = "\n".join(_text(outer).split("\n")[:DEFINITION_MAX_LINES])
        yield Definition(_text(name_node), path, signature, whole, arity)


def _init_of(node: tree_sitter.Node) -> tuple[tree_sitter.Node, tree_sitter.Node] | None:
    body = node.child_by_field_name("body")
    for outer in body.named_children if body is not None else []:
        inner = (
            outer.child_by_field_name("definition")
            if outer.type == "decorated_definition"
            else outer
        )
        if inner is not None and inner.type == "function_definition":
            name = inner.child_by_field_name("name")
            if name is not None and _text(name) == "__init__":
                return inner, outer
    return None


def _resolve(path: str, module: tree_sitter.Node, files: Mapping[str, str]) -> str | None:
    """The package file a ``from … import`` statement's module names, if it is one."""
    if module.type == "relative_import":
        dots = sum(_text(c).count(".") for c in module.children if c.type == "import_prefix")
        dotted = next((_text(c) for c in module.children if c.type == "dotted_name"), "")
        base = PurePosixPath(path).parents[dots - 1] if dots else PurePosixPath(path).parent
        parts = [*base.parts, *(dotted.split(".") if dotted else [])]
    else:
        parts = _text(module).split(".")
    stem = "/".join(parts)
    for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
        if candidate in files:
            return candidate
    return None


def imported_names(language: Language, path: str, files: Mapping[str, str]) -> dict[str, str]:
    """``{name: module path}`` of the names ``path`` imports, unaliased, from package modules."""
    tree = new_parser(language).parse(files[path].encode("utf-8", "surrogatepass"))
    names: dict[str, str] = {}
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.named_children)
        if node.type != "import_from_statement":
            continue
        module = node.child_by_field_name("module_name")
        target = _resolve(path, module, files) if module is not None else None
        if target is None or target == path:
            continue
        for name in node.children_by_field_name("name"):
            if name.type == "dotted_name" and "." not in _text(name):
                names[_text(name)] = target
    return names


def _calls_on_one_line(root: tree_sitter.Node, name: str) -> Iterator[int]:
    """Rows of calls of the bare ``name`` that open and close on one line."""
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.named_children)
        if node.type != "call" or node.start_point.row != node.end_point.row:
            continue
        function = node.child_by_field_name("function")
        if function is not None and function.type == "identifier" and _text(function) == name:
            yield node.start_point.row


def candidates(language: Language, files: Mapping[str, str]) -> dict[str, Definition]:
    """Names worth renaming: defined once in the package and never used as an attribute."""
    found: dict[str, list[Definition]] = {}
    for path, source in files.items():
        for definition in definitions(language, path, source):
            found.setdefault(definition.name, []).append(definition)
    everything = "\n".join(files.values())
    return {
        name: defined[0]
        for name, defined in sorted(found.items())
        if len(defined) == 1
        and len(name) >= 3
        and not name.startswith("__")
        and not re.search(rf"\.\s*{re.escape(name)}\b", everything)
    }


def package_tasks(language: Language, package: str, files: Mapping[str, str]) -> list[RepoTask]:
    """Every task of one package: each candidate renamed in a copy, its calls elsewhere masked."""
    everything = "\n".join(files.values())
    importers = {path: imported_names(language, path, files) for path in files}
    tasks: list[RepoTask] = []
    for old, definition in candidates(language, files).items():
        users = [path for path, names in importers.items() if names.get(old) == definition.path]
        if not users:
            continue
        new = new_name(old, everything)
        copy = rename(files, old, new)
        renamed = next(
            d
            for d in definitions(language, definition.path, copy[definition.path])
            if d.name == new
        )
        found: list[RepoTask] = []
        for path in users:
            found.extend(_tasks_in(language, package, path, copy[path], renamed, old))
        tasks.extend(found[:TASKS_PER_NAME])
    return sorted(tasks, key=lambda task: (task.path, len(task.prefix)))


def _tasks_in(
    language: Language, package: str, path: str, text: str, definition: Definition, old: str
) -> Iterator[RepoTask]:
    tree = new_parser(language).parse(text.encode("utf-8", "surrogatepass"))
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    pattern = re.compile(rf"\b{re.escape(definition.name)}\b")
    for row in sorted(set(_calls_on_one_line(tree.root_node, definition.name))):
        line = lines[row]
        first = pattern.search(line)
        if first is None or line.lstrip().startswith("#"):
            continue
        task = RepoTask(
            task_id=f"{path}:{row + 1}",
            package=package,
            path=path,
            prefix=text[: starts[row] + first.start()],
            suffix=text[starts[row] + len(line) :],
            expected=line[first.start() :].rstrip(),
            line=line,
            name=definition.name,
            original_name=old,
            definition=definition,
        )
        call = first_call(task.expected, task.name)
        # The original must bind to the signature as read here, or the check would be wrong.
        if call is not None and definition.arity.fits(call) and not _oracle_leaks(task):
            yield task


def _oracle_leaks(task: RepoTask) -> bool:
    return leaks(task, task.definition.signature) or leaks(task, task.definition.whole)


def first_call(text: str, name: str) -> int | None:
    """How many arguments the first call of ``name`` in ``text`` passes (None: no whole call).

    A ``*args`` or ``**kwargs`` argument counts as one: the check is about the arguments the
    line spells out.
    """
    match = re.search(rf"\b{re.escape(name)}\s*\(", text)
    if match is None:
        return None
    depth, quote, count, current = 0, "", 0, ""
    index = match.end()
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return count + bool(current.strip())
            depth -= 1
        elif char == "," and depth == 0:
            count, current = count + 1, ""
            index += 1
            continue
        current += char
        index += 1
    return None


def repo_tasks(language: Language, folder: Path | None = None) -> list[RepoTask]:
    """The suite: the tasks of every multi-module package of the pinned Python wheels."""
    tasks = []
    for source in realcode.PYTHON_SOURCES:
        for package, files in package_files(realcode.fetch(source, folder)).items():
            tasks.extend(package_tasks(language, package, files))
    return tasks
