"""What codels knows of each language: grammars, node kinds, the syntax judge's parsers."""
