"""Schema introspection: what the database has now (tables, columns, referencing tables).

`backend.schema` is a `SchemaIntrospector`. The queries are dialect data (`introspect_*_sql`
class attributes of each dialect, with `introspect_*_params` naming what each `?` binds:
'schema' or 'table'); every query returns lower-case labels in a fixed shape, so the code here
is the same for every database. A table that does not exist has no columns (never an error,
so a check inside a transaction cannot abort it).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

#: runs a query and returns its rows as dicts (a backend's fetch_all)
FetchAll = Callable[[str, Sequence[Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a table as the database describes it."""

    name: str
    kind: str              # the portable kind ('int', 'str', 'decimal', 'datetime', ...)
    sql_type: str          # the database's own spelling
    nullable: bool
    default: str | None    # the default's SQL text, None without one
    primary_key: bool
    autoincrement: bool


#: (pattern over the lower-cased SQL type, kind), first match wins
SQL_TYPE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), kind) for pattern, kind in (
    (r'\[\]|^array', 'list'),
    (r'^(bool|boolean|bit)\b|^tinyint\(1\)|^number\(1(,0)?\)', 'bool'),
    (r'interval', 'timedelta'),
    (r'^(big|small|tiny|medium)?int(eger|\d)?\b|^number\(\d+(,0)?\)$|serial', 'int'),
    (r'numeric|decimal|^number|money', 'decimal'),
    (r'double|float|real|binary_double|binary_float', 'float'),
    (r'json', 'json'),
    (r'uuid|uniqueidentifier', 'uuid'),
    (r'timestamp|datetime', 'datetime'),
    (r'^date$', 'date'),
    (r'^time\b', 'time'),
    (r'char|text|clob|string|enum|^set\b|xml', 'str'),
    (r'blob|bytea|binary|raw|image', 'bytes'),
))

#: kinds whose values one another's columns hold (no mismatch reported between them)
KIND_GROUPS: dict[str, str] = {
    'bool': 'number', 'int': 'number', 'decimal': 'number', 'float': 'number',
    'str': 'text', 'json': 'text', 'uuid': 'text',
    'datetime': 'time', 'date': 'time', 'time': 'time',
    'bytes': 'bytes', 'timedelta': 'interval', 'list': 'list',
}


def kind_of_sql_type(sql_type: str) -> str:
    """The portable kind of a column type ('other' when no rule knows it)."""
    text = re.sub(r'\s*([(),])\s*', r'\1', ' '.join((sql_type or '').lower().split()))
    for pattern, kind in SQL_TYPE_KINDS:
        if pattern.search(text):
            return kind
    return 'other'


def kinds_compatible(expected: str, actual: str) -> bool:
    """Whether a column of kind `actual` can hold a field whose own column would be `expected`."""
    if 'other' in (expected, actual) or expected == actual:
        return True
    group = KIND_GROUPS.get(expected)
    return group is not None and group == KIND_GROUPS.get(actual)


def split_table(name: str) -> tuple[str | None, str]:
    """'schema.table' -> ('schema', 'table'); 'table' -> (None, 'table')."""
    schema, _, table = name.rpartition('.')
    return (schema or None), table


class SchemaIntrospector:
    """Reads the live schema of one backend (one query per call, nothing cached)."""

    def __init__(self, fetch_all: FetchAll, dialect: Any) -> None:
        self.fetch_all = fetch_all
        self.dialect = dialect   # its introspect_*_sql queries
        #: ModelMeta objects whose table was compared with their fields on this backend
        self.checked: set[Any] = set()
        self.lock = threading.Lock()

    def _bind(self, names: tuple[str, ...], table: str) -> list[Any]:
        schema, bare = split_table(table)
        return [schema if name == 'schema' else bare for name in names]

    def _sql(self, attribute: str) -> str:
        sql: str | None = getattr(self.dialect, attribute, None)
        if sql is None:
            raise NotImplementedError(f'{self.dialect.name}: no {attribute} (schema introspection)')
        return sql

    def tables(self) -> list[str]:
        """Names of the tables in the current schema (sorted)."""
        rows = self.fetch_all(self._sql('introspect_tables_sql'), ())
        return sorted(str(row['name']) for row in rows)

    def columns(self, table: str) -> list[ColumnInfo]:
        """The columns of a table in their order ([] when the table does not exist)."""
        params = self._bind(getattr(self.dialect, 'introspect_columns_params', ('schema', 'table')), table)
        rows = self.fetch_all(self._sql('introspect_columns_sql'), params)
        return [ColumnInfo(name=str(row['name']), kind=kind_of_sql_type(str(row['sql_type'] or '')),
                           sql_type=str(row['sql_type'] or ''), nullable=bool(row['nullable']),
                           default=None if row['column_default'] is None else str(row['column_default']).strip(),
                           primary_key=bool(row['pk_position']), autoincrement=bool(row['autoincrement']))
                for row in rows]

    def referencing_tables(self, table: str) -> list[str]:
        """Other tables with a foreign key to `table` (only where the dialect has the query)."""
        sql = getattr(self.dialect, 'introspect_referencing_sql', None)
        if sql is None:
            return []
        params = self._bind(getattr(self.dialect, 'introspect_referencing_params', ('table',)), table)
        return sorted({str(row['name']) for row in self.fetch_all(sql, params)})


__all__ = ['ColumnInfo', 'SchemaIntrospector', 'kind_of_sql_type', 'kinds_compatible', 'split_table']
