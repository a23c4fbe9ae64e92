#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Shapes: a golden file for where codels offers code actions."""

import math  # noqa: F401
from dataclasses import dataclass

# type: ignore

# compute the area of a regular polygon with n sides of length s

# x = compute(1, 2)

# Circle

# This comment documents the class below.
@dataclass
class Circle:
    radius: float

    # return the circumference of the circle

    def area(self) -> float:
        """The area."""
        ...

    @property
    def diameter(self) -> float:
        return 2 * self.radius


def perimeter(sides: list[float]) -> float:
    total = 0.0
    for side in sides:
        # TODO: skip negative sides
        total += side
    # an ordinary comment inside a function
    return total


def stub_pass(x):
    pass


def stub_docstring_only(x: int) -> int:
    """Return x squared."""


def one_liner(x): return x


def _private(y):
    return y


def test_something():
    assert True


async def fetch(url: str) -> bytes:
    """Fetch url and return the body."""
    raise NotImplementedError


# fibonacci(n): return the n-th Fibonacci number
