"""SQL generation shared by every database; a dialect subclass overrides only what differs.

Nodes render themselves into a `SQLContext` that collects SQL text and parameters in order
(the internal placeholder is always `?`). Per-database differences live here as class-level
data (quote characters, templates, operator and function names) before they are methods.
"""
from __future__ import annotations

import datetime
import decimal
import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping, Sequence

from ..errors import NotSupportedError, ProgrammingError
from .replication import ReplicationPositions
from .features import Features
from .placeholders import shared_reference
from .sql_lexer import STANDARD, LexicalRules
from .transaction import IsolationLevel, effective_level
from .types import TypeMap, type_of


class SQLContext:
    """Collects SQL text and bound parameters while nodes render themselves."""

    __slots__ = ('dialect', 'parts', 'params', 'state', 'shared')

    def __init__(self, dialect: 'Dialect') -> None:
        self.dialect = dialect
        self.parts: list[str] = []
        self.params: list[Any] = []
        self.state: dict[str, Any] = {}   # rendering flags nodes may set for their children
        #: (type, value, scope) of a constant -> the index in `params` of its one parameter (shared_param)
        self.shared: dict[tuple[type, Any, Any], int] | None = None

    def literal(self, text: str) -> 'SQLContext':
        """Append SQL text as it is (never user data)."""
        self.parts.append(text)
        return self

    def param(self, value: Any) -> 'SQLContext':
        """Append a `?` and bind `value` to it."""
        self.parts.append('?')
        self.params.append(value)
        return self

    def shared_param(self, value: Any, scope: Any = None) -> 'SQLContext':
        """Bind a constant of an expression; where the dialect's placeholders are numbered, an equal
        constant (same type and value) already bound in this statement is referred to again.

        `price + 1` in the select list and in GROUP BY must be one expression to the server: as
        $1 and $2 PostgreSQL sees two (SQLSTATE 42803), as $1 twice it sees one. The value stays a
        bound parameter; only its placeholder repeats. Values of different `scope`s are not shared.
        """
        if self.dialect.shared_parameters:
            kind = type_of(value)
            exact = _SHARED_KEYS.get(kind)
            if exact is not None:
                # equal is not always the same SQL value (Decimal('1.0') and ('1.00'), 0.0 and
                # -0.0, equal instants in two time zones): those are keyed by their text
                key = (kind, value if exact else str(value), scope)
                shared = self.shared
                if shared is None:
                    shared = self.shared = {}
                index = shared.get(key)
                if index is not None:
                    # relative to the parameters bound so far, so it stays right when this SQL is
                    # nested in another statement's (a subquery, a CTE) after parameters of its own
                    self.parts.append(shared_reference(len(self.params) - index))
                    return self
                shared[key] = len(self.params)
        self.parts.append('?')
        self.params.append(value)
        return self

    def identifier(self, *names: str) -> 'SQLContext':
        """Append a quoted (optionally dotted) identifier."""
        self.parts.append('.'.join(self.dialect.quote(name) for name in names))
        return self

    def sql(self, node: Any) -> 'SQLContext':
        """Render a node (anything with `__sql__(ctx)`), or bind a plain value."""
        render = getattr(node, '__sql__', None)
        if render is None:
            return self.param(node)
        render(self)
        return self

    def join(self, nodes: Iterable[Any], separator: str = ', ') -> 'SQLContext':
        """Render nodes with a separator between them."""
        first = True
        for node in nodes:
            if not first:
                self.parts.append(separator)
            first = False
            self.sql(node)
        return self

    def finish(self) -> tuple[str, tuple[Any, ...]]:
        """The SQL text and its parameters."""
        return ''.join(self.parts), tuple(self.params)


#: constant types shared_param() may share -> whether equal values are the same SQL value
_SHARED_KEYS: dict[type, bool] = {
    str: True, bytes: True, int: True, bool: True, datetime.date: True,
    float: False, decimal.Decimal: False, datetime.datetime: False, datetime.time: False,
}


class Dialect:
    """The SQL of one database; the base speaks the standard and SQLite/PostgreSQL-like forms."""

    name: ClassVar[str] = 'sql'
    #: not a ClassVar: a dialect may shadow it per instance with its server's flags (MySQL)
    features: Features = Features()
    quote_start: ClassVar[str] = '"'
    quote_end: ClassVar[str] = '"'
    max_identifier_length: ClassVar[int] = 63
    #: column names in result sets come back upper case unless quoted (Oracle): rows lower them
    folds_to_upper: ClassVar[bool] = False
    type_map_class: ClassVar[type[TypeMap] | None] = None
    #: where the server sees literals, quoted identifiers and comments (placeholder translation)
    lexical_rules: LexicalRules = STANDARD
    #: the instance settings that change rendering or conversion: dialects equal in them share
    #: the caches keyed by `cache_key` (converters, a model's Statements)
    cache_settings: ClassVar[tuple[str, ...]] = ('server_version',)

    # Transaction statements: {level} / {access} are filled in; None means "no statement".
    begin_template: ClassVar[str] = 'BEGIN'
    begin_read_only_template: ClassVar[str] = 'BEGIN READ ONLY'
    begin_with_isolation_template: ClassVar[str] = 'BEGIN ISOLATION LEVEL {level}{access}'
    #: an isolation level -> the words the database uses for it, where they differ from its name
    isolation_sql: ClassVar[dict[IsolationLevel, str]] = {}
    #: a level the database gives under another name -> that level (not listed in the features)
    isolation_aliases: ClassVar[dict[IsolationLevel, IsolationLevel]] = {}
    read_only_clause: ClassVar[str] = ' READ ONLY'
    commit_sql: ClassVar[str] = 'COMMIT'
    rollback_sql: ClassVar[str] = 'ROLLBACK'
    savepoint_template: ClassVar[str] = 'SAVEPOINT {name}'
    rollback_to_template: ClassVar[str] = 'ROLLBACK TO SAVEPOINT {name}'
    release_template: ClassVar[str | None] = 'RELEASE SAVEPOINT {name}'
    #: where set, savepoint names are written unquoted and must match this in full (Oracle, SQL
    #: Server); savepoint_name_rule says what it allows, in the error for a name that does not
    savepoint_name_pattern: ClassVar[str | None] = None
    savepoint_name_rule: ClassVar[str] = ''

    # DML
    #: what follows INSERT INTO t for a row of only defaults (MySQL: ' () VALUES ()')
    default_values_sql: ClassVar[str] = ' DEFAULT VALUES'
    #: MERGE upserts: text between the target table and its alias (SQL Server's WITH (HOLDLOCK)),
    #: the ON clause, and the end of the statement
    merge_target_hint: ClassVar[str] = ''
    merge_on_template: ClassVar[str] = 'ON {condition}'
    merge_terminator: ClassVar[str] = ''

    # DDL
    autoincrement_column_template: ClassVar[str] = '{name} {type} GENERATED BY DEFAULT AS IDENTITY'
    autoincrement_type: ClassVar[str] = 'BIGINT'
    create_table_suffix: ClassVar[str] = ''
    #: action ('create_table', 'drop_table', 'create_index') -> the statement run only when its object
    #: does (not) exist, where the database has no IF [NOT] EXISTS: {sql} is the statement, and
    #: {sql_text}, {table_text}, {index_text} are it, the quoted table and the index name as string literals
    ddl_guards: ClassVar[dict[str, str]] = {}
    #: a column type may end in ' CHECK (... {name} ...)' (a type map's boolean or JSON column): the
    #: check is written after the column's DEFAULT and NOT NULL, with {name} the quoted column
    column_type_checks: ClassVar[bool] = False
    #: prefix of a string literal in DDL (SQL Server's N'...' keeps text Unicode)
    string_literal_prefix: ClassVar[str] = ''
    boolean_literals: ClassVar[dict[bool, str]] = {True: 'TRUE', False: 'FALSE'}
    #: indexes are declared inside CREATE TABLE through inline_index_sql() (MySQL)
    indexes_in_create_table: ClassVar[bool] = False
    drop_foreign_key_template: ClassVar[str] = 'ALTER TABLE {table} DROP CONSTRAINT {name}'

    # Migration DDL (activerecord/migrate/operations.py). Templates take quoted SQL: {table},
    # {name} (a column, index or constraint), {new} (its new name), {column} (a column definition),
    # {type}, {default}, and {name_text}/{new_text}/{table_text} as string literals. A None
    # template: ALTER TABLE cannot say it here (SQLite rebuilds the table instead).
    add_column_template: ClassVar[str] = 'ALTER TABLE {table} ADD COLUMN {column}'
    drop_column_template: ClassVar[str] = 'ALTER TABLE {table} DROP COLUMN {name}'
    rename_table_template: ClassVar[str] = 'ALTER TABLE {table} RENAME TO {new}'
    rename_column_template: ClassVar[str] = 'ALTER TABLE {table} RENAME COLUMN {name} TO {new}'
    alter_type_template: ClassVar[str | None] = 'ALTER TABLE {table} ALTER COLUMN {name} TYPE {type}'
    set_not_null_template: ClassVar[str | None] = 'ALTER TABLE {table} ALTER COLUMN {name} SET NOT NULL'
    drop_not_null_template: ClassVar[str | None] = 'ALTER TABLE {table} ALTER COLUMN {name} DROP NOT NULL'
    set_default_template: ClassVar[str | None] = 'ALTER TABLE {table} ALTER COLUMN {name} SET DEFAULT {default}'
    drop_default_template: ClassVar[str | None] = 'ALTER TABLE {table} ALTER COLUMN {name} DROP DEFAULT'
    #: where set, a type or nullability change restates the whole column ({column}: MySQL's MODIFY)
    modify_column_template: ClassVar[str | None] = None
    #: the restated column carries its default (SQL Server keeps defaults as separate constraints)
    restate_default: ClassVar[bool] = True
    #: the restated column of an autoincrement column is written by autoincrement_column_template
    #: (MySQL: MODIFY without AUTO_INCREMENT would drop it)
    restate_autoincrement: ClassVar[bool] = False
    #: with modify_column_template: a query (binds schema or None, table, column) answering the
    #: column's collation_name, column_comment and extra (its ON UPDATE), which MODIFY would
    #: otherwise drop; restated_column_sql writes them again
    column_attributes_sql: ClassVar[str | None] = None
    #: the type names (lower case, first word) a COLLATE may follow
    collatable_types: ClassVar[tuple[str, ...]] = ()
    drop_index_template: ClassVar[str] = 'DROP INDEX {name}'
    #: a row when index {name} of {table} is a UNIQUE constraint's (binds table, name): that one is
    #: dropped as a constraint (drop_constraint_template); None: DROP INDEX drops it (MySQL)
    unique_constraint_sql: ClassVar[str | None] = None
    drop_constraint_template: ClassVar[str] = 'ALTER TABLE {table} DROP CONSTRAINT {name}'
    #: None: a foreign key is added or dropped by rebuilding the table (SQLite)
    add_foreign_key_template: ClassVar[str | None] = (
        'ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) REFERENCES {ref_table} ({ref_columns})')
    #: CREATE INDEX that lets writes go on while it builds: the word after INDEX (PostgreSQL's
    #: CONCURRENTLY, which must run outside a transaction) and the text after the columns (MySQL's
    #: ALGORITHM=INPLACE LOCK=NONE, which fails rather than lock); neither: a plain CREATE INDEX
    concurrent_index_keyword: ClassVar[str] = ''
    concurrent_index_suffix: ClassVar[str] = ''
    #: statements that make this session's DDL give up waiting for a lock after {seconds}
    #: ({milliseconds}); none: the database has no such setting
    lock_timeout_templates: ClassVar[tuple[str, ...]] = ()
    #: where lock_timeout_templates last only as long as the transaction (PostgreSQL SET LOCAL):
    #: (the session-level form, the statements undoing it), run around a step that runs outside
    #: the migration's transaction (CREATE INDEX CONCURRENTLY), which would otherwise wait forever
    outside_lock_timeout_templates: ClassVar[tuple[tuple[str, ...], tuple[str, ...]]] = ((), ())
    #: migration step -> (rewrites the table, blocks writes while it runs) on this database; the
    #: steps are 'create_table', 'drop_table', 'rename_table', 'add_column', 'add_column_volatile'
    #: (an expression default), 'drop_column', 'rename_column', 'alter_type', 'set_not_null',
    #: 'drop_not_null', 'set_default', 'drop_default', 'create_index', 'create_index_concurrently',
    #: 'drop_index', 'add_foreign_key', 'drop_foreign_key', 'rebuild'; a step missing is (False, True)
    migration_effects: ClassVar[dict[str, tuple[bool, bool]]] = {
        'create_table': (False, False), 'add_column_volatile': (True, True), 'alter_type': (True, True),
        'create_index_concurrently': (False, False), 'rebuild': (True, True)}

    # Query constructs (rendered by activerecord/query through these data and hooks)
    #: the LIMIT written where an OFFSET needs one and no limit was given
    unbounded_limit: ClassVar[str] = 'ALL'
    #: text between a table or subquery and its alias (Oracle allows no AS there: ' ')
    table_alias_keyword: ClassVar[str] = ' AS '
    #: WITH keyword when one CTE is recursive (Oracle and SQL Server write a plain WITH)
    recursive_with_keyword: ClassVar[str] = 'WITH RECURSIVE'
    #: set operation -> its keyword (Oracle before 21c spells EXCEPT as MINUS)
    set_operation_keywords: ClassVar[dict[str, str]] = {
        'union': 'UNION', 'union_all': 'UNION ALL', 'intersect': 'INTERSECT', 'except': 'EXCEPT'}
    #: operators the database spells as a function: operator -> function ('%' -> 'MOD' on Oracle)
    operator_functions: ClassVar[dict[str, str]] = {}
    #: function name (lower case) -> the database's name for it ('length' -> 'LEN' on SQL Server)
    function_names: ClassVar[dict[str, str]] = {}
    #: vendor operation of the query layer (JSON, arrays, full-text, spatial: 'json_member',
    #: 'array_overlaps', 'match_boolean', 'st_within', ...) -> its SQL, with {0}, {1}, ... for the
    #: operands in order; an operation missing here is not supported (NotSupportedError)
    operator_templates: ClassVar[dict[str, str]] = {}
    #: portable functions of the query layer -> their SQL: 'extract_<part>' and 'date_trunc_<unit>' with
    #: {0} the operand (a '..._date' key for a date operand where it differs), in UTC; 'string_agg' with
    #: {arg}, {sep} (bound), {order} (the ORDER BY items), {keys} and {directions} ('a'/'d' per key,
    #: bound); a function missing here is not supported (NotSupportedError)
    portable_function_templates: ClassVar[dict[str, str]] = {}
    #: cast(x, str) of a 'bool', 'decimal' ({places}: its places), 'date' or 'datetime' x -> the SQL giving
    #: the text every backend gives ('true', '12.40', '2009-03-08', '2009-03-08 23:30:15.000000' in UTC),
    #: {0} the operand; a type missing here is a plain CAST
    text_cast_templates: ClassVar[dict[str, str]] = {}
    #: a JSON path string ('$."a"[0]', query/documents.py) is written as a quoted literal, not bound
    #: (Oracle's JSON_VALUE takes no bind variable for its path)
    json_path_literal: ClassVar[bool] = False
    #: the driver sends parameters untyped (pg8000): a number or date in a select list is wrapped
    #: in CAST(? AS type) so that the server does not read it as text
    cast_select_parameters: ClassVar[bool] = False
    #: an int argument of a function is written as a literal, not bound: the server matches a
    #: repeated expression (GROUP BY, a window's ORDER BY) by its text, and numbered parameters
    #: ($1, $2 / :1, :2 / @P1, @P2) make two copies of one expression differ
    inline_integer_arguments: ClassVar[bool] = False
    #: the driver's placeholders are numbered ($1, :p1): one parameter may stand in several places,
    #: so a constant repeated in a statement (select list and GROUP BY) is bound once (shared_param)
    shared_parameters: ClassVar[bool] = False
    #: GROUP BY 2 names the second select item; without it a select alias in group_by() is
    #: grouped by its expression (whose bound values would differ from the select list's)
    group_by_position: ClassVar[bool] = False
    #: ORDER BY ... NULLS FIRST/LAST; without it the query layer sorts on a CASE key first
    supports_nulls_ordering: ClassVar[bool] = True
    #: CAST target per kind of Python type (a str given to cast() is used as written)
    cast_types: ClassVar[dict[str, str]] = {
        'int': 'BIGINT', 'float': 'DOUBLE PRECISION', 'decimal': 'NUMERIC', 'str': 'VARCHAR(255)',
        'text': 'TEXT', 'date': 'DATE', 'datetime': 'TIMESTAMP', 'time': 'TIME', 'bool': 'BOOLEAN'}
    #: CAST kind -> a function written instead of CAST (SQLite: date() takes a datetime's text
    #: to its day, where CAST would only relabel the text)
    cast_functions: ClassVar[dict[str, str]] = {}
    explain_prefix: ClassVar[str] = 'EXPLAIN '
    #: (aggregate, argument's Python type) -> the function rendered instead (SQLite's exact decimal SUM)
    typed_function_names: ClassVar[dict[tuple[str, Any], str]] = {}
    #: functions of typed_function_names given their result's decimal places as a last argument
    #: (SQLite's exact SUM/AVG round their result once, to the places it is read with)
    typed_function_places: ClassVar[frozenset[str]] = frozenset()
    #: (aggregate, argument's Python type) -> cast kind its argument gets (MySQL: AVG of ints as DOUBLE)
    typed_argument_casts: ClassVar[dict[tuple[str, Any], str]] = {}
    #: (aggregate, argument's Python type) -> the SQL written instead, a str.format template of
    #: {arg} (the argument), {distinct} ('DISTINCT ' or ''), {over} (a window's ' OVER (...)' or
    #: ''), {places} (the decimal places the result is read to) and {exact_places} (places + 19,
    #: past any COUNT's digits): PostgreSQL's AVG of a Decimal, exact to its places
    typed_function_forms: ClassVar[dict[tuple[str, Any], str]] = {}
    #: functions whose arguments take any type (CONCAT): a str constant there is cast to the 'str'
    #: cast type, where the driver sends strings untyped and the server could not tell their type
    text_argument_functions: ClassVar[frozenset[str]] = frozenset()
    #: the function ilike folds both sides with where there is no native ILIKE
    case_fold_function: ClassVar[str] = 'LOWER'

    # Introspection SQL for tests and `check`
    server_version_sql: ClassVar[str] = 'SELECT version()'
    ping_sql: ClassVar[str] = 'SELECT 1'
    #: one value, true-ish ('on', 1) when the session cannot write (a standby, a read-only
    #: server): the probe target_session_attrs=read-write runs on each new connection
    read_only_sql: ClassVar[str | None] = None
    #: how read-your-writes routing reads the primary's written and a replica's replayed
    #: position (replication.py); None: replicas=[...] is refused for this database
    replication: ReplicationPositions | None = None

    # The migrator (activerecord/migrate): one at a time per database. A session lock
    # (acquire, release) held for the whole run, the acquiring query answering 1 once it holds
    # it; or, with migration_transaction_locks, each migration's SERIALIZABLE transaction is the
    # lock (it takes the database's write lock at BEGIN, as SQLite's BEGIN IMMEDIATE does).
    # Neither: the migrator refuses to run (NotSupportedError).
    migration_lock_sql: ClassVar[tuple[str, str] | None] = None
    migration_transaction_locks: ClassVar[bool] = False
    #: run once on the migrator's own connection before any migration
    migration_session_sql: ClassVar[tuple[str, ...]] = ()
    #: with migration_transaction_locks: run before each migration's BEGIN, so that BEGIN waits
    #: for another migrator's transaction as long as a session lock would (SQLite's busy_timeout is
    #: also its DDL lock timeout, set after BEGIN: the wait for the migrator and the DDL's differ)
    migration_lock_wait_sql: ClassVar[tuple[str, ...]] = ()
    #: a query run before a migration commits: each row it returns is a broken constraint, its
    #: first column the table; the migration fails when a table has more of them than before it
    migration_check_sql: ClassVar[str | None] = None

    def __init__(self, server_version: tuple[int, ...] | None = None) -> None:
        self.server_version = server_version
        self.type_map = self.type_map_class(self) if self.type_map_class is not None else None
        self.refresh_cache_key()

    def refresh_cache_key(self) -> None:
        """Recompute `cache_key` (call after changing one of the `cache_settings`)."""
        # a str: its hash is computed once, so a cache lookup stays as cheap as by the instance
        settings = tuple(getattr(self, name, None) for name in self.cache_settings)
        self.cache_key = f'{type(self).__module__}.{type(self).__qualname__}{settings!r}'

    # -- identifiers --------------------------------------------------------------------

    def quote(self, name: str) -> str:
        """Quote one identifier (doubling the quote character inside it)."""
        return _quote(name, self.quote_start, self.quote_end, self.max_identifier_length)

    def quote_table(self, name: str) -> str:
        """Quote a table name that may be schema-qualified ('schema.table')."""
        return '.'.join(self.quote(part) for part in name.split('.'))

    # -- paging -------------------------------------------------------------------------

    def render_paging(self, ctx: SQLContext, limit: int | None, offset: int | None,
                      has_order_by: bool) -> None:
        """Append LIMIT/OFFSET (or the database's form); values are bound parameters."""
        if limit is not None:
            ctx.literal(' LIMIT ').param(limit)
        if offset:
            if limit is None:
                ctx.literal(' LIMIT ').literal(self.unbounded_limit)
            ctx.literal(' OFFSET ').param(offset)

    def render_top(self, ctx: SQLContext, limit: int | None, offset: int | None,
                   has_order_by: bool) -> None:
        """Hook right after SELECT [DISTINCT]: paging written there (TOP) where it is the only form."""

    def render_for_update(self, ctx: SQLContext, nowait: bool, skip_locked: bool) -> None:
        """Append the row-lock clause at the end of a SELECT (flags already checked by features)."""
        ctx.literal(' FOR UPDATE' + (' NOWAIT' if nowait else '') + (' SKIP LOCKED' if skip_locked else ''))

    def render_table_lock_hint(self, ctx: SQLContext, nowait: bool, skip_locked: bool) -> None:
        """Hook after a locked query's table in FROM (SQL Server's WITH (UPDLOCK, ROWLOCK))."""

    def render_ilike(self, ctx: SQLContext, left: Any, pattern: Any, negate: bool, escape: str | None) -> None:
        """Case-insensitive LIKE: native ILIKE where the features say so, else FOLD() LIKE FOLD()."""
        keyword = ' NOT ' if negate else ' '
        if self.features.ilike:
            ctx.sql(left).literal(keyword + 'ILIKE ').sql(pattern)
        else:
            fold = self.case_fold_function
            ctx.literal(fold + '(').sql(left).literal(')' + keyword + 'LIKE ' + fold + '(').sql(pattern).literal(')')
        if escape is not None:
            ctx.literal(' ESCAPE ').param(escape)

    def explain_sql(self, sql: str) -> str:
        """The statement that shows the plan of `sql`."""
        return self.explain_prefix + sql

    # -- transactions -------------------------------------------------------------------

    def begin_statements(self, level: IsolationLevel | None, read_only: bool,
                         features: Features) -> list[str]:
        """Statements that open a transaction with this level and access mode."""
        if read_only and not features.read_only_transactions:
            raise NotSupportedError(f'{self.name} does not support read-only transactions')
        if level is None:
            return [self.begin_read_only_template if read_only else self.begin_template]
        access = self.read_only_clause if read_only else ''
        actual = effective_level(self.isolation_aliases.get(level, level), features.isolation_levels, self.name)
        return [self.begin_with_isolation_template.format(level=self.isolation_sql.get(actual, actual.value),
                                                          access=access)]

    def commit_statements(self, read_only: bool) -> list[str]:
        """Statements that commit (and undo any per-transaction session setting)."""
        return [self.commit_sql]

    def rollback_statements(self, read_only: bool) -> list[str]:
        """Statements that roll back (and undo any per-transaction session setting)."""
        return [self.rollback_sql]

    def savepoint_sql(self, name: str) -> str:
        """SQL that creates a savepoint."""
        return self.savepoint_template.format(name=self.savepoint_identifier(name))

    def rollback_to_sql(self, name: str) -> str:
        """SQL that rolls back to a savepoint."""
        return self.rollback_to_template.format(name=self.savepoint_identifier(name))

    def release_sql(self, name: str) -> str | None:
        """SQL that releases a savepoint, or None where the database has none."""
        template = self.release_template
        return None if template is None else template.format(name=self.savepoint_identifier(name))

    def savepoint_identifier(self, name: str) -> str:
        """A savepoint name as SQL: quoted, or checked against savepoint_name_pattern and written as is."""
        if self.savepoint_name_pattern is None:
            return self.quote(name)
        # the isinstance guards names that reach here unchecked from user code
        if not isinstance(name, str) or not re.fullmatch(self.savepoint_name_pattern, name):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ProgrammingError(f'savepoint name {name!r} is not allowed on {self.name}; '
                                   f'expected {self.savepoint_name_rule}')
        return name

    # -- DML ----------------------------------------------------------------------------

    def insert_sql(self, table: str, columns: Sequence[str], row_count: int = 1,
                   returning: Sequence[str] = ()) -> str:
        """INSERT of `row_count` rows of `columns`, returning `returning` where the database can."""
        sql = f'INSERT INTO {self.quote_table(table)}'
        if columns:
            row = '(' + ', '.join(['?'] * len(columns)) + ')'
            sql += f' ({", ".join(self.quote(column) for column in columns)}) VALUES ' + ', '.join([row] * row_count)
        else:
            sql += self.default_values_sql
        if returning:
            sql += ' RETURNING ' + ', '.join(self.quote(column) for column in returning)
        return sql

    def sync_identity_sql(self, table: str, column: str) -> tuple[str, tuple[Any, ...]] | None:
        """SQL and params to run after explicit values went into a generated key column, so that
        later generated keys never collide with them (None: the database keeps track itself)."""
        return None

    def identity_insert_sql(self, table: str, sql: str) -> str:
        """`sql` (an INSERT or upsert) made able to give the generated key column explicit values
        (SQL Server's IDENTITY refuses them unless told: SET IDENTITY_INSERT)."""
        return sql

    def upsert_sql(self, table: str, columns: Sequence[str], row_count: int,
                   conflict: Sequence[str], update: Sequence[str], increment: Sequence[str] = ()) -> str:
        """INSERT ... ON CONFLICT (conflict) DO UPDATE SET update (or DO NOTHING).

        `increment` columns of an existing row are set to their value + 1 (a version counter).
        Where features.upsert is 'merge', a MERGE statement (merge_sql).
        """
        if self.features.upsert == 'merge':
            return self.merge_sql(table, columns, row_count, conflict, update, increment)
        sql = self.insert_sql(table, columns, row_count)
        target = ', '.join(self.quote(column) for column in conflict)
        if not update and not increment:
            return f'{sql} ON CONFLICT ({target}) DO NOTHING'
        # the existing row's column is qualified: PostgreSQL finds a bare name ambiguous with EXCLUDED
        assignments = ', '.join([f'{self.quote(column)} = EXCLUDED.{self.quote(column)}' for column in update]
                                + [f'{self.quote(column)} = {self.quote_table(table)}.{self.quote(column)} + 1'
                                   for column in increment])
        return f'{sql} ON CONFLICT ({target}) DO UPDATE SET {assignments}'

    def merge_sql(self, table: str, columns: Sequence[str], row_count: int, conflict: Sequence[str],
                  update: Sequence[str], increment: Sequence[str] = ()) -> str:
        """MERGE INTO t USING <rows> ON keys WHEN MATCHED THEN UPDATE ... WHEN NOT MATCHED THEN INSERT ..."""
        source = self.merge_source_sql(columns, row_count)
        if not conflict:
            raise ProgrammingError('an upsert needs the conflict columns (a unique key) to match rows on')
        quote, target, rows = self.quote, self.quote('tgt'), self.quote('src')
        on = ' AND '.join(f'{target}.{quote(column)} = {rows}.{quote(column)}' for column in conflict)
        # The columns matched on cannot be updated (ORA-38104), and they are equal anyway.
        updates = [column for column in update if column not in conflict]
        sql = (f'MERGE INTO {self.quote_table(table)}{self.merge_target_hint}{self.table_alias_keyword}{target} '
               f'USING {source} ' + self.merge_on_template.format(condition=on))
        if updates or increment:   # increment: existing rows' counters + 1
            sql += ' WHEN MATCHED THEN UPDATE SET ' + ', '.join(
                [f'{target}.{quote(column)} = {rows}.{quote(column)}' for column in updates]
                + [f'{target}.{quote(column)} = {target}.{quote(column)} + 1' for column in increment])
        return (sql + ' WHEN NOT MATCHED THEN INSERT (' + ', '.join(quote(column) for column in columns)
                + ') VALUES (' + ', '.join(f'{rows}.{quote(column)}' for column in columns) + ')'
                + self.merge_terminator)

    def merge_source_sql(self, columns: Sequence[str], row_count: int) -> str:
        """The rows a MERGE upsert matches, aliased: (VALUES (?, ?), ...) AS "src" ("a", "b")."""
        row = '(' + ', '.join(['?'] * len(columns)) + ')'
        return (f'(VALUES {", ".join([row] * row_count)}){self.table_alias_keyword}{self.quote("src")} ('
                + ', '.join(self.quote(column) for column in columns) + ')')

    # -- DDL ----------------------------------------------------------------------------

    def column_definition(self, name: str, type_sql: str, *, nullable: bool, primary_key: bool = False,
                          autoincrement: bool = False, unique: bool = False, default: Any = None,
                          has_default: bool = False, inline_primary_key: bool = False) -> str:
        """One column of CREATE TABLE."""
        if autoincrement:
            sql = self.autoincrement_column_template.format(name=self.quote(name), type=self.autoincrement_type)
            # some templates already say PRIMARY KEY (SQLite's INTEGER PRIMARY KEY AUTOINCREMENT)
            return sql + (' PRIMARY KEY' if inline_primary_key and 'PRIMARY KEY' not in sql else '')
        check = ''
        if self.column_type_checks:
            type_sql, marker, condition = type_sql.partition(' CHECK (')
            check = 'CHECK (' + condition.format(name=self.quote(name)) if marker else ''
        parts = [self.quote(name), type_sql, 'DEFAULT ' + self.literal_sql(default) if has_default else '',
                 '' if nullable else 'NOT NULL', 'PRIMARY KEY' if inline_primary_key else '',
                 'UNIQUE' if unique and not primary_key else '', check]
        return ' '.join(part for part in parts if part)

    def create_table_sql(self, table: str, column_sql: Sequence[str], primary_key: Sequence[str],
                         if_not_exists: bool = False, extra: Sequence[str] = ()) -> str:
        """CREATE TABLE from rendered column definitions."""
        items = list(column_sql)
        if primary_key:
            items.append('PRIMARY KEY (' + ', '.join(self.quote(column) for column in primary_key) + ')')
        items.extend(extra)
        guarded = if_not_exists and 'create_table' in self.ddl_guards
        guard = 'IF NOT EXISTS ' if if_not_exists and not guarded else ''
        sql = (f'CREATE TABLE {guard}{self.quote_table(table)} (\n  ' + ',\n  '.join(items) + '\n)'
               + self.create_table_suffix)
        return self.guard_ddl('create_table', sql, table=self.quote_table(table)) if guarded else sql

    def drop_table_sql(self, table: str, if_exists: bool = False) -> str:
        """DROP TABLE."""
        if if_exists and 'drop_table' in self.ddl_guards:
            return self.guard_ddl('drop_table', f'DROP TABLE {self.quote_table(table)}', table=self.quote_table(table))
        return f'DROP TABLE {"IF EXISTS " if if_exists else ""}{self.quote_table(table)}'

    def create_index_sql(self, name: str, table: str, columns: Sequence[str], unique: bool = False,
                         if_not_exists: bool = False, kind: str | None = None, concurrently: bool = False,
                         prefix_lengths: Mapping[str, int] | None = None) -> str:
        """CREATE [UNIQUE] INDEX; `concurrently` lets writes go on while it builds where the database
        can; `prefix_lengths` (column -> characters) index only the start of long text (MySQL)."""
        guarded = if_not_exists and 'create_index' in self.ddl_guards
        guard = 'IF NOT EXISTS ' if if_not_exists and not guarded else ''
        prefix = 'UNIQUE ' if unique else (f'{kind} ' if kind else '')
        keyword = self.concurrent_index_keyword + ' ' if concurrently and self.concurrent_index_keyword else ''
        sql = (f'CREATE {prefix}INDEX {keyword}{guard}{self.quote(name)} ON {self.quote_table(table)} ('
               + self.index_columns_sql(columns, prefix_lengths) + ')'
               + (self.concurrent_index_suffix if concurrently else ''))
        return self.guard_ddl('create_index', sql, table=self.quote_table(table), index=name) if guarded else sql

    def index_columns_sql(self, columns: Sequence[str], prefix_lengths: Mapping[str, int] | None = None) -> str:
        """The quoted columns of an index, each with its prefix length where one is given."""
        lengths = prefix_lengths or {}
        return ', '.join(self.quote(column) + (f'({lengths[column]})' if column in lengths else '')
                         for column in columns)

    # -- migration DDL (activerecord/migrate/operations.py) -----------------------------

    def _migration_names(self, table: str, **names: str) -> dict[str, str]:
        quoted = {key: self.quote(value) for key, value in names.items()}
        texts = {f'{key}_text': self.string_literal(value) for key, value in names.items()}
        return {'table': self.quote_table(table), 'table_text': self.string_literal(table),
                'quoted_table_text': self.string_literal(self.quote_table(table)), **quoted, **texts}

    def add_column_sql(self, table: str, column_sql: str) -> str:
        """ALTER TABLE ... ADD a column (`column_sql` from column_definition())."""
        return self.add_column_template.format(column=column_sql, **self._migration_names(table))

    def drop_column_sql(self, table: str, name: str) -> str:
        """ALTER TABLE ... DROP COLUMN."""
        return self.drop_column_template.format(**self._migration_names(table, name=name))

    def rename_table_sql(self, table: str, new_name: str) -> str:
        """Rename a table."""
        return self.rename_table_template.format(**self._migration_names(table, new=new_name))

    def rename_column_sql(self, table: str, name: str, new_name: str) -> str:
        """Rename a column."""
        names = self._migration_names(table, name=name, new=new_name)
        # sp_rename takes the column as 'table.column' text
        names['column_text'] = self.string_literal(f'{table}.{name}')
        return self.rename_column_template.format(**names)

    def alter_column_sql(self, table: str, name: str, change: 'ColumnChange') -> list[str]:
        """The statements that change a column's type, nullability and default (in that order);
        [] for nothing to change. NotSupportedError where ALTER TABLE cannot (SQLite: a rebuild)."""
        names = self._migration_names(table, name=name)
        statements: list[str] = []
        restate = self.modify_column_template is not None and (
            change.type_sql is not None or change.nullable is not None)
        type_sql = change.type_sql if change.type_sql is not None else change.current_type
        if restate:
            statements.append(self.restated_column_sql(table, name, change))
        else:
            if change.type_sql is not None:
                statements.append(self._alter_template('alter_type_template', name).format(
                    type=change.type_sql, **names))
            if change.nullable is not None:
                attribute = 'drop_not_null_template' if change.nullable else 'set_not_null_template'
                statements.append(self._alter_template(attribute, name).format(**names))
        if change.set_default and not (restate and self.restate_default):
            if change.default_sql is None:
                statements.append(self._alter_template('drop_default_template', name).format(**names))
            else:
                statements.append(self._alter_template('set_default_template', name).format(
                    default=self.default_clause(type_sql, change.default_sql), **names))
        return statements

    def restated_column_sql(self, table: str, name: str, change: 'ColumnChange') -> str:
        """modify_column_template with the whole column: the new type, nullability and default,
        the current ones where they do not change."""
        assert self.modify_column_template is not None   # alter_column_sql checked it
        type_sql = change.type_sql if change.type_sql is not None else change.current_type
        nullable = change.nullable if change.nullable is not None else change.current_nullable
        default = change.default_sql if change.set_default else change.current_default
        if not self.restate_default:
            default = None
        comment = f' COMMENT {self.literal_sql(change.current_comment)}' if change.current_comment else ''
        if change.current_autoincrement and self.restate_autoincrement:
            return self.modify_column_template.format(
                column=self.autoincrement_column_template.format(name=self.quote(name), type=type_sql) + comment,
                **self._migration_names(table, name=name))
        # kept only while the type can carry them (a column turned from text to a number has no collation)
        kind = type_sql.lower().split('(')[0].split()[0] if type_sql.strip() else ''
        collation = change.current_collation if kind in self.collatable_types else None
        on_update = change.current_on_update if kind in ('datetime', 'timestamp') else None
        column = ' '.join(part for part in (
            self.quote(name), type_sql, '' if collation is None else f'COLLATE {self.quote(collation)}',
            '' if default is None else 'DEFAULT ' + self.default_clause(type_sql, default),
            'NULL' if nullable else 'NOT NULL', '' if on_update is None else f'ON UPDATE {on_update}') if part)
        column += comment
        return self.modify_column_template.format(column=column, **self._migration_names(table, name=name))

    def default_clause(self, type_sql: str, default_sql: str) -> str:
        """A default's SQL as written after DEFAULT for a column of this type."""
        return default_sql

    def _alter_template(self, attribute: str, name: str) -> str:
        template: str | None = getattr(self, attribute)
        if template is None:
            raise NotSupportedError(f'{self.name} cannot change column {name!r} with ALTER TABLE '
                                    f'({attribute.removesuffix("_template")})')
        return template

    def drop_index_sql(self, table: str, name: str, constraint: bool = False) -> str:
        """DROP INDEX, or the DROP CONSTRAINT of a UNIQUE constraint's index (`constraint`)."""
        template = self.drop_constraint_template if constraint else self.drop_index_template
        return template.format(**self._migration_names(table, name=name))

    def add_foreign_key_sql(self, table: str, name: str, columns: Sequence[str], ref_table: str,
                            ref_columns: Sequence[str], on_delete: str | None = None,
                            on_update: str | None = None) -> str:
        """ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY (NotSupportedError where it cannot)."""
        if self.add_foreign_key_template is None:
            raise NotSupportedError(f'{self.name} cannot add a foreign key with ALTER TABLE')
        return self.add_foreign_key_template.format(
            columns=', '.join(self.quote(column) for column in columns), ref_table=self.quote_table(ref_table),
            ref_columns=', '.join(self.quote(column) for column in ref_columns),
            **self._migration_names(table, name=name)) + self.foreign_key_actions_sql(on_delete, on_update)

    def foreign_key_actions_sql(self, on_delete: str | None, on_update: str | None) -> str:
        """' ON DELETE ... ON UPDATE ...' (checked words only)."""
        sql = ''
        for verb, action in (('DELETE', on_delete), ('UPDATE', on_update)):
            if action is None:
                continue
            if action.upper() not in FOREIGN_KEY_ACTIONS:
                raise ProgrammingError(f'ON {verb} {action!r} is not allowed; expected one of '
                                       + ', '.join(sorted(FOREIGN_KEY_ACTIONS)))
            sql += f' ON {verb} {action.upper()}'
        return sql

    def drop_foreign_key_sql(self, table: str, name: str) -> str:
        """Drop a named foreign key."""
        return self.drop_foreign_key_template.format(table=self.quote_table(table), name=self.quote(name))

    def lock_timeout_sql(self, seconds: float) -> list[str]:
        """Statements that make this session's statements stop waiting for a lock after `seconds`."""
        if seconds <= 0:
            raise ProgrammingError(f'a lock timeout must be a positive number of seconds, got {seconds!r}')
        return [template.format(seconds=max(1, round(seconds)), milliseconds=max(1, round(seconds * 1000)))
                for template in self.lock_timeout_templates]

    def outside_lock_timeout_sql(self, seconds: float) -> tuple[list[str], list[str]]:
        """(set, reset): the lock timeout of `seconds` for one statement run outside a transaction,
        where the transaction's own (lock_timeout_sql) has ended with it; ([], []) where that one
        is the session's already."""
        setting, reset = self.outside_lock_timeout_templates
        if not setting:
            return [], []
        if seconds <= 0:
            raise ProgrammingError(f'a lock timeout must be a positive number of seconds, got {seconds!r}')
        return ([template.format(seconds=max(1, round(seconds)), milliseconds=max(1, round(seconds * 1000)))
                 for template in setting], list(reset))

    def migration_effect(self, step: str) -> tuple[bool, bool]:
        """(rewrites the table, blocks writes while it runs) of a migration step on this database."""
        return self.migration_effects.get(step, (False, True))

    def guard_ddl(self, action: str, sql: str, **names: str) -> str:
        """`sql` run only when its object does (not) exist, through the ddl_guards template of `action`."""
        texts = {f'{key}_text': self.string_literal(text) for key, text in {'sql': sql, **names}.items()}
        return self.ddl_guards[action].format(sql=sql, **texts)

    def string_literal(self, text: str) -> str:
        """`text` as a string literal of DDL (a name, or a statement inside a guard)."""
        if '\x00' in text:
            raise ProgrammingError('a literal cannot contain a NUL character')
        return self.string_literal_prefix + "'" + text.replace("'", "''") + "'"

    def literal_sql(self, value: Any) -> str:
        """A constant as SQL text, for DDL defaults only (DML always binds values)."""
        if value is None:
            return 'NULL'
        if hasattr(value, '__sql__'):  # an SQL expression default, e.g. raw('CURRENT_TIMESTAMP')
            sql, params = SQLContext(self).sql(value).finish()
            if params:
                raise ProgrammingError(f'a DDL default cannot have bound parameters: {sql}')
            return sql
        if isinstance(value, bool):
            return self.boolean_literals[value]
        if isinstance(value, (int, float, decimal.Decimal)):
            return repr(value) if isinstance(value, float) else str(value)
        if isinstance(value, (datetime.date, datetime.time)):
            value = value.isoformat()
        if isinstance(value, str):
            if '\x00' in value:
                raise ProgrammingError('a DDL default cannot contain a NUL character')
            return "'" + value.replace("'", "''") + "'"
        raise ProgrammingError(f'cannot write {type(value).__name__} value {value!r} as a DDL default; '
                               'use a str, number, bool, date or None')


#: the foreign key actions ON DELETE / ON UPDATE take
FOREIGN_KEY_ACTIONS = frozenset({'CASCADE', 'SET NULL', 'RESTRICT', 'NO ACTION', 'SET DEFAULT'})


@dataclass(frozen=True)
class ColumnChange:
    """What alter_column changes (None / set_default=False: unchanged) and what the column is now
    (restated where the database rewrites the whole column)."""

    type_sql: str | None = None
    nullable: bool | None = None
    set_default: bool = False
    default_sql: str | None = None      # with set_default: the new default's SQL, None to drop it
    current_type: str = ''
    current_nullable: bool = True
    current_default: str | None = None
    current_autoincrement: bool = False
    #: what a restated column keeps beyond type, nullability and default (read through
    #: Dialect.column_attributes_sql): its collation, ON UPDATE expression and comment
    current_collation: str | None = None
    current_on_update: str | None = None
    current_comment: str = ''


@lru_cache(maxsize=4096)
def _quote(name: object, start: str, end: str, max_length: int) -> str:
    # `object`: quote() is called with whatever a user named a table or column
    if not isinstance(name, str) or not name:
        raise ProgrammingError(f'identifier {name!r} must be a non-empty string')
    if '\x00' in name:
        raise ProgrammingError(f'identifier {name!r} contains a NUL character')
    if len(name) > max_length:
        raise ProgrammingError(f'identifier {name!r} is longer than {max_length} characters')
    return start + name.replace(end, end + end) + end
