"""The brace languages' real-code suites: tasks from inline sources, archives, scoring."""

import asyncio
import hashlib
import io
import lzma
import subprocess
import tarfile

import pytest

from codels.tools import brace_tasks, code_suites, sources
from codels.tools.eval_report import Attempt, SuiteReport, TaskResult, format_table
from codels.tools.evaluation import SUITES, EvalTask, Evaluator

JS = """\
import { x } from "y";

// A module.
function first(values) {
  // Nothing to do when empty.
  if (!values.length) {
    return null;
  }
  return values[0];
}

class Box {
  constructor(size) {
    this.size = size;
    this.items = [];
  }

  add(item) {
    this.items.push(item);
    return this.items.length;
  }
}

const twice = (f) => (v) => f(f(v));
"""

GO = """\
package box

// Add appends an item.
func (b *Box) Add(item int) int {
\tb.items = append(b.items, item)
\treturn len(b.items)
}

func one() int { return 1 }
"""

RUST = """\
fn total(values: &[i32]) -> i32 {
    let mut sum = 0;
    for v in values {
        sum += v;
    }
    sum
}
"""

JAVA = """\
class Box {
    private int size;

    Box(int size) {
        this.size = size;
        check();
    }

    int grow(int by) {
        switch (by) {
            case 0:
                return size;
            default:
                size += by;
        }
        return size;
    }
}
"""

C = """\
#include <stdio.h>

static int add(int a, int b) {
    int sum = a + b;
    return sum;
}

int guarded(int a) {
    int b = a;
#ifdef TWICE
    b += a;
#endif
    return b;
}

int spaced(int a) {
    int b = a;

    return b;
}
"""

CPP = """\
namespace box {
template <class T>
T twice(T value) {
    auto doubled = value * 2;
    return doubled;
}
}  // namespace box
"""


def _ids(tasks):
    return [task.task_id for task in tasks]


def test_line_tasks_mask_statement_lines_of_function_bodies():
    tasks = brace_tasks.line_tasks(brace_tasks.JAVASCRIPT, "box/lib/box.js", JS)
    assert [task.expected for task in tasks] == [
        "if (!values.length) {",
        "return null;",
        "return values[0];",
        "this.size = size;",
        "this.items = [];",
        "this.items.push(item);",
        "return this.items.length;",
    ]
    for task in tasks:
        assert task.prefix + task.expected + task.suffix == JS
        # The cursor stands after the indentation, as an editor leaves it.
        assert task.prefix.rsplit("\n", 1)[1].strip() == ""
        assert task.suffix.startswith("\n")
        assert task.language_id == "javascript"
    # Imports, comments, closing braces and expression-bodied arrows are no tasks.
    assert tasks[0].task_id == "box/lib/box.js:6"


def test_line_tasks_in_each_grammar():
    cases = [
        (brace_tasks.GO, GO, ["b.items = append(b.items, item)", "return len(b.items)"]),
        (brace_tasks.RUST, RUST, ["let mut sum = 0;", "for v in values {", "sum += v;", "sum"]),
        # A case label is no statement; the statements under it are.
        (
            brace_tasks.JAVA,
            JAVA,
            [
                "this.size = size;",
                "check();",
                "switch (by) {",
                "return size;",
                "size += by;",
                "return size;",
            ],
        ),
        # Preprocessor lines are no statements.
        (
            brace_tasks.C,
            C,
            [
                "int sum = a + b;",
                "return sum;",
                "int b = a;",
                "return b;",
                "int b = a;",
                "return b;",
            ],
        ),
        (brace_tasks.CPP, CPP, ["auto doubled = value * 2;", "return doubled;"]),
    ]
    for grammar, text, expected in cases:
        tasks = brace_tasks.line_tasks(grammar, f"f{grammar.suffixes[0]}", text)
        assert [task.expected for task in tasks] == expected, grammar.name
        assert all(task.prefix + task.expected + task.suffix == text for task in tasks)
    go = brace_tasks.line_tasks(brace_tasks.GO, "box.go", GO)
    assert go[0].prefix.endswith("{\n\t")  # Go's tabs


def test_body_tasks_empty_short_bodies_and_keep_the_braces():
    tasks = brace_tasks.body_tasks(brace_tasks.JAVASCRIPT, "box.js", JS)
    assert [task.expected for task in tasks] == [
        "if (!values.length) {\n    return null;\n  }\n  return values[0];",
        "this.size = size;\n    this.items = [];",
        "this.items.push(item);\n    return this.items.length;",
    ]
    for task in tasks:
        assert task.prefix + task.expected + task.suffix == JS
        # The comment before the first statement stays; the cursor is where that began.
        assert task.prefix.endswith(("// Nothing to do when empty.\n  ", "{\n    "))
        assert task.suffix.lstrip(" \n").startswith("}")
    go = brace_tasks.body_tasks(brace_tasks.GO, "box.go", GO)
    # A body on one line (``{ return 1 }``) has no braces on lines of their own.
    assert [task.expected for task in go] == [
        "b.items = append(b.items, item)\n\treturn len(b.items)"
    ]


def test_bodies_with_a_blank_line_a_directive_or_one_statement_are_no_body_tasks():
    assert [t.expected for t in brace_tasks.body_tasks(brace_tasks.C, "f.c", C)] == [
        "int sum = a + b;\n    return sum;"
    ]
    too_long = "function f() {\n" + "".join(f"  a{i}();\n" for i in range(9)) + "}\n"
    assert brace_tasks.body_tasks(brace_tasks.JAVASCRIPT, "f.js", too_long) == []
    assert brace_tasks.body_tasks(brace_tasks.RUST, "f.rs", "fn f() {\n    g();\n}\n") == []


def test_a_function_that_does_not_parse_gives_no_tasks():
    broken = "function f(a) {\n  const b = ;\n  return b;\n}\n"
    assert brace_tasks.line_tasks(brace_tasks.JAVASCRIPT, "f.js", broken) == []
    assert brace_tasks.body_tasks(brace_tasks.JAVASCRIPT, "f.js", broken) == []


def test_typescript_reads_types():
    text = "export function f(a: number): number {\n  const b: number = a + 1;\n  return b;\n}\n"
    assert brace_tasks.TYPESCRIPT.syntax_errors(text) == 0
    assert brace_tasks.JAVASCRIPT.syntax_errors(text) > 0
    assert [t.expected for t in brace_tasks.line_tasks(brace_tasks.TYPESCRIPT, "f.ts", text)] == [
        "const b: number = a + 1;",
        "return b;",
    ]


def test_the_suites_are_named_per_language_and_known_to_eval():
    assert code_suites.SUITES[:4] == ("js-line", "js-body", "ts-line", "ts-body")
    assert {"go-line", "rust-body", "java-line", "c-body", "cpp-line"} <= set(code_suites.SUITES)
    assert set(code_suites.SUITES) <= set(SUITES)
    assert code_suites.language_of("cpp-body") is code_suites.CPP
    with pytest.raises(KeyError):
        code_suites.language_of("cobol-line")
    for language in code_suites.LANGUAGES:
        assert len(language.sources) >= 4, language.short
        for source in language.sources:
            assert len(source.sha256) == 64 and source.version, source.name


# -- archives ----------------------------------------------------------------------------------


def _tarball(files: dict[str, str], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _ar(members: dict[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


BIG_JS = "function f(a) {\n  const b = a + 1;\n  return b;\n}\n" * 100


def _pin(path, **fields):
    return sources.Source(sha256=hashlib.sha256(path.read_bytes()).hexdigest(), **fields)


def test_an_npm_tarball_is_read_under_its_package_name(tmp_path):
    archive = tmp_path / "demo-js-1.0.0.tgz"
    archive.write_bytes(
        _tarball(
            {
                "package/lib/big.js": BIG_JS,
                "package/lib/small.js": "x();\n",
                "package/lib/big.test.js": BIG_JS,
                "package/dist/big.js": BIG_JS,
                "package/lib/types.d.ts": BIG_JS,
            }
        )
    )
    source = _pin(archive, name="demo-js", version="1.0.0", kind="npm", include=("demo-js/lib/",))
    found = list(
        sources.source_files(
            [source], (".js", ".ts"), min_lines=300, max_lines=3000, folder=tmp_path
        )
    )
    assert [path for path, _ in found] == ["demo-js/lib/big.js"]
    scoped = sources.Source("@demo/core", "2.0.0", "0" * 64, kind="npm")
    assert sources.archive_name(scoped) == "demo-core-2.0.0.tgz"
    assert scoped.task_path("package/src/a.ts") == "@demo/core/src/a.ts"


def test_a_debian_package_is_read_with_its_inner_archive(tmp_path):
    inner = _tarball(
        {"src/demo/Big.java": "class A {}\n" * 400, "src/demo/Parser.java": "x\n" * 400}
    )
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:xz") as tarred:
        info = tarfile.TarInfo("./usr/src/demo/demo.tar.gz")
        info.size = len(inner)
        tarred.addfile(info, io.BytesIO(inner))
    deb = tmp_path / "demo-src_1:2.0-1_all.deb".replace(":", "%3a")
    deb.write_bytes(
        _ar(
            {
                "debian-binary": b"2.0\n",
                "control.tar.xz": lzma.compress(b""),
                "data.tar.xz": payload.getvalue(),
            }
        )
    )
    source = _pin(
        deb,
        name="demo-src",
        version="1:2.0-1",
        kind="deb",
        include=("demo-src/src/",),
        exclude=("/parser.java",),
        inner="usr/src/demo/demo.tar.gz",
    )
    assert sources.find_archive(tmp_path, source) == deb
    found = list(
        sources.source_files([source], (".java",), min_lines=300, max_lines=3000, folder=tmp_path)
    )
    assert [path for path, _ in found] == ["demo-src/src/demo/Big.java"]


def test_an_archive_that_does_not_verify_is_refused(tmp_path):
    (tmp_path / "demo-js-1.0.0.tgz").write_bytes(_tarball({"package/a.js": "x\n"}))
    source = sources.Source("demo-js", "1.0.0", "0" * 64, kind="npm")
    with pytest.raises(sources.SourceError, match="delete it and run"):
        sources.fetch(source, tmp_path)


@pytest.mark.parametrize(
    ("kind", "says"), [("npm", "install Node.js"), ("deb", "run it on Debian 12")]
)
def test_a_missing_package_tool_says_what_to_do(tmp_path, monkeypatch, kind, says):
    monkeypatch.setattr(sources.shutil, "which", lambda _tool: None)
    source = sources.Source("demo", "1.0", "0" * 64, kind=kind)
    with pytest.raises(sources.SourceError, match=f"{says}.*by hand"):
        sources.fetch(source, tmp_path)


def test_a_source_distribution_pip_cannot_fetch_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nothing"))
    source = sources.Source("codels-no-such-package", "0.0.1", "0" * 64, kind="sdist")
    with pytest.raises(sources.SourceError, match=r"codels-no-such-package-0\.0\.1\.tar\.gz"):
        sources.fetch(source, tmp_path)


def test_an_archive_fetched_just_now_that_does_not_verify_is_deleted(tmp_path, monkeypatch):
    def fetch_another_build(source, folder):
        (folder / "demo-js-1.0.0.tgz").write_bytes(_tarball({"package/a.js": "y\n"}))
        return subprocess.CompletedProcess(["npm"], 0, "demo-js-1.0.0.tgz\n", "")

    monkeypatch.setattr(sources, "_run_fetch", fetch_another_build)
    source = sources.Source("demo-js", "1.0.0", "0" * 64, kind="npm")
    with pytest.raises(sources.SourceError, match="it was deleted; run the evaluation again"):
        sources.fetch(source, tmp_path)
    assert not (tmp_path / "demo-js-1.0.0.tgz").exists()


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (
            "npm error code ETARGET\n"
            "npm error notarget No matching version found for demo@9.0.0.\n"
            "npm error notarget In most cases you or one of your dependencies are requesting\n"
            "npm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n",
            "notarget No matching version found for demo@9.0.0.",
        ),
        (
            "npm error code ENOTFOUND\nnpm error syscall getaddrinfo\nnpm error errno ENOTFOUND\n"
            "npm error network request to the registry failed, reason: getaddrinfo ENOTFOUND\n",
            "network request to the registry failed, reason: getaddrinfo ENOTFOUND",
        ),
        (
            "ERROR: Could not find a version that satisfies the requirement demo==9 (from "
            "versions: 1.0)\nERROR: No matching distribution found for demo==9\n",
            "ERROR: No matching distribution found for demo==9",
        ),
        (
            "W: Unable to read /etc/apt/apt.conf.d/\nE: Version '9-1' for 'demo' was not found\n",
            "E: Version '9-1' for 'demo' was not found",
        ),
        ("", "it saved nothing and gave no reason"),
    ],
)
def test_a_failed_fetch_names_the_tools_reason(output, reason):
    assert sources.failure_reason(output) == reason


# -- scoring -----------------------------------------------------------------------------------

FUNCTION = "function f(a) {\n  const b = a + 1;\n  return b;\n}\n"


def _task(expected: str, prefix: str, suffix: str) -> EvalTask:
    return EvalTask("f.js:2", prefix, suffix, expected, path="f.js", language_id="javascript")


def test_a_line_task_is_scored_by_the_first_line_of_the_completion():
    task = _task("const b = a + 1;", "function f(a) {\n  ", "\n  return b;\n}\n")
    evaluator = Evaluator.__new__(Evaluator)
    right = Attempt("const b = a + 1;\n  return b;", 1.0)
    wrong, broken = Attempt("const b = a;", 1.0), Attempt("const b = (", 1.0)
    for attempt in (right, wrong, broken):
        evaluator.score(task, attempt, "js-line")
    assert (right.passed, right.exact, right.similarity) == (True, True, 1.0)
    assert not wrong.passed and not wrong.syntax_error
    assert broken.syntax_error and not broken.passed


def test_a_body_task_passes_when_non_empty_and_syntax_clean():
    task = _task("const b = a + 1;\n  return b;", "function f(a) {\n  ", "\n}\n")
    evaluator = Evaluator.__new__(Evaluator)
    other = Attempt("return a + 1;", 1.0)
    empty, broken = Attempt("  ", 1.0), Attempt("return a +;\n}\n}", 1.0)
    for attempt in (other, empty, broken):
        evaluator.score(task, attempt, "js-body")
    assert other.passed and not other.exact and 0 < other.similarity < 1
    assert (empty.passed, empty.reason) == (False, "empty")
    assert (broken.passed, broken.reason) == (False, "adds a syntax error")


def test_the_document_has_the_tasks_language_and_the_baseline_stops_at_a_line_break(monkeypatch):
    from fake_engine import FakeEngine

    from codels.config import Settings
    from codels.engines.base import EngineOptions
    from codels.tools import evaluation

    opened = []
    real_document = evaluation.Document

    def document(uri, language_id, version, text):
        opened.append(language_id)
        return real_document(uri, language_id, version, text)

    monkeypatch.setattr(evaluation, "Document", document)
    engine = FakeEngine("const b = a + 1;\n  return b;\n}\n")
    engine.load(EngineOptions())
    task = _task("const b = a + 1;", "function f(a) {\n  ", "\n  return b;\n}\n")
    evaluator = Evaluator(engine, Settings())
    report = asyncio.run(evaluator.run_suite("js-line", [task], 1))
    assert opened == ["javascript"]
    result = report.results[0]
    assert result.baseline is not None and result.baseline.completion == "const b = a + 1;"
    assert result.baseline.passed


def test_the_table_says_how_the_brace_suites_are_scored():
    line = SuiteReport("go-line", 100, [TaskResult("a", Attempt("x", 1.0, passed=True))])
    body = SuiteReport("go-body", 10, [TaskResult("b", Attempt("", 1.0))])
    figures = [line.figures(), body.figures()]
    assert figures[0]["scored_by"] == "first_line_exact_match"
    assert figures[1]["scored_by"] == "non_empty_and_syntax_clean"
    table = format_table(figures)
    assert "go-line" in table and "go-body" in table
    assert "first line" in table and "no syntax error" in table
