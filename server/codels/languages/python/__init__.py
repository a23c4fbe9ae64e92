"""Python: every rule codels knows about Python code lives in this package.

:data:`PYTHON` is the :class:`~codels.languages.base.Language` the pipeline asks; its parts are
the grammar and node types (:mod:`.grammar`), strings and comments (:mod:`.strings`), scopes
and imports (:mod:`.scopes`), the indentation block model (:mod:`.blocks`) with the keywords
a header begins with (:mod:`.keywords`), Python's own parser as the extra validator
(:mod:`.validator`) and where a module's tests live (:mod:`.testfiles`). Imports
:mod:`codels.languages` only.
"""

from __future__ import annotations

from codels.languages.base import Language
from codels.languages.python.blocks import IndentationBlocks
from codels.languages.python.grammar import NODES, grammar
from codels.languages.python.keywords import BLOCK_OPENER_WORDS
from codels.languages.python.scopes import enclosing_scopes, module_imports
from codels.languages.python.strings import inside_string_or_comment
from codels.languages.python.testfiles import candidate_test_files
from codels.languages.python.validator import python_error_line

PYTHON = Language(
    name="python",
    language_ids=("python", "py"),
    suffixes=(".py", ".pyi", ".pyw"),
    grammar=grammar,
    nodes=NODES,
    line_comment="#",
    closing_chars=frozenset(")]}:;,'\""),
    blocks=IndentationBlocks(),
    block_opener_words=BLOCK_OPENER_WORDS,
    inside_string_or_comment=inside_string_or_comment,
    enclosing_scopes=enclosing_scopes,
    module_imports=module_imports,
    first_error_line=python_error_line,
    candidate_test_files=candidate_test_files,
)
"""The Python language."""
