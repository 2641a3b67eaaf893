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

from activerecord import ActiveRecord, case, cast, func, raw
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.backend.placeholders import count_placeholders, shared_reference, translate
from activerecord.backend.sql_lexer import ORACLE, POSTGRESQL
from activerecord.errors import ProgrammingError

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
        assert sql.count(f'{substr}(') == sql.count(', 1, 7)') >= 3, sql
        sqlglot.parse_one(sql, read={'oracle': 'oracle', 'mssql': 'tsql'}[dialect.name])


# Constants that are not exact ints stay bound parameters; on PostgreSQL and Oracle equal ones
# share one numbered parameter, so the select list and GROUP BY are one expression (issue 16, D2).

class Shop(ActiveRecord):
    __table_name__ = 'ar_rep_shops'
    id: Optional[int] = None
    country: Annotated[str, Field(max_length=20)]
    opened: Optional[datetime.date] = None
    total: Annotated[Decimal, Field(max_digits=10, decimal_places=2)]


_GROUPED = {
    'plus_one': (lambda: Shop.c.total + 1, [Decimal('1.50'), Decimal('3.50')]),
    'coalesce_date': (lambda: func.coalesce(Shop.c.opened, datetime.date(2000, 1, 1)),
                      [datetime.date(2000, 1, 1), datetime.date(2001, 1, 1)]),
    'concat_str': (lambda: func.concat(Shop.c.country, '-'), ['de-', 'fr-']),
    'case_str': (lambda: case((Shop.c.total > Decimal('1'), 'big'), else_='small'), ['big', 'small']),
}


def _grouped(expression):
    return (Shop.query().select(expression.as_('x'), func.count().as_('n'))
            .group_by(expression).order_by(expression))


def _seed_shops() -> None:
    Shop.insert_many([Shop(country='fr', total=Decimal('2.50')),
                      Shop(country='de', opened=datetime.date(2001, 1, 1), total=Decimal('0.50')),
                      Shop(country='fr', total=Decimal('2.50'))])


@pytest.mark.parametrize('name', list(_GROUPED))
def test_group_by_an_expression_with_a_bound_constant(db, name):
    make, keys = _GROUPED[name]
    db.use(Shop)
    _seed_shops()
    rows = _grouped(make()).as_dicts().all()
    assert [row['x'] for row in rows] == keys
    assert sorted(row['n'] for row in rows) == [1, 2]


def test_shared_constants_stay_bound_and_are_bound_once():
    sql, params = _grouped(_GROUPED['case_str'][0]()).to_sql(PostgreSQLDialect())
    assert params == (Decimal('1'), 'big', 'small')          # every value bound, none inlined
    assert "'big'" not in sql and "'small'" not in sql
    text = translate(sql, 'dollar', True, POSTGRESQL)
    assert text.placeholder_count == 3
    assert text.sql.count('$1') == text.sql.count('$2') == text.sql.count('$3') == 3, text.sql
    assert '$4' not in text.sql and '/*' not in text.sql


def test_oracle_writes_a_shared_constant_with_one_name():
    for name, (make, _) in _GROUPED.items():
        sql, params = _grouped(make()).to_sql(OracleDialect())
        text = translate(sql, 'named', False, ORACLE)
        assert text.placeholder_count == len(params) == count_placeholders(sql, ORACLE)
        assert text.sql.count(':p1') == 3, text.sql
        sqlglot.parse_one(text.sql, read='oracle')
        assert text.bind(params) == {f'p{index}': value for index, value in enumerate(params, 1)}


def test_statements_without_repeats_and_other_dialects_bind_as_before():
    sql, params = Shop.query().where(Shop.c.country == 'fr', Shop.c.total > Decimal('1')).to_sql(
        PostgreSQLDialect())
    assert '/*' not in sql and len(params) == 2
    for dialect in (SQLServerDialect(),):
        sql, params = _grouped(_GROUPED['case_str'][0]()).to_sql(dialect)
        assert '/*' not in sql and len(params) == 9   # placeholders not numbered: no sharing


def test_equal_values_of_different_types_or_columns_are_not_shared():
    query = Shop.query().select((Shop.c.total + Decimal('1.0')).as_('a'), (Shop.c.total + Decimal('1.00')).as_('b'),
                                (Shop.c.total + 1.0).as_('c')).where(Shop.c.country == '1', Shop.c.id != 1)
    sql, params = query.to_sql(PostgreSQLDialect())
    assert '/*' not in sql and len(params) == 5


def test_raw_placeholders_and_nested_queries_keep_their_parameters(db):
    db.use(Shop)
    _seed_shops()
    label = case((Shop.c.total > Decimal('1'), 'big'), else_='small')
    inner = Shop.query().select(Shop.c.id).where(Shop.c.country == raw('?', 'fr'), label == 'big')
    query = (Shop.query().select(raw('? + ?', 1, 2).as_('k'), label.as_('x'), func.count().as_('n'))
             .where(Shop.c.id.in_(inner), Shop.c.country != raw('?', 'zz')).group_by(label))
    assert query.as_dicts().all() == [{'k': 3, 'x': 'big', 'n': 2}]


def test_translation_of_a_reference_needs_numbered_placeholders():
    sql = f'SELECT ? + 1, ? GROUP BY ? + 1, {shared_reference(3)} + 1'
    assert translate(sql, 'dollar').sql == 'SELECT $1 + 1, $2 GROUP BY $3 + 1, $1 + 1'
    assert translate(sql, 'pyformat').sql.endswith('%(p1)s + 1')
    assert translate(sql, 'numeric').placeholder_count == 3
    with pytest.raises(ProgrammingError):
        translate(sql, 'qmark')
    with pytest.raises(ProgrammingError):   # a reference to a parameter before the first
        translate(f'SELECT ?, {shared_reference(2)}', 'dollar')
    with pytest.raises(ProgrammingError):   # the text inside a literal is no reference
        translate(f"SELECT ?, '{shared_reference(1)}'", 'dollar', True, POSTGRESQL)
