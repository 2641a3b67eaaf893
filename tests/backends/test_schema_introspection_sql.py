"""Index and foreign key introspection on Oracle (ALL_* views) and SQL Server (sys.*), which have no
server here: the golden queries, read by sqlglot in their own dialect, and what backend.schema makes
of rows shaped as those servers return them (labels lower-cased by the backend, Oracle's LONG
defaults with their trailing blanks, SQL Server's parenthesized defaults and *_desc actions).

Each query text was read against the Oracle Database Reference (ALL_INDEXES, ALL_IND_COLUMNS,
ALL_CONSTRAINTS, ALL_CONS_COLUMNS) and SQL Server's catalog view documentation (sys.indexes,
sys.index_columns, sys.foreign_keys, sys.foreign_key_columns) before it was pinned; a change here
is a change of the SQL the library sends and needs the same review. The other backends' queries
run in tests/backend/test_schema_introspection.py against live servers.
"""
from __future__ import annotations

from typing import Any, Sequence

import pytest
from sqlglot import exp

from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from activerecord.backend.schema import ColumnInfo, ForeignKeyInfo, IndexInfo, SchemaIntrospector
from activerecord.errors import NotSupportedError
from tests.backends.test_oracle_mssql_constructs import sqlglot_statements

GOLDEN = {
    ('oracle', 'indexes'): (
        "SELECT i.index_name AS name, CASE WHEN i.uniqueness = 'UNIQUE' THEN 1 ELSE 0 END AS is_unique, "
        "CASE WHEN i.index_type IN ('NORMAL', 'BITMAP') THEN ic.column_name END AS column_name, "
        "ic.column_position AS position, CASE WHEN ic.descend = 'DESC' THEN 1 ELSE 0 END AS descending "
        'FROM all_indexes i JOIN all_ind_columns ic ON ic.index_owner = i.owner AND ic.index_name = i.index_name '
        "WHERE i.table_owner = COALESCE(?, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND i.table_name = ? "
        "AND i.index_type <> 'LOB' AND NOT EXISTS (SELECT 1 FROM all_constraints p WHERE p.owner = i.table_owner "
        "AND p.table_name = i.table_name AND p.constraint_type = 'P' AND p.index_name = i.index_name) "
        'ORDER BY i.index_name, ic.column_position'),
    ('oracle', 'foreign_keys'): (
        'SELECT k.constraint_name AS name, kc.column_name AS column_name, CASE WHEN r.owner = k.owner '
        "THEN r.table_name ELSE r.owner || '.' || r.table_name END AS ref_table, rc.column_name AS ref_column, "
        'kc.position AS position, k.delete_rule AS on_delete, NULL AS on_update FROM all_constraints k '
        'JOIN all_cons_columns kc ON kc.owner = k.owner AND kc.constraint_name = k.constraint_name '
        'JOIN all_constraints r ON r.owner = k.r_owner AND r.constraint_name = k.r_constraint_name '
        'JOIN all_cons_columns rc ON rc.owner = r.owner AND rc.constraint_name = r.constraint_name '
        "AND rc.position = kc.position WHERE k.constraint_type = 'R' "
        "AND k.owner = COALESCE(?, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND k.table_name = ? "
        'ORDER BY k.constraint_name, kc.position'),
    ('mssql', 'indexes'): (
        'SELECT i.name AS name, i.is_unique AS is_unique, c.name AS column_name, ic.key_ordinal AS position, '
        'ic.is_descending_key AS descending FROM sys.indexes i '
        'JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id '
        'JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id '
        "WHERE i.object_id = OBJECT_ID(QUOTENAME(COALESCE(?, SCHEMA_NAME())) + '.' + QUOTENAME(?)) "
        'AND i.is_primary_key = 0 AND i.is_hypothetical = 0 AND i.type > 0 AND ic.key_ordinal > 0 '
        'ORDER BY i.name, ic.key_ordinal'),
    ('mssql', 'foreign_keys'): (
        'SELECT f.name AS name, pc.name AS column_name, CASE WHEN r.schema_id = f.schema_id THEN r.name '
        "ELSE SCHEMA_NAME(r.schema_id) + '.' + r.name END AS ref_table, rc.name AS ref_column, "
        'fc.constraint_column_id AS position, f.delete_referential_action_desc AS on_delete, '
        'f.update_referential_action_desc AS on_update FROM sys.foreign_keys f '
        'JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = f.object_id '
        'JOIN sys.columns pc ON pc.object_id = fc.parent_object_id AND pc.column_id = fc.parent_column_id '
        'JOIN sys.tables r ON r.object_id = f.referenced_object_id '
        'JOIN sys.columns rc ON rc.object_id = fc.referenced_object_id AND rc.column_id = fc.referenced_column_id '
        "WHERE f.parent_object_id = OBJECT_ID(QUOTENAME(COALESCE(?, SCHEMA_NAME())) + '.' + QUOTENAME(?)) "
        'ORDER BY f.name, fc.constraint_column_id'),
}
DIALECTS: dict[str, tuple[Any, str]] = {
    'sqlite': (SQLiteDialect, 'sqlite'), 'postgresql': (PostgreSQLDialect, 'postgres'),
    'mysql': (MySQLDialect, 'mysql'), 'oracle': (OracleDialect, 'oracle'), 'mssql': (SQLServerDialect, 'tsql'),
}
LABELS = {'indexes': ['name', 'is_unique', 'column_name', 'position', 'descending'],
          'foreign_keys': ['name', 'column_name', 'ref_table', 'ref_column', 'position', 'on_delete', 'on_update']}
#: the catalog each query must read
CATALOGS = {('oracle', 'indexes'): {'all_indexes', 'all_ind_columns'},
            ('oracle', 'foreign_keys'): {'all_constraints', 'all_cons_columns'},
            ('mssql', 'indexes'): {'indexes', 'index_columns', 'columns'},
            ('mssql', 'foreign_keys'): {'foreign_keys', 'foreign_key_columns', 'columns', 'tables'}}


@pytest.mark.parametrize('name, what', list(GOLDEN))
def test_oracle_and_sql_server_queries_are_the_golden_text(name, what):
    dialect, read = DIALECTS[name]
    sql = getattr(dialect, f'introspect_{what}_sql')
    assert sql == GOLDEN[name, what]
    (select,) = sqlglot_statements(sql, read)
    assert isinstance(select, exp.Select)
    assert CATALOGS[name, what] <= {table.name.lower() for table in select.find_all(exp.Table)}


@pytest.mark.parametrize('what', list(LABELS))
@pytest.mark.parametrize('name', list(DIALECTS))
def test_every_dialect_reads_as_one_select_with_the_shared_labels(name, what):
    dialect, read = DIALECTS[name]
    sql = getattr(dialect, f'introspect_{what}_sql')
    (select,) = sqlglot_statements(sql, read)
    assert [expression.alias_or_name.lower() for expression in select.expressions] == LABELS[what]
    params = getattr(dialect, f'introspect_{what}_params', ('schema', 'table'))
    assert sql.count('?') == len(params) and set(params) <= {'schema', 'table'}


class Catalog:
    """A fetch_all standing in for the server: canned rows per query, and the parameters bound."""

    def __init__(self, dialect: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.by_sql = {getattr(dialect, f'introspect_{what}_sql'): found for what, found in rows.items()}
        self.bound: list[tuple[Any, ...]] = []

    def __call__(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        self.bound.append(tuple(params))
        return self.by_sql.get(sql, [])


def _column(name: str, sql_type: str, default: Any, nullable: int = 1, pk: int | None = None,
            autoincrement: int = 0) -> dict[str, Any]:
    return {'name': name, 'sql_type': sql_type, 'nullable': nullable, 'column_default': default,
            'pk_position': pk, 'autoincrement': autoincrement}


def test_oracle_rows_become_columns_indexes_and_foreign_keys():
    dialect = OracleDialect()
    catalog = Catalog(dialect, {
        'columns': [
            # an identity's default is its sequence; LONG data_default keeps the blanks typed after it
            _column('id', 'NUMBER(19,0)', '"AR"."ISEQ$$_73417".nextval ', 0, 1, 1),
            _column('title', 'NVARCHAR2(40)', "'it''s' \n", 0),
            _column('flag', 'NUMBER(1,0)', '1 '), _column('price', 'NUMBER(10,2)', '1.50'),
            _column('created', 'TIMESTAMP(6)', 'CURRENT_TIMESTAMP\n'), _column('note', 'NCLOB', 'NULL'),
            _column('owner_id', 'NUMBER(19,0)', None)],
        'indexes': [
            {'name': 'ux_books_title', 'is_unique': 1, 'column_name': 'title', 'position': 1, 'descending': 0},
            {'name': 'ix_books_owner_price', 'is_unique': 0, 'column_name': 'price', 'position': 2, 'descending': 0},
            {'name': 'ix_books_owner_price', 'is_unique': 0, 'column_name': 'owner_id', 'position': 1,
             'descending': 0},
            # a function-based (or DESC) index: its key is a SYS_NC column, which the query leaves NULL
            {'name': 'ix_books_lower', 'is_unique': 0, 'column_name': None, 'position': 1, 'descending': 0}],
        'foreign_keys': [
            {'name': 'fk_books_owner', 'column_name': 'owner_id', 'ref_table': 'owners', 'ref_column': 'id',
             'position': 1, 'on_delete': 'CASCADE', 'on_update': None},
            {'name': 'fk_books_shelf', 'column_name': 'shelf_no', 'ref_table': 'LIB.shelves',
             'ref_column': 'no', 'position': 2, 'on_delete': 'NO ACTION', 'on_update': None},
            {'name': 'fk_books_shelf', 'column_name': 'shelf_room', 'ref_table': 'LIB.shelves',
             'ref_column': 'room', 'position': 1, 'on_delete': 'NO ACTION', 'on_update': None}],
    })
    schema = SchemaIntrospector(catalog, dialect)
    columns = {column.name: column for column in schema.columns('books')}
    assert columns['id'] == ColumnInfo('id', 'int', 'NUMBER(19,0)', False, None, True, True)
    assert {name: column.default for name, column in columns.items()} == {
        'id': None, 'title': "'it''s'", 'flag': 'TRUE', 'price': '1.5', 'created': 'CURRENT_TIMESTAMP',
        'note': None, 'owner_id': None}
    assert schema.indexes('books') == [
        IndexInfo('ix_books_owner_price', ('owner_id', 'price'), False), IndexInfo('ux_books_title', ('title',), True)]
    assert schema.foreign_keys('books') == [
        ForeignKeyInfo('fk_books_owner', ('owner_id',), 'owners', ('id',), 'CASCADE', None),
        ForeignKeyInfo('fk_books_shelf', ('shelf_room', 'shelf_no'), 'LIB.shelves', ('room', 'no'), None, None)]
    schema.indexes('LIB.books')
    assert catalog.bound == [(None, 'books')] * 3 + [('LIB', 'books')]


def test_sql_server_rows_become_columns_indexes_and_foreign_keys():
    dialect = SQLServerDialect()
    catalog = Catalog(dialect, {
        'columns': [
            _column('id', 'bigint', None, 0, 1, 1), _column('qty', 'int', '((5))'),
            _column('below', 'int', '((-3))'), _column('title', 'nvarchar', "(N'it''s')"),
            _column('flag', 'bit', '((1))'), _column('off', 'bit', '((0))'),
            _column('price', 'decimal', '((1.50))'), _column('created', 'datetime2', '(getdate())'),
            _column('note', 'nvarchar', '(NULL)')],
        'indexes': [
            {'name': 'ix_orders_day', 'is_unique': False, 'column_name': 'day', 'position': 1, 'descending': True},
            {'name': 'ix_orders_day', 'is_unique': False, 'column_name': 'qty', 'position': 2, 'descending': False},
            {'name': 'uq_orders_code', 'is_unique': True, 'column_name': 'code', 'position': 1, 'descending': False}],
        'foreign_keys': [
            {'name': 'fk_orders_customer', 'column_name': 'customer_id', 'ref_table': 'customers',
             'ref_column': 'id', 'position': 1, 'on_delete': 'SET_NULL', 'on_update': 'NO_ACTION'},
            {'name': 'fk_orders_audit', 'column_name': 'audit_id', 'ref_table': 'audit.entries',
             'ref_column': 'id', 'position': 1, 'on_delete': 'NO_ACTION', 'on_update': 'CASCADE'}],
    })
    schema = SchemaIntrospector(catalog, dialect)
    defaults = {column.name: column.default for column in schema.columns('dbo.orders')}
    assert defaults == {'id': None, 'qty': '5', 'below': '-3', 'title': "'it''s'", 'flag': 'TRUE', 'off': 'FALSE',
                        'price': '1.5', 'created': 'CURRENT_TIMESTAMP', 'note': None}
    assert schema.indexes('dbo.orders') == [
        IndexInfo('ix_orders_day', ('day', 'qty'), False, descending=('day',)),
        IndexInfo('uq_orders_code', ('code',), True)]
    assert schema.foreign_keys('dbo.orders') == [
        ForeignKeyInfo('fk_orders_audit', ('audit_id',), 'audit.entries', ('id',), None, 'CASCADE'),
        ForeignKeyInfo('fk_orders_customer', ('customer_id',), 'customers', ('id',), 'SET NULL', None)]
    assert set(catalog.bound) == {('dbo', 'orders')}


def test_an_action_no_rule_knows_is_an_error_naming_it():
    dialect = SQLServerDialect()
    catalog = Catalog(dialect, {'foreign_keys': [
        {'name': 'fk_x', 'column_name': 'a', 'ref_table': 't', 'ref_column': 'id', 'position': 1,
         'on_delete': 'EXPLODE', 'on_update': None}]})
    with pytest.raises(NotSupportedError, match="'EXPLODE'.*CASCADE, SET NULL, RESTRICT, SET DEFAULT or NO ACTION"):
        SchemaIntrospector(catalog, dialect).foreign_keys('x')
