"""The ``codels`` command and what it runs: models, eval, bench."""
