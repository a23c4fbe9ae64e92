"""The ``codels`` command and what it runs: models, eval, bench.

The top layer: it may import every package. pygls and lsprotocol only in :mod:`.bench` (its LSP
client drives ``codels --stdio``), ``llama_cpp`` nowhere.
"""
