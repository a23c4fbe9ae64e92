"""Shop: the file the VS Code controls tests type into (each test opens a line of its own)."""


def total(prices: list[float]) -> float:
    """Return the sum of the prices."""


def cheapest(prices: list[float]) -> float:
    """Return the lowest price."""


def dearest(prices: list[float]) -> float:
    """Return the highest price."""
