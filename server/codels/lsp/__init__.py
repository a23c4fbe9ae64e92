"""The LSP face of codels: the pygls server, its handlers and the hardened protocol.

The only package that imports pygls and lsprotocol (besides the bench's client).
"""
