"""An expression with constant arguments, used twice in one statement, is the same expression to the server.

`func.substr(cast(Sale.c.at, str), 1, 7)` in the select list and again in GROUP BY (or in a
window's ORDER BY) used to bind each constant as its own numbered parameter on PostgreSQL
($1, $2 ... $3, $4), which the server reads as two different expressions (SQLSTATE 42803,
issue 15 item 8). Oracle's :p1/:p2 and SQL Server's @P1/@P2 have the same problem.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Optional

import pytest
import sqlglot
from pydantic import Field

from activerecord import ActiveRecord, cast, func
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.backend.placeholders import count_placeholders

UTC = datetime.timezone.utc


class Sale(ActiveRecord):
    __table_name__ = 'ar_rep_sales'
    id: Optional[int] = None
    at: datetime.datetime
    total: Annotated[Decimal, Field(max_digits=10, decimal_places=2)]


def _month():
    return func.substr(cast(Sale.c.at, str), 1, 7)


def _by_month():
    month = _month()
    return Sale.query().select(month.as_('ym'), func.count().as_('n')).group_by(month).order_by(month)


def _ranked():
    month = _month()
    return (Sale.query().select(month.as_('ym'), func.rank().over(order_by=[month.desc()]).as_('rk'))
            .group_by(month).order_by(month))


def _seed() -> None:
    Sale.insert_many([Sale(at=datetime.datetime(2009, month, day, 12, tzinfo=UTC), total=Decimal('1.50'))
                      for month, day in ((1, 5), (1, 20), (2, 3), (3, 9), (3, 10), (3, 11))])


def test_group_by_a_function_of_constants(db):
    db.use(Sale)
    _seed()
    assert _by_month().as_dicts().all() == [{'ym': '2009-01', 'n': 2}, {'ym': '2009-02', 'n': 1},
                                      {'ym': '2009-03', 'n': 3}]


def test_window_order_by_a_function_of_constants(db):
    db.use(Sale)
    _seed()
    assert [(row['ym'], row['rk']) for row in _ranked().as_dicts().all()] == [
        ('2009-01', 3), ('2009-02', 2), ('2009-03', 1)]


def test_round_with_digits_in_select_and_order_by(db):
    db.use(Sale)
    _seed()
    rounded = func.round(Sale.c.total, 0)
    rows = Sale.query().select(rounded.as_('r'), func.count().as_('n')).group_by(rounded).as_dicts().all()
    assert [row['n'] for row in rows] == [6]


@pytest.mark.parametrize('dialect', [OracleDialect(), SQLServerDialect()], ids=['oracle', 'mssql'])
def test_numbered_parameter_dialects_write_the_expression_once_as_text(dialect):
    for query in (_by_month(), _ranked()):
        sql, params = query.to_sql(dialect)
        assert params == ()                      # no constant of the expression is a parameter
        assert count_placeholders(sql, dialect.lexical_rules) == 0
        substr = dialect.function_names.get('substr', 'SUBSTR')
        # select list, GROUP BY, ORDER BY (and the window's ORDER BY): one text every time
        assert sql.count(f'{substr}(CAST(') == sql.count(', 1, 7)') >= 3, sql
        sqlglot.parse_one(sql, read={'oracle': 'oracle', 'mssql': 'tsql'}[dialect.name])
