"""Shapes: the file the VS Code end-to-end test types into."""

import math


def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    


def main() -> None:
    print(circle_area(2.0))


# Return the perimeter of a rectangle with sides a and b.
