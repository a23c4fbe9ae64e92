"""The LSP face of codels: the server and its state, the handlers, and the hardened protocol.

``server`` (state, :func:`~codels.lsp.server.create_server`), ``handlers/`` (one module per
group of LSP methods), ``model`` (the model's life), ``capabilities`` (what the client can do),
``edits`` (edits as ``WorkspaceEdit``), ``protocol`` (JSON-RPC hardening). The only package
that imports pygls and lsprotocol (besides the bench's client); it may import every layer below.
"""
