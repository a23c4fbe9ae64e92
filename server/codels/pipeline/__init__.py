"""The stages a completion goes through: context, prompt, fill-in-the-middle, post-processing.

A layer below :mod:`codels.config`: it may import documents, languages, engines, models and the
support modules. What is language-specific it asks of the snapshot's
:class:`~codels.languages.base.Language`.
"""
