"""codels: inline code completion from a small local code model, over LSP.

The packages are layers, each importing only those below it (import-linter contracts in
pyproject.toml, checked by tests/unit/test_layers.py): tools → lsp → completion | actions →
config → pipeline → documents → languages | engines → models → positions | privacy | sandbox.
Layers joined by ``|`` do not import each other. pygls and lsprotocol are imported only in
:mod:`codels.lsp` (and the bench's client), ``llama_cpp`` only in the llama engine and the GGUF
reader. This module imports only the standard library.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("codels")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
