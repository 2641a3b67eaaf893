"""Oracle's column types and value converters: only what differs from the base type map.

Policies (docs/backends/oracle.md explains each):
- booleans are NUMBER(1) with a CHECK (col IN (0, 1)); JSON is NCLOB with a CHECK (col IS JSON);
- text is NVARCHAR2 (NCLOB beyond 2000 characters), so it is Unicode whatever the database
  character set;
- aware datetimes are stored in TIMESTAMP WITH TIME ZONE as their UTC instant (the driver drops
  the zone of a bound datetime and of a fetched one, so UTC is the only zone that round-trips);
- Oracle has no TIME type: a time of day is an INTERVAL DAY TO SECOND since midnight;
- DATE holds a time of day too, and the driver returns it as a datetime: it is cut back to a date.
"""
from __future__ import annotations

import datetime
from typing import Any, ClassVar

from ...types import (Converter, TypeMap, datetime_from_utc_naive, datetime_to_utc_naive,
                      json_dumps, json_loads, to_bytes, to_decimal, to_uuid)

#: a CHECK on the column itself; after the template is formatted `{name}` stands for the quoted column
BOOLEAN_CHECK = 'CHECK ({{name}} IN (0, 1))'
JSON_CHECK = 'CHECK ({{name}} IS JSON)'

#: NUMBER keeps at most 38 significant digits
MAX_NUMBER_PRECISION = 38
#: NVARCHAR2 holds up to 2000 characters with the AL16UTF16 national character set (the default)
NVARCHAR2_MAX_CHARS = 2000


def bool_to_number(value: Any) -> int:
    """True/False -> 1/0 (Oracle before 23ai has no BOOLEAN column type)."""
    return 1 if value else 0


def number_to_bool(value: Any) -> bool:
    """1/0 (int, Decimal or str) -> True/False."""
    return bool(int(value))


def date_from_oracle(value: Any) -> datetime.date:
    """Oracle DATE comes back as a datetime (it has a time part): keep the date."""
    return value.date() if isinstance(value, datetime.datetime) else value


def time_to_interval(value: datetime.time) -> datetime.timedelta:
    """A time of day as the interval since midnight (its tzinfo, if any, is not kept)."""
    return datetime.timedelta(hours=value.hour, minutes=value.minute, seconds=value.second,
                              microseconds=value.microsecond)


def interval_to_time(value: Any) -> datetime.time:
    """Back from the interval since midnight."""
    if isinstance(value, datetime.time):
        return value
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    seconds, micro = divmod(micros, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return datetime.time(hour, minute, second, micro)


def lob_text(value: Any) -> str:
    """NCLOB values arrive as str (the backend fetches LOBs as values); a LOB object is read."""
    text: str = value.read() if hasattr(value, 'read') else value
    return text


def oracle_json_loads(value: Any) -> Any:
    """JSON text (possibly a LOB) -> dict/list."""
    return json_loads(lob_text(value))


class OracleTypeMap(TypeMap):
    """NUMBER, NVARCHAR2/NCLOB, BLOB, TIMESTAMP WITH TIME ZONE, INTERVAL, NUMBER(1) booleans."""

    column_types: ClassVar[dict[str, str]] = {
        'bool': 'NUMBER(1) ' + BOOLEAN_CHECK, 'int': 'NUMBER(19)', 'float': 'BINARY_DOUBLE',
        'decimal': 'NUMBER({precision}, {scale})', 'decimal_unbounded': 'NUMBER',
        'str': 'NVARCHAR2({length})', 'text': 'NCLOB', 'bytes': 'BLOB',
        'datetime': 'TIMESTAMP(6) WITH TIME ZONE', 'datetime_naive': 'TIMESTAMP(6)', 'date': 'DATE',
        'time': 'INTERVAL DAY(0) TO SECOND(6)', 'timedelta': 'INTERVAL DAY(9) TO SECOND(6)',
        'uuid': 'VARCHAR2(36)', 'json': 'NCLOB ' + JSON_CHECK,
        'enum_str': 'NVARCHAR2({length})', 'enum_int': 'NUMBER(10)',
    }
    to_db_converters: ClassVar[dict[str, Converter]] = {
        'bool': bool_to_number, 'uuid': str, 'json': json_dumps, 'datetime': datetime_to_utc_naive,
        'time': time_to_interval,
    }
    from_db_converters: ClassVar[dict[str, Converter]] = {
        'bool': number_to_bool, 'uuid': to_uuid, 'json': oracle_json_loads, 'text': lob_text,
        'decimal': to_decimal, 'decimal_unbounded': to_decimal, 'bytes': to_bytes,
        'datetime': datetime_from_utc_naive, 'date': date_from_oracle, 'time': interval_to_time,
    }
    #: raw parameters: bool becomes 0/1 so that `WHERE flag = ?` with True matches NUMBER(1)
    param_converters: ClassVar[dict[type, Converter | None]] = {bool: bool_to_number}
    max_string_length = NVARCHAR2_MAX_CHARS     # a longer str is NCLOB
    max_decimal_digits = MAX_NUMBER_PRECISION
    decimal_type_name = 'Oracle NUMBER'
