"""SQL Server's SQL (2016 and later): only what differs from the base dialect."""
from __future__ import annotations

import datetime
from typing import Any, ClassVar, Sequence

from ...dialect import Dialect, SQLContext
from ...features import Features
from ...sql_lexer import SQLSERVER
from ...transaction import IsolationLevel
from .types import SQLServerTypeMap

#: the session's level outside our transactions (SQL Server's default)
DEFAULT_ISOLATION = IsolationLevel.READ_COMMITTED
_TOP_STACK = 'mssql_top'


#: drops the default constraint of column {name_text} of {table} (it has a generated name)
_DROP_DEFAULT = ('DECLARE @ar_default sysname = (SELECT d.name FROM sys.default_constraints d JOIN sys.columns c '
                 'ON c.object_id = d.parent_object_id AND c.column_id = d.parent_column_id '
                 'WHERE d.parent_object_id = OBJECT_ID({table_text}) AND c.name = {name_text}); '
                 "IF @ar_default IS NOT NULL EXEC(N'ALTER TABLE ' + {quoted_table_text} + "
                 "N' DROP CONSTRAINT ' + QUOTENAME(@ar_default))")


class SQLServerDialect(Dialect):
    """SQL Server: [bracket] quoting, OFFSET/FETCH and TOP, IDENTITY, OUTPUT INSERTED, MERGE."""

    name = 'mssql'
    # Schema introspection (backend/schema.py): lower-case labels, `?` bound as the *_params say.
    introspect_tables_sql = 'SELECT name AS name FROM sys.tables WHERE schema_id = SCHEMA_ID()'
    introspect_columns_sql = (
        'SELECT c.name AS name, t.name AS sql_type, c.is_nullable AS nullable, '
        'OBJECT_DEFINITION(c.default_object_id) AS column_default, (SELECT ic.key_ordinal FROM sys.indexes i '
        'JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id '
        'WHERE i.object_id = c.object_id AND i.is_primary_key = 1 AND ic.column_id = c.column_id) AS pk_position, '
        'c.is_identity AS autoincrement FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id '
        "WHERE c.object_id = OBJECT_ID(QUOTENAME(COALESCE(?, SCHEMA_NAME())) + '.' + QUOTENAME(?)) "
        'ORDER BY c.column_id')
    # key_ordinal 0: an INCLUDE column; type 0: the heap, not an index
    introspect_indexes_sql = (
        'SELECT i.name AS name, i.is_unique AS is_unique, c.name AS column_name, ic.key_ordinal AS position, '
        'ic.is_descending_key AS descending FROM sys.indexes i '
        'JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id '
        'JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id '
        "WHERE i.object_id = OBJECT_ID(QUOTENAME(COALESCE(?, SCHEMA_NAME())) + '.' + QUOTENAME(?)) "
        'AND i.is_primary_key = 0 AND i.is_hypothetical = 0 AND i.type > 0 AND ic.key_ordinal > 0 '
        'ORDER BY i.name, ic.key_ordinal')
    # *_referential_action_desc: NO_ACTION, CASCADE, SET_NULL, SET_DEFAULT
    introspect_foreign_keys_sql = (
        'SELECT f.name AS name, pc.name AS column_name, CASE WHEN r.schema_id = f.schema_id THEN r.name '
        "ELSE SCHEMA_NAME(r.schema_id) + '.' + r.name END AS ref_table, rc.name AS ref_column, "
        'fc.constraint_column_id AS position, f.delete_referential_action_desc AS on_delete, '
        'f.update_referential_action_desc AS on_update FROM sys.foreign_keys f '
        'JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = f.object_id '
        'JOIN sys.columns pc ON pc.object_id = fc.parent_object_id AND pc.column_id = fc.parent_column_id '
        'JOIN sys.tables r ON r.object_id = f.referenced_object_id '
        'JOIN sys.columns rc ON rc.object_id = fc.referenced_object_id AND rc.column_id = fc.referenced_column_id '
        "WHERE f.parent_object_id = OBJECT_ID(QUOTENAME(COALESCE(?, SCHEMA_NAME())) + '.' + QUOTENAME(?)) "
        'ORDER BY f.name, fc.constraint_column_id')
    lexical_rules = SQLSERVER
    inline_integer_arguments = True   # @P1 and @P2 make two copies of one expression differ
    features = Features(   # the flags not named here keep Features' defaults
        generated_keys='output_inserted', returning=False, upsert='merge',
        release_savepoint=False, transactional_ddl=True,
        # row locks are table hints: WITH (UPDLOCK, ROWLOCK[, NOWAIT | READPAST])
        for_update_nowait=True, for_update_skip_locked=True,
        full_join=True, read_only_transactions=False,
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
    # SAVE TRANSACTION takes a plain identifier, of which SQL Server uses 32 characters
    savepoint_name_pattern = r'[A-Za-z_][A-Za-z0-9_]{0,31}'
    savepoint_name_rule = 'letters, digits and _ (not starting with a digit), at most 32 characters'

    autoincrement_column_template = '{name} {type} IDENTITY(1, 1)'
    # migrations: a default is a constraint of its own (with a generated name, found through
    # sys.default_constraints): dropped before its column or another default; ALTER COLUMN restates
    # the type and nullability; sp_rename renames
    add_column_template = 'ALTER TABLE {table} ADD {column}'
    drop_column_template = _DROP_DEFAULT + '; ALTER TABLE {table} DROP COLUMN {name}'
    rename_table_template = 'EXEC sp_rename {table_text}, {new_text}'
    rename_column_template = "EXEC sp_rename {column_text}, {new_text}, 'COLUMN'"
    alter_type_template = None
    set_not_null_template = None
    drop_not_null_template = None
    modify_column_template = 'ALTER TABLE {table} ALTER COLUMN {column}'
    restate_default = False
    set_default_template = _DROP_DEFAULT + '; ALTER TABLE {table} ADD DEFAULT {default} FOR {name}'
    drop_default_template = _DROP_DEFAULT
    drop_index_template = 'DROP INDEX {name} ON {table}'
    lock_timeout_templates = ('SET LOCK_TIMEOUT {milliseconds}',)
    # one migrator at a time: an application lock owned by the session (so it outlives the
    # migrations' transactions), waited for up to a day; sp_getapplock answers >= 0 once held
    migration_lock_sql = (
        "DECLARE @ar_lock INT; EXEC @ar_lock = sp_getapplock @Resource = N'ar_schema_migrations', "
        "@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 86400000; "
        'SELECT CASE WHEN @ar_lock >= 0 THEN 1 ELSE 0 END AS held',
        "DECLARE @ar_lock INT; EXEC @ar_lock = sp_releaseapplock @Resource = N'ar_schema_migrations', "
        "@LockOwner = 'Session'; SELECT @ar_lock AS released")
    unique_constraint_sql = ("SELECT 1 AS found FROM sys.key_constraints WHERE type = 'UQ' "
                             'AND parent_object_id = OBJECT_ID(?) AND name = ?')
    # IF OBJECT_ID(...) works on every version, unlike DROP TABLE IF EXISTS (2016+ only)
    ddl_guards: ClassVar[dict[str, str]] = {
        'create_table': "IF OBJECT_ID({table_text}, N'U') IS NULL {sql}",
        'drop_table': "IF OBJECT_ID({table_text}, N'U') IS NOT NULL {sql}",
        'create_index': ('IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = {index_text} AND '
                         'object_id = OBJECT_ID({table_text})) {sql}'),
    }
    column_type_checks = True          # JSON is a checked column (see types.py)
    string_literal_prefix = 'N'        # N'...': Unicode text whatever the database's collation
    # MERGE: HOLDLOCK keeps the key range locked between the match and the insert, so two
    # concurrent upserts of one new key cannot both insert it; T-SQL ends a MERGE with `;`.
    merge_target_hint = ' WITH (HOLDLOCK)'
    merge_terminator = ';'
    # JSON paths (query/documents.py): JSON_VALUE's text of a scalar ('true'/'false' for booleans)
    operator_templates: ClassVar[dict[str, str]] = {
        'json_path': 'JSON_VALUE({0}, {1})', 'json_path_text': 'JSON_VALUE({0}, {1})', 'json_scalar': '{0}',
        # a selected path is its JSON text: JSON_QUERY's for an object or array, else the scalar
        # written from OPENJSON's [type] of the key ({3}) in its parent ({2}); keys compare exactly
        'json_path_json': ("COALESCE(JSON_QUERY({0}, {1}), (SELECT CASE [type] WHEN 0 THEN 'null' "
                           "WHEN 1 THEN CONCAT('\"', STRING_ESCAPE([value], 'json'), '\"') ELSE [value] END "
                           'FROM OPENJSON({0}, {2}) WHERE [key] = {3} COLLATE Latin1_General_BIN2))'),
        'json_has_key': ('EXISTS (SELECT 1 FROM OPENJSON({0}, {3}) '
                         'WHERE [key] = {2} COLLATE Latin1_General_BIN2)')}
    boolean_literals: ClassVar[dict[bool, str]] = {True: '1', False: '0'}
    server_version_sql = 'SELECT @@VERSION'

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
    # aware datetimes are DATETIMEOFFSET bound in UTC, so their fields are UTC; 1900-01-07 was a Sunday
    portable_function_templates: ClassVar[dict[str, str]] = {
        **{f'extract_{part}': f'DATEPART({part.upper()}, {{0}})'
           for part in ('year', 'month', 'day', 'hour', 'minute', 'second')},
        'extract_dow': "(DATEDIFF(DAY, CAST('1900-01-07' AS DATE), {0}) % 7)",
        'date_trunc_year': 'CAST(DATEFROMPARTS(YEAR({0}), 1, 1) AS DATETIMEOFFSET(6))',
        'date_trunc_month': 'CAST(DATEFROMPARTS(YEAR({0}), MONTH({0}), 1) AS DATETIMEOFFSET(6))',
        'date_trunc_day': 'CAST(CAST({0} AS DATE) AS DATETIMEOFFSET(6))',
        'date_trunc_hour': 'CAST(DATEADD(HOUR, DATEPART(HOUR, {0}), CAST(CAST({0} AS DATE) AS DATETIME2(6))) '
                           'AS DATETIMEOFFSET(6))',
        'date_trunc_year_date': 'DATEFROMPARTS(YEAR({0}), 1, 1)',
        'date_trunc_month_date': 'DATEFROMPARTS(YEAR({0}), MONTH({0}), 1)',
        'date_trunc_day_date': 'CAST({0} AS DATE)', 'date_trunc_hour_date': 'CAST({0} AS DATE)',
        'string_agg': 'STRING_AGG(CAST({arg} AS NVARCHAR(MAX)), {sep}) WITHIN GROUP (ORDER BY {order})'}
    text_cast_templates: ClassVar[dict[str, str]] = {
        'datetime': 'CONVERT(NVARCHAR(26), CAST({0} AS DATETIME2(6)), 121)', 'date': 'CONVERT(NVARCHAR(10), {0}, 23)',
        'bool': "CASE WHEN ({0}) IS NULL THEN NULL WHEN ({0}) = 1 THEN 'true' ELSE 'false' END"}

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

    # -- DML ----------------------------------------------------------------------------

    def insert_sql(self, table: str, columns: Sequence[str], row_count: int = 1,
                   returning: Sequence[str] = ()) -> str:
        """INSERT [OUTPUT INSERTED.col, ...] VALUES (...), ...; beyond 1000 rows a derived table."""
        head = f'INSERT INTO {self.quote_table(table)}'
        if not columns:
            return head + self.output_clause(returning) + self.default_values_sql   # OUTPUT comes first in T-SQL
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

    # -- DDL ----------------------------------------------------------------------------

    def literal_sql(self, value: Any) -> str:
        """A DDL default: N'...' for text, ISO 8601 text for dates and times (unambiguous in T-SQL)."""
        if isinstance(value, str):
            return self.string_literal(value)
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return super().literal_sql(value)

