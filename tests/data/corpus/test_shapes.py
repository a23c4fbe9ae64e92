"""Tests for shapes.py."""

import math

import pytest

from shapes import Circle, Rectangle, Triangle, by_kind, largest, total_area


def test_circle_area_and_perimeter():
    circle = Circle(2.0)
    assert circle.area() == pytest.approx(4 * math.pi)
    assert circle.perimeter() == pytest.approx(4 * math.pi)


def test_rectangle_area():
    rectangle = Rectangle(3.0, 4.0)
    assert rectangle.area() == 12.0
    assert rectangle.perimeter() == 14.0


def test_square_detection():
    assert Rectangle(2.0, 2.0).is_square()
    assert not Rectangle(2.0, 3.0).is_square()


def test_triangle_area_uses_herons_formula():
    triangle = Triangle(3.0, 4.0, 5.0)
    assert triangle.area() == pytest.approx(6.0)
    assert triangle.perimeter() == 12.0


def test_impossible_triangle_is_rejected():
    with pytest.raises(ValueError):
        Triangle(1.0, 2.0, 10.0)


def test_largest_of_no_shapes_is_none():
    assert largest([]) is None


def test_largest_shape():
    shapes = [Circle(1.0), Rectangle(2.0, 3.0), Triangle(3.0, 4.0, 5.0)]
    assert largest(shapes) == Rectangle(2.0, 3.0)


def test_total_area():
    shapes = [Rectangle(1.0, 2.0), Rectangle(3.0, 1.0)]
    assert total_area(shapes) == 5.0


def test_group_by_kind():
    shapes = [Circle(1.0), Circle(2.0), Rectangle(1.0, 1.0)]
    groups = by_kind(shapes)
    assert sorted(groups) == ["circle", "rectangle"]
    assert len(groups["circle"]) == 2


def test_describe_mentions_the_name():
    assert Circle(1.0).describe().startswith("circle with area 3.14")
