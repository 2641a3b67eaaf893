"""MySQL/MariaDB column types and converters: only what differs from the base type map.

Time-zone policy: an aware `datetime` field is a DATETIME(6) holding the UTC wall time of the
instant (every session runs with time_zone '+00:00', so NOW() agrees); it is read back as an
aware UTC datetime. DATETIME rather than TIMESTAMP because TIMESTAMP ends in 2038.
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any, ClassVar

from ....errors import ConfigurationError
from ....spatial import Geometry, Point
from ...types import (ColumnSpec, Converter, TypeMap, datetime_from_utc_naive, datetime_to_utc_naive,
                      to_decimal)
from .geometry import from_mysql_internal, to_mysql_internal

#: the longest VARCHAR a utf8mb4 column can be (65535 bytes per row / 4 bytes per character)
MAX_VARCHAR = 16383
#: DECIMAL's limits: 65 digits in all, 30 after the point
MAX_DECIMAL_DIGITS = 65
MAX_DECIMAL_SCALE = 30


def time_from_db(value: Any) -> datetime.time:
    """pymysql returns TIME as a timedelta (TIME is also an interval type): make it a time."""
    if isinstance(value, datetime.timedelta):
        return (datetime.datetime.min + value).time()
    if isinstance(value, str):
        return datetime.time.fromisoformat(value)
    result: datetime.time = value
    return result


def date_from_db(value: Any) -> datetime.date:
    """A date, also from the text MySQL gives for an expression mixing a DATE with a bound
    parameter (pymysql sends dates as string literals: COALESCE(d, '2000-01-01') is text)."""
    return datetime.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def decimal_without_padding(value: Any) -> decimal.Decimal:
    """DECIMAL(65, 30) pads 1.5 to 1.500...0: drop the padding zeros after the point."""
    number = to_decimal(value)
    if not number.is_finite():
        return number
    sign, digits, exponent_or_flag = number.as_tuple()
    exponent: int = exponent_or_flag  # type: ignore[assignment]  # finite: an int ('n', 'N', 'F' are NaN and inf)
    if exponent >= 0:
        return number
    kept = list(digits)
    while exponent < 0 and len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    return decimal.Decimal((sign, tuple(kept), exponent))


def param_datetime(value: datetime.datetime) -> datetime.datetime:
    """A raw-SQL parameter: an aware datetime becomes UTC wall time (the driver drops the zone)."""
    return value if value.tzinfo is None else datetime_to_utc_naive(value)


class MySQLTypeMap(TypeMap):
    """InnoDB/utf8mb4 column types; DATETIME(6) in UTC; JSON; spatial POINT/GEOMETRY with SRID."""

    column_types: ClassVar[dict[str, str]] = {
        **TypeMap.column_types,
        'bool': 'TINYINT(1)', 'int': 'BIGINT', 'float': 'DOUBLE',
        'decimal': 'DECIMAL({precision}, {scale})',
        'decimal_unbounded': f'DECIMAL({MAX_DECIMAL_DIGITS}, {MAX_DECIMAL_SCALE})',
        'str': 'VARCHAR({length})', 'text': 'LONGTEXT', 'bytes': 'LONGBLOB', 'bytes_sized': 'VARBINARY({length})',
        'datetime': 'DATETIME(6)', 'datetime_naive': 'DATETIME(6)', 'date': 'DATE', 'time': 'TIME(6)',
        'timedelta': 'BIGINT', 'uuid': 'CHAR(36)', 'json': 'JSON',
        'enum_str': 'VARCHAR({length})', 'enum_int': 'INT',
        # The SRID attribute is spelled differently by each server; version comments let
        # one column definition carry both (MySQL ignores /*M!...*/, MariaDB /*!80003...*/).
        'point': 'POINT /*M!100101 REF_SYSTEM_ID={srid} */ /*!80003 SRID {srid} */',
        'geometry': 'GEOMETRY /*M!100101 REF_SYSTEM_ID={srid} */ /*!80003 SRID {srid} */',
    }
    to_db_converters: ClassVar[dict[str, Converter]] = {
        **TypeMap.to_db_converters, 'datetime': datetime_to_utc_naive,
    }
    from_db_converters: ClassVar[dict[str, Converter]] = {
        **TypeMap.from_db_converters, 'datetime': datetime_from_utc_naive, 'time': time_from_db,
        'decimal_unbounded': decimal_without_padding,
    }
    computed_converters: ClassVar[dict[str, Converter]] = {'date': date_from_db}
    param_converters: ClassVar[dict[type, Converter | None]] = {datetime.datetime: param_datetime}
    #: DOUBLE has no NaN or infinity (the driver would send `nan`, which the server reads as a name)
    refuse_nan_floats: ClassVar[bool] = True
    refuse_infinite_floats: ClassVar[bool] = True
    unbounded_decimal_precision = MAX_DECIMAL_DIGITS

    def kind_of(self, spec: ColumnSpec) -> str:
        """The base kinds, with long strings as LONGTEXT and sized bytes as VARBINARY."""
        kind = super().kind_of(spec)
        if kind == 'str' and spec.max_length is not None and spec.max_length > MAX_VARCHAR:
            return 'text'
        if kind == 'bytes' and spec.max_length is not None and spec.max_length <= 65535:
            return 'bytes_sized'
        return kind

    def extra_kind(self, spec: ColumnSpec) -> str | None:
        """Spatial fields: activerecord.types.Point and Geometry."""
        python_type = spec.python_type
        if isinstance(python_type, type):
            if issubclass(python_type, Point):
                return 'point'
            if issubclass(python_type, Geometry):
                return 'geometry'
        return None

    def index_kind(self, spec: ColumnSpec) -> str | None:
        """An index on a Point/Geometry field is a SPATIAL (R-tree) index."""
        return 'SPATIAL' if self.kind_of(spec) in ('point', 'geometry') else None

    def column_type(self, spec: ColumnSpec) -> str:
        """The column type; decimal sizes are checked against DECIMAL's limits."""
        if spec.max_digits is not None and spec.max_digits > MAX_DECIMAL_DIGITS:
            raise ConfigurationError(f'max_digits={spec.max_digits}: MySQL DECIMAL holds at most '
                                     f'{MAX_DECIMAL_DIGITS} digits')
        if spec.decimal_places is not None and spec.decimal_places > MAX_DECIMAL_SCALE:
            raise ConfigurationError(f'decimal_places={spec.decimal_places}: MySQL DECIMAL keeps at most '
                                     f'{MAX_DECIMAL_SCALE} digits after the point')
        return super().column_type(spec)

    def to_db(self, spec: ColumnSpec) -> Converter | None:
        """Spatial values go as MySQL's internal format (SRID + WKB), with the column's SRID by default."""
        if self.kind_of(spec) in ('point', 'geometry'):
            srid = int(spec.options.get('srid', 0) or 0)
            return lambda value: to_mysql_internal(value, srid)
        return super().to_db(spec)

    def from_db(self, spec: ColumnSpec) -> Converter | None:
        """Spatial values come back from the internal format as Point / Geometry."""
        if self.kind_of(spec) in ('point', 'geometry'):
            return from_mysql_internal
        return super().from_db(spec)
