"""The two ways a code action's attempt fails.

This module imports nothing of codels.
"""

from __future__ import annotations


class ActionError(Exception):
    """An action that could not make a clean edit; the message says why and what to do."""


class Unusable(Exception):
    """One attempt gave nothing usable (the message says why); the next may do better."""
