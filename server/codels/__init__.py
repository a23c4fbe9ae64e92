"""codels: inline code completion from a small local code model, over LSP."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("codels")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
