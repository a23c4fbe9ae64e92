"""Engines run the model: the protocol, the in-process llama.cpp engine, remote servers."""
