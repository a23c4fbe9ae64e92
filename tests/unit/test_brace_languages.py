"""Golden cases of the brace languages: a cursor marker, the kind, the block end, the judge.

Each case is a source with a cursor marker (█) in a file of that language and, for cleaning,
the model's raw answer as prompt.py's prompt gets it (the last whitespace character before
the cursor left out, so the answer starts with it).
"""

import pytest
from cursor import context_in

from codels.languages.registry import LANGUAGES, syntax_language
from codels.pipeline.context import CompletionKind
from codels.pipeline.postprocess import clean_completion, stop_rule

BLOCK, LINE, NONE = CompletionKind.BLOCK, CompletionKind.LINE, CompletionKind.NONE


def clean(language_id: str, source: str, raw: str, *, truncated: bool = False) -> str:
    context = context_in(language_id, source)
    line_prefix = context.line_prefix
    healed = line_prefix[-1] if line_prefix[-1:] in (" ", "\t") else ""
    stop = ("<|endoftext|>", "<|file_sep|>")
    return clean_completion(raw, context, healed=healed, stop=stop, truncated=truncated).text


@pytest.mark.parametrize(
    ("language_id", "uri", "name"),
    [
        ("javascript", "file:///a/app.js", "javascript"),
        ("javascriptreact", "file:///a/App.jsx", "javascript"),
        ("typescript", "file:///a/app.ts", "typescript"),
        ("typescriptreact", "file:///a/App.tsx", "tsx"),
        ("go", "file:///a/main.go", "go"),
        ("plaintext", "file:///a/App.tsx", "tsx"),
        ("plaintext", "file:///a/lib.mjs", "javascript"),
        ("", "file:///a/main.go", "go"),
        ("rust", "file:///a/lib.rs", "rust"),
        ("plaintext", "file:///a/lib.rs", "rust"),
        ("java", "file:///a/A.java", "java"),
        ("c", "file:///a/point.c", "c"),
        ("plaintext", "file:///a/point.h", "c"),
        ("cpp", "file:///a/point.h", "cpp"),  # the editor says C++
        ("plaintext", "file:///a/point.cc", "cpp"),
        ("", "file:///a/point.hpp", "cpp"),
    ],
)
def test_a_document_reads_in_the_language_its_id_or_file_name_says(language_id, uri, name):
    language = syntax_language(language_id, uri)
    assert language is not None and language.name == name


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.name)
def test_every_node_type_a_language_names_is_in_its_grammar(language):
    grammar = language.tree_sitter_language
    known = {grammar.node_kind_for_id(i) for i in range(grammar.node_kind_count)}
    nodes = language.nodes
    named = (
        nodes.strings
        | nodes.comments
        | nodes.string_code
        | set(nodes.scopes)
        | nodes.imports
        | nodes.wrappers
        | nodes.decorations
        | nodes.import_containers
        | nodes.standalone_parts
    )
    assert named - known == set()


# -- what kind of completion fits ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "source", "kind"),
    [
        ("javascript", "function f(x) {\n  █\n}\n", BLOCK),  # an empty body
        ("javascript", "function f(x) {█\n}\n", BLOCK),  # after an opening brace
        ("javascript", "/** Add two numbers. */\n█\n", BLOCK),  # under a doc comment
        ("javascript", "const x = █", LINE),
        ("javascript", "foo(█);", LINE),  # the editor closed the call
        ("javascript", "const s = `a ${x█}`;", LINE),  # code in a template literal
        ("javascript", "foo(█, b);", NONE),  # text right of the cursor
        ("javascript", 'const s = "ab█c";', NONE),
        ("javascript", 'const s = "abc█', NONE),  # a string still being typed
        ("javascript", "const s = `ab█c`;", NONE),  # a template literal
        ("javascript", "const s = `ab\nc█", NONE),  # one still being typed, over lines
        ("javascript", "// a comm█ent", NONE),
        ("javascript", "const x = 1; // note█", NONE),
        ("javascript", "/** Adds.\n * More█\n", NONE),  # a doc comment still being typed
        ("javascript", "/* done */█", LINE),
        ("javascript", 'const s = "abc"█', LINE),
        ("typescript", "let xs: Array<█>;", LINE),
        ("typescript", "function f(x: number█): number {}", NONE),
        ("typescriptreact", "const A = () => <div>{█}</div>;", NONE),
        ("go", "func f() {\n\t█\n}\n", BLOCK),
        ("go", "func f() {█\n}\n", BLOCK),
        ("go", "func f() {\n\tx := f(█)\n}\n", LINE),
        ("go", 'x := "ab█c"', NONE),
        ("go", "x := `raw\n█", NONE),  # a raw string over lines
        ("go", "x := 'a█'", NONE),  # a rune
        ("go", "// Sum adds█\n", NONE),
        ("rust", "fn f() {\n    █\n}\n", BLOCK),
        ("rust", "impl P {█\n}\n", BLOCK),
        ("rust", 'let s = "ab█c";', NONE),
        ("rust", 'let s = r#"a "quoted"█ b"#;', NONE),  # a raw string
        ("rust", "let c = 'a█';", NONE),
        ("rust", "fn f<'a>(x: &'a █)", LINE),  # a lifetime is no character literal
        ("rust", "/// Doubles█\nfn f() {}", NONE),  # a doc comment
        ("rust", "let v = vec![1, █];", LINE),
        ("rust", "let v: Vec<█>;", LINE),
        ("java", "class A {\n  void f() {\n    █\n  }\n}\n", BLOCK),
        ("java", 'String s = """\n    ab█\n    """;', NONE),  # a text block
        ("java", 'String s = """\n    ab█', NONE),  # one still being typed
        ("java", "char c = 'a█';", NONE),
        ("java", "/**\n * Returns it.\n * @param x█\n", NONE),
        ("java", "List<String> xs = new ArrayList<█>;", LINE),
        ("c", "int f(void) {\n    █\n}\n", BLOCK),
        ("c", 'const char *s = "ab█";', NONE),
        ("c", "char c = 'a█';", NONE),
        ("c", "#include <std█io.h>\n", NONE),
        ("c", "int x = 1; /* note█ */", NONE),
        ("c", 'printf("%d\\n", █);', LINE),
        ("cpp", 'auto s = R"(ab█)";', NONE),  # a raw string
        ("cpp", 'auto s = R"x(a)"b█)x";', NONE),  # its quote is no end
        ("cpp", "std::vector<█>", LINE),
        ("cpp", "int n = 1'000'000;\nint f() {\n  █\n}\n", BLOCK),  # digit separators
    ],
)
def test_completion_kind(language_id, source, kind):
    assert context_in(language_id, source).kind is kind


def test_strings_and_comments_can_be_allowed_in_brace_languages():
    assert context_in("go", 'x := "ab█"', complete_in_strings=True).kind is LINE
    assert context_in("typescript", "// note█", complete_in_comments=True).kind is LINE


# -- where a block ends --------------------------------------------------------------------------

JS_BODY = "function double(x) {\n  █\n}\n"
GO_BODY = "package main\n\nfunc double(x int) int {\n\t█\n}\n"


@pytest.mark.parametrize(
    ("language_id", "source", "raw", "expected"),
    [
        # the closing brace after the cursor is the body's: the completion ends before it
        (
            "javascript",
            JS_BODY,
            " const y = x * 2;\n  return y;\n}\n\nfunction g() {\n",
            "const y = x * 2;\n  return y;",
        ),
        ("go", GO_BODY, "\ty := x * 2\n\treturn y\n}\n\nfunc g() {\n", "y := x * 2\n\treturn y"),
        # nothing closes the body yet: the completion closes it and ends there
        (
            "javascript",
            "function double(x) {\n  █",
            " return x * 2;\n}\n\nfunction g() {\n",
            "return x * 2;\n}",
        ),
        (
            "go",
            "func double(x int) int {\n\t█",
            "\treturn x * 2\n}\n\nfunc g() {\n",
            "return x * 2\n}",
        ),
        # after an opening brace: the body, not the closing brace that follows
        ("javascript", "function f(x) {█\n}\n", "\n  return x;\n}\n", "\n  return x;"),
        # its own blocks are whole, clauses included
        (
            "javascript",
            JS_BODY,
            " if (x) {\n    return 1;\n  } else {\n    return 2;\n  }\n}\n",
            "if (x) {\n    return 1;\n  } else {\n    return 2;\n  }",
        ),
        # a closing brace on the line of a statement: cut before it
        ("javascript", JS_BODY, " return x * 2; }\n", "return x * 2;"),
        # a gap between statements of code that parses takes one statement
        (
            "javascript",
            "function f(a) {\n  let b = a;\n  █\n  return b;\n}\n",
            " b += 1;\n  b += 2;\n  return b;\n",
            "b += 1;",
        ),
        (
            "typescript",
            "function f(a: number) {\n  let b = a;\n  █\n  return b;\n}\n",
            " if (b > 1) {\n    b = 1;\n  }\n  b += 2;\n",
            "if (b > 1) {\n    b = 1;\n  }",
        ),
        (
            "javascript",
            "function f(a) {\n  let b = a;\n  █\n  return b;\n}\n",
            " b = g(b)\n    .then(h);\n  b += 2;\n",
            "b = g(b)\n    .then(h);",
        ),
        # ...comments are no continuation, before or after the gap
        (
            "typescript",
            "function f(a: number) {\n  let b = a;\n  █\n\n  // then return it\n  return b;\n}\n",
            " if (b) {\n    b = 1;\n  }\n\n  // more\n  b++;\n",
            "if (b) {\n    b = 1;\n  }",
        ),
        # a declaration keyword at column 0 ends the block
        (
            "typescript",
            "// add two numbers\n█\n",
            "\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n\n"
            "export function sub() {\n",
            "export function add(a: number, b: number): number {\n  return a + b;\n}",
        ),
        (
            "go",
            "package main\n\n// Add adds.\n█\n",
            "\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\nfunc Sub() {\n",
            "func Add(a, b int) int {\n\treturn a + b\n}",
        ),
        # an interface's members end before its closing brace
        (
            "typescript",
            "interface User {\n  █\n}\n",
            " name: string;\n  age: number;\n}\n\nexport const x = 1;\n",
            "name: string;\n  age: number;",
        ),
        # Go: a case label may stand left of the body it is in; the switch's brace ends it
        (
            "go",
            "func f(x int) int {\n\tswitch x {\n\tcase 1:\n\t\t█\n\t}\n\treturn 0\n}\n",
            "\treturn 1\n\tcase 2:\n\t\treturn 2\n\t}\n\treturn 0\n",
            "return 1\n\tcase 2:\n\t\treturn 2",
        ),
        # a line that repeats the code after the cursor is cut, with the rest
        (
            "go",
            "func f(x int) int {\n\t█\n\treturn y\n}\n",
            "\ty := x + 1\n\treturn y\n}\n",
            "y := x + 1",
        ),
        # a line written left of the block leaves it
        (
            "javascript",
            "class A {\n  m() {\n    █\n  }\n}\n",
            " this.x = 1;\nconst y = 2;\n",
            "this.x = 1;",
        ),
        # Rust: the tail expression, match arms, an item under its doc comment
        (
            "rust",
            "fn len<'a>(x: &'a str) -> usize {\n    █\n}\n",
            " let n = x.len();\n    n\n}\n\nfn g() {\n",
            "let n = x.len();\n    n",
        ),
        (
            "rust",
            "fn f(x: u32) -> u32 {\n    match x {\n        0 => 1,\n        █\n    }\n}\n",
            " 1 => 2,\n        _ => 3,\n    }\n}\n",
            "1 => 2,\n        _ => 3,",
        ),
        (
            "rust",
            "/// Doubles.\n█\n",
            "\npub fn double(x: i32) -> i32 {\n    x * 2\n}\n\n#[test]\nfn t() {}\n",
            "pub fn double(x: i32) -> i32 {\n    x * 2\n}",
        ),
        # in an impl (a class) body: one method
        (
            "rust",
            "impl P {\n    fn a(&self) -> i32 {\n        1\n    }\n    █\n}\n",
            " fn b(&self) -> i32 {\n        2\n    }\n\n    fn c(&self) {}\n}\n",
            "fn b(&self) -> i32 {\n        2\n    }",
        ),
        (
            "typescript",
            "class A {\n  x = 1;\n  █\n}\n",
            " y = 2;\n  m(): number {\n    return 1;\n  }\n  n() {}\n}\n",
            "y = 2;\n  m(): number {\n    return 1;\n  }",
        ),
        # Java: a method body, one method in a class, a class under its Javadoc, a case
        (
            "java",
            "public class A {\n    public int f(int x) {\n        █\n    }\n}\n",
            " int y = x * 2;\n        return y;\n    }\n\n    public int g() {\n",
            "int y = x * 2;\n        return y;",
        ),
        (
            "java",
            "public class A {\n    private int x;\n\n    █\n}\n",
            " public int getX() {\n        return x;\n    }\n\n    public void setX(int x) {\n",
            "public int getX() {\n        return x;\n    }",
        ),
        (
            "java",
            "/** A thing. */\n█\n",
            "\npublic class Thing {\n    int x;\n}\n\npublic class Other {\n",
            "public class Thing {\n    int x;\n}",
        ),
        (
            "java",
            "class A {\n  void f(int x) {\n    switch (x) {\n      case 1:\n        █\n"
            "    }\n  }\n}\n",
            " a();\n        break;\n      case 2:\n        b();\n    }\n  }\n}\n",
            "a();\n        break;\n      case 2:\n        b();",
        ),
        # C: a body, a function at the end of a file, preprocessor lines and labels in a body
        (
            "c",
            "int twice(int x) {\n    █\n}\n",
            " int y = x * 2;\n    return y;\n}\n\nstatic int g(void) {\n",
            "int y = x * 2;\n    return y;",
        ),
        (
            "c",
            "int twice(int x) {\n    █",
            " return x * 2;\n}\n\nint main(void) {\n",
            "return x * 2;\n}",
        ),
        (
            "c",
            "int f(int x) {\n    █\n}\n",
            " x += 1;\n#ifdef DEBUG\n    log(x);\n#endif\n    if (x) {\n        goto out;\n    }\n"
            "out:\n    return x;\n}\n",
            "x += 1;\n#ifdef DEBUG\n    log(x);\n#endif\n    if (x) {\n        goto out;\n    }\n"
            "out:\n    return x;",
        ),
        # ...a dereference is a statement of its own, not a continued product
        (
            "c",
            "int f(int *p) {\n    int y = 0;\n    █\n    return y;\n}\n",
            " *p = 1;\n    *p += 2;\n",
            "*p = 1;",
        ),
        # C++: a method in a namespace, one method in a class, a lambda's body
        (
            "cpp",
            "namespace geo {\n\nclass Point {\n public:\n  int x() const {\n    █\n  }\n};\n\n}\n",
            " return x_;\n  }\n\n  int y() const {\n",
            "return x_;",
        ),
        (
            "cpp",
            "class Point {\n public:\n  int x() const { return x_; }\n  █\n};\n",
            " int y() const {\n    return y_;\n  }\n\n private:\n  int x_;\n};\n",
            "int y() const {\n    return y_;\n  }",
        ),
        ("cpp", "auto f = [](int x) {\n  █\n};\n", " return x * 2;\n};\n", "return x * 2;"),
        # what adds a syntax error is cut back, or dropped
        ("javascript", JS_BODY, " const y = x *;\n", ""),
        ("go", GO_BODY, "\ty := x\n\treturn (y\n", "y := x"),
    ],
)
def test_block_completions_end_where_their_brackets_balance(language_id, source, raw, expected):
    assert clean(language_id, source, raw) == expected


def test_a_block_cut_short_by_the_token_limit_keeps_what_parses():
    raw = " const y = x * 2;\n  if (y) {\n    return"
    assert clean("javascript", JS_BODY, raw, truncated=True) == "const y = x * 2;"


def test_generation_stops_as_soon_as_the_block_has_ended():
    rule = stop_rule(context_in("javascript", JS_BODY), " ")
    assert not rule(" const y = x;\n  if (y) {\n    return 1;\n  }\n")
    assert rule(" const y = x;\n}")  # the body's own closing brace is after the cursor
    rule = stop_rule(context_in("go", "package main\n\n// Add adds.\n█\n"), "")
    assert not rule("\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\nfun")  # it may be a func
    assert rule("\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\nfunc Sub")


# -- brackets, quotes and semicolons right of the cursor -----------------------------------------


@pytest.mark.parametrize(
    ("language_id", "source", "raw", "expected"),
    [
        ("python", "r = f(a, key=█)\n", "1)", "1"),
        ("python", "x = [f(a, key=█)\n", "1)", "1"),  # the line is broken already
        ("python", "if f(a, key=█):\n", "1):", "1"),
        ("python", "print(f(a, key=█))\n", "1))", "1"),
        ("python", "print(█)\n", "g(x))", "g(x)"),  # its own brackets stay
        ("python", "print(█)\n", "g(x)", "g(x)"),
        ("javascript", "const x = f(a, █);\n", "b);", "b"),
        ("javascript", "foo(a, {key: █});\n", "1});", "1"),
        ("javascript", "const x = █;\n", "1;", "1"),  # no second semicolon
        ("typescript", "const x = [f(a, █)\n", "b)", "b"),
        ("go", "x := f(a, █)\n", "b)", "b"),
        ("go", "x := f(a, █)\n", "g(b))", "g(b)"),
        ("rust", "let v = vec![1, █];\n", "2];", "2"),
        ("java", "int n = Math.max(a, █);\n", "b);", "b"),
        ("c", "int n = max(a, █);\n", "b);", "b"),
        ("rust", 'let s = format!("{}", █);\n', "x);", "x"),
    ],
)
def test_a_completion_never_repeats_what_is_right_of_the_cursor(language_id, source, raw, expected):
    assert clean(language_id, source, raw) == expected


def test_a_quote_right_of_the_cursor_is_not_repeated_inside_a_string():
    context = context_in("go", 'x := f("█")\n', complete_in_strings=True)
    assert clean_completion('abc")', context, healed="").text == "abc"
    context = context_in("javascript", "f(█);\n")
    assert clean_completion('"abc");', context, healed="").text == '"abc"'


# -- the judge -----------------------------------------------------------------------------------


def test_the_judge_reads_the_language_s_grammar():
    judge = context_in("go", GO_BODY).judge
    assert judge is not None and judge.parses
    assert not judge.adds_errors("return x * 2")
    assert judge.adds_errors("return x *")
    assert judge.adds_errors("if x {")  # a block left open
    judge = context_in("typescript", "function f(x: number) {\n  █\n}\n").judge
    assert judge is not None
    assert not judge.adds_errors("const y: number = x;")
    assert judge.adds_errors("const y: = x;")


def test_in_a_long_declaration_the_judge_parses_the_statements_around_the_cursor():
    # A window cut off at its line bounds would have errors of its own.
    methods = "".join(f"  m{i}() {{\n    return {i};\n  }}\n" for i in range(200))
    source = (
        f"class A {{\n{methods}  n(x) {{\n    x += 1;\n    █\n    return x;\n  }}\n{methods}}}\n"
    )
    context = context_in("javascript", source)
    judge = context.judge
    assert judge is not None and judge.parses and context.code_parses
    assert judge.before == "x += 1;\n    " and judge.after == "\n    return x;"
    assert not judge.adds_errors("x *= 2;")
    assert judge.adds_errors("x *= (2;")
    assert judge.adds_errors("x *= 2;\n  }")  # it would close the method
    lines = "".join(f"\tx{i} := {i}\n" for i in range(400))
    judge = context_in("go", f"package a\n\nfunc f() {{\n{lines}\t█\n{lines}}}\n").judge
    assert judge is not None and judge.parses
    assert judge.before == "x399 := 399\n\t" and judge.after == "\n\tx0 := 0"
    assert judge.adds_errors("if x0 {")


def test_a_header_written_again_over_its_body_is_judged_on_the_whole_file():
    # The line "if ok {" was deleted and is written again: the body and its "}" are still
    # there, beyond the window of statements around the cursor, which alone would see the new
    # "{" left open.
    lines = "".join(f"\tx{i} := {i}\n" for i in range(400))
    source = f"package a\n\nfunc f(ok bool) {{\n{lines}\t█\n\t\tx0 = 1\n\t}}\n{lines}}}\n"
    judge = context_in("go", source).judge
    assert judge is not None and judge.wider is not None
    assert judge.errors_with("if ok {") > judge.baseline_errors  # what the window alone says
    assert not judge.adds_errors("if ok {")
    assert judge.adds_errors("if ok {\n\t\tif x1 {")  # one "{" more than the file closes
    assert judge.adds_errors("if ok (")  # the file closes no "("
    ts_lines = "".join(f"    const y{i} = {i};\n" for i in range(200))
    source = (
        "function f(ok: boolean) {\n  for (const k of []) {\n"
        f"{ts_lines}    █\n      g(k);\n    }}\n{ts_lines}  }}\n}}\n"
    )
    assert clean("typescript", source, " if (ok) {\n      g(k);\n") == "if (ok) {"


# -- context -------------------------------------------------------------------------------------

TS_SOURCE = """import fs from "fs";
const path = require("path");

/**
 * Keeps things.
 */
export class Store {
  // read them
  async load(p: string): Promise<string[]> {
    const lines = [];
    █
  }
}
"""


def test_typescript_scopes_carry_their_doc_comments_and_signatures():
    context = context_in("typescript", TS_SOURCE)
    assert [(scope.kind, scope.name) for scope in context.scopes] == [
        ("class", "Store"),
        ("function", "load"),
    ]
    assert context.scopes[0].header.text == "/**\n * Keeps things.\n */\nexport class Store {"
    method = context.scopes[1]
    assert method.header.text == "// read them\n  async load(p: string): Promise<string[]> {"
    assert method.indent == "  "
    assert [s.text for s in context.imports] == [
        'import fs from "fs";',
        'const path = require("path");',
    ]


def test_an_arrow_function_is_named_by_its_variable():
    context = context_in("javascript", "export const add = (a, b) => {\n  █\n};\n")
    assert [(s.kind, s.name) for s in context.scopes] == [("function", "add")]
    assert context.scopes[0].header.text == "export const add = (a, b) => {"


GO_SOURCE = """package shapes

import (
\t"fmt"
\t"math"
)

// Circle is round.
type Circle struct {
\tR float64
}

// Area returns the area.
// It never fails.
func (c *Circle) Area() float64 {
\tfor i := 0; i < 3; i++ {
\t\t█
\t}
}
"""


def test_go_scopes_imports_and_doc_comments():
    context = context_in("go", GO_SOURCE)
    assert [(s.kind, s.name) for s in context.scopes] == [("function", "Area")]
    assert context.scopes[0].header.text == (
        "// Area returns the area.\n// It never fails.\nfunc (c *Circle) Area() float64 {"
    )
    assert [s.text for s in context.imports] == [
        "package shapes",
        'import (\n\t"fmt"\n\t"math"\n)',
    ]
    struct = context_in("go", GO_SOURCE.replace("\tR float64\n", "\tR float64\n\t█\n", 1))
    assert [(s.kind, s.name) for s in struct.scopes] == [("class", "")]
    assert struct.scopes[0].header.text == "// Circle is round.\ntype Circle struct {"


def test_the_comment_above_reads_doc_comments():
    context = context_in("javascript", "/**\n * Add two numbers.\n */\n█\n")
    assert context.comment_above == "/**\n* Add two numbers.\n*/"
    context = context_in("go", "func f() {\n\t// sum the squares\n\t█\n}\n")
    assert context.comment_above == "// sum the squares"


RUST_SOURCE = """use std::fmt::{self, Display};
use std::io;

/// A point.
#[derive(Debug)]
pub struct Point<T> {
    x: T,
}

impl<T: Display> Display for Point<T> {
    /// Formats it.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        █
    }
}
"""


def test_rust_scopes_carry_doc_comments_and_attributes_and_imports_are_uses():
    context = context_in("rust", RUST_SOURCE)
    assert [(s.kind, s.name) for s in context.scopes] == [("class", "Point"), ("function", "fmt")]
    assert context.scopes[0].header.text == "impl<T: Display> Display for Point<T> {"
    assert context.scopes[1].header.text == (
        "/// Formats it.\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {"
    )
    assert [s.text for s in context.imports] == ["use std::fmt::{self, Display};", "use std::io;"]
    struct = context_in("rust", RUST_SOURCE.replace("    x: T,\n", "    x: T,\n    █\n", 1))
    assert [(s.kind, s.name) for s in struct.scopes] == [("class", "Point")]
    assert struct.scopes[0].header.text == "/// A point.\n#[derive(Debug)]\npub struct Point<T> {"


JAVA_SOURCE = """package a.b;

import java.util.List;
import java.util.Map;

/**
 * Keeps things.
 */
@Deprecated
public class Store {
    /** Loads them. */
    @Override
    public List<String> load(String p) throws IOException {
        █
    }
}
"""


def test_java_scopes_carry_javadoc_and_annotations_and_imports_the_package():
    context = context_in("java", JAVA_SOURCE)
    assert [(s.kind, s.name) for s in context.scopes] == [("class", "Store"), ("function", "load")]
    assert context.scopes[0].header.text == (
        "/**\n * Keeps things.\n */\n@Deprecated\npublic class Store {"
    )
    assert context.scopes[1].header.text == (
        "/** Loads them. */\n    @Override\n"
        "    public List<String> load(String p) throws IOException {"
    )
    assert [s.text for s in context.imports] == [
        "package a.b;",
        "import java.util.List;",
        "import java.util.Map;",
    ]


def test_in_a_long_java_class_the_judge_parses_the_members_around_the_cursor():
    methods = "".join(f"    int m{i}() {{\n        return {i};\n    }}\n" for i in range(150))
    source = f"public class A {{\n{methods}\n    █\n{methods}}}\n"
    context = context_in("java", source)
    judge = context.judge
    assert judge is not None and judge.parses
    assert judge.before.startswith("int m149() {") and judge.after == "\n    int m0() {\n" + (
        "        return 0;\n    }"
    )
    assert not judge.adds_errors("int n() {\n        return 1;\n    }")
    assert judge.adds_errors("int n() {\n        return 1;")


C_HEADER = """#ifndef POINT_H
#define POINT_H

#include <stdio.h>
#include "util.h"

/** A point. */
typedef struct point {
    int x;
    █
} point;

// Adds them.
static int *add(int a, int b);

#endif
"""


def test_c_includes_count_inside_an_include_guard_and_structs_are_scopes():
    context = context_in("c", C_HEADER)
    assert [(s.kind, s.name) for s in context.scopes] == [("class", "point")]
    assert context.scopes[0].header.text == "/** A point. */\ntypedef struct point {"
    assert [s.text for s in context.imports] == ["#include <stdio.h>", '#include "util.h"']
    source = (
        "#include <stdio.h>\n\n// Adds.\n// Twice.\nstatic int *add(int a, int b) {\n    █\n}\n"
    )
    context = context_in("c", source)
    assert [(s.kind, s.name) for s in context.scopes] == [("function", "add")]
    assert context.scopes[0].header.text == "// Adds.\n// Twice.\nstatic int *add(int a, int b) {"


def test_in_a_long_include_guard_the_judge_parses_the_declarations_around_the_cursor():
    functions = "".join(f"int f{i}(void) {{\n    return {i};\n}}\n" for i in range(150))
    source = f"#ifndef A_H\n#define A_H\n{functions}\n█\n{functions}#endif\n"
    judge = context_in("c", source).judge
    assert judge is not None and judge.parses
    assert judge.before.startswith("int f149(void) {")
    assert not judge.adds_errors("int g(void) {\n    return 1;\n}")
    assert judge.adds_errors("int g(void) {\n    return 1;")


def test_cpp_scopes_see_namespaces_and_templates_and_imports_include_using():
    source = (
        '#include <vector>\n#include "a.h"\nusing std::vector;\n\nnamespace geo {\n'
        "/// Twice.\ntemplate <typename T>\nT twice(T x) {\n  █\n}\n}\n"
    )
    context = context_in("cpp", source)
    assert [(s.kind, s.name) for s in context.scopes] == [("class", "geo"), ("function", "twice")]
    assert context.scopes[1].header.text == "/// Twice.\ntemplate <typename T>\nT twice(T x) {"
    assert [s.text for s in context.imports] == [
        "#include <vector>",
        '#include "a.h"',
        "using std::vector;",
    ]
    context = context_in("cpp", 'extern "C" {\n#include <stdio.h>\n}\nvoid A::run() {\n  █\n}\n')
    assert [(s.kind, s.name) for s in context.scopes] == [("function", "run")]
    assert [s.text for s in context.imports] == ["#include <stdio.h>"]


# -- indentation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "text", "indent"),
    [
        ("go", "func f() {", "\t"),
        ("go", "\tif x {", "\t\t"),
        ("go", "\tswitch x {\n\tcase 1:", "\t\t"),
        ("go", "\treturn 1", "\t"),
        ("javascript", "function f() {\n  return 1;\n}\nfunction g() {", "  "),
        ("typescript", "class A {\n    x = 1;\n}\nclass B {", "    "),
        ("javascript", "  foo(a,", "  "),
        ("javascript", "  const x = [", "    "),
        ("rust", "impl P {\n    fn a() {}\n}\nfn f() {", "    "),
    ],
)
def test_the_line_enter_opens_is_indented_as_the_file_is(language_id, text, indent):
    language = syntax_language(language_id, "")
    assert language is not None
    assert language.blocks.next_line_indent(text, len(text)) == indent
