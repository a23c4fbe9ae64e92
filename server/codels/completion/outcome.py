"""The answer to one completion request, and how it came about.

Imports :mod:`codels.pipeline.context` and :mod:`codels.engines.base`.
"""

from __future__ import annotations

from dataclasses import dataclass

from codels.engines.base import GenerationResult
from codels.pipeline.context import CompletionKind


@dataclass(frozen=True)
class CompletionOutcome:
    """The completion to show ("" for none) and how it came about."""

    text: str
    kind: CompletionKind
    note: str
    """Why there is no completion, or how it was cut; "" when nothing needs saying."""
    generation: GenerationResult | None = None
    context_ms: float = 0.0
    total_ms: float = 0.0
    source: str = "model"
    """``model``, ``typed-ahead``, ``continued``, ``cache``, ``speculative``, ``early`` (what a
    generation still running wrote so far) or ``none``."""
