"""Reading a brace language's tree, and making its Language: :func:`brace_language`.

What the cursor stands in (a string, a template literal, a comment), the functions, methods,
classes, structs, impls and interfaces around it with their doc comments and signatures, and
the imports (``import``, ``use``, ``#include``) at the top of the file, read from node-type
tables (:class:`~codels.languages.base.NodeTypes`) and a :class:`~codels.languages.braces.
BraceSyntax`. This module imports tree-sitter, :mod:`codels.languages` (base, braces, trees)
and :mod:`codels.positions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter

from codels.languages.base import FunctionSyntax, Language, NodeTypes, Scope, Snippet
from codels.languages.braces import BraceBlocks, BraceSyntax
from codels.languages.trees import node_before, text_between
from codels.positions import LineIndex

MAX_IMPORTS = 60
"""Most import statements collected as extra context."""
MAX_TOP_LEVEL_SCANNED = 400
"""Imports are looked for among this many top-level nodes from the top of the file."""
UNTERMINATED_LOOKBACK_LINES = 300
"""How far back a literal the parser could not close is looked for."""
MAX_LOOKBACK_CHARS = 100_000
"""Most characters before the cursor read for one."""
_DEFINITION_FIELDS = ("name", "declarator", "type")


@dataclass(frozen=True)
class BraceTrees:
    """A brace language's tree readers, from its node types and syntax."""

    nodes: NodeTypes
    syntax: BraceSyntax
    is_import: Callable[[tree_sitter.Node], bool] | None = None
    """Whether a top-level node not of an import type imports all the same (``require``)."""

    def inside_string_or_comment(
        self, tree: tree_sitter.Tree, lines: LineIndex, offset: int
    ) -> str | None:
        """Return ``"comment"`` or ``"string"`` when the cursor is inside one, else None.

        A literal's own node decides where the parser made one (code in a template literal's
        ``${...}`` is code); where it could not (a string or comment still being typed leaves
        an ERROR), the text from that ERROR's start to the cursor is read for it.
        """
        node = node_before(tree, lines, offset)
        cursor_byte = lines.byte_offset(offset)
        nodes = self.nodes
        while node is not None:
            if node.type in nodes.string_code:
                return None
            kind = (
                "comment"
                if node.type in nodes.comments
                else "string"
                if node.type in nodes.strings
                else None
            )
            if kind is not None:
                if cursor_byte < node.end_byte:
                    return kind
                # At its very end: inside only if it has not closed (a line comment never has).
                text = (node.text or b"").decode("utf-8", "replace")
                return kind if self.syntax.open_literal(text) is not None else None
            node = node.parent
        return self._open_literal_before(tree, lines, offset)

    def _open_literal_before(
        self, tree: tree_sitter.Tree, lines: LineIndex, offset: int
    ) -> str | None:
        """What literal the cursor stands in by the text, where the tree has errors before it.

        The text is read from the start of the top-level node around the line
        UNTERMINATED_LOOKBACK_LINES back (code, not the inside of a literal, begins there).
        """
        root = tree.root_node
        if not root.has_error:
            return None
        row, _ = lines.point_at(offset)
        first_row = max(0, row - UNTERMINATED_LOOKBACK_LINES)
        first_byte = lines.byte_offset(lines.starts[first_row])
        walker = root.walk()
        start = lines.starts[first_row]
        cursor_byte = lines.byte_offset(offset)
        if walker.goto_first_child_for_byte(first_byte) is not None:
            node: tree_sitter.Node | None = walker.node
            if node is not None and node.start_byte <= first_byte:
                start = min(start, lines.offset_of_point(*node.start_point))
            errors = False
            while node is not None and node.start_byte < cursor_byte:
                errors = errors or node.has_error
                node = node.next_sibling
            if not errors:
                return None
        start = max(start, offset - MAX_LOOKBACK_CHARS)
        return self.syntax.open_literal(lines.text[start:offset])

    def enclosing_scopes(
        self, tree: tree_sitter.Tree, lines: LineIndex, offset: int
    ) -> tuple[Scope, ...]:
        """Return the functions, classes, structs, impls... around the cursor, outermost first.

        Each with its doc comment and signature up to its opening brace.
        """
        cursor_byte = lines.byte_offset(offset)
        node: tree_sitter.Node | None = tree.root_node.descendant_for_byte_range(
            cursor_byte, cursor_byte
        )
        found: list[Scope] = []
        while node is not None:
            kind = self.nodes.scopes.get(node.type)
            if kind is not None and _encloses(node, cursor_byte):
                found.append(self._scope_of(node, kind, lines))
            node = node.parent
        return tuple(reversed(found))

    def _scope_of(self, node: tree_sitter.Node, kind: str, lines: LineIndex) -> Scope:
        outer = node
        while outer.parent is not None and outer.parent.type in self.nodes.wrappers:
            outer = outer.parent
        first = outer
        sibling = outer.prev_named_sibling
        while (
            sibling is not None
            and (sibling.type in self.nodes.comments or sibling.type in self.nodes.decorations)
            and sibling.end_point.row + 1 >= first.start_point.row
        ):
            first = sibling
            sibling = sibling.prev_named_sibling
        header = text_between(lines, first.start_point, self._header_end(node, lines))
        indent_line = lines.line_text(first.start_point.row)
        return Scope(
            kind=kind,
            name=definition_name(node),
            header=Snippet(header.start, header.text.rstrip()),
            indent=indent_line[: len(indent_line) - len(indent_line.lstrip(" \t"))],
        )

    def _header_end(self, node: tree_sitter.Node, lines: LineIndex) -> tree_sitter.Point:
        """Where a definition's header ends.

        After its body's opening brace, or at its first line's end where it has no braced body.
        """
        body = node.child_by_field_name("body")
        if body is not None and body.text and body.text.startswith(b"{"):
            return tree_sitter.Point(body.start_point.row, body.start_point.column + 1)
        if body is not None:
            return body.start_point
        text = (node.text or b"").decode("utf-8", "replace")
        for what, start, _ in self.syntax.tokens(text):
            if what == "open" and text[start] == "{":
                row = node.start_point.row + text.count("\n", 0, start)
                line_start = text.rfind("\n", 0, start) + 1
                column = len(text[line_start : start + 1].encode("utf-8"))
                if row == node.start_point.row:
                    column += node.start_point.column
                return tree_sitter.Point(row, column)
        row = node.start_point.row
        return tree_sitter.Point(row, len(lines.line_text(row).encode("utf-8", "surrogatepass")))

    def module_imports(self, tree: tree_sitter.Tree, lines: LineIndex) -> tuple[Snippet, ...]:
        """Return the imports near the top of the file, in order.

        Those inside an include guard or an ``extern "C"`` block too.
        """
        found: list[Snippet] = []
        pending = list(tree.root_node.children[:MAX_TOP_LEVEL_SCANNED])
        scanned = 0
        while pending and len(found) < MAX_IMPORTS and scanned < MAX_TOP_LEVEL_SCANNED:
            child = pending.pop(0)
            scanned += 1
            if child.type in self.nodes.import_containers:
                pending[:0] = child.named_children
                continue
            if child.has_error:
                continue
            if child.type in self.nodes.imports or (
                self.is_import is not None and self.is_import(child)
            ):
                snippet = text_between(lines, child.start_point, child.end_point)
                found.append(Snippet(snippet.start, snippet.text.rstrip()))  # (#include's \n)
        return tuple(found)


def _encloses(node: tree_sitter.Node, cursor_byte: int) -> bool:
    """Whether the cursor is inside ``node``.

    Past its start, before its end (or its end is still missing, at the end of the file).
    """
    return node.start_byte < cursor_byte and (cursor_byte < node.end_byte or node.has_error)


def definition_name(node: tree_sitter.Node) -> str:
    """A definition's name: its ``name`` field, else the name its declarator or type gives."""
    current: tree_sitter.Node | None = node
    for _ in range(6):
        if current is None:
            break
        for field in _DEFINITION_FIELDS:
            child = current.child_by_field_name(field)
            if child is not None:
                if field == "name" or child.child_count == 0:
                    return (child.text or b"").decode("utf-8", "replace")
                current = child
                break
        else:
            break
    parent = node.parent
    if parent is not None and (name := parent.child_by_field_name("name")) is not None:
        return (name.text or b"").decode("utf-8", "replace")  # const f = () => ...
    return ""


def brace_language(
    *,
    name: str,
    language_ids: tuple[str, ...],
    suffixes: tuple[str, ...],
    grammar: Callable[[], object],
    nodes: NodeTypes,
    syntax: BraceSyntax,
    closing_chars: str = ")]}'\";,",
    is_import: Callable[[tree_sitter.Node], bool] | None = None,
    functions: FunctionSyntax | None = None,
) -> Language:
    """The :class:`~codels.languages.base.Language` of a brace language."""
    trees = BraceTrees(nodes, syntax, is_import)
    return Language(
        name=name,
        language_ids=language_ids,
        suffixes=suffixes,
        grammar=grammar,
        nodes=nodes,
        line_comment="//",
        closing_chars=frozenset(closing_chars),
        blocks=BraceBlocks(syntax),
        block_opener_words=syntax.opener_words,
        inside_string_or_comment=trees.inside_string_or_comment,
        enclosing_scopes=trees.enclosing_scopes,
        module_imports=trees.module_imports,
        functions=functions,
        comment_starts=("//", "/*", "* ", "*/", "*"),
    )
