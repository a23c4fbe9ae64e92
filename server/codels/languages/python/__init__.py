"""Python: every rule codels knows about Python code lives in this package.

:data:`PYTHON` is the :class:`~codels.languages.base.Language` the pipeline asks; its parts are
the grammar and node types (:mod:`.grammar`), strings and comments (:mod:`.strings`), scopes
and imports (:mod:`.scopes`), the indentation block model (:mod:`.blocks`) and Python's own
parser as the extra validator (:mod:`.validator`). What the code actions read and check lives in
:mod:`.functions` and :mod:`.examples`. Imports :mod:`codels.languages` only.
"""

from __future__ import annotations

from codels.languages.base import Language
from codels.languages.python.blocks import IndentationBlocks
from codels.languages.python.grammar import NODES, grammar
from codels.languages.python.scopes import enclosing_scopes, module_imports
from codels.languages.python.strings import inside_string_or_comment
from codels.languages.python.validator import python_error_line

PYTHON = Language(
    name="python",
    language_ids=("python", "py"),
    suffixes=(".py", ".pyi", ".pyw"),
    grammar=grammar,
    nodes=NODES,
    line_comment="#",
    blocks=IndentationBlocks(),
    inside_string_or_comment=inside_string_or_comment,
    enclosing_scopes=enclosing_scopes,
    module_imports=module_imports,
    first_error_line=python_error_line,
)
"""The Python language."""
