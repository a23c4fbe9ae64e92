"""The model catalogue, model files and their facts, downloads.

The layer above the support modules: it may import :mod:`codels.positions`,
:mod:`codels.privacy` and :mod:`codels.sandbox`, no other codels package; ``llama_cpp`` only in
:mod:`.gguf`.
"""
