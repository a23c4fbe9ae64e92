"""The brace languages end to end: ``codels --stdio`` with the default model, one file each.

For JavaScript, TypeScript, Go, Rust, Java, C and C++ a real LSP client opens a small file with
an empty function body and asks for an inline completion there and in the middle of a line. The
answer must say something and must leave the file with no more syntax errors than it had, judged
by the language's own tree-sitter grammar, the way an editor that accepts it would leave it.
"""

from dataclasses import dataclass

import pytest
import pytest_lsp
from conftest import codels_command
from lsp_session import initialize, inline_items, open_document, position_of, wait_until_ready
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from codels.languages.syntax import count_syntax_errors, new_parser

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVER = ClientServerConfig(server_command=[codels_command(), "--stdio"])


@dataclass(frozen=True)
class Case:
    language_id: str
    grammar: str
    file_name: str
    body: str
    """A file with an empty function body (``█`` marks the cursor)."""
    mid_line: str
    """A file with the cursor in the middle of a statement."""


CASES = (
    Case(
        "javascript",
        "javascript",
        "cart.js",
        """// Shopping cart helpers.

/** Return the total price of the items, each {price, quantity}. */
function cartTotal(items) {
  █
}

module.exports = { cartTotal };
""",
        """function greet(name) {
  return "Hello, " + █;
}
""",
    ),
    Case(
        "typescript",
        "typescript",
        "cart.ts",
        """interface Item {
  price: number;
  quantity: number;
}

/** Return the total price of the items. */
export function cartTotal(items: Item[]): number {
  █
}
""",
        """export function greet(name: string): string {
  return `Hello, ${█}`;
}
""",
    ),
    Case(
        "go",
        "go",
        "cart.go",
        """package cart

// Item is a line of a shopping cart.
type Item struct {
	Price    float64
	Quantity int
}

// Total returns the total price of the items.
func Total(items []Item) float64 {
	█
}
""",
        """package greet

import "fmt"

// Greet returns a greeting for name.
func Greet(name string) string {
	return fmt.Sprintf(█)
}
""",
    ),
    Case(
        "rust",
        "rust",
        "cart.rs",
        """/// A line of a shopping cart.
pub struct Item {
    pub price: f64,
    pub quantity: u32,
}

/// Returns the total price of the items.
pub fn total(items: &[Item]) -> f64 {
    █
}
""",
        """/// Returns a greeting for `name`.
pub fn greet(name: &str) -> String {
    format!(█)
}
""",
    ),
    Case(
        "java",
        "java",
        "Cart.java",
        """import java.util.List;

public class Cart {
    record Item(double price, int quantity) {}

    /** Returns the total price of the items. */
    public static double total(List<Item> items) {
        █
    }
}
""",
        """public class Greeter {
    public static String greet(String name) {
        return "Hello, " + █;
    }
}
""",
    ),
    Case(
        "c",
        "c",
        "cart.c",
        """#include <stddef.h>

struct item {
    double price;
    int quantity;
};

/* Return the total price of the n items. */
double cart_total(const struct item *items, size_t n)
{
    █
}
""",
        """#include <stdio.h>

void greet(const char *name)
{
    printf(█);
}
""",
    ),
    Case(
        "cpp",
        "cpp",
        "cart.cpp",
        """#include <vector>

struct Item {
    double price;
    int quantity;
};

// Returns the total price of the items.
double cartTotal(const std::vector<Item>& items) {
    █
}
""",
        """#include <iostream>
#include <string>

void greet(const std::string& name) {
    std::cout << █;
}
""",
    ),
)


def errors_in(grammar: str, text: str) -> int:
    return count_syntax_errors(new_parser(grammar).parse(text.encode()).root_node)


def accept(text: str, position: types.Position, item: types.InlineCompletionItem) -> str:
    """The text after an editor accepts ``item`` (its range, else the cursor, is replaced)."""
    lines = text.split("\n")
    if item.range is not None:
        start, end = item.range.start, item.range.end
    else:
        start = end = position
    before = "\n".join([*lines[: start.line], lines[start.line][: start.character]])
    after = "\n".join([lines[end.line][end.character :], *lines[end.line + 1 :]])
    insert = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
    return before + insert + after


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize("case", CASES, ids=[case.language_id for case in CASES])
async def test_an_empty_body_is_completed_and_still_parses(client: LanguageClient, case: Case):
    text, position = position_of(case.body, "█")
    uri = f"file:///work/langs/{case.file_name}"
    open_document(client, uri, text, language=case.language_id)
    items = await wait_until_ready(client, uri, position)
    assert not [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(items) == 1, f"no inline completion in an empty {case.language_id} body"
    completed = accept(text, position, items[0])
    assert items[0].insert_text.strip(), "an empty suggestion was sent"
    assert errors_in(case.grammar, completed) <= errors_in(case.grammar, text), completed
    print(f"{case.language_id} body: {items[0].insert_text!r}")


@pytest.mark.parametrize("case", CASES, ids=[case.language_id for case in CASES])
async def test_mid_line_answers_do_not_break_the_file(client: LanguageClient, case: Case):
    text, position = position_of(case.mid_line, "█")
    uri = f"file:///work/langs/mid-{case.file_name}"
    open_document(client, uri, text, language=case.language_id)
    items = await inline_items(client, uri, position)
    # A mid-line answer may be none (nothing that keeps the file parsing); one that is sent
    # must keep the closing brackets already there and leave no new syntax error.
    for item in items:
        completed = accept(text, position, item)
        assert errors_in(case.grammar, completed) <= errors_in(case.grammar, text), completed
        print(f"{case.language_id} mid-line: {item.insert_text!r}")
