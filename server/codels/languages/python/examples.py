"""Checking a written function against the examples in its docstring.

Finds doctest examples (``>>> add(2, 3)``) and informal ones (``add(2, 3) == 5``, ``add(2, 3)
➞ 5``: literal arguments and result only), and runs them on a module's definitions (never its
other top-level statements) in :mod:`codels.sandbox`. Examples that cannot run give no verdict;
where no OS sandbox works they are not run at all.

This module imports :mod:`codels.sandbox` , :mod:`codels.languages.syntax` and this package.
"""

from __future__ import annotations

import ast
import doctest
import json
import re
from dataclasses import dataclass

from codels.languages.python import PYTHON
from codels.languages.python.validator import PYTHON_PARSER_LOCK
from codels.languages.syntax import new_parser
from codels.sandbox import SandboxError, SandboxUnavailable, run_program

EXAMPLES_TIMEOUT_SECONDS = 5.0
"""How long the examples may run (a loop that never ends is a failure)."""

_KEPT = {
    "import_statement",
    "import_from_statement",
    "future_import_statement",
    "function_definition",
    "class_definition",
    "decorated_definition",
}
_MARK = "codels-examples "


_ARROW = re.compile(
    r"\s*#?\s*(?:==>|==|=>|->|➞|→|returns|should return|should be|gives|is equal to)\s*",
    re.IGNORECASE,
)
_WORDS = {"true": "True", "false": "False", "none": "None"}


@dataclass(frozen=True)
class Examples:
    """The examples of one function's docstring."""

    doctests: int = 0
    """How many doctest examples (``>>>``) it holds."""
    informal: tuple[tuple[str, str], ...] = ()
    """(call, result) source pairs of the informal ones, e.g. ``("add(2, 3)", "5")``."""

    @property
    def total(self) -> int:
        """How many examples in all."""
        return self.doctests + len(self.informal)


def find_examples(docstring: str, function: str) -> Examples:
    """The examples of ``function`` in ``docstring`` (its text; quotes may be left on)."""
    try:
        doctests = len(doctest.DocTestParser().get_examples(docstring))
    except ValueError:  # malformed examples (bad indentation): none that doctest can run
        doctests = 0
    informal = []
    for line in docstring.splitlines():
        if line.lstrip().startswith((">>>", "...")):
            continue
        found = _informal(line, function)
        if found is not None and found not in informal:
            informal.append(found)
    return Examples(doctests, tuple(informal))


def _informal(line: str, function: str) -> tuple[str, str] | None:
    """``line`` read as ``function(literals) <arrow> literal``, or None."""
    start = re.search(rf"(?<![\w.]){re.escape(function)}\s*\(", line)
    if start is None:
        return None
    depth, end = 0, -1
    for index in range(start.end() - 1, len(line)):
        if line[index] in "([{":
            depth += 1
        elif line[index] in ")]}":
            depth -= 1
            if depth == 0:
                end = index + 1
                break
    if end < 0:
        return None
    call = line[start.start() : end]
    arrow = _ARROW.match(line, end)
    if arrow is None or not _literal_call(call):
        return None
    value = _literal(line[arrow.end() :])
    return None if value is None else (call, value)


def _literal_call(call: str) -> bool:
    try:
        with PYTHON_PARSER_LOCK:
            tree = ast.parse(call, mode="eval").body
            if not isinstance(tree, ast.Call):
                return False
            for argument in [*tree.args, *(keyword.value for keyword in tree.keywords)]:
                ast.literal_eval(argument)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, SystemError):
        return False
    return True


def _literal(text: str) -> str | None:
    """The Python literal ``text`` starts with (a comment or full stop after it dropped)."""
    text = text.strip()
    uncommented = text.split(" #", 1)[0]
    candidates = [text.rstrip(".,;"), text, uncommented.rstrip(".,;"), uncommented]
    for candidate in candidates:
        candidate = _WORDS.get(candidate.strip().lower(), candidate.strip())
        if not candidate:
            continue
        try:
            with PYTHON_PARSER_LOCK:
                ast.literal_eval(candidate)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, SystemError):
            continue
        return candidate
    return None


@dataclass(frozen=True)
class ExamplesResult:
    """How a function fared on its docstring's examples."""

    total: int
    """Examples found (0: nothing to check)."""
    failed: int = 0
    ran: bool = True
    """False: they could not run (:attr:`problem` says why); no verdict."""
    problem: str = ""
    """The first failure (the example, what was expected, what came), or why none ran."""
    no_sandbox: bool = False
    """They were not run because no OS sandbox works here (:attr:`problem` says what to do)."""

    @property
    def passed(self) -> bool:
        """All examples ran and gave what the docstring says."""
        return self.ran and self.total > 0 and self.failed == 0

    @property
    def failing(self) -> bool:
        """The examples ran and at least one gave something else."""
        return self.ran and self.failed > 0

    def summary(self) -> str:
        """One line for the user, e.g. ``the docstring's 3 examples pass``."""
        if not self.total:
            return "no docstring examples to check"
        if self.no_sandbox:
            return (
                "the docstring's examples were not run: no OS sandbox works here "
                "(codels sandbox check says what to install)"
            )
        if not self.ran:
            return f"the docstring's examples could not run ({self.problem})"
        if not self.failed:
            plural = "s pass" if self.total > 1 else " passes"
            return f"the docstring's {self.total} example{plural}"
        return f"{self.failed} of the docstring's {self.total} examples fail: {self.problem}"


def module_skeleton(source: str) -> str:
    """The top-level imports, definitions and plain assignments of ``source``, in order."""
    data = source.encode("utf-8", "surrogatepass")
    tree = new_parser(PYTHON).parse(data)
    kept: list[str] = []
    for node in tree.root_node.children:
        if node.has_error:
            continue
        keep = node.type in _KEPT or (
            node.type == "expression_statement"
            and node.named_child_count == 1
            and node.named_children[0].type == "assignment"
        )
        if keep:
            kept.append(data[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass"))
    return "\n\n".join(kept)


# The examples' runner, defined after the module's definitions in the program that
# examples_program writes; it reports on stderr after _MARK.
_EXAMPLES_RUNNER = f"""def _codels_examples(name, informal):
    import ast, doctest, json, math, sys

    def same(got, want):
        if isinstance(got, bool) or isinstance(want, bool):
            return got == want and type(got) is type(want)
        if isinstance(got, (int, float)) and isinstance(want, (int, float)):
            return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
        if isinstance(got, (list, tuple)) and isinstance(want, (list, tuple)):
            return type(got) is type(want) and len(got) == len(want) and all(
                same(a, b) for a, b in zip(got, want)
            )
        return got == want

    class Checker(doctest.OutputChecker):
        def check_output(self, want, got, flags):
            if super().check_output(want, got, flags):
                return True
            if not want.strip():
                return got.strip() == "True"
            try:
                return same(ast.literal_eval(got.strip()), ast.literal_eval(want.strip()))
            except Exception:
                return False

    failures = []

    class Runner(doctest.DocTestRunner):
        def report_failure(self, out, test, example, got):
            failures.append((example.source, example.want or "True", got))

        def report_unexpected_exception(self, out, test, example, exc_info):
            error = exc_info[1]
            failures.append((example.source, example.want, f"{{type(error).__name__}}: {{error}}"))

    target = globals().get(name)
    total = failed = 0
    try:
        tests = doctest.DocTestParser().get_doctest(
            getattr(target, "__doc__", None) or "", dict(globals()), name, None, 0
        )
    except ValueError:  # malformed doctest examples: the informal ones only
        tests = None
    if tests is not None:
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        runner = Runner(checker=Checker(), verbose=False, optionflags=flags)
        result = runner.run(tests, out=lambda text: None)
        total, failed = result.attempted, result.failed
    for call, want in informal:
        total += 1
        expected = ast.literal_eval(want)
        try:
            got = eval(call, dict(globals()))
        except Exception as error:
            failed += 1
            failures.append((call, want, f"{{type(error).__name__}}: {{error}}"))
            continue
        if not same(got, expected):
            failed += 1
            failures.append((call, want, repr(got)))
    first = failures[0] if failures else None
    report = {{"total": total, "failed": failed, "first": first}}
    print({_MARK!r} + json.dumps(report), file=sys.stderr)
    sys.exit(1 if failed else 0)
"""


def examples_program(source: str, function: str, examples: Examples) -> str:
    """A program that runs ``examples`` of top-level ``function`` of ``source``.

    It reports on its last line of error output (``codels-examples`` and a JSON object) and
    exits with status 0 only when every example gives what the docstring says. A doctest
    example with no output under it (``>>> add(2, 3) == 5``) must give True; numbers are
    compared with a relative tolerance of 1e-6.
    """
    return (
        f"{module_skeleton(source)}\n\n\n{_EXAMPLES_RUNNER}\n\n"
        f"_codels_examples({function!r}, {list(examples.informal)!r})\n"
    )


def _describe(first: list[str] | None) -> str:
    if not first:
        return ""
    source, want, got = (part.strip() for part in first)
    return f"{_short(source)} should give {_short(want) or 'nothing'}, gave {_short(got)}"


def _short(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_examples(source: str, function: str, examples: Examples) -> ExamplesResult:
    """Run ``examples`` of ``function`` on ``source`` in the sandbox (blocking)."""
    total = examples.total
    if total == 0:
        return ExamplesResult(0)
    try:
        outcome = run_program(
            examples_program(source, function, examples),
            timeout=EXAMPLES_TIMEOUT_SECONDS,
            tail_chars=4000,
        )
    except SandboxUnavailable as error:
        return ExamplesResult(total, ran=False, problem=str(error), no_sandbox=True)
    except SandboxError as error:
        return ExamplesResult(total, ran=False, problem=f"the sandbox failed: {error}")
    if outcome.reason == "timeout":
        return ExamplesResult(total, total, True, "they did not finish in time (an endless loop?)")
    report_line = next(
        (line for line in reversed(outcome.output.splitlines()) if line.startswith(_MARK)), None
    )
    if report_line is None:
        return ExamplesResult(total, ran=False, problem=_short(outcome.reason))
    try:
        report = json.loads(report_line[len(_MARK) :])
        ran, failed = int(report["total"]), int(report["failed"])
    except (ValueError, KeyError, TypeError):
        return ExamplesResult(total, ran=False, problem="their report could not be read")
    return ExamplesResult(ran, failed, True, _describe(report.get("first")))
