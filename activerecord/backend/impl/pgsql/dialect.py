"""PostgreSQL's SQL: only what differs from the base dialect (which already speaks most of it)."""
from __future__ import annotations

import decimal
from typing import Any, ClassVar

from ...dialect import Dialect
from ...features import Features
from ...replication import POSTGRESQL_WAL
from ...sql_lexer import POSTGRESQL
from ...transaction import IsolationLevel
from .types import PostgreSQLTypeMap

#: the protocol's Bind message counts parameters in an unsigned 16-bit field
MAX_BIND_PARAMETERS = 65535
#: the fewest rows insert_many loads with COPY rather than multi-row INSERT (measured crossover)
COPY_MIN_ROWS = 100


class PostgreSQLDialect(Dialect):
    """PostgreSQL 10+: RETURNING keys, ON CONFLICT upsert, identity columns, JSONB and arrays."""

    name = 'postgresql'
    # 'on' on a hot standby (recovery forces it) and under default_transaction_read_only
    read_only_sql = 'SHOW transaction_read_only'
    replication = POSTGRESQL_WAL
    # Schema introspection (backend/schema.py): lower-case labels, `?` bound as the *_params say.
    introspect_tables_sql = ("SELECT table_name AS name FROM information_schema.tables "
                             "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    # pg_catalog rather than information_schema.columns: planning that view took 2.4 ms a table,
    # this 0.2. format_type() spells the type with its size ('character varying(20)',
    # 'numeric(10,2)'), which migrations compare. A generated column's expression is no default;
    # attgenerated is read through to_jsonb because PostgreSQL 10 and 11 have no such column.
    introspect_columns_sql = (
        'SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS sql_type, NOT a.attnotnull AS nullable, '
        "CASE WHEN COALESCE(to_jsonb(a) ->> 'attgenerated', '') = '' THEN pg_get_expr(d.adbin, d.adrelid) END "
        'AS column_default, array_position(p.conkey, a.attnum) AS pk_position, '
        "(a.attidentity <> '' OR COALESCE(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%') AS autoincrement "
        'FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum '
        "LEFT JOIN pg_constraint p ON p.conrelid = a.attrelid AND p.contype = 'p' "
        "WHERE a.attrelid = to_regclass(quote_ident(COALESCE(CAST(? AS TEXT), current_schema())) || '.' "
        '|| quote_ident(?)) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum')
    # pg_catalog: information_schema has no view of indexes. Key columns only (not INCLUDE ones);
    # an expression's key is attnum 0 and so has no attname; bit 1 of indoption is DESC.
    introspect_indexes_sql = (
        # a partial index (WHERE ...) reads as one over an expression: no column names, left out
        'SELECT i.relname AS name, x.indisunique AS is_unique, '
        'CASE WHEN x.indpred IS NULL THEN a.attname END AS column_name, k.n AS position, '
        '(x.indoption[k.n - 1] & 1) = 1 AS descending FROM pg_index x '
        'JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace '
        'JOIN pg_class i ON i.oid = x.indexrelid '
        'CROSS JOIN LATERAL unnest(CAST(x.indkey AS SMALLINT[])) WITH ORDINALITY AS k(attnum, n) '
        'LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0 '
        'WHERE s.nspname = COALESCE(CAST(? AS TEXT), current_schema()) AND t.relname = ? '
        'AND NOT x.indisprimary AND k.n <= x.indnkeyatts ORDER BY i.relname, k.n')
    # confdeltype / confupdtype: a(no action) r(estrict) c(ascade) n(set null) d(set default).
    # to_regclass (NULL for a missing table) and scalar subqueries rather than a 7-way join:
    # planning that join took 3 ms a table, ten times what running it takes.
    introspect_foreign_keys_sql = (
        'SELECT c.conname AS name, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.conrelid '
        'AND a.attnum = k.attnum) AS column_name, CASE WHEN r.relnamespace = c.connamespace THEN r.relname '
        "ELSE (SELECT n.nspname FROM pg_namespace n WHERE n.oid = r.relnamespace) || '.' || r.relname END "
        'AS ref_table, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.confrelid '
        'AND a.attnum = k.ref_attnum) AS ref_column, k.n AS position, '
        "CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT' "
        "WHEN 'd' THEN 'SET DEFAULT' END AS on_delete, CASE c.confupdtype WHEN 'c' THEN 'CASCADE' "
        "WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT' WHEN 'd' THEN 'SET DEFAULT' END AS on_update "
        'FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid '
        'CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, ref_attnum, n) '
        "WHERE c.contype = 'f' AND c.conrelid = to_regclass(quote_ident(COALESCE(CAST(? AS TEXT), "
        "current_schema())) || '.' || quote_ident(?)) ORDER BY c.conname, k.n")
    lexical_rules = POSTGRESQL
    features = Features(
        generated_keys='returning', returning=True, multi_row_insert=True, upsert='on_conflict',
        transactional_ddl=True, for_update=True, for_update_nowait=True, for_update_skip_locked=True,
        ilike=True, full_join=True, json=True, json_operators=True, arrays=True,
        question_mark_operators=True, read_only_transactions=True, explain=True,
        max_parameters=MAX_BIND_PARAMETERS, max_in_list=30000,
        # insert_many of this many rows or more goes through COPY ... FROM STDIN (see copy.py
        # and docs/performance.md for the crossover measured against multi-row INSERT)
        copy_min_rows=COPY_MIN_ROWS,
        # READ UNCOMMITTED is given as READ COMMITTED (PostgreSQL has nothing weaker). The
        # levels PostgreSQL has, by its names: SNAPSHOT is an alias (isolation_aliases below).
        isolation_levels=frozenset({IsolationLevel.READ_COMMITTED, IsolationLevel.REPEATABLE_READ,
                                    IsolationLevel.SERIALIZABLE}),
    )
    type_map_class = PostgreSQLTypeMap
    group_by_position = True
    # migrations: CONCURRENTLY builds an index without blocking writes (outside a transaction);
    # SET LOCAL keeps the timeout to the migration's transaction
    concurrent_index_keyword = 'CONCURRENTLY'
    lock_timeout_templates = ("SET LOCAL lock_timeout = '{milliseconds}ms'",)
    outside_lock_timeout_templates = (("SET lock_timeout = '{milliseconds}ms'",), ('RESET lock_timeout',))
    # a UNIQUE column's index belongs to its constraint: DROP INDEX refuses it
    unique_constraint_sql = ("SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                             "WHERE c.contype = 'u' AND t.relname = ? AND c.conname = ? AND pg_table_is_visible(t.oid)")
    # PostgreSQL 11+ adds a column with a constant default without a rewrite; a NOT NULL is
    # checked by a full scan under an ACCESS EXCLUSIVE lock; dropping a column only hides it
    migration_effects: ClassVar[dict[str, tuple[bool, bool]]] = {
        **Dialect.migration_effects, 'rename_table': (False, True), 'drop_column': (False, True)}
    # the key is b'ar_migra' as a bigint: any fixed number shared by every migrator of a database
    # (advisory locks are per database: migrators of two databases of one server never wait)
    migration_lock_sql = ('SELECT 1 FROM pg_advisory_lock(7021779692548485729)',
                          'SELECT pg_advisory_unlock(7021779692548485729)')
    cast_select_parameters = True   # pg8000 sends parameters as 'unknown': SELECT $1 would be text
    inline_integer_arguments = True
    shared_parameters = True   # $1 may appear twice: a repeated constant keeps one expression
    # CONCAT(x, $1) with $1 untyped: "could not determine data type of parameter $1" (42P18)
    text_argument_functions = frozenset({'concat', 'concat_ws', 'format'})
    # AVG(numeric) divides to 16 significant digits only (select_div_scale: 9989999999999.99004
    # comes back as 9989999999999.99), and reading that to s + 4 places would round twice. A
    # quotient's scale is at least its dividend's, so the sum widened by TRUNC to `places + 19`
    # places is divided (rounded, half away from zero) 19 places past the result. With the sum's
    # `s <= places` places and a COUNT below 10**19, the exact quotient's remainder past `places`
    # is r / count: at least 1 / (2 * count) > 10**-19 / 2 away from a half unless it is one, so
    # that first rounding keeps a remainder below a half below it, and ROUND to `places` (half
    # away from zero, as ROUND_HALF_UP) rounds once in effect. SUM and COUNT are what AVG computes
    # anyway: no work per row is added.
    typed_function_forms: ClassVar[dict[tuple[str, Any], str]] = {('avg', decimal.Decimal): (
        'ROUND(TRUNC(SUM({distinct}{arg}){over}, {exact_places}) / COUNT({distinct}{arg}){over}, {places})')}
    # A datetime field is an instant here (TIMESTAMPTZ), and CAST(x AS VARCHAR(n)) would truncate.
    cast_types: ClassVar[dict[str, str]] = {**Dialect.cast_types, 'datetime': 'TIMESTAMPTZ', 'str': 'TEXT'}
    # JSONB and native arrays (query/documents.py); a key is cast so that PostgreSQL picks ->(text) or ->(int)
    operator_templates: ClassVar[dict[str, str]] = {
        'json_member': '({0} -> CAST({1} AS TEXT))', 'json_element': '({0} -> CAST({1} AS INTEGER))',
        'json_member_text': '({0} ->> CAST({1} AS TEXT))', 'json_element_text': '({0} ->> CAST({1} AS INTEGER))',
        'json_value': 'CAST({0} AS JSONB)', 'json_keys': 'CAST({0} AS TEXT[])',
        'json_contains': '{0} @> {1}', 'json_contained_by': '{0} <@ {1}', 'json_has_key': '{0} ? {1}',
        'json_has_any_key': '{0} ?| {1}', 'json_has_all_keys': '{0} ?& {1}',
        'array_contains': '{0} @> {1}', 'array_contained_by': '{0} <@ {1}', 'array_overlaps': '{0} && {1}',
        'array_any_eq': '{1} = ANY({0})'}
    portable_function_templates: ClassVar[dict[str, str]] = {
        **{f'extract_{part}': f"CAST({fn}(EXTRACT({field} FROM TIMEZONE('UTC', {{0}}))) AS INTEGER)"
           for part, field, fn in (('year', 'YEAR', ''), ('month', 'MONTH', ''), ('day', 'DAY', ''),
                                   ('hour', 'HOUR', ''), ('minute', 'MINUTE', ''), ('second', 'SECOND', 'FLOOR'),
                                   ('dow', 'DOW', ''))},
        **{f'extract_{part}_date': f'CAST(EXTRACT({part.upper()} FROM {{0}}) AS INTEGER)'
           for part in ('year', 'month', 'day', 'dow')},
        **{f'date_trunc_{unit}': f"TIMEZONE('UTC', DATE_TRUNC('{unit}', TIMEZONE('UTC', {{0}})))"
           for unit in ('year', 'month', 'day', 'hour')},
        **{f'date_trunc_{unit}_date': f"CAST(DATE_TRUNC('{unit}', CAST({{0}} AS TIMESTAMP)) AS DATE)"
           for unit in ('year', 'month', 'day', 'hour')},
        'string_agg': 'STRING_AGG(CAST({arg} AS TEXT), CAST({sep} AS TEXT) ORDER BY {order})'}
    text_cast_templates: ClassVar[dict[str, str]] = {
        'datetime': "TO_CHAR(TIMEZONE('UTC', {0}), 'YYYY-MM-DD HH24:MI:SS.US')"}
    # PostgreSQL's REPEATABLE READ is snapshot isolation: SNAPSHOT asks for it by another name
    isolation_aliases: ClassVar[dict[IsolationLevel, IsolationLevel]] = {
        IsolationLevel.SNAPSHOT: IsolationLevel.REPEATABLE_READ}

    def sync_identity_sql(self, table: str, column: str) -> tuple[str, tuple[Any, ...]]:
        """Move the column's sequence past the largest key: PostgreSQL's identity sequences do
        not follow explicitly inserted values (MySQL's and SQLite's counters do)."""
        sequence = 'pg_get_serial_sequence(?, ?)'
        sql = (f'SELECT setval({sequence}, GREATEST((SELECT MAX({self.quote(column)}) FROM '
               f'{self.quote_table(table)}), nextval({sequence})))')
        # pg_get_serial_sequence parses its first argument as SQL (quoted) and takes the
        # second literally (a plain column name).
        target = (self.quote_table(table), column)
        return sql, target + target
