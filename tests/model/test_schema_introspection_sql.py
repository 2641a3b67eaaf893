"""The schema introspection queries of every dialect, read by sqlglot (Oracle and SQL Server have no
server here: this is their test), plus the SQLite double-quoted-string switch and type kinds."""
from __future__ import annotations

import sqlite3

import pytest
from sqlglot import exp

from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.backend.impl.sqlite import backend as sqlite_backend
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from activerecord.backend.schema import kind_of_sql_type
from activerecord.backend.types import ColumnSpec
from tests.backends.test_oracle_mssql_constructs import sqlglot_statements

DIALECTS = {
    'sqlite': (SQLiteDialect, 'sqlite'), 'postgresql': (PostgreSQLDialect, 'postgres'),
    'mysql': (MySQLDialect, 'mysql'), 'oracle': (OracleDialect, 'oracle'), 'mssql': (SQLServerDialect, 'tsql'),
}
COLUMN_LABELS = ['name', 'sql_type', 'nullable', 'column_default', 'pk_position', 'autoincrement']
#: the catalog each database describes its columns in
CATALOGS = {'sqlite': 'pragma_table_xinfo', 'postgresql': 'pg_attribute', 'mysql': 'columns',
            'oracle': 'all_tab_columns', 'mssql': 'columns'}


def _labels(select: exp.Select) -> list[str]:
    return [expression.alias_or_name.lower() for expression in select.expressions]


@pytest.mark.parametrize('name', list(DIALECTS))
def test_columns_query_reads_as_one_select_with_the_shared_labels(name):
    dialect, read = DIALECTS[name]
    sql = dialect.introspect_columns_sql
    (select,) = sqlglot_statements(sql, read)
    assert isinstance(select, exp.Select)
    assert _labels(select) == COLUMN_LABELS
    params = getattr(dialect, 'introspect_columns_params', ('schema', 'table'))
    assert sql.count('?') == len(params) and set(params) <= {'schema', 'table'}
    tables = {table.name.lower() for table in select.find_all(exp.Table)}
    functions = {function.sql_name().lower() for function in select.find_all(exp.Anonymous)} | {
        str(function.this).lower() for function in select.find_all(exp.Anonymous)}
    assert CATALOGS[name] in tables | functions


@pytest.mark.parametrize('name', list(DIALECTS))
def test_tables_query_reads_as_a_select_of_name(name):
    dialect, read = DIALECTS[name]
    (select,) = sqlglot_statements(dialect.introspect_tables_sql, read)
    assert _labels(select) == ['name'] and '?' not in dialect.introspect_tables_sql


def test_only_sqlite_asks_which_tables_reference_a_table_before_dropping():
    (select,) = sqlglot_statements(SQLiteDialect.introspect_referencing_sql, 'sqlite')
    assert _labels(select) == ['name']
    assert SQLiteDialect.introspect_referencing_sql.count('?') == len(SQLiteDialect.introspect_referencing_params)
    for name in ('postgresql', 'mysql', 'oracle', 'mssql'):     # the servers refuse the DROP themselves
        assert getattr(DIALECTS[name][0], 'introspect_referencing_sql', None) is None


@pytest.mark.parametrize('name', list(DIALECTS))
def test_own_column_types_have_the_kind_of_their_field(name):
    # what check_schema() compares: the kind of the column type create_table() writes
    dialect = DIALECTS[name][0]()
    type_map = dialect.type_map
    expected = {int: 'int', float: 'float', bytes: 'bytes'}
    for python_type, kind in expected.items():
        assert kind_of_sql_type(type_map.column_type(ColumnSpec(python_type))) == kind, python_type


@pytest.mark.parametrize('sql_type, kind', [
    ('NUMBER(19,0)', 'int'), ('NUMBER(1,0)', 'bool'), ('NUMBER(12,2)', 'decimal'), ('NVARCHAR2(40)', 'str'),
    ('BINARY_DOUBLE', 'float'), ('TIMESTAMP(6) WITH TIME ZONE', 'datetime'), ('INTERVAL DAY(0) TO SECOND(6)',
                                                                             'timedelta'),
    ('bigint', 'int'), ('bit', 'bool'), ('datetimeoffset', 'datetime'), ('uniqueidentifier', 'uuid'),
    ('nvarchar', 'str'), ('varbinary', 'bytes'), ('time without time zone', 'time'), ('point', 'other'),
])
def test_oracle_and_sql_server_type_names_have_a_kind(sql_type, kind):
    assert kind_of_sql_type(sql_type) == kind


class _RecordingConnection:
    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def setconfig(self, option: int, enabled: bool) -> None:
        self.calls.append((option, enabled))


def test_double_quoted_strings_are_turned_off_where_sqlite3_can(monkeypatch):
    # Python 3.12+ only (Connection.setconfig); this interpreter may be older, so the switch is
    # exercised against a recording connection with the 3.12 constants.
    monkeypatch.setattr(sqlite3, 'SQLITE_DBCONFIG_DQS_DML', 1013, raising=False)
    monkeypatch.setattr(sqlite3, 'SQLITE_DBCONFIG_DQS_DDL', 1014, raising=False)
    raw = _RecordingConnection()
    sqlite_backend.refuse_double_quoted_strings(raw)
    assert raw.calls == [(1013, False), (1014, False)]
    sqlite_backend.refuse_double_quoted_strings(object())     # no setconfig: left as it is
