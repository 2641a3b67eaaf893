"""SQL Server's column types and value converters: only what differs from the base type map.

Policies (docs/backends/sqlserver.md explains each):
- text is NVARCHAR (NVARCHAR(MAX) beyond 4000 characters or without max_length): always Unicode;
- aware datetimes are DATETIMEOFFSET(6), bound in UTC and read back as UTC;
- a Decimal without max_digits is DECIMAL(38, 10), the widest exact type with a useful scale;
- JSON is NVARCHAR(MAX) with CHECK (ISJSON(col) = 1) (SQL Server 2016+);
- bytes are bound as binary (python-tds would otherwise send them as text).
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any, Callable, ClassVar

from ...types import Converter, TypeMap, datetime_from_utc_naive, json_dumps, to_decimal, to_uuid

JSON_CHECK = 'CHECK (ISJSON({{name}}) = 1)'
NVARCHAR_MAX_CHARS = 4000
MAX_DECIMAL_PRECISION = 38

_binary: Callable[[bytes], Any] | None = None


def to_binary(value: Any) -> Any:
    """bytes as python-tds's Binary, so they bind as VARBINARY (plain bytes bind as text)."""
    global _binary
    if _binary is None:
        # Imported on first use: the dialect renders SQL without the driver installed.
        try:
            from pytds import Binary  # type: ignore[import-untyped]  # python-tds has no stubs
        except ImportError:  # pragma: no cover - only to_sql() without the driver gets here
            Binary = bytes
        _binary = Binary
    return _binary(value)


def to_utc_aware(value: datetime.datetime) -> datetime.datetime:
    """An aware datetime in UTC (a naive one is taken as UTC): binds as DATETIMEOFFSET."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


_ONE = decimal.Decimal(1)


def trimmed_decimal(value: Any) -> decimal.Decimal:
    """DECIMAL(38, 10) pads ten decimal places: 1.5000000000 -> 1.5, 100.0000000000 -> 100."""
    number = to_decimal(value)
    if not number.is_finite():
        return number
    normal = number.normalize()
    exponent: int = normal.as_tuple().exponent  # type: ignore[assignment]  # finite: an int ('n', 'N', 'F' are NaN and inf)
    return normal.quantize(_ONE) if exponent > 0 else normal


class SQLServerTypeMap(TypeMap):
    """BIT, BIGINT, DECIMAL, NVARCHAR, VARBINARY(MAX), DATETIMEOFFSET, UNIQUEIDENTIFIER."""

    column_types: ClassVar[dict[str, str]] = {
        'bool': 'BIT', 'int': 'BIGINT', 'float': 'FLOAT',
        'decimal': 'DECIMAL({precision}, {scale})', 'decimal_unbounded': 'DECIMAL(38, 10)',
        'str': 'NVARCHAR({length})', 'text': 'NVARCHAR(MAX)', 'bytes': 'VARBINARY(MAX)',
        'datetime': 'DATETIMEOFFSET(6)', 'datetime_naive': 'DATETIME2(6)', 'date': 'DATE', 'time': 'TIME(6)',
        'timedelta': 'BIGINT', 'uuid': 'UNIQUEIDENTIFIER', 'json': 'NVARCHAR(MAX) ' + JSON_CHECK,
        'enum_str': 'NVARCHAR({length})', 'enum_int': 'INT',
    }
    to_db_converters: ClassVar[dict[str, Converter]] = {
        'json': json_dumps, 'timedelta': TypeMap.to_db_converters['timedelta'], 'bytes': to_binary,
        'datetime': to_utc_aware,
    }
    from_db_converters: ClassVar[dict[str, Converter]] = {
        **TypeMap.from_db_converters, 'uuid': to_uuid, 'decimal_unbounded': trimmed_decimal,
        'datetime': datetime_from_utc_naive,
    }
    param_converters: ClassVar[dict[type, Converter | None]] = {bytes: to_binary}
    max_string_length = NVARCHAR_MAX_CHARS      # a longer str is NVARCHAR(MAX)
    max_decimal_digits = MAX_DECIMAL_PRECISION
    decimal_type_name = 'SQL Server DECIMAL'
