"""MySQL/MariaDB's storage format of spatial values: a 4-byte SRID, then WKB (Well-Known Binary).

The MySQL type map binds Point/Geometry values through `to_mysql_internal` and reads them back
through `from_mysql_internal`; the values themselves (and WKT) live in activerecord.spatial.
"""
from __future__ import annotations

import struct
from typing import Any

from ....errors import DataError
from ....spatial import GEOMETRY_TYPES, Geometry

#: WKB geometry type codes (OGC simple features, 2D)
WKB_TYPES = dict(enumerate(GEOMETRY_TYPES, start=1))
WKB_CODES = {name: code for code, name in WKB_TYPES.items()}


def to_wkb(geometry: Geometry) -> bytes:
    """Little-endian WKB of a geometry."""
    out = bytearray()
    _write_wkb(out, geometry.geom_type, geometry.coordinates)
    return bytes(out)


def _write_wkb(out: bytearray, geom_type: str, coordinates: Any) -> None:
    out += struct.pack('<BI', 1, WKB_CODES[geom_type])
    if geom_type == 'POINT':
        out += struct.pack('<dd', *coordinates)
    elif geom_type == 'LINESTRING':
        _write_points(out, coordinates)
    else:  # a count, then the rings of a POLYGON, or whole geometries (MULTI*: of the single type)
        out += struct.pack('<I', len(coordinates))
        for part in coordinates:
            if geom_type == 'POLYGON':
                _write_points(out, part)
            elif geom_type == 'GEOMETRYCOLLECTION':
                _write_wkb(out, part.geom_type, part.coordinates)
            else:
                _write_wkb(out, geom_type[len('MULTI'):], part)


def _write_points(out: bytearray, points: Any) -> None:
    out += struct.pack('<I', len(points))
    for x, y in points:
        out += struct.pack('<dd', x, y)


def from_wkb(data: bytes, srid: int | None = None) -> Geometry:
    """A Geometry (a Point for points) from WKB of either byte order."""
    position, (geom_type, coordinates) = _read_wkb(memoryview(bytes(data)), 0)
    if position != len(data):
        raise DataError(f'WKB has {len(data) - position} byte(s) after the geometry')
    return Geometry.from_parts(geom_type, coordinates, srid)


def _read_wkb(data: memoryview, position: int) -> tuple[int, tuple[str, Any]]:
    try:
        order = '<' if data[position] == 1 else '>'
        (code,) = struct.unpack_from(order + 'I', data, position + 1)
    except (IndexError, struct.error):
        raise DataError('WKB is truncated') from None
    position += 5
    geom_type = WKB_TYPES.get(code)
    if geom_type is None:
        raise DataError(f'WKB geometry type {code} is not supported (2D types 1-7 are)')

    def count() -> int:
        nonlocal position
        value: int
        (value,) = struct.unpack_from(order + 'I', data, position)
        position += 4
        return value

    def points() -> list[tuple[float, float]]:
        nonlocal position
        result: list[tuple[float, float]] = []
        for _ in range(count()):
            result.append(struct.unpack_from(order + 'dd', data, position))
            position += 16
        return result

    try:
        if geom_type == 'POINT':
            coordinates: Any = struct.unpack_from(order + 'dd', data, position)
            position += 16
        elif geom_type == 'LINESTRING':
            coordinates = points()
        elif geom_type == 'POLYGON':
            coordinates = [points() for _ in range(count())]
        else:
            coordinates = []
            for _ in range(count()):
                position, member = _read_wkb(data, position)
                coordinates.append(Geometry.from_parts(*member) if geom_type == 'GEOMETRYCOLLECTION'
                                   else member[1])
    except struct.error:
        raise DataError('WKB is truncated') from None
    return position, (geom_type, coordinates)


def to_mysql_internal(value: Any, column_srid: int = 0) -> bytes:
    """MySQL/MariaDB's storage format: the SRID (4 bytes, little-endian), then WKB."""
    # spatial's own parsing of a value given for a geometry field (WKT text, a Point, ...)
    geometry = value if isinstance(value, Geometry) else Geometry._validate(value)  # pyright: ignore[reportPrivateUsage]
    srid = column_srid if geometry.srid is None else geometry.srid
    return struct.pack('<I', srid) + to_wkb(geometry)


def from_mysql_internal(data: Any) -> Geometry:
    """A Point/Geometry from MySQL/MariaDB's storage format."""
    if isinstance(data, Geometry):
        return data
    data = bytes(data)
    if len(data) < 9:
        raise DataError(f'a spatial value of {len(data)} bytes is too short to hold SRID + WKB')
    (srid,) = struct.unpack_from('<I', data, 0)
    return from_wkb(data[4:], srid)
