"""Schema introspection: what the database has now (tables, columns, indexes, foreign keys).

`backend.schema` is a `SchemaIntrospector`. The queries are dialect data (`introspect_*_sql`
class attributes of each dialect, with `introspect_*_params` naming what each `?` binds:
'schema' or 'table'); every query returns lower-case labels in a fixed shape, so the code here
is the same for every database. A table that does not exist has no columns, indexes or foreign
keys (never an error, so a check inside a transaction cannot abort it).

Row shapes (labels): columns `name, sql_type, nullable, column_default, pk_position,
autoincrement`; indexes `name, is_unique, column_name, position, descending` (one row per key
column, primary key excluded, a NULL column_name for an expression); foreign keys `name,
column_name, ref_table, ref_column, position, on_delete, on_update` (one row per column pair).
"""
from __future__ import annotations

import datetime
import re
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Sequence

from ..errors import NotSupportedError

#: runs a query and returns its rows as dicts (a backend's fetch_all)
FetchAll = Callable[[str, Sequence[Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a table as the database describes it."""

    name: str
    kind: str              # the portable kind ('int', 'str', 'decimal', 'datetime', ...)
    sql_type: str          # the database's own spelling
    nullable: bool
    default: str | None    # the default's SQL text in the normal form of normalize_default()
    primary_key: bool
    autoincrement: bool


@dataclass(frozen=True)
class IndexInfo:
    """One index of a table (not the primary key's; a unique constraint is a unique index).

    `descending` names the key columns sorted in descending order; it is empty for the usual
    all-ascending index, so `IndexInfo(name, columns, unique)` equals what the database reports.
    """

    name: str
    columns: tuple[str, ...]
    unique: bool
    descending: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKeyInfo:
    """One foreign key of a table; `on_delete` / `on_update` as normalize_rule() gives them."""

    name: str | None       # None where the database keeps no name (SQLite)
    columns: tuple[str, ...]
    ref_table: str         # 'schema.table' only when it lives in another schema than the table
    ref_columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None


#: (pattern over the lower-cased SQL type, kind), first match wins
SQL_TYPE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), kind) for pattern, kind in (
    (r'\[\]|^array', 'list'),
    (r'^(bool|boolean|bit)\b|^tinyint\(1\)|^number\(1(,0)?\)', 'bool'),
    (r'interval', 'timedelta'),
    (r'^(big|small|tiny|medium)?int(eger|\d)?\b|^number\(\d+(,0)?\)$|serial|^year\b', 'int'),   # MySQL YEAR: 1901..2155
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


#: the referential actions a foreign key reports ('NO ACTION' is the absence of one)
RULES = ('CASCADE', 'SET NULL', 'RESTRICT', 'SET DEFAULT')

#: functions the databases write back for the same current-moment default
_MOMENTS = {
    'current_timestamp': 'CURRENT_TIMESTAMP', 'now': 'CURRENT_TIMESTAMP', 'localtimestamp': 'CURRENT_TIMESTAMP',
    'getdate': 'CURRENT_TIMESTAMP', 'sysdate': 'CURRENT_TIMESTAMP', 'systimestamp': 'CURRENT_TIMESTAMP',
    'current_date': 'CURRENT_DATE', 'curdate': 'CURRENT_DATE',
    'current_time': 'CURRENT_TIME', 'curtime': 'CURRENT_TIME', 'localtime': 'CURRENT_TIME',
}
_MOMENT = re.compile(r'^([a-z_]+)\s*(\(\s*\d*\s*\))?$')
#: a PostgreSQL cast at the end of a default: 'x'::character varying, '-3'::integer, ...::text[]
_CAST = re.compile(r'::\s*"?[a-z_][a-z0-9_ ]*"?(\([\d\s,]+\))?[a-z_ ]*(\[\])*\s*$', re.IGNORECASE)
_NUMBER = re.compile(r'^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$', re.IGNORECASE)
_BACKSLASH = {'0': '\x00', 'b': '\b', 'n': '\n', 'r': '\r', 't': '\t', 'Z': '\x1a'}


def _outer_parentheses(text: str) -> bool:
    """Whether the whole text is one parenthesized group: '(5)' yes, '(1) + (2)' no."""
    if not (text.startswith('(') and text.endswith(')')):
        return False
    depth, quoted = 0, False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == '(':
            depth += 1
        elif not quoted and char == ')':
            depth -= 1
            if depth == 0 and index != len(text) - 1:
                return False
    return depth == 0


def _string_literal(text: str, backslashes: bool) -> str | None:
    """The value of one quoted SQL string ('it''s', N'x', MySQL's 'a\\b'), None if text is not one."""
    if text[:2].upper() == "N'":
        text = text[1:]
    if len(text) < 2 or text[0] != "'" or text[-1] != "'":
        return None
    value: list[str] = []
    index, end = 1, len(text) - 1
    while index < end:
        char = text[index]
        if char == "'":
            if text[index + 1] != "'" or index + 1 == end:
                return None      # a quote that closes early: 'a' || 'b' is an expression
            index += 1
        elif char == '\\' and backslashes and index + 1 < end:
            index += 1
            char = _BACKSLASH.get(text[index], text[index])
        value.append(char)
        index += 1
    return ''.join(value)


def _moment_text(value: str, kind: str) -> str:
    """A date/time/datetime constant in one spelling: ISO with a space before the time, no zero
    fraction (MariaDB's '07:30:00.000000'), an offset as UTC '+00:00' (PostgreSQL's '+00' in the
    session's zone); a text that is no such value is kept as it is."""
    parse: Callable[[str], Any] | None = {'datetime': datetime.datetime.fromisoformat, 'date': datetime.date.fromisoformat,
                                          'time': datetime.time.fromisoformat}.get(kind)
    if parse is None:
        return value
    try:
        moment = parse(value.strip())
    except ValueError:
        return value
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc)
        return moment.isoformat(sep=' ')
    return str(moment.isoformat())


def quote_default(value: str) -> str:
    """A string default in the normal form: single quotes, a quote doubled, nothing else escaped."""
    return "'" + value.replace("'", "''") + "'"


def _number(text: str) -> str:
    """A numeric literal written one way: 1.50 -> '1.5', 10.0 -> '10', -3 -> '-3'."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), 'f')


def normalize_default(text: str | None, kind: str = 'other', *, backslashes: bool = False,
                      autoincrement: bool = False) -> str | None:
    """A column default as the database wrote it back -> the normal form every backend shares.

    The normal form: None for no default, a NULL default and an autoincrement/identity column's
    generator; a string as `'text'` (a quote doubled; MySQL's backslash escapes, SQL Server's N
    prefix, PostgreSQL's `::type` casts and the parentheses SQL Server and SQLite keep removed);
    a number in its shortest exact spelling (`1.50` -> `1.5`, `-3`), also when PostgreSQL quotes
    it; on a 'bool' column `TRUE` / `FALSE` (from 1/0, true/false); the current moment as
    `CURRENT_TIMESTAMP` / `CURRENT_DATE` / `CURRENT_TIME` (from now(), current_timestamp(),
    getdate(), ...); any other expression as the database wrote it, trimmed.
    `backslashes`: the text uses MySQL's backslash escapes inside strings.
    """
    if text is None or autoincrement:
        return None
    text = text.strip()
    while True:
        previous = text
        if _outer_parentheses(text):
            text = text[1:-1].strip()
        if _string_literal(text, backslashes) is None:
            text = _CAST.sub('', text).strip()
        else:
            break
        if text == previous:
            break
    if not text or text.upper() == 'NULL':
        return None
    value = _string_literal(text, backslashes)
    if value is not None:
        if kind in ('int', 'decimal', 'float', 'bool') and _NUMBER.match(value.strip()):
            text = value.strip()      # PostgreSQL writes a negative number as '-3'::integer
        else:
            return quote_default(_moment_text(value, kind))
    if kind == 'bool' and text.lower() in ('1', '0', 'true', 'false', "b'1'", "b'0'"):
        return 'TRUE' if text.lower() in ('1', 'true', "b'1'") else 'FALSE'
    if _NUMBER.match(text):
        return _number(text)
    moment = _MOMENT.match(text.lower())
    if moment is not None and moment.group(1) in _MOMENTS:
        return _MOMENTS[moment.group(1)]
    return text


def normalize_rule(rule: str | None, aliases: dict[str, str | None] | None = None) -> str | None:
    """A foreign key's ON DELETE / ON UPDATE action: upper case, 'SET_NULL' -> 'SET NULL', NO ACTION -> None.

    `aliases` maps what one database reports for "nothing said" to None (MySQL reports RESTRICT,
    which InnoDB treats as NO ACTION): the dialect's `introspect_rule_aliases`.
    """
    if rule is None:
        return None
    text = ' '.join(str(rule).replace('_', ' ').upper().split())
    if aliases and text in aliases:
        return aliases[text]
    if text in ('', 'NO ACTION'):
        return None
    if text not in RULES:
        raise NotSupportedError(f'foreign key action {rule!r}: expected one of {", ".join(RULES)} or NO ACTION')
    return text


def _grouped(rows: Iterable[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """Rows of one index / foreign key per name, in key order (one row per column)."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row['name'], []).append(row)
    for group in groups.values():
        group.sort(key=lambda row: int(row['position'] or 0))
    return groups


class SchemaIntrospector:
    """Reads the live schema of one backend (a query per call, two for MySQL's indexes; nothing cached)."""

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

    def _rows(self, what: str, table: str) -> list[dict[str, Any]]:
        """The rows of introspect_<what>_sql for one table, bound as introspect_<what>_params say."""
        sql = self._sql(f'introspect_{what}_sql')
        params = self._bind(getattr(self.dialect, f'introspect_{what}_params', ('schema', 'table')), table)
        return self.fetch_all(sql, params)

    def tables(self) -> list[str]:
        """Names of the tables in the current schema (sorted)."""
        rows = self.fetch_all(self._sql('introspect_tables_sql'), ())
        return sorted(str(row['name']) for row in rows)

    def columns(self, table: str) -> list[ColumnInfo]:
        """The columns of a table in their order ([] when the table does not exist).

        `default` is in the normal form of normalize_default(), the same text on every backend
        for the same model DDL (a NULL default and an identity's generator are None).
        """
        backslashes = bool(getattr(self.dialect, 'introspect_default_backslashes', False))
        found: list[ColumnInfo] = []
        for row in self._rows('columns', table):
            sql_type = str(row['sql_type'] or '')
            kind, autoincrement = kind_of_sql_type(sql_type), bool(row['autoincrement'])
            default = row['column_default']
            found.append(ColumnInfo(
                name=str(row['name']), kind=kind, sql_type=sql_type, nullable=bool(row['nullable']),
                default=normalize_default(None if default is None else str(default), kind,
                                          backslashes=backslashes, autoincrement=autoincrement),
                primary_key=bool(row['pk_position']), autoincrement=autoincrement))
        return found

    def default_sql(self, value: Any, kind: str = 'other') -> str | None:
        """The default columns() reports for a column of `kind` made with DEFAULT `value` here.

        `value` is what a model's Column(default=...) holds (a constant or raw SQL); the result is
        in normalize_default()'s normal form, so migrations compare it with columns() directly.
        """
        backslashes = bool(getattr(self.dialect, 'backslash_escapes', False))   # MySQL's literal_sql
        return normalize_default(self.dialect.literal_sql(value), kind, backslashes=backslashes)

    def indexes(self, table: str, *, key_indexes: bool = False) -> list[IndexInfo]:
        """The indexes of a table by name: not the primary key's; unique constraints as unique indexes.

        Indexes over expressions and partial indexes (WHERE ...) are left out (no column names
        say what they index: expression_indexes() names them), and so is
        the index MySQL makes by itself for a foreign key that had none (named as the key),
        unless `key_indexes` (the migration operations that must drop or keep it).
        """
        skip: set[tuple[str, tuple[str, ...]]] = set()
        if not key_indexes and getattr(self.dialect, 'introspect_foreign_key_indexes', False):
            skip = {(key.name or '', key.columns) for key in self.foreign_keys(table)}
        found: list[IndexInfo] = []
        for name, group in _grouped(self._rows('indexes', table)).items():
            if any(row['column_name'] is None for row in group):
                continue
            unique = bool(group[0]['is_unique'])
            columns = tuple(str(row['column_name']) for row in group)
            if not unique and (str(name), columns) in skip:
                continue
            found.append(IndexInfo(name=str(name), columns=columns, unique=unique, descending=tuple(
                str(row['column_name']) for row in group if row['descending'])))
        return sorted(found, key=lambda index: index.name)

    def expression_indexes(self, table: str) -> list[IndexInfo]:
        """The indexes indexes() leaves out: over an expression or partial (WHERE ...), by name,
        with the columns the query names (none for an expression) - so that what cannot be
        compared or reflected is at least named."""
        found: list[IndexInfo] = []
        for name, group in _grouped(self._rows('indexes', table)).items():
            if any(row['column_name'] is None for row in group):
                found.append(IndexInfo(name=str(name), columns=tuple(
                    str(row['column_name']) for row in group if row['column_name'] is not None),
                    unique=bool(group[0]['is_unique'])))
        return sorted(found, key=lambda index: index.name)

    def foreign_keys(self, table: str) -> list[ForeignKeyInfo]:
        """The foreign keys of a table, sorted by name (by columns where the database keeps no name)."""
        aliases: dict[str, str | None] | None = getattr(self.dialect, 'introspect_rule_aliases', None)
        # False: the database keeps no constraint names, the query's `name` only groups the rows
        named = bool(getattr(self.dialect, 'introspect_foreign_key_names', True))
        found: list[ForeignKeyInfo] = []
        for name, group in _grouped(self._rows('foreign_keys', table)).items():
            first = group[0]
            found.append(ForeignKeyInfo(
                name=str(name) if named and name is not None else None,
                columns=tuple(str(row['column_name']) for row in group), ref_table=str(first['ref_table']),
                ref_columns=tuple(str(row['ref_column']) for row in group),
                on_delete=normalize_rule(first['on_delete'], aliases),
                on_update=normalize_rule(first['on_update'], aliases)))
        return sorted(found, key=lambda key: (key.name or '', key.columns))

    def referencing_tables(self, table: str) -> list[str]:
        """Other tables with a foreign key to `table` (only where the dialect has the query)."""
        sql = getattr(self.dialect, 'introspect_referencing_sql', None)
        if sql is None:
            return []
        params = self._bind(getattr(self.dialect, 'introspect_referencing_params', ('table',)), table)
        return sorted({str(row['name']) for row in self.fetch_all(sql, params)})


__all__ = ['ColumnInfo', 'ForeignKeyInfo', 'IndexInfo', 'RULES', 'SchemaIntrospector', 'kind_of_sql_type',
           'kinds_compatible', 'normalize_default', 'normalize_rule', 'quote_default', 'split_table']
