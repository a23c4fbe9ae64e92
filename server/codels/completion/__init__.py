"""One completion from request to answer: the service, its caches and statistics.

A layer below :mod:`codels.lsp`, beside :mod:`codels.actions` (neither imports the other): it may
import config, the pipeline, documents, languages, engines, models and the support modules
(positions, privacy, sandbox); nothing of LSP.
"""
