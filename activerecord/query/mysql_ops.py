"""MySQL/MariaDB full-text search and spatial functions for column expressions.

    Post.c.body.match('quick fox')                    MATCH (`posts`.`body`) AGAINST (? IN NATURAL LANGUAGE MODE)
    Post.c.body.match('+quick -lazy', mode='boolean')  ... AGAINST (? IN BOOLEAN MODE)
    Place.c.location.st_distance(Point(1, 2))         ST_Distance(`places`.`location`, ?)
    Area.c.shape.st_contains(Point(1, 2))             ST_Contains(`areas`.`shape`, ?)
    Place.c.location.st_within(Area.c.shape)          ST_Within(`places`.`location`, `areas`.`shape`)

`ColumnRef` delegates `match`, `st_distance`, `st_distance_sphere`, `st_contains` and
`st_within` here. A MATCH is true in WHERE when a row is relevant and its value is the
relevance, so the same node filters and orders (`.desc()`) and can be selected (`.as_()`).
Geometry values are bound as MySQL's internal format (SRID + WKB) with the column's SRID when
the value has none. A dialect without the feature flag (`fulltext`, `spatial`) raises
NotSupportedError naming the database and the feature.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ActiveRecordError, NotSupportedError
from .expressions import ATOM, Expression, clause

if TYPE_CHECKING:  # pragma: no cover
    from ..backend.dialect import SQLContext

#: mode -> the words after the search string
MATCH_MODES = {
    'natural': ' IN NATURAL LANGUAGE MODE',
    'boolean': ' IN BOOLEAN MODE',
    'expansion': ' WITH QUERY EXPANSION',
}


def _require(ctx: 'SQLContext', flag: str, what: str) -> None:
    dialect = ctx.dialect
    if not getattr(dialect.features, flag):
        raise NotSupportedError(f'{dialect.name} does not support {flag} ({what}); it needs a MySQL or '
                                'MariaDB backend')


def _field_type(column: Any) -> Any:
    field = getattr(column, 'field', None)
    return getattr(field, 'python_type', None)


class Match(Expression):
    """MATCH (columns) AGAINST (? <mode>): a full-text condition whose value is the relevance."""

    __slots__ = ('columns', 'query', 'mode')
    precedence = ATOM

    def __init__(self, columns: tuple[Any, ...], query: str, mode: str = 'natural') -> None:
        if mode not in MATCH_MODES:
            raise ActiveRecordError(f"match(mode={mode!r}): expected one of {', '.join(map(repr, MATCH_MODES))}")
        if not isinstance(query, str):
            raise ActiveRecordError(f'match() searches for a str, got {type(query).__name__} {query!r}')
        for column in columns:
            python_type = _field_type(column)
            if python_type is not None and python_type is not str:
                raise ActiveRecordError(f'match() needs str fields with Column(fulltext=True); {column!r} is '
                                        f'{getattr(python_type, "__name__", python_type)}')
        self.columns = columns
        self.query = query
        self.mode = mode

    def __sql__(self, ctx: 'SQLContext') -> None:
        _require(ctx, 'fulltext', 'MATCH ... AGAINST')
        ctx.literal('MATCH (')
        with clause(ctx, 'argument'):
            ctx.join(self.columns)
        # The search string is a bound parameter, and so are its boolean operators (+ - * "").
        ctx.literal(') AGAINST (').param(self.query).literal(MATCH_MODES[self.mode] + ')')

    def __repr__(self) -> str:
        return f'match({", ".join(map(repr, self.columns))}, {self.query!r}, mode={self.mode!r})'


def match(*columns_and_query: Any, mode: str = 'natural') -> Match:
    """match(Post.c.title, Post.c.body, 'words'): MATCH over several columns (one FULLTEXT index on all)."""
    if len(columns_and_query) < 2:
        raise ActiveRecordError('match() takes one or more columns and then the search string')
    *columns, query = columns_and_query
    return Match(tuple(columns), query, mode)


class SpatialFunction(Expression):
    """ST_<name>(a, b) over geometry columns and values (values bound as SRID + WKB)."""

    __slots__ = ('function', 'left', 'right')
    precedence = ATOM

    def __init__(self, function: str, left: Any, right: Any) -> None:
        self.function = function
        self.left = left
        self.right = right

    def __sql__(self, ctx: 'SQLContext') -> None:
        _require(ctx, 'spatial', self.function)
        ctx.literal(self.function + '(')
        with clause(ctx, 'argument'):
            ctx.sql(self.left).literal(', ')
            right = self.right
            if hasattr(right, '__sql__'):
                ctx.sql(right)
            else:
                ctx.param(_geometry_param(ctx, self.left, right))
        ctx.literal(')')

    def __repr__(self) -> str:
        return f'{self.function}({self.left!r}, {self.right!r})'


def _geometry_param(ctx: 'SQLContext', column: Any, value: Any) -> Any:
    """A geometry value as the column stores it (the column's SRID when the value has none)."""
    from ..spatial import Geometry, to_mysql_internal
    if not isinstance(value, Geometry):
        value = Geometry._validate(value)
    spec = getattr(getattr(column, 'field', None), 'spec', None)
    srid = int(spec.options.get('srid', 0) or 0) if spec is not None else 0
    return to_mysql_internal(value, srid)


def _spatial(function: str, column: Any, other: Any) -> SpatialFunction:
    from ..spatial import Geometry
    python_type = _field_type(column)
    if python_type is not None and not (isinstance(python_type, type) and issubclass(python_type, Geometry)):
        raise ActiveRecordError(f'{function.lower()}() needs a Point or Geometry field; {column!r} is '
                                f'{getattr(python_type, "__name__", python_type)}')
    if not hasattr(other, '__sql__'):
        Geometry._validate(other)  # a bad value fails here, naming what was expected
    return SpatialFunction(function, column, other)


def st_distance(column: Any, other: Any) -> SpatialFunction:
    """ST_Distance: in the SRID's units (MySQL 8 gives metres for geographic SRIDs, MariaDB is planar)."""
    return _spatial('ST_Distance', column, other)


def st_distance_sphere(column: Any, other: Any) -> SpatialFunction:
    """ST_Distance_Sphere: metres on a sphere, for longitude/latitude points."""
    return _spatial('ST_Distance_Sphere', column, other)


def st_contains(column: Any, other: Any) -> SpatialFunction:
    """ST_Contains(column, other): the column's shape contains the other one."""
    return _spatial('ST_Contains', column, other)


def st_within(column: Any, other: Any) -> SpatialFunction:
    """ST_Within(column, other): the column's shape lies within the other one."""
    return _spatial('ST_Within', column, other)
