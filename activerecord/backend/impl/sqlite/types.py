"""SQLite's type map: only what differs from the base map.

SQLite has no exact decimal, no boolean, no date/time types:
- Decimal is bound as a float into a NUMERIC column, so SQL compares it numerically; up to 15
  significant digits round-trip exactly (read back through repr(float), quantized to the
  field's decimal_places). A Decimal with more digits is refused with DataError rather than
  silently rounded.
- datetime is TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (an instant: aware values are converted
  to UTC, naive ones are taken as UTC) and reads back aware in UTC; a NaiveDatetime field
  stores and returns its wall time as given. The fixed width keeps text order = time order.
- a float NaN is refused with DataError (SQLite would store NULL); infinities are kept.
- bool is INTEGER 0/1 read back as bool; timedelta BIGINT microseconds; UUID CHAR(36) text;
  dict/list JSON text; date and time ISO text.
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any, ClassVar

from ....errors import DataError
from ...types import ColumnSpec, Converter, TypeMap, check_decimal_digits, to_decimal

#: significant digits a float (IEEE double) keeps exactly through repr()
FLOAT_DIGITS = 15
_UTC = datetime.timezone.utc


def decimal_to_float(value: decimal.Decimal | float) -> float:
    """A Decimal bound as REAL, refused when it would not come back exactly."""
    text = str(value)
    # 15 characters hold at most 15 digits: the common case needs no digit count
    if len(text) > FLOAT_DIGITS:
        check_decimal_digits(value if isinstance(value, decimal.Decimal) else decimal.Decimal(text),
                             FLOAT_DIGITS, 'SQLite NUMERIC column')
    number = float(text)
    if number - number != 0.0:   # NaN or infinity
        raise DataError(f'Decimal {value} cannot be stored: SQLite keeps finite numbers only')
    if number == 0.0 and not decimal.Decimal(text).is_zero():
        raise DataError(f'Decimal {value} is too small for SQLite to store (it would read back as 0)')
    return number


def datetime_to_utc_text(value: datetime.datetime) -> str:
    """An instant as fixed-width UTC text (naive values are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(_UTC)
    return value.strftime('%Y-%m-%d %H:%M:%S.%f') if value.year >= 1000 else _wide(value)


def _wide(value: datetime.datetime) -> str:
    # strftime pads years below 1000 inconsistently across platforms
    return (f'{value.year:04d}-{value.month:02d}-{value.day:02d} '
            f'{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}')


def naive_datetime_text(value: datetime.datetime) -> str:
    """A wall time as fixed-width text (an aware value keeps its offset in the text)."""
    if value.tzinfo is not None:
        return value.isoformat(sep=' ', timespec='microseconds')
    return value.strftime('%Y-%m-%d %H:%M:%S.%f') if value.year >= 1000 else _wide(value)


def utc_text_to_datetime(value: Any) -> datetime.datetime:
    """Text (or a datetime) back to an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    elif not isinstance(value, datetime.datetime):
        raise DataError(f'expected a datetime text from SQLite, got {type(value).__name__} {value!r}')
    moment: datetime.datetime = value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=_UTC)
    return moment.astimezone(_UTC)


def text_to_naive_datetime(value: Any) -> datetime.datetime:
    """Text back to a naive datetime (its wall time)."""
    return datetime.datetime.fromisoformat(value) if isinstance(value, str) else value


def date_text(value: datetime.date) -> str:
    """A date as ISO text (a datetime given for a date column keeps its date)."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return value.isoformat()


def text_to_date(value: Any) -> datetime.date:
    """ISO text back to a date."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def time_text(value: datetime.time) -> str:
    """A time as fixed-width ISO text (microseconds always written, for ordering)."""
    return value.isoformat(timespec='microseconds')


def text_to_time(value: Any) -> datetime.time:
    """ISO text back to a time."""
    return datetime.time.fromisoformat(value) if isinstance(value, str) else value


def to_bool(value: Any) -> bool:
    """0/1 (or '0'/'1' text) back to bool."""
    if isinstance(value, str):
        return value.strip() not in ('0', '', 'false', 'False')
    return bool(value)


def decimal_reader(places: int) -> Converter:
    """REAL/INTEGER back to a Decimal with `places` decimals: the float printed to that many
    places is the stored decimal (it had at most 15 digits and at most `places` decimals)."""
    exponent = decimal.Decimal(1).scaleb(-places)
    make = decimal.Decimal
    # Decimals are immutable and amounts repeat (prices, rates): a bounded memo of the values
    # read saves building the same Decimal again (12 and 12.0 give the same quantized value).
    seen: dict[Any, decimal.Decimal] = {}

    fixed = f'%.{places}f'
    known = seen.get

    def read(value: Any) -> decimal.Decimal:
        result = known(value)   # not seen[value]: a miss would cost an exception
        if result is not None:
            return result
        if isinstance(value, (float, int)):
            result = make(fixed % value)
        else:
            result = to_decimal(value).quantize(exponent)
        if len(seen) < 4096:
            seen[value] = result
        return result
    return read


class SQLiteTypeMap(TypeMap):
    """Column types by affinity, and text/float adapters for the types SQLite lacks."""

    column_types: ClassVar[dict[str, str]] = {
        **TypeMap.column_types,
        'bool': 'BOOLEAN', 'int': 'INTEGER', 'float': 'REAL',
        'decimal': 'NUMERIC({precision}, {scale})', 'decimal_unbounded': 'NUMERIC',
        'datetime': 'TIMESTAMP', 'datetime_naive': 'TIMESTAMP', 'date': 'DATE', 'time': 'TIME',
        'json': 'TEXT', 'uuid': 'CHAR(36)', 'timedelta': 'BIGINT',
    }
    to_db_converters: ClassVar[dict[str, Converter]] = {
        **TypeMap.to_db_converters,
        'decimal': decimal_to_float, 'decimal_unbounded': decimal_to_float,
        'datetime': datetime_to_utc_text, 'datetime_naive': naive_datetime_text,
        'date': date_text, 'time': time_text,
    }
    from_db_converters: ClassVar[dict[str, Converter]] = {
        **{kind: converter for kind, converter in TypeMap.from_db_converters.items() if kind != 'bytes'},
        'decimal': to_decimal, 'decimal_unbounded': to_decimal, 'bool': to_bool,
        'datetime': utc_text_to_datetime, 'datetime_naive': text_to_naive_datetime,
        'date': text_to_date, 'time': text_to_time,
    }
    def from_db(self, spec: ColumnSpec) -> Converter | None:
        """As the base map, but a Decimal with decimal_places is read by printing the float."""
        if spec.decimal_places is not None and self.kind_of(spec) == 'decimal':
            return decimal_reader(spec.decimal_places)
        return super().from_db(spec)

    #: SQLite stores a bound NaN as NULL: refuse it instead
    refuse_nan_floats: ClassVar[bool] = True
    param_converters: ClassVar[dict[type, Converter | None]] = {
        decimal.Decimal: decimal_to_float,
        datetime.datetime: datetime_to_utc_text,
        datetime.date: date_text,
        datetime.time: time_text,
    }
