"""Engines run the model: the protocol, the in-process llama.cpp engine, remote servers.

A layer below :mod:`codels.documents`, beside :mod:`codels.languages` (neither imports the
other): it may import :mod:`codels.models` and the support modules. ``llama_cpp`` is imported
only by :mod:`.llama` and the ``llama_*`` modules, httpx only by the ``remote*`` modules.
"""
