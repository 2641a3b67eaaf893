"""MySQL's and MariaDB's SQL: only what differs from the base dialect.

One dialect serves both servers. Before the first connection it assumes a current server
(MySQL 8.0.31+ or MariaDB 10.6+); once the backend has read `SELECT VERSION()` it calls
`adopt_server()`, which sets the feature flags of that exact server from the tables below.
DDL that differs between the two is written with version comments (`/*!80003 ... */` runs on
MySQL 8.0.3+ only, `/*M!100101 ... */` on MariaDB 10.1.1+ only), so one CREATE TABLE text is
right for either server even when it is rendered before any connection.
"""
from __future__ import annotations

import datetime
import re
from typing import Any, ClassVar, Mapping, Sequence

from ....errors import NotSupportedError
from ...dialect import Dialect
from ...features import Features
from ...replication import MARIADB_GTID, MYSQL_GTID
from ...sql_lexer import MYSQL, MYSQL_ANSI_QUOTES
from ...transaction import IsolationLevel, effective_level
from ...types import datetime_to_utc_naive
from .types import MySQLTypeMap

ALL_LEVELS = frozenset({IsolationLevel.READ_UNCOMMITTED, IsolationLevel.READ_COMMITTED,
                        IsolationLevel.REPEATABLE_READ, IsolationLevel.SERIALIZABLE})

#: flags a current server of either kind has; `adopt_server` turns off what an older one lacks
BASE_FEATURES = Features(
    generated_keys='lastrowid', returning=False, upsert='on_duplicate_key',
    transactional_ddl=False, for_update=True, for_update_nowait=True, for_update_skip_locked=True,
    ilike=False, window_functions=True, cte=True, recursive_cte=True, intersect=True, except_=True,
    right_join=True, full_join=False, json=True, json_operators=False, arrays=False, fulltext=True,
    spatial=True, read_only_transactions=True, explain=True,
    # pymysql binds on the client: the limit is max_allowed_packet, not a parameter count.
    max_parameters=65535, max_parameters_enforced=False, max_in_list=50000, isolation_levels=ALL_LEVELS,
)

#: flag -> (first MariaDB version with it, first MySQL version with it); None = never
VERSIONED_FEATURES: dict[str, tuple[tuple[int, ...] | None, tuple[int, ...] | None]] = {
    'for_update_nowait': ((10, 3), (8, 0, 1)),
    'for_update_skip_locked': ((10, 6), (8, 0, 1)),
    'window_functions': ((10, 2), (8, 0)),
    'cte': ((10, 2, 1), (8, 0)),
    'recursive_cte': ((10, 2, 2), (8, 0, 1)),
    'intersect': ((10, 3), (8, 0, 31)),
    'except_': ((10, 3), (8, 0, 31)),
    'json': ((10, 2, 7), (5, 7, 8)),
    'read_only_transactions': ((10, 0), (5, 6, 5)),
}

#: statements that take a RETURNING clause -> (first MariaDB version, first MySQL version)
VERSIONED_RETURNING: dict[str, tuple[tuple[int, ...] | None, tuple[int, ...] | None]] = {
    'DELETE': ((10, 0, 5), None),
    'INSERT': ((10, 5), None),
}

#: column types whose DEFAULT must be an expression in parentheses (MySQL 8.0.13+, MariaDB 10.2+)
_EXPRESSION_DEFAULT_TYPES = ('TEXT', 'TINYTEXT', 'MEDIUMTEXT', 'LONGTEXT', 'BLOB', 'TINYBLOB',
                             'MEDIUMBLOB', 'LONGBLOB', 'JSON', 'GEOMETRY', 'POINT')


def _at_least(version: tuple[int, ...], minimum: tuple[int, ...] | None) -> bool:
    return minimum is not None and version >= minimum


def is_mariadb_version(text: str) -> bool:
    """Whether a VERSION() string comes from MariaDB ('10.11.6-MariaDB-0+deb12u1')."""
    return 'mariadb' in text.lower()


def server_version_tuple(text: str) -> tuple[int, ...]:
    """'10.11.6-MariaDB' -> (10, 11, 6); '5.5.5-10.11.6-MariaDB' (old handshake form) -> (10, 11, 6)."""
    if text.startswith('5.5.5-') and is_mariadb_version(text):
        text = text[len('5.5.5-'):]
    match = re.match(r'\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?', text)
    if not match:
        return (0,)
    return tuple(int(part) for part in match.groups() if part is not None)


def features_for(version: tuple[int, ...], mariadb: bool) -> Features:
    """The feature flags of one server version."""
    changes = {flag: _at_least(version, minimums[0] if mariadb else minimums[1])
               for flag, minimums in VERSIONED_FEATURES.items()}
    return BASE_FEATURES.with_(**changes)


#: a JSON path's scalar as text (JSON_UNQUOTE's text compares case-sensitively, as elsewhere)
_JSON_SCALAR = ("CASE JSON_TYPE(JSON_EXTRACT({0}, {1})) WHEN 'NULL' THEN NULL "
                'ELSE JSON_UNQUOTE(JSON_EXTRACT({0}, {1})) END')


class MySQLDialect(Dialect):
    """MySQL 8 and MariaDB 10.3+: backticks, AUTO_INCREMENT, ON DUPLICATE KEY UPDATE, InnoDB."""

    name = 'mysql'
    # MySQL drops a named foreign key with its own verb (model/ddl.py drop_all)
    drop_foreign_key_template = 'ALTER TABLE {table} DROP FOREIGN KEY {name}'
    # Schema introspection (backend/schema.py): lower-case labels, `?` bound as the *_params say.
    introspect_tables_sql = ("SELECT table_name AS name FROM information_schema.tables "
                             "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'")
    introspect_columns_sql = (
        "SELECT c.column_name AS name, c.column_type AS sql_type, c.is_nullable = 'YES' AS nullable, "
        # column_key, not a correlated subquery on key_column_usage: that subquery crashed
        # MariaDB 10.11 (signal 11) when other sessions ran DDL at the same time.
        "c.column_default AS column_default, c.column_key = 'PRI' AS pk_position, "
        "c.extra LIKE '%auto_increment%' AS autoincrement "
        'FROM information_schema.columns c '
        'WHERE c.table_schema = COALESCE(?, DATABASE()) AND c.table_name = ? ORDER BY c.ordinal_position')
    # collation 'D': a descending key part (MariaDB 10.8+, MySQL 8); an expression's is NULL-named
    introspect_indexes_sql = (
        "SELECT s.index_name AS name, s.non_unique = 0 AS is_unique, s.column_name AS column_name, "
        "s.seq_in_index AS position, s.collation = 'D' AS descending FROM information_schema.statistics s "
        "WHERE s.table_schema = COALESCE(?, DATABASE()) AND s.table_name = ? AND s.index_name <> 'PRIMARY' "
        'ORDER BY s.index_name, s.seq_in_index')
    # The actions come from a derived table filtered by constants (no correlated subquery: see
    # introspect_columns_sql). Joined directly, MariaDB read referential_constraints of every
    # database for each table (3 ms a table instead of 0.3).
    introspect_foreign_keys_sql = (
        'SELECT k.constraint_name AS name, k.column_name AS column_name, CASE WHEN k.referenced_table_schema '
        "= k.table_schema THEN k.referenced_table_name ELSE CONCAT(k.referenced_table_schema, '.', "
        'k.referenced_table_name) END AS ref_table, k.referenced_column_name AS ref_column, '
        'k.ordinal_position AS position, r.delete_rule AS on_delete, r.update_rule AS on_update '
        'FROM information_schema.key_column_usage k JOIN (SELECT c.constraint_name, c.delete_rule, c.update_rule '
        'FROM information_schema.referential_constraints c WHERE c.constraint_schema = COALESCE(?, DATABASE()) '
        'AND c.table_name = ?) r ON r.constraint_name = k.constraint_name '
        'WHERE k.table_schema = COALESCE(?, DATABASE()) AND k.table_name = ? '
        'AND k.referenced_table_name IS NOT NULL ORDER BY k.constraint_name, k.ordinal_position')
    introspect_foreign_keys_params = ('schema', 'table', 'schema', 'table')
    # InnoDB reports RESTRICT for a key that names no action (the same as NO ACTION there)
    introspect_rule_aliases: ClassVar[dict[str, str | None]] = {'RESTRICT': None}
    # InnoDB adds an index named as a foreign key when none covers its columns: not the user's
    introspect_foreign_key_indexes = True
    # information_schema writes string defaults with backslash escapes ('a\\b')
    introspect_default_backslashes = True
    lexical_rules = MYSQL
    #: a backslash in a string literal escapes (sql_mode without NO_BACKSLASH_ESCAPES)
    backslash_escapes = True
    cache_settings = ('server_version', 'is_mariadb', 'engine', 'charset', 'collation', 'lexical_rules')
    features = BASE_FEATURES
    type_map_class = MySQLTypeMap
    quote_start = '`'
    quote_end = '`'
    max_identifier_length = 64
    # The largest LIMIT: MySQL has no "LIMIT ALL", and OFFSET needs a LIMIT.
    unbounded_limit = '18446744073709551615'

    begin_template = 'START TRANSACTION'
    begin_read_only_template = 'START TRANSACTION READ ONLY'
    isolation_template: ClassVar[str] = 'SET TRANSACTION ISOLATION LEVEL {level}'

    default_values_sql = ' () VALUES ()'
    #: indexes go inside CREATE TABLE: MySQL 8 has no CREATE INDEX IF NOT EXISTS, and a table
    #: built with its FULLTEXT/SPATIAL indexes at once is built once
    indexes_in_create_table = True
    autoincrement_column_template = '{name} {type} NOT NULL AUTO_INCREMENT'
    # migrations: MODIFY restates a column whole (type, nullability and default at once)
    modify_column_template = 'ALTER TABLE {table} MODIFY COLUMN {column}'
    restate_autoincrement = True
    column_attributes_sql = (
        'SELECT collation_name AS collation_name, column_comment AS column_comment, extra AS extra '
        'FROM information_schema.columns '
        'WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? AND column_name = ?')
    collatable_types = ('char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set')
    drop_index_template = 'DROP INDEX {name} ON {table}'
    # InnoDB online DDL: fail rather than fall back to a copy or a lock
    concurrent_index_suffix = ' ALGORITHM=INPLACE LOCK=NONE'
    # metadata locks (DDL) and row locks each have their own timeout
    lock_timeout_templates = ('SET SESSION lock_wait_timeout = {seconds}',
                              'SET SESSION innodb_lock_wait_timeout = {seconds}')
    #: an index on TEXT/BLOB needs a prefix length: the characters (bytes) indexed of such a column
    text_index_prefix_length: ClassVar[int] = 255
    #: column types (lower case, as information_schema spells them) that need that prefix
    prefix_index_types: ClassVar[tuple[str, ...]] = ('tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob',
                                                     'blob', 'mediumblob', 'longblob')
    # InnoDB: ADD COLUMN is instant, DROP COLUMN and a nullability change rebuild the table in place
    # while writes go on, a type change copies it, and a foreign key is added by a copy (the
    # existing rows are checked); a plain CREATE INDEX may lock unless told LOCK=NONE
    migration_effects: ClassVar[dict[str, tuple[bool, bool]]] = {
        'create_table': (False, False), 'add_column': (False, False), 'add_column_volatile': (True, True),
        'drop_column': (True, False), 'rename_column': (False, False), 'rename_table': (False, False),
        'alter_type': (True, True), 'set_not_null': (True, False), 'drop_not_null': (True, False),
        'set_default': (False, False), 'drop_default': (False, False), 'create_index': (False, True),
        'create_index_concurrently': (False, False), 'drop_index': (False, False),
        'add_foreign_key': (True, True), 'drop_foreign_key': (False, False), 'rebuild': (True, True)}
    # `||` is OR unless sql_mode has PIPES_AS_CONCAT; LENGTH counts bytes, CHAR_LENGTH characters.
    operator_functions: ClassVar[dict[str, str]] = {'||': 'CONCAT'}
    function_names: ClassVar[dict[str, str]] = {'length': 'CHAR_LENGTH', 'random': 'RAND'}
    supports_nulls_ordering = False
    group_by_position = True
    # full-text search (query/text_search.py) and spatial functions (query/spatial_ops.py)
    operator_templates: ClassVar[dict[str, str]] = {
        # JSON paths (query/documents.py): the scalar unquoted, a JSON null as NULL (as ->> does); a
        # string compared with a number compares as numbers here, a bool is bound as 'true'/'false'
        'json_path': _JSON_SCALAR, 'json_path_text': _JSON_SCALAR, 'json_scalar': '{0}',
        # a selected path is its JSON text; key tests and containment at a path ({2}: '$' for the column)
        # as PostgreSQL's ?, a key test also matches a string element of an array (or the string itself;
        # JSON_CONTAINS also finds it in an array nested in the array, where ? does not)
        'json_path_json': 'JSON_EXTRACT({0}, {1})',
        'json_has_key': "(JSON_CONTAINS_PATH({0}, 'one', {1}) OR JSON_CONTAINS({0}, JSON_QUOTE({2}), {3}))",
        'json_missing': 'JSON_EXTRACT({0}, {1}) IS NULL',
        'json_value': '{0}', 'json_contains': 'JSON_CONTAINS({0}, {1}, {2})',
        'match_natural': 'MATCH ({0}) AGAINST ({1} IN NATURAL LANGUAGE MODE)',
        'match_boolean': 'MATCH ({0}) AGAINST ({1} IN BOOLEAN MODE)',
        'match_expansion': 'MATCH ({0}) AGAINST ({1} WITH QUERY EXPANSION)',
        'st_distance': 'ST_Distance({0}, {1})', 'st_distance_sphere': 'ST_Distance_Sphere({0}, {1})',
        'st_contains': 'ST_Contains({0}, {1})', 'st_within': 'ST_Within({0}, {1})'}
    # AVG of integers is a DECIMAL with 4 places here; as a double it equals the other databases' AVG
    typed_argument_casts: ClassVar[dict[tuple[str, Any], str]] = {('avg', int): 'float', ('avg', bool): 'float'}
    cast_types: ClassVar[dict[str, str]] = {
        'int': 'SIGNED', 'float': 'DOUBLE', 'decimal': 'DECIMAL(65, 30)', 'str': 'CHAR', 'text': 'CHAR',
        'date': 'DATE', 'datetime': 'DATETIME(6)', 'time': 'TIME(6)', 'bool': 'SIGNED'}
    portable_function_templates: ClassVar[dict[str, str]] = {
        'extract_year': 'YEAR({0})', 'extract_month': 'MONTH({0})', 'extract_day': 'DAYOFMONTH({0})',
        'extract_hour': 'HOUR({0})', 'extract_minute': 'MINUTE({0})', 'extract_second': 'SECOND({0})',
        'extract_dow': '(DAYOFWEEK({0}) - 1)',
        **{f'date_trunc_{unit}': f"CAST(DATE_FORMAT({{0}}, '{form}') AS DATETIME(6))" for unit, form in (
            ('year', '%Y-01-01 00:00:00'), ('month', '%Y-%m-01 00:00:00'), ('day', '%Y-%m-%d 00:00:00'),
            ('hour', '%Y-%m-%d %H:00:00'))},
        **{f'date_trunc_{unit}_date': f"CAST(DATE_FORMAT({{0}}, '{form}') AS DATE)" for unit, form in (
            ('year', '%Y-01-01'), ('month', '%Y-%m-01'), ('day', '%Y-%m-%d'), ('hour', '%Y-%m-%d'))},
        # SEPARATOR takes only a literal: each value gets the bound separator in front, and the first is cut
        'string_agg': "SUBSTRING(GROUP_CONCAT(CONCAT({sep}, {arg}) ORDER BY {order} SEPARATOR ''), "
                      'CHAR_LENGTH({sep}) + 1)'}
    text_cast_templates: ClassVar[dict[str, str]] = {
        'bool': "CASE WHEN ({0}) IS NULL THEN NULL WHEN ({0}) THEN 'true' ELSE 'false' END"}
    server_version_sql = 'SELECT VERSION()'
    # 1 on a replica set read-only (as GTID replicas usually are)
    read_only_sql = 'SELECT @@read_only'
    # MariaDB's until the server says it is MySQL (_tune)
    replication = MARIADB_GTID
    # a day: as long as it takes (the other migrator makes progress, or its session ends); MariaDB
    # has no "forever" (-1 returns NULL at once). GET_LOCK names are server-wide: the name carries
    # the database (as an MD5, a lock name is at most 64 characters), so migrators of two
    # databases on one server do not wait for each other.
    migration_lock_sql = ("SELECT GET_LOCK(CONCAT('ar_schema_migrations:', MD5(DATABASE())), 86400)",
                          "SELECT RELEASE_LOCK(CONCAT('ar_schema_migrations:', MD5(DATABASE())))")

    def __init__(self, server_version: tuple[int, ...] | None = None, *, mariadb: bool | None = None,
                 engine: str = 'InnoDB', charset: str = 'utf8mb4', collation: str | None = None) -> None:
        super().__init__(server_version)
        self.is_mariadb = mariadb
        self.server_version_text: str | None = None
        #: statements that accept RETURNING on this server (INSERT/DELETE on MariaDB 10.5+)
        self.returning_statements: frozenset[str] = frozenset()
        self.engine = engine
        self.charset = charset
        self.collation = collation
        if server_version is not None and mariadb is not None:
            self._tune(server_version, mariadb)
        self.refresh_cache_key()

    # -- the server ---------------------------------------------------------------------

    def adopt_server(self, version_text: str) -> None:
        """Set the feature flags of the server that answered `SELECT VERSION()`."""
        self.server_version_text = version_text
        self._tune(server_version_tuple(version_text), is_mariadb_version(version_text))

    def _tune(self, version: tuple[int, ...], mariadb: bool) -> None:
        self.server_version = version
        self.is_mariadb = mariadb
        self.replication = MARIADB_GTID if mariadb else MYSQL_GTID
        # An instance attribute shadows the class's flags for this backend only.
        self.features = features_for(version, mariadb)
        self.returning_statements = frozenset(
            statement for statement, minimums in VERSIONED_RETURNING.items()
            if _at_least(version, minimums[0] if mariadb else minimums[1]))
        self.refresh_cache_key()

    def adopt_sql_mode(self, sql_mode: str) -> None:
        """Read and write literals as a session with this sql_mode does (placeholders, DDL defaults)."""
        modes = {mode.strip().upper() for mode in sql_mode.split(',')}
        self.backslash_escapes = 'NO_BACKSLASH_ESCAPES' not in modes
        rules = MYSQL_ANSI_QUOTES if modes & {'ANSI_QUOTES', 'ANSI'} else MYSQL
        self.lexical_rules = rules.with_backslash_escapes(self.backslash_escapes)
        self.refresh_cache_key()

    @property
    def flavor(self) -> str:
        """'MariaDB', 'MySQL', or 'MySQL/MariaDB' before the server is known."""
        names: dict[bool | None, str] = {True: 'MariaDB', False: 'MySQL'}
        return names.get(self.is_mariadb, 'MySQL/MariaDB')

    # -- transactions -------------------------------------------------------------------

    def begin_statements(self, level: IsolationLevel | None, read_only: bool,
                         features: Features) -> list[str]:
        """SET TRANSACTION ISOLATION LEVEL (next transaction only), then START TRANSACTION [READ ONLY]."""
        if read_only and not features.read_only_transactions:
            version = '.'.join(str(part) for part in self.server_version or ())
            raise NotSupportedError(f'{self.flavor} {version} has no read-only transactions')
        statements: list[str] = []
        if level is not None:
            actual = effective_level(level, features.isolation_levels, self.flavor)
            statements.append(self.isolation_template.format(level=actual.value))
        statements.append(self.begin_read_only_template if read_only else self.begin_template)
        return statements

    # -- DML ----------------------------------------------------------------------------

    def upsert_sql(self, table: str, columns: Sequence[str], row_count: int,
                   conflict: Sequence[str], update: Sequence[str], increment: Sequence[str] = ()) -> str:
        """INSERT ... ON DUPLICATE KEY UPDATE col = VALUES(col) (and col = col + 1 for `increment`).

        MySQL has no conflict target: any unique key that collides triggers the update. With
        nothing to update, a conflict column keeps its own value (a no-op update): unlike
        INSERT IGNORE that still reports every other error (NOT NULL, too long, ...).
        """
        sql = self.insert_sql(table, columns, row_count)
        if not update and not increment:
            keep = self.quote((list(conflict) or list(columns))[0])
            return f'{sql} ON DUPLICATE KEY UPDATE {keep} = {keep}'
        # VALUES(col) works on MariaDB and MySQL (where 8.0.20+ prefers a row alias MariaDB lacks).
        # A bare column name is the existing row's value (no column here reads another one).
        assignments = ', '.join([f'{self.quote(column)} = VALUES({self.quote(column)})' for column in update]
                                + [f'{self.quote(column)} = {self.quote(column)} + 1' for column in increment])
        return f'{sql} ON DUPLICATE KEY UPDATE {assignments}'

    # -- DDL ----------------------------------------------------------------------------

    @property
    def create_table_suffix(self) -> str:  # type: ignore[override]
        """ENGINE and the utf8mb4 character set, on every table."""
        collate = f' COLLATE={self.collation}' if self.collation else ''
        return f' ENGINE={self.engine} DEFAULT CHARSET={self.charset}{collate}'

    def column_definition(self, name: str, type_sql: str, *, nullable: bool, primary_key: bool = False,
                          autoincrement: bool = False, unique: bool = False, default: Any = None,
                          has_default: bool = False, inline_primary_key: bool = False) -> str:
        """One column; TEXT/BLOB/JSON/spatial defaults are written as (expressions)."""
        if has_default and not autoincrement and type_sql.upper().startswith(_EXPRESSION_DEFAULT_TYPES):
            # the base writes the rest of the column after the type, this default included
            type_sql, has_default = f'{type_sql} DEFAULT ({self.literal_sql(default)})', False
        return super().column_definition(
            name, type_sql, nullable=nullable, primary_key=primary_key, autoincrement=autoincrement,
            unique=unique, default=default, has_default=has_default, inline_primary_key=inline_primary_key)

    def create_index_sql(self, name: str, table: str, columns: Sequence[str], unique: bool = False,
                         if_not_exists: bool = False, kind: str | None = None, concurrently: bool = False,
                         prefix_lengths: Mapping[str, int] | None = None) -> str:
        """CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX; IF NOT EXISTS only reaches MariaDB (MySQL lacks it)."""
        prefix = 'UNIQUE ' if unique else (f'{kind.upper()} ' if kind else '')
        guard = '/*M! IF NOT EXISTS */ ' if if_not_exists else ''
        return (f'CREATE {prefix}INDEX {guard}{self.quote(name)} ON {self.quote_table(table)} ('
                + self.index_columns_sql(columns, prefix_lengths) + ')'
                + (self.concurrent_index_suffix if concurrently else ''))

    def default_clause(self, type_sql: str, default_sql: str) -> str:
        """TEXT/BLOB/JSON/spatial defaults are written as (expressions)."""
        if type_sql.upper().startswith(_EXPRESSION_DEFAULT_TYPES) and not default_sql.startswith('('):
            return f'({default_sql})'
        return default_sql

    def inline_index_sql(self, name: str, columns: Sequence[str], unique: bool = False,
                         kind: str | None = None) -> str:
        """An index inside CREATE TABLE (so `IF NOT EXISTS` on the table covers it on MySQL too)."""
        prefix = 'UNIQUE ' if unique else (f'{kind.upper()} ' if kind else '')
        return f'{prefix}INDEX {self.quote(name)} (' + ', '.join(self.quote(column) for column in columns) + ')'

    def literal_sql(self, value: Any) -> str:
        """DDL constants: backslashes escaped unless the sql_mode has NO_BACKSLASH_ESCAPES, datetimes in UTC."""
        if isinstance(value, datetime.datetime):
            moment: datetime.datetime = value if value.tzinfo is None else datetime_to_utc_naive(value)
            return "'" + moment.isoformat(sep=' ') + "'"
        text = super().literal_sql(value)
        if isinstance(value, str) and self.backslash_escapes:
            text = text.replace('\\', '\\\\')
        return text
