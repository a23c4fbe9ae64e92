"""What codels knows of each language, behind one :class:`~codels.languages.base.Language` object.

:mod:`.base` defines it, :mod:`.registry` finds a document's, :mod:`.syntax` holds the parsers
and the syntax judge. Each language's rules live in its own module or package (:mod:`.python`,
:mod:`.javascript`, :mod:`.typescript`, :mod:`.go`, :mod:`.rust`, :mod:`.java`, :mod:`.c`,
:mod:`.cpp`); the brace languages share their block model (:mod:`.braces`), tree readers
(:mod:`.brace_trees`) and the functions code actions read and write (:mod:`.brace_functions`).
A layer below :mod:`codels.documents`, beside :mod:`codels.engines` (neither imports the other):
it may import :mod:`codels.models` and the support modules (positions, privacy, sandbox).
"""
