"""SQLite's SQL: only what differs from the base dialect."""
from __future__ import annotations

import decimal
import sqlite3
from typing import Any, ClassVar

from ...dialect import Dialect
from ...features import Features
from ...sql_lexer import SQLITE
from ...transaction import IsolationLevel, effective_level
from .functions import CASE_FOLD, DECIMAL_AVG, DECIMAL_SUM
from .types import SQLiteTypeMap

_VERSION = sqlite3.sqlite_version_info


class SQLiteDialect(Dialect):
    """SQLite 3: LIMIT/OFFSET, ON CONFLICT upsert, lastrowid keys, BEGIN IMMEDIATE for SERIALIZABLE."""

    name = 'sqlite'
    # Schema introspection (backend/schema.py): lower-case labels, `?` bound as the *_params say.
    introspect_tables_sql = ("SELECT name AS name FROM sqlite_master WHERE type = 'table' "
                             "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
    introspect_columns_sql = (
        'SELECT c.name AS name, c.type AS sql_type, c."notnull" = 0 AS nullable, c.dflt_value AS column_default, '
        'c.pk AS pk_position, (c.pk = 1 AND upper(c.type) = \'INTEGER\' AND (SELECT COUNT(*) FROM '
        'pragma_table_xinfo(?, COALESCE(?, \'main\')) k WHERE k.pk > 0) = 1) AS "autoincrement" '
        'FROM pragma_table_xinfo(?, COALESCE(?, \'main\')) c WHERE c.hidden <> 1 ORDER BY c.cid')
    introspect_columns_params = ('table', 'schema', 'table', 'schema')
    # SQLite lets a referenced table be dropped: DROP TABLE from a model asks this first.
    introspect_referencing_sql = (
        "SELECT m.name AS name FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f "
        "WHERE m.type = 'table' AND f.\"table\" = ? COLLATE NOCASE AND m.name <> ? COLLATE NOCASE "
        "AND EXISTS (SELECT 1 FROM sqlite_master t WHERE t.type = 'table' AND t.name = ? COLLATE NOCASE)")
    introspect_referencing_params = ('table', 'table', 'table')
    # origin 'pk' is the primary key's own index; an expression key column has cid -2 and no name
    introspect_indexes_sql = (
        # a partial index (WHERE ...) reads as one over an expression: no column names, left out
        'SELECT l.name AS name, l."unique" AS is_unique, '
        'CASE WHEN l.partial = 0 THEN x.name END AS column_name, x.seqno AS position, '
        'x."desc" AS descending FROM pragma_index_list(?, COALESCE(?, \'main\')) l '
        'JOIN pragma_index_xinfo(l.name, COALESCE(?, \'main\')) x '
        "WHERE l.origin <> 'pk' AND x.\"key\" = 1 ORDER BY l.name, x.seqno")
    introspect_indexes_params = ('table', 'schema', 'schema')
    # SQLite keeps no foreign key names: `name` is the key's id and only groups its columns. A key
    # naming no columns points at the other table's primary key, column by column.
    introspect_foreign_keys_sql = (
        'SELECT f.id AS name, f."from" AS column_name, f."table" AS ref_table, '
        'COALESCE(f."to", (SELECT p.name FROM pragma_table_info(f."table", COALESCE(?, \'main\')) p '
        'WHERE p.pk = f.seq + 1)) AS ref_column, f.seq AS position, f.on_delete AS on_delete, '
        'f.on_update AS on_update FROM pragma_foreign_key_list(?, COALESCE(?, \'main\')) f ORDER BY f.id, f.seq')
    introspect_foreign_keys_params = ('schema', 'table', 'schema')
    introspect_foreign_key_names = False
    lexical_rules = SQLITE
    features = Features(
        generated_keys='lastrowid', returning=_VERSION >= (3, 35), upsert='on_conflict',
        transactional_ddl=True, alter_add_foreign_key=False, for_update=False, ilike=False,
        right_join=_VERSION >= (3, 39), full_join=_VERSION >= (3, 39), json=True,
        max_parameters=32766 if _VERSION >= (3, 32) else 999,
        # the real limit is compiled into the library (often 250000): SQLite refuses more itself
        max_parameters_enforced=False, max_in_list=30000,
        # a 500-row INSERT is prepared several times faster than an 8,000-row one, and a
        # repeated batch is prepared once (docs/performance.md)
        bulk_parameters=2000,
        # SQLite transactions are serializable: every standard level is given as SERIALIZABLE.
        isolation_levels=frozenset({IsolationLevel.SERIALIZABLE}),
    )
    max_identifier_length = 1024
    unbounded_limit = '-1'
    autoincrement_column_template = '{name} INTEGER PRIMARY KEY AUTOINCREMENT'
    # migrations: ALTER TABLE cannot change a column or a foreign key here; migrate/sqlite_rebuild.py
    # rebuilds the table instead (which rewrites it, holding the database's write lock)
    alter_type_template = None
    set_not_null_template = None
    drop_not_null_template = None
    set_default_template = None
    drop_default_template = None
    add_foreign_key_template = None
    lock_timeout_templates = ('PRAGMA busy_timeout = {milliseconds}',)
    migration_effects: ClassVar[dict[str, tuple[bool, bool]]] = {
        'create_table': (False, False), 'rebuild': (True, True)}
    # JSON paths (query/documents.py): json_extract gives SQL values (a JSON true is 1, so .astext
    # names the booleans as PostgreSQL's ->> does); a compared value is read from its JSON text
    operator_templates: ClassVar[dict[str, str]] = {
        'json_path': 'json_extract({0}, {1})',
        'json_path_text': ("CASE json_type({0}, {1}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                           'ELSE CAST(json_extract({0}, {1}) AS TEXT) END'),
        'json_scalar_json': "json_extract({0}, '$')",
        # a selected path is its JSON text (-> from 3.38; json_extract gives 1 for true before it)
        'json_path_json': '({0} -> {1})' if _VERSION >= (3, 38) else (
            "CASE json_type({0}, {1}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            'ELSE json_quote(json_extract({0}, {1})) END'),
        # key tests and containment (query/documents.py Containment) by path: a null value still has its key
        # (a missing path's type is 'missing', never NULL: NOT contains(...) is then true, as on PostgreSQL);
        # as PostgreSQL's ?, a key test also matches a string element of an array (or the string itself)
        'json_has_key': ("(json_type({0}, {1}) IS NOT NULL OR (json_type({0}, {3}) <> 'object' AND EXISTS "
                         "(SELECT 1 FROM json_each({0}, {3}) AS ar_k WHERE ar_k.type = 'text' AND ar_k.value = {2})))"),
        'json_type': "COALESCE(json_type({0}, {1}), 'missing')",
        'json_missing': 'json_type({0}, {1}) IS NULL',
        'json_each': 'EXISTS (SELECT 1 FROM json_each({0}, {1}) AS {2} WHERE {3})'}
    boolean_literals: ClassVar[dict[bool, str]] = {True: '1', False: '0'}
    server_version_sql = 'SELECT sqlite_version()'
    # A table rebuild drops the old table: with foreign keys on that would delete (cascade) or
    # refuse the rows referencing it, and the pragma cannot change inside a transaction. So the
    # migrator's connection runs with them off and checks them before each migration commits.
    migration_session_sql = ('PRAGMA foreign_keys = OFF',)
    migration_transaction_locks = True   # BEGIN IMMEDIATE: one writer at a time
    # ... waited for a day, as MySQL's GET_LOCK and PostgreSQL's pg_advisory_lock wait
    migration_lock_wait_sql = ('PRAGMA busy_timeout = 86400000',)
    migration_check_sql = 'PRAGMA foreign_key_check'
    explain_prefix = 'EXPLAIN QUERY PLAN '   # plain EXPLAIN lists VDBE bytecode, not a plan
    group_by_position = True
    type_map_class = SQLiteTypeMap
    # Decimals are doubles here: their SUM/AVG add exactly (functions.py, registered per connection)
    typed_function_names: ClassVar[dict[tuple[str, Any], str]] = {
        ('sum', decimal.Decimal): DECIMAL_SUM, ('avg', decimal.Decimal): DECIMAL_AVG}
    # ... given the places their result is read with, so that they round once and refuse more than 15 digits
    typed_function_places: ClassVar[frozenset[str]] = frozenset({DECIMAL_SUM, DECIMAL_AVG})
    # LOWER folds ASCII only
    case_fold_function = CASE_FOLD
    # dates and times are ISO text here; CAST(... AS DATE) would give them NUMERIC affinity (2009)
    cast_types: ClassVar[dict[str, str]] = {**Dialect.cast_types, 'date': 'TEXT', 'datetime': 'TEXT',
                                            'time': 'TEXT'}
    # ... and a datetime's text cast to a date is its day: date('2009-01-05 12:00:00.000000')
    cast_functions: ClassVar[dict[str, str]] = {'date': 'date'}
    portable_function_templates: ClassVar[dict[str, str]] = {
        **{f'extract_{part}': f"CAST(strftime('{code}', {{0}}) AS INTEGER)" for part, code in (
            ('year', '%Y'), ('month', '%m'), ('day', '%d'), ('hour', '%H'), ('minute', '%M'), ('second', '%S'),
            ('dow', '%w'))},
        **{f'date_trunc_{unit}': f"strftime('{form}', {{0}})" for unit, form in (
            ('year', '%Y-01-01 00:00:00.000000'), ('month', '%Y-%m-01 00:00:00.000000'),
            ('day', '%Y-%m-%d 00:00:00.000000'), ('hour', '%Y-%m-%d %H:00:00.000000'))},
        'date_trunc_year_date': "date({0}, 'start of year')",
        'date_trunc_month_date': "date({0}, 'start of month')",
        'date_trunc_day_date': 'date({0})', 'date_trunc_hour_date': 'date({0})',
        # no ORDER BY inside an aggregate before SQLite 3.44: a registered aggregate sorts by the keys
        # (backend/impl/sqlite/functions.py StringAgg)
        'string_agg': 'ar_string_agg(CAST({arg} AS TEXT), {sep}, {directions}, {keys})'}
    # decimals are kept as doubles: their text is written to the column's places
    text_cast_templates: ClassVar[dict[str, str]] = {
        'decimal': "printf('%.{places}f', {0})",
        'bool': "CASE WHEN ({0}) IS NULL THEN NULL WHEN ({0}) THEN 'true' ELSE 'false' END"}

    def begin_statements(self, level: IsolationLevel | None, read_only: bool, features: Features) -> list[str]:
        """BEGIN (deferred); BEGIN IMMEDIATE for SERIALIZABLE; PRAGMA query_only for read-only."""
        if level is not None:
            effective_level(level, features.isolation_levels, self.name)  # rejects SNAPSHOT
        # A deferred transaction is already serializable in SQLite; SERIALIZABLE asks for the
        # write lock up front so that it can never fail later on a lock upgrade.
        statements = ['BEGIN IMMEDIATE' if level is IsolationLevel.SERIALIZABLE else 'BEGIN']
        # query_only is switched on after BEGIN and off before COMMIT/ROLLBACK, so that a
        # failing BEGIN or COMMIT (busy) never sends a read-only connection back to the pool.
        if read_only:
            statements.append('PRAGMA query_only = ON')
        return statements

    def commit_statements(self, read_only: bool) -> list[str]:
        """Leave query_only mode, then COMMIT."""
        return ['PRAGMA query_only = OFF', 'COMMIT'] if read_only else ['COMMIT']

    def rollback_statements(self, read_only: bool) -> list[str]:
        """Leave query_only mode, then ROLLBACK."""
        return ['PRAGMA query_only = OFF', 'ROLLBACK'] if read_only else ['ROLLBACK']
