"""Spatial values: `Point` and `Geometry` (any WKT shape), with their SRID, as pydantic field types.

Values are plain Python objects; the type maps turn them into what each database stores
(MySQL/MariaDB: backend/impl/mysql/geometry.py). The WKT reader and writer below cover the seven
2D OGC types: POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING, MULTIPOLYGON,
GEOMETRYCOLLECTION. Coordinates are (x, y); for a geographic SRID such as 4326, x is the
longitude and y the latitude.
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterator, Sequence, cast

from pydantic_core import core_schema

from .errors import DataError

#: the 2D OGC geometry types, in the order of their WKB codes (1-7)
GEOMETRY_TYPES = ('POINT', 'LINESTRING', 'POLYGON', 'MULTIPOINT', 'MULTILINESTRING', 'MULTIPOLYGON',
                  'GEOMETRYCOLLECTION')

# Nesting depth of the coordinate lists of each type: a point is (x, y), a linestring a list
# of points, a polygon a list of rings, ... ; a collection holds whole geometries instead.
_DEPTH = {'POINT': 0, 'LINESTRING': 1, 'POLYGON': 2, 'MULTIPOINT': 1, 'MULTILINESTRING': 2,
          'MULTIPOLYGON': 3}


class Geometry:
    """A 2D geometry in WKT form with an optional SRID (None: the column's SRID)."""

    __slots__ = ('geom_type', 'coordinates', 'srid')
    # set once by _set() (object.__setattr__: the values are immutable); declared for type checkers
    geom_type: str
    coordinates: Any   # nested lists of (x, y) tuples, by geom_type (a collection: Geometry members)
    srid: int | None

    def __init__(self, wkt: str, srid: int | None = None) -> None:
        geom_type, coordinates = parse_wkt(wkt)
        self._set(geom_type, coordinates, srid)

    def _set(self, geom_type: str, coordinates: Any, srid: int | None) -> None:
        if srid is not None and (isinstance(srid, bool) or not isinstance(srid, int) or not 0 <= srid < 2**32):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may pass anything
            raise DataError(f'SRID {srid!r} is not allowed; expected an integer from 0 to 4294967295 or None')
        object.__setattr__(self, 'geom_type', geom_type)
        object.__setattr__(self, 'coordinates', coordinates)
        object.__setattr__(self, 'srid', srid)

    @classmethod
    def from_parts(cls, geom_type: str, coordinates: Any, srid: int | None = None) -> 'Geometry':
        """A geometry from its type name and nested coordinates (a Point for a POINT)."""
        if geom_type == 'POINT' and coordinates is not None:
            return Point(coordinates[0], coordinates[1], srid=srid)
        geometry = object.__new__(Geometry)
        geometry._set(geom_type, coordinates, srid)
        return geometry

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f'{type(self).__name__} values are immutable')

    @property
    def wkt(self) -> str:
        """The Well-Known Text of the shape (without the SRID)."""
        return to_wkt(self.geom_type, self.coordinates)

    def __eq__(self, other: object) -> bool:
        # An unset SRID means "the column's": it matches any SRID.
        if not isinstance(other, Geometry):
            return NotImplemented
        return (self.geom_type == other.geom_type and self.coordinates == other.coordinates
                and (self.srid is None or other.srid is None or self.srid == other.srid))

    def __hash__(self) -> int:
        return hash((self.geom_type, _freeze(self.coordinates)))

    def __repr__(self) -> str:
        srid = '' if self.srid is None else f', srid={self.srid}'
        return f'Geometry({self.wkt!r}{srid})'

    # -- pydantic -----------------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return core_schema.no_info_plain_validator_function(
            cls._validate_field,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize, info_arg=True, when_used='always'))

    @classmethod
    def _validate_field(cls, value: Any) -> 'Geometry':
        # pydantic reports ValueErrors as validation errors of the field.
        try:
            return cls._validate(value)
        except DataError as error:
            raise ValueError(str(error)) from None

    @classmethod
    def _validate(cls, value: Any) -> 'Geometry':
        if isinstance(value, cls):
            return value
        received: object = value   # for the message: whatever a caller sent
        if isinstance(value, str):
            srid = None
            if value[:5].upper() == 'SRID=':  # EWKT, as JSON mode writes it
                head, _, value = value.partition(';')
                srid = int(head[5:]) if head[5:].strip().isdigit() else _bad_srid(head)
            geometry = Geometry.from_parts(*parse_wkt(value), srid)
        elif isinstance(value, dict) and 'wkt' in value:
            fields = cast('dict[str, Any]', value)   # a JSON object: its values are checked by Geometry()
            geometry = Geometry(fields['wkt'], fields.get('srid'))
        elif isinstance(value, dict) and 'x' in value and 'y' in value:
            fields = cast('dict[str, Any]', value)
            geometry = Point(fields['x'], fields['y'], srid=fields.get('srid'))
        elif isinstance(value, (tuple, list)) and len(pair := cast('Sequence[Any]', value)) == 2:
            geometry = Point(*pair)
        else:
            raise ValueError(f'expected a {cls.__name__}, WKT text or (x, y); got {type(received).__name__}')
        if not isinstance(geometry, cls):
            raise ValueError(f'expected a {cls.__name__}, got a {geometry.geom_type}')
        return geometry

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return {'type': 'string', 'description': f'{cls.__name__} as Well-Known Text'}


def _serialize(value: Geometry, info: Any) -> Any:
    """Python mode keeps the object; JSON mode writes WKT, with the SRID as an EWKT prefix."""
    if info.mode == 'json':
        prefix = '' if value.srid is None else f'SRID={value.srid};'
        return prefix + value.wkt
    return value


class Point(Geometry):
    """A point (x, y) with an optional SRID; for SRID 4326, x is the longitude and y the latitude."""

    __slots__ = ()

    def __init__(self, x: float, y: float, srid: int | None = None) -> None:
        coordinates = (_coordinate(x, 'x'), _coordinate(y, 'y'))
        self._set('POINT', coordinates, srid)

    @property
    def x(self) -> float:
        """The first coordinate (longitude for geographic SRIDs)."""
        x: float = self.coordinates[0]
        return x

    @property
    def y(self) -> float:
        """The second coordinate (latitude for geographic SRIDs)."""
        y: float = self.coordinates[1]
        return y

    def __iter__(self) -> Iterator[float]:
        return iter(self.coordinates)

    def __repr__(self) -> str:
        srid = '' if self.srid is None else f', srid={self.srid}'
        return f'Point({self.x!r}, {self.y!r}{srid})'


def _bad_srid(head: str) -> int:
    raise DataError(f'{head!r} is not an SRID prefix; expected SRID=<integer>;')


def _coordinate(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f'coordinate {name}={value!r} is not a number')
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f'coordinate {name}={value!r} is not finite')
    return number


def _freeze(coordinates: Any) -> Any:
    if isinstance(coordinates, (list, tuple)):
        return tuple(_freeze(item) for item in cast('Sequence[Any]', coordinates))
    if isinstance(coordinates, Geometry):
        return (coordinates.geom_type, _freeze(coordinates.coordinates))
    return coordinates


# -- WKT --------------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:([A-Za-z]+)|(\()|(\))|(,)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))')


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise DataError(f'cannot read WKT {text!r}: unexpected text at position {position}: '
                            f'{text[position:position + 20]!r}')
        group = match.lastindex or 0   # a match always sets one group: the pattern has no empty branch
        tokens.append(match.group(group).upper() if group == 1 else match.group(group))
        position = match.end()
    return tokens


def parse_wkt(text: str) -> tuple[str, Any]:
    """'POLYGON((0 0, 1 0, 1 1, 0 0))' -> ('POLYGON', [[(0.0, 0.0), ...]])."""
    if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may pass anything
        raise DataError(f'WKT must be text, got {type(text).__name__}')
    tokens = _tokens(text)
    try:
        position, geometry = _read_geometry(tokens, 0, text)
    except IndexError:
        raise DataError(f'cannot read WKT {text!r}: it ends too early') from None
    if position != len(tokens):
        raise DataError(f'cannot read WKT {text!r}: unexpected {tokens[position]!r} after the geometry')
    return geometry


def _read_geometry(tokens: list[str], position: int, text: str) -> tuple[int, tuple[str, Any]]:
    if position >= len(tokens) or tokens[position] not in GEOMETRY_TYPES:
        raise DataError(f'cannot read WKT {text!r}: expected a geometry type '
                        f'({", ".join(GEOMETRY_TYPES)})')
    geom_type = tokens[position]
    position += 1
    if position < len(tokens) and tokens[position] == 'EMPTY':
        if geom_type == 'POINT':
            raise DataError(f'cannot store WKT {text!r}: POINT EMPTY has no coordinates')
        return position + 1, (geom_type, [])
    if geom_type == 'GEOMETRYCOLLECTION':
        position = _expect(tokens, position, '(', text)
        members: list[Geometry] = []
        if tokens[position] == ')':  # MySQL's GEOMETRYCOLLECTION()
            return position + 1, (geom_type, members)
        while True:
            position, member = _read_geometry(tokens, position, text)
            members.append(Geometry.from_parts(*member))
            if tokens[position] == ',':
                position += 1
                continue
            return _expect(tokens, position, ')', text), (geom_type, members)
    position, coordinates = _read_list(tokens, position, _DEPTH[geom_type], text, geom_type)
    if geom_type == 'POINT':
        coordinates = coordinates[0]
    return position, (geom_type, coordinates)


def _read_list(tokens: list[str], position: int, depth: int, text: str, geom_type: str) -> tuple[int, Any]:
    """A parenthesized list; depth 0 is a point's '(x y)', read as a one-point list."""
    position = _expect(tokens, position, '(', text)
    items: list[Any] = []
    while True:
        if depth == 0 or (depth == 1 and geom_type != 'MULTIPOINT') or (
                geom_type == 'MULTIPOINT' and tokens[position] != '('):
            position, point = _read_point(tokens, position, text)
            items.append(point)
        else:
            position, inner = _read_list(tokens, position, depth - 1, text, geom_type if depth > 1 else 'POINT')
            items.append(inner[0] if geom_type == 'MULTIPOINT' and depth == 1 else inner)
        if position < len(tokens) and tokens[position] == ',':
            position += 1
            continue
        return _expect(tokens, position, ')', text), items


def _read_point(tokens: list[str], position: int, text: str) -> tuple[int, tuple[float, float]]:
    try:
        x, y = float(tokens[position]), float(tokens[position + 1])
    except (IndexError, ValueError):
        raise DataError(f'cannot read WKT {text!r}: expected two coordinates "x y"') from None
    if position + 2 < len(tokens) and tokens[position + 2] not in (',', ')'):
        raise DataError(f'cannot read WKT {text!r}: only 2D coordinates (x y) are supported')
    return position + 2, (x, y)


def _expect(tokens: list[str], position: int, token: str, text: str) -> int:
    if position >= len(tokens) or tokens[position] != token:
        raise DataError(f'cannot read WKT {text!r}: expected {token!r}')
    return position + 1


def _number(value: float) -> str:
    return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _wkt_body(geom_type: str, coordinates: Any) -> str:
    if geom_type == 'GEOMETRYCOLLECTION':
        return ','.join(member.wkt for member in coordinates)

    def render(items: Any, depth: int) -> str:
        if depth == 0:
            return f'{_number(items[0])} {_number(items[1])}'
        return ','.join(render(item, depth - 1) if depth == 1 else f'({render(item, depth - 1)})'
                        for item in items)
    if geom_type == 'POINT':
        return render(coordinates, 0)
    if geom_type == 'MULTIPOINT':
        # MULTIPOINT(0 0,1 2): the form both MySQL and MariaDB read back (MariaDB rejects ((0 0),(1 2))).
        return ','.join(render(point, 0) for point in coordinates)
    return render(coordinates, _DEPTH[geom_type])


def to_wkt(geom_type: str, coordinates: Any) -> str:
    """Canonical WKT: 'POINT(1 2)', 'LINESTRING(0 0,1 1)', ..."""
    if not coordinates and geom_type != 'POINT':
        return f'{geom_type} EMPTY'
    return f'{geom_type}({_wkt_body(geom_type, coordinates)})'
