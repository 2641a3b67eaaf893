"""Golden SQL of selected JSON paths and JSON key tests (issue 18) on Oracle and SQL Server, read
by sqlglot; containment stays refused there, naming the database.

A selected path is its JSON text, decoded on the way out as on the live backends
(tests/query/test_json_values_and_containment.py): Oracle wraps the value in an array with
JSON_QUERY and cuts the brackets off; SQL Server takes JSON_QUERY's object or array, else writes
the scalar from OPENJSON's type of the key in its parent. A key test is JSON_EXISTS on Oracle and
an exact OPENJSON key match on SQL Server.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from sqlglot import exp

from activerecord import ActiveRecord
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.errors import NotSupportedError
from tests.backends.test_oracle_mssql_constructs import sqlglot_statements


class Widget(ActiveRecord):
    __table_name__ = 'jv_widgets'
    id: int
    settings: dict = {}


S = Widget.c.settings
Q = Widget.query().select(Widget.c.id)

CASES: dict[str, Any] = {
    # as_dicts(): the rows are read converted by result type, so the path is its JSON text
    'selected': Widget.query().select(S['owner']['name'].as_('owner')).as_dicts(),
    'has_key': Q.where(S.has_key('theme')),
    'has_any_key': Q.where(S.has_any_key('a', 'b')),
    'has_key_at_a_path': Q.where(S['owner'].has_key('age')),
}

ORA_SETTINGS = '"jv_widgets"."settings"'
ORA_QUERY = f'JSON_QUERY({ORA_SETTINGS}, \'$."owner"."name"\' WITH WRAPPER)'
ORACLE = {
    'selected': (f'SELECT SUBSTR({ORA_QUERY}, 2, LENGTH({ORA_QUERY}) - 2) AS "owner" FROM "jv_widgets"', ()),
    'has_key': (f'SELECT "jv_widgets"."id" FROM "jv_widgets" WHERE JSON_EXISTS({ORA_SETTINGS}, \'$."theme"\')', ()),
    'has_any_key': (f'SELECT "jv_widgets"."id" FROM "jv_widgets" WHERE (JSON_EXISTS({ORA_SETTINGS}, \'$."a"\') '
                    f'OR JSON_EXISTS({ORA_SETTINGS}, \'$."b"\'))', ()),
    'has_key_at_a_path': (f'SELECT "jv_widgets"."id" FROM "jv_widgets" WHERE '
                          f'JSON_EXISTS({ORA_SETTINGS}, \'$."owner"."age"\')', ()),
}

MS_KEY = 'EXISTS (SELECT 1 FROM OPENJSON([jv_widgets].[settings], ?) WHERE [key] = ? COLLATE Latin1_General_BIN2)'
MSSQL = {
    'selected': ("SELECT COALESCE(JSON_QUERY([jv_widgets].[settings], ?), (SELECT CASE [type] WHEN 0 THEN 'null' "
                 "WHEN 1 THEN CONCAT('\"', STRING_ESCAPE([value], 'json'), '\"') ELSE [value] END FROM "
                 'OPENJSON([jv_widgets].[settings], ?) WHERE [key] = ? COLLATE Latin1_General_BIN2)) AS [owner] '
                 'FROM [jv_widgets]', ('$."owner"."name"', '$."owner"', 'name')),
    'has_key': (f'SELECT [jv_widgets].[id] FROM [jv_widgets] WHERE {MS_KEY}', ('$', 'theme')),
    'has_any_key': (f'SELECT [jv_widgets].[id] FROM [jv_widgets] WHERE ({MS_KEY} OR {MS_KEY})', ('$', 'a', '$', 'b')),
    'has_key_at_a_path': (f'SELECT [jv_widgets].[id] FROM [jv_widgets] WHERE {MS_KEY}', ('$."owner"', 'age')),
}

#: sqlglot's Oracle reader has no JSON_QUERY wrapper clause: it reads the statement without it
_WRAPPER = re.compile(r' WITH WRAPPER\)')


@pytest.mark.parametrize('dialect, read, expected', [(OracleDialect(), 'oracle', ORACLE),
                                                     (SQLServerDialect(), 'tsql', MSSQL)], ids=['oracle', 'mssql'])
@pytest.mark.parametrize('name', list(CASES))
def test_json_values_and_key_tests_render_sql_that_sqlglot_reads(dialect: Any, read: str, expected: dict,
                                                                   name: str) -> None:
    sql, params = CASES[name].to_sql(dialect)
    assert (sql, params) == expected[name]
    statement, = sqlglot_statements(_WRAPPER.sub(')', sql), read)
    # every JSON_QUERY is read as a call of it (T-SQL's as a JSON extraction, Oracle's by name)
    queries = [node for node in statement.find_all(exp.JSONExtract, exp.Anonymous)
               if node.args.get('json_query') or str(node.this).upper() == 'JSON_QUERY']
    assert len(queries) == sql.count('JSON_QUERY(') == ((2 if read == 'oracle' else 1) if name == 'selected' else 0)


@pytest.mark.parametrize('dialect', [OracleDialect(), SQLServerDialect()], ids=['oracle', 'mssql'])
def test_containment_is_refused_naming_the_database(dialect: Any) -> None:
    for condition in (S.contains({'a': 1}), S.contained_by({'a': 1})):
        with pytest.raises(NotSupportedError, match=rf'{dialect.name} does not support JSON operators \(contain'):
            Q.where(condition).to_sql(dialect)
