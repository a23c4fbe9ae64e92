"""Python's own parser as the syntax judge's extra validator.

tree-sitter accepts code that Python refuses, such as a line indented deeper than its block
("unexpected indent"); :func:`python_error_line` asks :mod:`ast`. This module imports the
standard library only.
"""

from __future__ import annotations

import ast
import threading

PYTHON_PARSER_LOCK = threading.Lock()
"""Held around every use of Python's own parser (:mod:`ast`): in Python 3.11 two threads
parsing at once can fail with "AST constructor recursion depth mismatch"."""


def python_error_line(source: str) -> int | None:
    """The line (1-based) of the first error Python's parser finds in ``source``, or None."""
    try:
        with PYTHON_PARSER_LOCK:
            ast.parse(source)
    except SyntaxError as exc:  # IndentationError is one too
        return exc.lineno or 1
    except (ValueError, RecursionError, MemoryError, SystemError):  # a NUL, absurd nesting
        return None
    return None
