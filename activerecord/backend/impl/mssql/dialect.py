"""SQL Server's SQL (2016 and later): only what differs from the base dialect."""
from __future__ import annotations

import datetime
import re
from typing import Any, ClassVar, Sequence

from ....errors import NotSupportedError, ProgrammingError
from ...dialect import Dialect, SQLContext
from ...features import Features
from ...transaction import IsolationLevel, effective_level
from .types import SQLServerTypeMap

#: SAVE TRANSACTION takes a plain identifier, of which SQL Server uses 32 characters
_SAVEPOINT_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]{0,31}\Z')
#: the session's level outside our transactions (SQL Server's default)
DEFAULT_ISOLATION = IsolationLevel.READ_COMMITTED
_TOP_STACK = 'mssql_top'


def nstring(text: str) -> str:
    """A Unicode string literal N'...' (for DDL defaults and object names in guards)."""
    if '\x00' in text:
        raise ProgrammingError('a literal cannot contain a NUL character')
    return "N'" + text.replace("'", "''") + "'"


class SQLServerDialect(Dialect):
    """SQL Server: [bracket] quoting, OFFSET/FETCH and TOP, IDENTITY, OUTPUT INSERTED, MERGE."""

    name = 'mssql'
    features = Features(
        generated_keys='output_inserted', returning=False, multi_row_insert=True, upsert='merge',
        paging='offset_fetch', savepoints=True, release_savepoint=False, transactional_ddl=True,
        # row locks are table hints: WITH (UPDLOCK, ROWLOCK[, NOWAIT | READPAST])
        for_update=True, for_update_nowait=True, for_update_skip_locked=True, ilike=False,
        window_functions=True, cte=True, recursive_cte=True, intersect=True, except_=True,
        right_join=True, full_join=True, json=True, json_operators=False, arrays=False,
        fulltext=False, spatial=False, plsql=False, boolean_type=False, read_only_transactions=False,
        # SHOWPLAN is a session setting that must be alone in its batch
        explain=False,
        # An RPC carries at most 2100 parameters; sp_executesql takes two of them.
        max_parameters=2098, max_in_list=2000,
        isolation_levels=frozenset({IsolationLevel.READ_UNCOMMITTED, IsolationLevel.READ_COMMITTED,
                                    IsolationLevel.REPEATABLE_READ, IsolationLevel.SNAPSHOT,
                                    IsolationLevel.SERIALIZABLE}),
    )
    type_map_class = SQLServerTypeMap
    quote_start = '['
    quote_end = ']'
    max_identifier_length = 128
    #: INSERT ... VALUES takes at most 1000 rows (error 10738); more go through a derived table
    max_insert_rows: ClassVar[int] = 1000

    begin_template = 'BEGIN TRANSACTION'
    begin_with_isolation_template = 'SET TRANSACTION ISOLATION LEVEL {level}; BEGIN TRANSACTION'
    # The isolation level outlives the transaction in a session: put the default back in the
    # same batch (no extra round trip). The guard skips a ROLLBACK the server already did
    # (a deadlock victim's transaction is gone).
    commit_sql = f'COMMIT TRANSACTION; SET TRANSACTION ISOLATION LEVEL {DEFAULT_ISOLATION.value}'
    rollback_sql = f'IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION; SET TRANSACTION ISOLATION LEVEL {DEFAULT_ISOLATION.value}'
    savepoint_template = 'SAVE TRANSACTION {name}'
    rollback_to_template = 'ROLLBACK TRANSACTION {name}'
    release_template = None            # a savepoint lives until its transaction ends

    autoincrement_column_template = '{name} {type} IDENTITY(1, 1)'
    autoincrement_type = 'BIGINT'
    supports_if_not_exists = False
    supports_drop_if_exists = False
    string_concat_operator = '+'
    boolean_literals: ClassVar[dict[bool, str]] = {True: '1', False: '0'}
    server_version_sql = 'SELECT @@VERSION'
    ping_sql = 'SELECT 1'

    # -- query constructs ---------------------------------------------------------------
    recursive_with_keyword = 'WITH'           # recursive CTEs need no keyword, only a column list
    operator_functions: ClassVar[dict[str, str]] = {'||': 'CONCAT'}   # `+` would add numbers
    function_names: ClassVar[dict[str, str]] = {
        'length': 'LEN', 'char_length': 'LEN', 'substr': 'SUBSTRING', 'ceil': 'CEILING',
        'ifnull': 'ISNULL', 'nvl': 'ISNULL', 'random': 'RAND', 'now': 'SYSDATETIMEOFFSET',
        'string_agg': 'STRING_AGG', 'group_concat': 'STRING_AGG'}
    supports_nulls_ordering = False           # the query layer sorts on a CASE key first
    cast_types: ClassVar[dict[str, str]] = {
        'int': 'BIGINT', 'float': 'FLOAT', 'decimal': 'DECIMAL(38, 10)', 'str': 'NVARCHAR(4000)',
        'text': 'NVARCHAR(MAX)', 'date': 'DATE', 'datetime': 'DATETIME2(6)', 'time': 'TIME(6)',
        'bool': 'BIT'}

    # -- paging -------------------------------------------------------------------------

    def render_top(self, ctx: SQLContext, limit: int | None, offset: int | None,
                   has_order_by: bool) -> None:
        """`TOP (?) ` right after SELECT [DISTINCT] when there is a limit and no offset."""
        if limit is not None and not offset:
            ctx.literal('TOP (').param(limit).literal(') ')
            ctx.state.setdefault(_TOP_STACK, []).append(True)

    def render_paging(self, ctx: SQLContext, limit: int | None, offset: int | None,
                      has_order_by: bool) -> None:
        """OFFSET ? ROWS [FETCH NEXT ? ROWS ONLY]; nothing when render_top wrote TOP for this SELECT."""
        if limit is None and not offset:
            return
        if not offset:
            pending = ctx.state.get(_TOP_STACK)
            if pending:       # selects nest, so the innermost TOP is the last one pushed
                pending.pop()
                return
        if not has_order_by:
            # OFFSET/FETCH is part of ORDER BY in T-SQL; this order is "any order".
            ctx.literal(' ORDER BY (SELECT NULL)')
        ctx.literal(' OFFSET ').param(offset or 0).literal(' ROWS')
        if limit is not None:
            ctx.literal(' FETCH NEXT ').param(limit).literal(' ROWS ONLY')

    # -- row locks ----------------------------------------------------------------------

    def render_for_update(self, ctx: SQLContext, nowait: bool, skip_locked: bool) -> None:
        """Nothing at the end of the SELECT: SQL Server locks rows through the table hint."""

    def render_table_lock_hint(self, ctx: SQLContext, nowait: bool, skip_locked: bool) -> None:
        """WITH (UPDLOCK, ROWLOCK[, NOWAIT][, READPAST]) after the locked table."""
        hints = ['UPDLOCK', 'ROWLOCK'] + (['NOWAIT'] if nowait else []) + (['READPAST'] if skip_locked else [])
        ctx.literal(' WITH (' + ', '.join(hints) + ')')

    # -- transactions -------------------------------------------------------------------

    def begin_statements(self, level: IsolationLevel | None, read_only: bool,
                         features: Features) -> list[str]:
        """BEGIN TRANSACTION, preceded in the same batch by SET TRANSACTION ISOLATION LEVEL."""
        if read_only:
            raise NotSupportedError('mssql does not support read-only transactions')
        if level is None:
            return [self.begin_template]
        actual = effective_level(level, features.isolation_levels, self.name)
        return [self.begin_with_isolation_template.format(level=actual.value)]

    def savepoint_sql(self, name: str) -> str:
        """SAVE TRANSACTION name (a plain identifier of at most 32 characters)."""
        return self.savepoint_template.format(name=savepoint_name(name))

    def rollback_to_sql(self, name: str) -> str:
        """ROLLBACK TRANSACTION name."""
        return self.rollback_to_template.format(name=savepoint_name(name))

    # -- DML ----------------------------------------------------------------------------

    def insert_sql(self, table: str, columns: Sequence[str], row_count: int = 1,
                   returning: Sequence[str] = ()) -> str:
        """INSERT [OUTPUT INSERTED.col, ...] VALUES (...), ...; beyond 1000 rows a derived table."""
        head = f'INSERT INTO {self.quote_table(table)}'
        if not columns:
            return head + self.output_clause(returning) + ' DEFAULT VALUES'
        column_list = ', '.join(self.quote(column) for column in columns)
        row = '(' + ', '.join(['?'] * len(columns)) + ')'
        rows = ', '.join([row] * row_count)
        head += f' ({column_list})' + self.output_clause(returning)
        if row_count <= self.max_insert_rows:
            return f'{head} VALUES {rows}'
        # INSERT ... VALUES takes at most 1000 rows (error 10738); a VALUES derived table has
        # no such limit, only the 2100 parameters of the request.
        return f'{head} SELECT {column_list} FROM (VALUES {rows}) AS [rows] ({column_list})'

    def identity_insert_sql(self, table: str, sql: str) -> str:
        """Let `sql` give the IDENTITY column explicit values (and forbid it again after)."""
        quoted = self.quote_table(table)
        return f'SET IDENTITY_INSERT {quoted} ON; {sql}; SET IDENTITY_INSERT {quoted} OFF'

    def output_clause(self, returning: Sequence[str]) -> str:
        """' OUTPUT INSERTED.[a], INSERTED.[b]' (rows of the generated values come back)."""
        if not returning:
            return ''
        return ' OUTPUT ' + ', '.join(f'INSERTED.{self.quote(column)}' for column in returning)

    def default_values_clause(self, returning: Sequence[str]) -> str:
        """OUTPUT comes before DEFAULT VALUES in T-SQL."""
        return self.output_clause(returning) + ' DEFAULT VALUES'

    def upsert_sql(self, table: str, columns: Sequence[str], row_count: int,
                   conflict: Sequence[str], update: Sequence[str]) -> str:
        """MERGE ... WITH (HOLDLOCK) USING (VALUES ...) ON keys WHEN MATCHED / NOT MATCHED ...;"""
        if not conflict:
            raise ProgrammingError('an upsert needs the conflict columns (a unique key) to match rows on')
        quote = self.quote
        row = '(' + ', '.join(['?'] * len(columns)) + ')'
        column_list = ', '.join(quote(column) for column in columns)
        on = ' AND '.join(f'[tgt].{quote(column)} = [src].{quote(column)}' for column in conflict)
        updates = [column for column in update if column not in conflict]
        # HOLDLOCK keeps the key range locked between the match and the insert, so two
        # concurrent upserts of one new key cannot both insert it.
        sql = (f'MERGE INTO {self.quote_table(table)} WITH (HOLDLOCK) AS [tgt] USING (VALUES '
               + ', '.join([row] * row_count) + f') AS [src] ({column_list}) ON {on}')
        if updates:
            sql += ' WHEN MATCHED THEN UPDATE SET ' + ', '.join(
                f'[tgt].{quote(column)} = [src].{quote(column)}' for column in updates)
        sql += (f' WHEN NOT MATCHED THEN INSERT ({column_list}) VALUES ('
                + ', '.join(f'[src].{quote(column)}' for column in columns) + ');')
        return sql

    # -- DDL ----------------------------------------------------------------------------

    def column_definition(self, name: str, type_sql: str, *, nullable: bool, primary_key: bool = False,
                          autoincrement: bool = False, unique: bool = False, default: Any = None,
                          has_default: bool = False, inline_primary_key: bool = False) -> str:
        """As the base, with a type's own CHECK (JSON) placed after the column's other parts."""
        type_part, marker, check = type_sql.partition(' CHECK (')
        definition = super().column_definition(
            name, type_part, nullable=nullable, primary_key=primary_key, autoincrement=autoincrement,
            unique=unique, default=default, has_default=has_default, inline_primary_key=inline_primary_key)
        if marker and not autoincrement:
            definition += ' CHECK (' + check.format(name=self.quote(name))
        return definition

    def create_table_sql(self, table: str, column_sql: Sequence[str], primary_key: Sequence[str],
                         if_not_exists: bool = False, extra: Sequence[str] = ()) -> str:
        """CREATE TABLE, guarded by IF OBJECT_ID(...) IS NULL for if_not_exists."""
        sql = super().create_table_sql(table, column_sql, primary_key, False, extra)
        return f'{self.table_exists_test(table, False)} {sql}' if if_not_exists else sql

    def drop_table_sql(self, table: str, if_exists: bool = False) -> str:
        """DROP TABLE, guarded by IF OBJECT_ID(...) IS NOT NULL for if_exists."""
        sql = f'DROP TABLE {self.quote_table(table)}'
        return f'{self.table_exists_test(table, True)} {sql}' if if_exists else sql

    def table_exists_test(self, table: str, exists: bool) -> str:
        """IF OBJECT_ID(N'[t]', N'U') IS [NOT] NULL (works on every version, unlike IF EXISTS)."""
        return f"IF OBJECT_ID({nstring(self.quote_table(table))}, N'U') IS {'NOT ' if exists else ''}NULL"

    def create_index_sql(self, name: str, table: str, columns: Sequence[str], unique: bool = False,
                         if_not_exists: bool = False, kind: str | None = None) -> str:
        """CREATE [UNIQUE] INDEX, guarded by a sys.indexes lookup for if_not_exists."""
        sql = super().create_index_sql(name, table, columns, unique, False, kind)
        if not if_not_exists:
            return sql
        return (f'IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = {nstring(name)} AND object_id = '
                f'OBJECT_ID({nstring(self.quote_table(table))})) {sql}')

    def literal_sql(self, value: Any) -> str:
        """A DDL default: N'...' for text, ISO 8601 text for dates and times (unambiguous in T-SQL)."""
        if isinstance(value, str):
            return nstring(value)
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return super().literal_sql(value)


def savepoint_name(name: str) -> str:
    """A savepoint name checked to be a plain identifier (it cannot be quoted or bound)."""
    if not isinstance(name, str) or not _SAVEPOINT_NAME.match(name):
        raise ProgrammingError(f'savepoint name {name!r} is not allowed on mssql; expected letters, digits '
                               'and _ (not starting with a digit), at most 32 characters')
    return name
