"""Golden SQL of portable JSON paths (issue 18) on Oracle and SQL Server, read by sqlglot.

Both databases read a scalar with JSON_VALUE (its text; a JSON boolean is 'true'/'false'). Oracle
takes no bind variable for the path, so the path is a quoted literal there; SQL Server binds it.
The same queries run live on SQLite, PostgreSQL and MariaDB in tests/query/test_portable_json.py.
"""
from __future__ import annotations

from typing import Any

import pytest
from sqlglot import exp

from activerecord import ActiveRecord
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from tests.backends.test_oracle_mssql_constructs import sqlglot_statements


class Gadget(ActiveRecord):
    __table_name__ = 'pj_gadgets'
    id: int
    name: str
    settings: dict = {}


S = Gadget.c.settings
Q = Gadget.query().select(Gadget.c.id)

CASES: dict[str, Any] = {
    'text': Q.where(S['theme'].astext == 'dark'),
    'nested_number': Q.where(S['owner']['age'] > 30),
    'array_index': Q.where(S['tags'][0] == 'a'),
    'bool': Q.where(S['beta'] == True),   # noqa: E712
    'select_order': Gadget.query().select(S['owner']['name'].astext.as_('owner')).order_by(S['size'].astext),
}

ORACLE = {
    'text': ('SELECT "pj_gadgets"."id" FROM "pj_gadgets" WHERE JSON_VALUE("pj_gadgets"."settings", \'$."theme"\') = ?', ('dark',)),
    'nested_number': ('SELECT "pj_gadgets"."id" FROM "pj_gadgets" WHERE JSON_VALUE("pj_gadgets"."settings", \'$."owner"."age"\') > ?', (30,)),
    'array_index': ('SELECT "pj_gadgets"."id" FROM "pj_gadgets" WHERE JSON_VALUE("pj_gadgets"."settings", \'$."tags"[0]\') = ?', ('a',)),
    'bool': ('SELECT "pj_gadgets"."id" FROM "pj_gadgets" WHERE JSON_VALUE("pj_gadgets"."settings", \'$."beta"\') = ?', ('true',)),
    'select_order': ('SELECT JSON_VALUE("pj_gadgets"."settings", \'$."owner"."name"\') AS "owner" FROM "pj_gadgets" ORDER BY JSON_VALUE("pj_gadgets"."settings", \'$."size"\')', ()),
}

MSSQL = {
    'text': ('SELECT [pj_gadgets].[id] FROM [pj_gadgets] WHERE JSON_VALUE([pj_gadgets].[settings], ?) = ?', ('$."theme"', 'dark')),
    'nested_number': ('SELECT [pj_gadgets].[id] FROM [pj_gadgets] WHERE JSON_VALUE([pj_gadgets].[settings], ?) > ?', ('$."owner"."age"', 30)),
    'array_index': ('SELECT [pj_gadgets].[id] FROM [pj_gadgets] WHERE JSON_VALUE([pj_gadgets].[settings], ?) = ?', ('$."tags"[0]', 'a')),
    'bool': ('SELECT [pj_gadgets].[id] FROM [pj_gadgets] WHERE JSON_VALUE([pj_gadgets].[settings], ?) = ?', ('$."beta"', 'true')),
    'select_order': ('SELECT JSON_VALUE([pj_gadgets].[settings], ?) AS [owner] FROM [pj_gadgets] ORDER BY JSON_VALUE([pj_gadgets].[settings], ?)', ('$."owner"."name"', '$."size"')),
}


@pytest.mark.parametrize('dialect, read, expected', [(OracleDialect(), 'oracle', ORACLE),
                                                     (SQLServerDialect(), 'tsql', MSSQL)], ids=['oracle', 'mssql'])
@pytest.mark.parametrize('name', list(CASES))
def test_json_paths_render_json_value_that_sqlglot_reads(dialect: Any, read: str, expected: dict, name: str) -> None:
    sql, params = CASES[name].to_sql(dialect)
    assert (sql, params) == expected[name]
    statement, = sqlglot_statements(sql, read)
    # sqlglot reads every JSON_VALUE as a JSON scalar read (Oracle's literal path key by key)
    reads = list(statement.find_all(exp.JSONValue, exp.JSONExtractScalar))
    assert len(reads) == sql.count('JSON_VALUE(') >= 1
    if read == 'oracle':
        first = reads[0].args['path']
        assert isinstance(first, exp.JSONPath) and isinstance(first.expressions[0], exp.JSONPathRoot)


def test_oracle_reads_the_literal_path_as_the_keys_given() -> None:
    sql, _ = Q.where(S['owner']['tags'][2].astext == 'x').to_sql(OracleDialect())
    path = sqlglot_statements(sql, 'oracle')[0].find(exp.JSONValue).args['path']
    assert [(type(part).__name__, part.this) for part in path.expressions[1:]] == [
        ('JSONPathKey', 'owner'), ('JSONPathKey', 'tags'), ('JSONPathSubscript', 2)]
    # a quote in a key is doubled inside the literal, never closing it
    sql, params = Q.where(S["it's"].astext == 'x').to_sql(OracleDialect())
    assert sql.endswith('WHERE JSON_VALUE("pj_gadgets"."settings", \'$."it\'\'s"\') = ?') and params == ('x',)
