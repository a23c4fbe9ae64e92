"""Python: every rule codels knows about Python code lives in this package."""
