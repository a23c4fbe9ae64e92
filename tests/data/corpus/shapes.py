"""Plane shapes with areas, perimeters and a registry by name."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass


class Shape(ABC):
    """A closed plane figure."""

    name = "shape"

    @abstractmethod
    def area(self) -> float:
        """The area enclosed by the shape."""

    @abstractmethod
    def perimeter(self) -> float:
        """The length of the shape's boundary."""

    def describe(self) -> str:
        return f"{self.name} with area {self.area():.2f} and perimeter {self.perimeter():.2f}"


@dataclass
class Circle(Shape):
    radius: float
    name = "circle"

    def area(self) -> float:
        return math.pi * self.radius**2

    def perimeter(self) -> float:
        return 2 * math.pi * self.radius


@dataclass
class Rectangle(Shape):
    width: float
    height: float
    name = "rectangle"

    def area(self) -> float:
        return self.width * self.height

    def perimeter(self) -> float:
        return 2 * (self.width + self.height)

    def is_square(self) -> bool:
        return math.isclose(self.width, self.height)


@dataclass
class Triangle(Shape):
    a: float
    b: float
    c: float
    name = "triangle"

    def __post_init__(self) -> None:
        sides = sorted((self.a, self.b, self.c))
        if sides[0] + sides[1] <= sides[2]:
            raise ValueError("the sides do not make a triangle")

    def perimeter(self) -> float:
        return self.a + self.b + self.c

    def area(self) -> float:
        s = self.perimeter() / 2
        return math.sqrt(s * (s - self.a) * (s - self.b) * (s - self.c))


def largest(shapes: list[Shape]) -> Shape | None:
    """The shape with the largest area, or None for no shapes."""
    if not shapes:
        return None
    return max(shapes, key=lambda shape: shape.area())


def total_area(shapes: list[Shape]) -> float:
    """The sum of the areas of all shapes."""
    return sum(shape.area() for shape in shapes)


def by_kind(shapes: list[Shape]) -> dict[str, list[Shape]]:
    """Group shapes by their name."""
    groups: dict[str, list[Shape]] = {}
    for shape in shapes:
        groups.setdefault(shape.name, []).append(shape)
    return groups
