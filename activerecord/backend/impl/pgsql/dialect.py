"""PostgreSQL's SQL: only what differs from the base dialect (which already speaks most of it)."""
from __future__ import annotations

import decimal
from typing import Any, ClassVar

from ...dialect import Dialect
from ...features import Features
from ...sql_lexer import POSTGRESQL
from ...transaction import IsolationLevel
from .types import PostgreSQLTypeMap

#: the protocol's Bind message counts parameters in an unsigned 16-bit field
MAX_BIND_PARAMETERS = 65535


class PostgreSQLDialect(Dialect):
    """PostgreSQL 10+: RETURNING keys, ON CONFLICT upsert, identity columns, JSONB and arrays."""

    name = 'postgresql'
    # Schema introspection (backend/schema.py): lower-case labels, `?` bound as the *_params say.
    introspect_tables_sql = ("SELECT table_name AS name FROM information_schema.tables "
                             "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    introspect_columns_sql = (
        "SELECT c.column_name AS name, c.data_type AS sql_type, c.is_nullable = 'YES' AS nullable, "
        'c.column_default AS column_default, (SELECT k.ordinal_position FROM information_schema.table_constraints t '
        'JOIN information_schema.key_column_usage k ON k.constraint_schema = t.constraint_schema '
        'AND k.constraint_name = t.constraint_name AND k.table_name = t.table_name '
        "WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema "
        'AND t.table_name = c.table_name AND k.column_name = c.column_name) AS pk_position, '
        "(c.is_identity = 'YES' OR COALESCE(c.column_default, '') LIKE 'nextval(%') AS autoincrement "
        'FROM information_schema.columns c '
        'WHERE c.table_schema = COALESCE(CAST(? AS TEXT), current_schema()) AND c.table_name = ? '
        'ORDER BY c.ordinal_position')
    lexical_rules = POSTGRESQL
    features = Features(
        generated_keys='returning', returning=True, multi_row_insert=True, upsert='on_conflict',
        transactional_ddl=True, for_update=True, for_update_nowait=True, for_update_skip_locked=True,
        ilike=True, full_join=True, json=True, json_operators=True, arrays=True,
        question_mark_operators=True, read_only_transactions=True, explain=True,
        max_parameters=MAX_BIND_PARAMETERS, max_in_list=30000,
        # READ UNCOMMITTED is given as READ COMMITTED (PostgreSQL has nothing weaker). The
        # levels PostgreSQL has, by its names: SNAPSHOT is an alias (isolation_aliases below).
        isolation_levels=frozenset({IsolationLevel.READ_COMMITTED, IsolationLevel.REPEATABLE_READ,
                                    IsolationLevel.SERIALIZABLE}),
    )
    type_map_class = PostgreSQLTypeMap
    group_by_position = True
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
        'json_text': 'CAST({0} AS TEXT)',   # a selected path: its JSON text, decoded as on the other databases
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
