"""SQLite's table rebuild: the changes its ALTER TABLE cannot make (a column's type, nullability
or default, dropping an indexed column, adding or dropping a foreign key).

The steps follow SQLite's own recipe (https://sqlite.org/lang_altertable.html#otheralter): create
the new table, copy the rows, drop the old table, rename the new one to the old name, recreate
the indexes and triggers, check the foreign keys. They run inside the migration's transaction.
With foreign keys enforced, dropping the old table would run ON DELETE actions on the rows that
reference it (a CASCADE would delete them), so `PRAGMA foreign_keys` is switched off around the
rebuild; that PRAGMA does nothing inside a transaction, so those two steps are marked
`outside_transaction`. The table is read with PRAGMAs rather than backend.schema: the rebuild
must keep the exact SQL of types, defaults and indexes (partial and expression indexes included).
Kept from the table's CREATE TABLE text (sqlite_table_sql.py): column COLLATE, DEFERRABLE
clauses, WITHOUT ROWID / STRICT. Not kept: CHECK constraints, ON CONFLICT clauses and generated
columns (refused). Views and other tables' triggers naming the table are left as written (the
RENAME runs with legacy_alter_table on); a view the change breaks fails the rebuild.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ActiveRecordError, IntegrityError, NotSupportedError, ProgrammingError
from .sqlite_table_sql import parse_create_table
from .steps import Step

#: prefix of the table the rows are copied into
REBUILD_PREFIX = '_ar_rebuild_'


@dataclass(frozen=True)
class RebuildColumn:
    """A column of the rebuilt table; `source` is the SQL its rows are copied from (None: new)."""

    name: str
    type_sql: str
    nullable: bool = True
    default_sql: str | None = None
    primary_key: int = 0          # position in the primary key, 0 when not part of it
    source: str | None = None
    collation: str | None = None  # COLLATE name as declared (None: the default, BINARY)


@dataclass(frozen=True)
class RebuildForeignKey:
    """A foreign key of the rebuilt table (actions upper case, None for NO ACTION)."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None
    deferrable: str = ''          # the DEFERRABLE clause as declared ('DEFERRABLE INITIALLY DEFERRED')


@dataclass
class TableShape:
    """What a SQLite table is made of, as the rebuild needs it."""

    name: str
    columns: list[RebuildColumn]
    autoincrement: bool = False
    uniques: list[tuple[str, ...]] = field(default_factory=list[tuple[str, ...]])
    foreign_keys: list[RebuildForeignKey] = field(default_factory=list[RebuildForeignKey])
    #: (CREATE INDEX statement, the columns it names)
    indexes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list[tuple[str, tuple[str, ...]]])
    triggers: list[str] = field(default_factory=list[str])
    #: the table options after the column list ('WITHOUT ROWID', 'STRICT')
    options: str = ''

    def column(self, name: str) -> RebuildColumn:
        """The column called `name` (ProgrammingError naming the table when there is none)."""
        for column in self.columns:
            if column.name.lower() == name.lower():
                return column
        raise ProgrammingError(f'table {self.name!r} has no column {name!r}; it has '
                               + ', '.join(repr(column.name) for column in self.columns))

    def replace_column(self, name: str, **changes: Any) -> None:
        """Change one column's definition in place."""
        target = self.column(name)
        self.columns = [replace(column, **changes) if column is target else column for column in self.columns]

    def drop_column(self, name: str) -> None:
        """Remove a column and every index, unique constraint and foreign key that names it."""
        target = self.column(name).name.lower()
        self.columns = [column for column in self.columns if column.name.lower() != target]

        def keeps(columns: tuple[str, ...]) -> bool:
            return target not in {column.lower() for column in columns}
        self.uniques = [columns for columns in self.uniques if keeps(columns)]
        self.indexes = [(sql, columns) for sql, columns in self.indexes if keeps(columns)]
        self.foreign_keys = [key for key in self.foreign_keys if keeps(key.columns)]


_ACTIONS = {'NO ACTION': None, 'NONE': None}


def read_shape(backend: Any, table: str) -> TableShape:
    """Read a table's columns, keys, indexes and triggers (ProgrammingError when it does not exist)."""
    dialect = backend.dialect
    master = backend.fetch_one("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                               (table,))
    if master is None:
        raise ProgrammingError(f'cannot rebuild table {table!r}: it does not exist')
    rows = backend.fetch_all('SELECT name, type, "notnull" AS not_null, dflt_value, pk, hidden '
                             'FROM pragma_table_xinfo(?) ORDER BY cid', (table,))
    if any(row['hidden'] for row in rows):
        raise NotSupportedError(f'cannot rebuild table {table!r}: it has generated or hidden columns')
    if re.search(r'\bCHECK\s*\(', str(master['sql'] or ''), re.IGNORECASE):
        raise NotSupportedError(f'cannot rebuild table {table!r}: its CHECK constraints would be lost')
    text = parse_create_table(str(master['sql'] or ''))
    if text.unsupported:
        raise NotSupportedError(f'cannot rebuild table {table!r}: ' + ', '.join(text.unsupported)
                                + ' would be lost (change the table with op.execute, by hand)')
    columns = [RebuildColumn(name=str(row['name']), type_sql=str(row['type'] or ''), nullable=not row['not_null'],
                             default_sql=None if row['dflt_value'] is None else str(row['dflt_value']),
                             primary_key=int(row['pk'] or 0), source=dialect.quote(str(row['name'])),
                             collation=text.collations.get(str(row['name']).lower()))
               for row in rows]
    shape = TableShape(name=table, columns=columns, options=text.options,
                       autoincrement=bool(re.search(r'\bAUTOINCREMENT\b', str(master['sql']), re.IGNORECASE)))
    for index in backend.fetch_all('SELECT name, origin FROM pragma_index_list(?) ORDER BY seq', (table,)):
        if index['origin'] == 'pk':
            continue
        names = tuple(str(row['name']) for row in backend.fetch_all(
            'SELECT name FROM pragma_index_info(?) ORDER BY seqno', (index['name'],)) if row['name'] is not None)
        if index['origin'] == 'u':
            _check_unique_collations(backend, shape, str(index['name']))
            shape.uniques.append(names)
            continue
        sql = backend.fetch_value("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index['name'],))
        if sql:
            shape.indexes.append((str(sql), names))
    keys: dict[int, list[dict[str, Any]]] = {}
    for row in backend.fetch_all('SELECT id, seq, "table" AS ref_table, "from" AS from_column, "to" AS to_column, '
                                 'on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq', (table,)):
        keys.setdefault(int(row['id']), []).append(row)
    for rows_of_key in keys.values():
        first = rows_of_key[0]
        shape.foreign_keys.append(RebuildForeignKey(
            columns=tuple(str(row['from_column']) for row in rows_of_key), ref_table=str(first['ref_table']),
            ref_columns=tuple(str(row['to_column']) for row in rows_of_key if row['to_column'] is not None),
            on_delete=_action(first['on_delete']), on_update=_action(first['on_update']),
            deferrable=text.deferrable.get(tuple(str(row['from_column']).lower() for row in rows_of_key), '')))
    shape.triggers = [str(row['sql']) for row in backend.fetch_all(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? COLLATE NOCASE", (table,))]
    return shape


def _check_unique_collations(backend: Any, shape: TableShape, index: str) -> None:
    """Refuse a UNIQUE constraint whose column order or collation is not its columns' own: the
    rebuild writes UNIQUE (columns), which would compare them differently."""
    for row in backend.fetch_all('SELECT name, "desc" AS descending, coll FROM pragma_index_xinfo(?) '
                                 'WHERE "key" = 1', (index,)):
        if row['name'] is None:
            continue
        declared = shape.column(str(row['name'])).collation or 'BINARY'
        if row['descending'] or str(row['coll'] or 'BINARY').upper() != declared.upper():
            raise NotSupportedError(f'cannot rebuild table {shape.name!r}: its UNIQUE constraint on column '
                                    f'{row["name"]!r} has its own COLLATE or DESC, which would be lost')


def _action(text: Any) -> str | None:
    action = str(text or 'NO ACTION').upper()
    return _ACTIONS.get(action, action)


#: a default SQLite takes after DEFAULT as it is; anything else is an expression it needs in parentheses
_PLAIN_DEFAULT = re.compile(r"(?i)^(NULL|TRUE|FALSE|CURRENT_TIME|CURRENT_DATE|CURRENT_TIMESTAMP|[+-]?(\d+\.?\d*|\.\d+)"
                            r"(e[+-]?\d+)?|'([^']|'')*'|x'[0-9a-f]*')$")


def default_clause(default_sql: str) -> str:
    """A column default as written after DEFAULT: PRAGMA table_info gives an expression default
    without the parentheses it was declared with (`(1+1)` reads back as `1+1`)."""
    text = default_sql.strip()
    return text if _PLAIN_DEFAULT.match(text) else f'({text})'


def create_table_sql(dialect: Any, name: str, shape: TableShape) -> str:
    """CREATE TABLE `name` with the shape's columns, keys and unique constraints."""
    quote = dialect.quote
    key = sorted((column for column in shape.columns if column.primary_key), key=lambda column: column.primary_key)
    items: list[str] = []
    for column in shape.columns:
        parts = [quote(column.name)] + ([column.type_sql] if column.type_sql else [])
        if column.collation is not None:
            parts.append('COLLATE ' + (column.collation if re.fullmatch(r'\w+', column.collation)
                                       else quote(column.collation)))
        if len(key) == 1 and column is key[0]:
            parts.append('PRIMARY KEY AUTOINCREMENT' if shape.autoincrement else 'PRIMARY KEY')
        if not column.nullable:
            parts.append('NOT NULL')
        if column.default_sql is not None:
            parts.append('DEFAULT ' + default_clause(column.default_sql))
        items.append(' '.join(parts))
    if len(key) > 1:
        items.append('PRIMARY KEY (' + ', '.join(quote(column.name) for column in key) + ')')
    items += ['UNIQUE (' + ', '.join(quote(column) for column in columns) + ')' for columns in shape.uniques]
    for foreign in shape.foreign_keys:
        target = dialect.quote_table(foreign.ref_table)
        if foreign.ref_columns:
            target += ' (' + ', '.join(quote(column) for column in foreign.ref_columns) + ')'
        items.append('FOREIGN KEY (' + ', '.join(quote(column) for column in foreign.columns) + ') REFERENCES '
                     + target + dialect.foreign_key_actions_sql(foreign.on_delete, foreign.on_update)
                     + (' ' + foreign.deferrable if foreign.deferrable else ''))
    options = ' ' + shape.options if shape.options else ''
    return f'CREATE TABLE {dialect.quote_table(name)} (\n  ' + ',\n  '.join(items) + '\n)' + options


def rebuild_steps(backend: Any, shape: TableShape) -> list[Step]:
    """The steps that turn the live table `shape.name` into `shape`, keeping its rows."""
    dialect = backend.dialect
    table = shape.name
    scratch = REBUILD_PREFIX + table
    rewrites, blocks = dialect.migration_effect('rebuild')

    def step(sql: str, outside: bool = False) -> Step:
        return Step(sql, rewrites_table=rewrites, blocks_writes=blocks, outside_transaction=outside,
                    operation='rebuild')
    copied = [column for column in shape.columns if column.source is not None]
    enforced = bool(backend.fetch_value('PRAGMA foreign_keys'))
    steps = [step('PRAGMA foreign_keys = OFF', outside=True)] if enforced else []
    before: list[int] = []
    steps += [
        Step(f'-- count the rows of or pointing at {table} already breaking a foreign key', kind='python',
             fn=_count_broken(table, before), rewrites_table=rewrites, blocks_writes=blocks, operation='rebuild'),
        step(create_table_sql(dialect, scratch, shape)),
        step(f'INSERT INTO {dialect.quote(scratch)} (' + ', '.join(dialect.quote(column.name) for column in copied)
             + ') SELECT ' + ', '.join(str(column.source) for column in copied) + f' FROM {dialect.quote(table)}'),
    ]
    if shape.autoincrement:
        # AUTOINCREMENT never reuses a key: the new table continues the old one's counter (a
        # deleted largest key included), which the rename then carries over
        steps += [step(f'DELETE FROM sqlite_sequence WHERE name = {dialect.string_literal(scratch)}'),
                  step(f'INSERT INTO sqlite_sequence (name, seq) SELECT {dialect.string_literal(scratch)}, seq '
                       f'FROM sqlite_sequence WHERE name = {dialect.string_literal(table)}')]
    steps += [
        step(f'DROP TABLE {dialect.quote(table)}'),
        step(f'ALTER TABLE {dialect.quote(scratch)} RENAME TO {dialect.quote(table)}'),
    ]
    if not backend.fetch_value('SELECT legacy_alter_table FROM pragma_legacy_alter_table'):
        # Since 3.26 RENAME also rewrites the views and triggers naming the table, and fails on
        # those naming the old table, dropped a step before ("error in view v: no such table").
        # The legacy RENAME leaves them as written: they name the table that is there again after
        # it (SQLite's procedure allows either; views are then checked by the last step).
        rename = steps.pop()
        steps += [step('PRAGMA legacy_alter_table = ON'), rename, step('PRAGMA legacy_alter_table = OFF')]
    steps += [step(sql) for sql, _ in shape.indexes]
    steps += [step(sql) for sql in shape.triggers]
    steps.append(Step(f'-- check the foreign keys of {table} (PRAGMA foreign_key_check)', kind='python',
                      fn=_foreign_key_check(table, before), rewrites_table=rewrites, blocks_writes=blocks,
                      operation='rebuild'))
    if enforced:
        steps.append(step('PRAGMA foreign_keys = ON', outside=True))
    return steps


def _broken_rows(backend: Any, table: str) -> list[dict[str, Any]]:
    """The rows of `table`, or pointing at it, that break a foreign key."""
    broken = backend.fetch_all('SELECT "table" AS tbl, rowid AS row_id, parent FROM pragma_foreign_key_check')
    return [row for row in broken if table.lower() in (str(row['tbl']).lower(), str(row['parent']).lower())]


def _count_broken(table: str, before: list[int]) -> Any:
    """A data step noting how many such rows there were before the rebuild (an orphan left by a
    connection with foreign keys off is not the rebuild's doing, and must not block it)."""
    def count(backend: Any) -> None:
        before[:] = [len(_broken_rows(backend, table))]
    return count


def _foreign_key_check(table: str, before: list[int]) -> Any:
    """A data step that fails when the rebuild left more rows of `table` (or rows pointing at it)
    breaking a foreign key than there were before it."""
    def check(backend: Any) -> None:
        for view in backend.fetch_all("SELECT name FROM sqlite_master WHERE type = 'view'"):
            try:   # a view naming a dropped or renamed column fails only when it is read
                backend.fetch_all(f'SELECT * FROM {backend.dialect.quote(str(view["name"]))} LIMIT 0')
            except ActiveRecordError as error:
                raise ProgrammingError(f'rebuilding table {table!r} breaks view {view["name"]!r} ({error}): '
                                       'drop the view before the change and create it again after') from error
        broken = _broken_rows(backend, table)
        if len(broken) > sum(before):
            sample = ', '.join(f"{row['tbl']} rowid {row['row_id']} -> {row['parent']}" for row in broken[:5])
            raise IntegrityError(f'rebuilding table {table!r} left {len(broken) - sum(before)} more row(s) '
                                 f'breaking a foreign key: {sample}')
    return check


__all__ = ['REBUILD_PREFIX', 'RebuildColumn', 'RebuildForeignKey', 'TableShape', 'create_table_sql',
           'read_shape', 'rebuild_steps']
