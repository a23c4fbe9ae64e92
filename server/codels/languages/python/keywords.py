"""Python's keywords that codels asks the model for.

This module imports nothing.
"""

BLOCK_OPENER_WORDS = (
    "if",
    "elif",
    "else",
    "for",
    "while",
    "with",
    "try",
    "except",
    "finally",
    "def",
    "class",
    "async",
    "match",
    "case",
)
"""The keywords a compound statement's header begins with: the words the first token of an
answer must begin when the cursor line has to open the block of the deeper code below it."""
