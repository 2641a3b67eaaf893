"""Spatial functions in expressions: ST_* calls whose SQL is the dialect's 'st_<name>' template.

    Place.c.location.st_distance(Point(1, 2))         MySQL: ST_Distance(`places`.`location`, ?)
    Place.c.location.st_within(Area.c.shape)          ST_Within(`places`.`location`, `areas`.`shape`)

A geometry value is bound as its column stores it (the type map's converter: on MySQL the
internal format, with the column's SRID when the value has none).
"""
from __future__ import annotations

from typing import Any

from ..spatial import Geometry
from .operations import Operation


class SpatialOperators:
    """What a Point or Geometry column offers: distance and containment tests."""

    __slots__ = ()

    def st_distance(self, other: Any) -> Operation:
        """ST_Distance: in the SRID's units (MySQL 8 gives metres for geographic SRIDs, MariaDB is planar)."""
        return spatial_operation('st_distance', self, other)

    def st_distance_sphere(self, other: Any) -> Operation:
        """ST_Distance_Sphere(column, other): metres on a sphere, for longitude/latitude points."""
        return spatial_operation('st_distance_sphere', self, other)

    def st_contains(self, other: Any) -> Operation:
        """ST_Contains(column, other): the column's shape contains the other one."""
        return spatial_operation('st_contains', self, other)

    def st_within(self, other: Any) -> Operation:
        """ST_Within(column, other): the column's shape lies within the other one."""
        return spatial_operation('st_within', self, other)


def spatial_operation(name: str, column: Any, other: Any) -> Operation:
    """`name`(column, other), with `other` a geometry value (checked now) or an expression."""
    if not hasattr(other, '__sql__'):
        # a bad value fails here, naming what was expected
        other = column._bind(Geometry._validate(other))  # pyright: ignore[reportPrivateUsage]  # Geometry's own check
    return Operation(name, (column, other), 'spatial', 'ST_' + name[3:].title(), arguments=True)
