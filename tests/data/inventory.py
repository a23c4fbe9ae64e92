"""Inventory management for a small shop: items, stock movements and reports."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass
class Item:
    sku: str
    name: str
    price: float
    quantity: int
    tags: list[str] = field(default_factory=list)


def inventory_value(items: list[Item]) -> float:
    """Return the total value of all items in stock (price times quantity)."""
    

@dataclass
class Movement:
    sku: str
    change: int
    day: date
    reason: str = ""


class Inventory:
    """Items by SKU, with a log of every stock movement."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.movements: list[Movement] = []

    def add(self, item: Item) -> None:
        """Add a new item; an existing SKU is an error."""
        if item.sku in self.items:
            raise ValueError(f"duplicate SKU {item.sku}")
        self.items[item.sku] = item

    def receive(self, sku: str, count: int, day: date) -> None:
        """Record goods received."""
        if count <= 0:
            raise ValueError("count must be positive")
        self.items[sku].quantity += count
        self.movements.append(Movement(sku, count, day, "received"))

    def sell(self, sku: str, count: int, day: date) -> float:
        """Record a sale and return its price."""
        item = self.items[sku]
        if count > item.quantity:
            raise ValueError(f"only {item.quantity} of {sku} in stock")
        item.quantity -= count
        self.movements.append(Movement(sku, -count, day, "sold"))
        return item.price * count

    def low_stock(self, threshold: int = 5) -> list[Item]:
        """Items with fewer than threshold units left, fewest first."""
        low = [item for item in self.items.values() if item.quantity < threshold]
        return sorted(low, key=lambda item: item.quantity)

    def by_tag(self) -> dict[str, list[Item]]:
        """Group items by tag."""
        groups: dict[str, list[Item]] = defaultdict(list)
        for item in self.items.values():
            for tag in item.tags:
                groups[tag].append(item)
        return dict(groups)

    def sales_between(self, start: date, end: date) -> dict[str, int]:
        """Units sold per SKU between two days, inclusive."""
        totals: dict[str, int] = defaultdict(int)
        for movement in self.movements:
            if movement.reason == "sold" and start <= movement.day <= end:
                totals[movement.sku] += -movement.change
        return dict(totals)


def load_items(path: Path) -> list[Item]:
    """Read items from a CSV file with columns sku, name, price, quantity, tags."""
    items = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            tags = [tag.strip() for tag in row.get("tags", "").split(";") if tag.strip()]
            items.append(
                Item(
                    sku=row["sku"],
                    name=row["name"],
                    price=float(row["price"]),
                    quantity=int(row["quantity"]),
                    tags=tags,
                )
            )
    return items


def save_report(inventory: Inventory, path: Path) -> None:
    """Write a JSON report of stock levels and the value of the inventory."""
    report = {
        "items": [
            {"sku": item.sku, "name": item.name, "quantity": item.quantity}
            for item in inventory.items.values()
        ],
        "value": inventory_value(list(inventory.items.values())),
        "low_stock": [item.sku for item in inventory.low_stock()],
    }
    path.write_text(json.dumps(report, indent=2))


def main() -> None:
    inventory = Inventory()
    for item in load_items(Path("items.csv")):
        inventory.add(item)
    save_report(inventory, Path("report.json"))


if __name__ == "__main__":
    main()
