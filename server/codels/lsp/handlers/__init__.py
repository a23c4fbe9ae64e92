"""The LSP handlers, one module per group, each named after its LSP method.

Handlers take the server as their first parameter, named ``ls`` (pygls passes the server to a
first parameter of that name), and translate LSP to domain calls and back. They may import
what :mod:`codels.lsp.server` may, and that module only for type checking.
"""
