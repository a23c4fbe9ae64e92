"""Code actions: where they apply, what the model is asked, and the edits they make.

A layer below :mod:`codels.lsp`, beside :mod:`codels.completion` (neither imports the other): it
may import config, the pipeline, documents, languages, engines, models and the support modules
(positions, privacy, sandbox); nothing of LSP.
"""
