"""A small inventory module: the file the README's first command completes in."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items: list[Item]) -> float:
    """Return the total value of all items in stock (price times quantity)."""
    

def most_expensive(items: list[Item]) -> Item | None:
    """Return the item with the highest price, or None for an empty list."""
    if not items:
        return None
    return max(items, key=lambda item: item.price)
