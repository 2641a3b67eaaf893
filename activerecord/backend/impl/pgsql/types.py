"""PostgreSQL's column types: only the entries that differ from the base TypeMap.

pg8000 already binds and parses UUID, interval, JSON and arrays in their native forms, so
most PostgreSQL kinds need no converter at all; the tables below drop the base map's text
encodings for those kinds.
"""
from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any, ClassVar

from ...types import ColumnSpec, Converter, TypeMap

#: item types a `list[...]` field stores as a native PostgreSQL array (others become JSONB)
ARRAY_ITEM_TYPES: frozenset[type] = frozenset({int, str, float, bool, decimal.Decimal, uuid.UUID,
                                         datetime.date, datetime.datetime})


def interval_from_db(value: Any) -> datetime.timedelta:
    """A timedelta from an INTERVAL (pg8000 hands back its own type when months are involved)."""
    if isinstance(value, datetime.timedelta):
        return value
    to_timedelta = getattr(value, 'to_timedelta', None)
    if to_timedelta is None:
        raise ValueError(f'INTERVAL value {value!r} cannot be read as a timedelta')
    result: datetime.timedelta = to_timedelta()
    return result


class PostgreSQLTypeMap(TypeMap):
    """TIMESTAMPTZ instants, exact NUMERIC, BYTEA, JSONB, UUID, INTERVAL and native arrays."""

    column_types: ClassVar[dict[str, str]] = {
        **TypeMap.column_types,
        'bytes': 'BYTEA', 'uuid': 'UUID', 'json': 'JSONB', 'timedelta': 'INTERVAL',
        'datetime': 'TIMESTAMPTZ', 'datetime_naive': 'TIMESTAMP',
        # {item} is the column type of the list's item type: BIGINT[], TEXT[], ...
        'array': '{item}[]',
    }
    # uuid, interval and arrays travel in their Python forms (pg8000 formats them itself).
    to_db_converters: ClassVar[dict[str, Converter]] = {
        kind: converter for kind, converter in TypeMap.to_db_converters.items()
        if kind not in ('uuid', 'timedelta')
    }
    from_db_converters: ClassVar[dict[str, Converter]] = {
        **{kind: converter for kind, converter in TypeMap.from_db_converters.items() if kind != 'timedelta'},
        'timedelta': interval_from_db,
    }
    # A raw list parameter is a PostgreSQL array (`tags && ?`), not JSON text.
    param_converters: ClassVar[dict[type, Converter | None]] = {list: None}
    #: the server refuses a NUL in text itself (SQLSTATE 22021): no scan before sending
    refuse_nul_text: ClassVar[bool] = False

    def list_kind(self, spec: ColumnSpec) -> str:
        """list[int], list[str], ... are native arrays; other lists are JSONB documents."""
        return 'array' if spec.item_type in ARRAY_ITEM_TYPES else 'json'
