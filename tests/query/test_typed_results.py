"""Typed results and exact money: one test per defect (issue 15 items 3, 5, 6, 7; issue 16 item 8),
each run on every live backend of the matrix and each failing on the code before the fix."""
from __future__ import annotations

import datetime
import math
from decimal import Decimal
from typing import Annotated, Any, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, func
from activerecord.errors import DataError
from activerecord.query.nodes import cast
from activerecord.query.sources import table

UTC = datetime.timezone.utc


class Sale(ActiveRecord):
    __table_name__ = 'ty_sales'
    id: int
    country: Annotated[str, Field(max_length=20)]
    city: Annotated[str, Field(max_length=40)]
    total: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    at: datetime.datetime
    day: datetime.date
    qty: int
    paid: bool = False
    rate: Optional[float] = None


class Ledger(ActiveRecord):
    __table_name__ = 'ty_ledger'
    id: int
    amount: Optional[Annotated[Decimal, Field(max_digits=20, decimal_places=4)]] = None
    ratio: Optional[float] = None


def _sales(db: Any, rows: list[tuple[str, str, str]]) -> None:
    db.use(Sale)
    for index, (country, city, total) in enumerate(rows, 1):
        Sale(id=index, country=country, city=city, total=Decimal(total),
             at=datetime.datetime(2009, 1, index, 10, 30, tzinfo=UTC), day=datetime.date(2009, 1, index),
             qty=index, paid=index % 2 == 0).save()


# -- item 3: money is exact -----------------------------------------------------------------

def test_sum_of_money_is_the_exact_decimal(db: Any) -> None:
    _sales(db, [('NL', 'Delft', '0.10'), ('NL', 'Delft', '0.20')])
    assert Sale.query().sum(Sale.c.total) == Decimal('0.30')
    assert str(Sale.query().sum(Sale.c.total)) == '0.30'
    row = Sale.query().select(func.sum(Sale.c.total).as_('s')).as_dicts().one()
    assert type(row['s']) is Decimal and str(row['s']) == '0.30'
    assert Sale.query().min(Sale.c.total) == Decimal('0.10')
    assert Sale.query().max(Sale.c.total) == Decimal('0.20')
    # through a derived table too (a limited query is aggregated in a subquery)
    assert str(Sale.query().order_by('id').limit(5).sum(Sale.c.total)) == '0.30'


# -- item 5: computed results keep their type -------------------------------------------------

def test_computed_columns_have_the_type_of_what_they_compute(db: Any) -> None:
    _sales(db, [('NL', 'Delft', '0.10'), ('NL', 'Delft', '0.20'), ('DE', 'Bonn', '0.30')])
    row = Sale.query().select(
        func.sum(Sale.c.total).as_('s'), func.min(Sale.c.at).as_('first'), func.max(Sale.c.day).as_('last_day'),
        func.count().as_('n'), func.sum(Sale.c.qty).as_('q'), func.avg(Sale.c.total).as_('mean'),
        func.avg(Sale.c.qty).as_('mean_qty'), (func.max(Sale.c.qty) > 1).as_("big"),
        func.coalesce(func.max(Sale.c.rate), 0.5).as_('rate')).as_dicts().one()
    assert row == {'s': Decimal('0.60'), 'first': datetime.datetime(2009, 1, 1, 10, 30, tzinfo=UTC),
                   'last_day': datetime.date(2009, 1, 3), 'n': 3, 'q': 6, 'mean': Decimal('0.200000'),
                   'mean_qty': 2.0, 'big': True, 'rate': 0.5}
    assert [type(value) for value in row.values()] == [Decimal, datetime.datetime, datetime.date, int, int,
                                                     Decimal, float, bool, float]
    assert str(row['s']) == '0.60'


def test_window_and_lag_results_are_typed(db: Any) -> None:
    _sales(db, [('NL', 'Delft', '0.10'), ('NL', 'Delft', '0.20'), ('DE', 'Bonn', '0.30')])
    rows = Sale.query().select(
        Sale.c.id, func.sum(Sale.c.total).over(order_by=[Sale.c.id]).as_('running'),
        func.lag(Sale.c.at).over(order_by=[Sale.c.id]).as_('previous'),
        func.rank().over(order_by=[Sale.c.total.desc()]).as_('rk')).order_by('id').as_dicts().all()
    assert rows == [
        {'id': 1, 'running': Decimal('0.10'), 'previous': None, 'rk': 3},
        {'id': 2, 'running': Decimal('0.30'), 'previous': datetime.datetime(2009, 1, 1, 10, 30, tzinfo=UTC), 'rk': 2},
        {'id': 3, 'running': Decimal('0.60'), 'previous': datetime.datetime(2009, 1, 2, 10, 30, tzinfo=UTC), 'rk': 1}]
    assert all(type(row['running']) is Decimal and type(row['rk']) is int for row in rows)


def test_columns_of_a_cte_and_a_derived_table_keep_their_types(db: Any) -> None:
    _sales(db, [('NL', 'Delft', '0.10'), ('NL', 'Delft', '0.20'), ('DE', 'Bonn', '0.30')])
    per_country = Sale.query().select(Sale.c.country, func.sum(Sale.c.total).as_('s'),
                                      func.min(Sale.c.at).as_('first')).group_by('country')
    totals = table('totals')
    from_cte = (Sale.query().with_cte('totals', per_country).join(totals, totals.c.country == Sale.c.country)
                .select(Sale.c.id, totals.c.s, totals.c.first).order_by(Sale.c.id).as_dicts().all())
    assert from_cte[0] == {'id': 1, 's': Decimal('0.30'), 'first': datetime.datetime(2009, 1, 1, 10, 30, tzinfo=UTC)}
    assert str(from_cte[0]['s']) == '0.30'
    derived = per_country.as_('pc')
    joined = (Sale.query().join(derived, derived.c.country == Sale.c.country)
              .select(Sale.c.id, derived.c.s).order_by(Sale.c.id).as_dicts().all())
    assert [str(row['s']) for row in joined] == ['0.30', '0.30', '0.30']
    assert all(type(row['s']) is Decimal for row in joined)


def test_cast_case_and_arithmetic_follow_their_operands(db: Any) -> None:
    _sales(db, [('NL', 'Delft', '0.10'), ('NL', 'Delft', '0.20')])
    rows = Sale.query().select(
        Sale.c.id, (Sale.c.total + Sale.c.total).as_('double'), (Sale.c.total * Sale.c.qty).as_('line'),
        Sale.c.qty.cast(Decimal).as_('qty_decimal'), Sale.c.total.cast(float).as_('as_float'),
        func.sum(Sale.c.total).over().as_('all_total')).order_by('id').as_dicts().all()
    assert rows[1] == {'id': 2, 'double': Decimal('0.40'), 'line': Decimal('0.40'), 'qty_decimal': Decimal('2'),
                       'as_float': 0.2, 'all_total': Decimal('0.30')}
    assert [str(rows[1][key]) for key in ('double', 'line', 'all_total')] == ['0.40', '0.40', '0.30']


def test_cast_to_a_date_reads_a_date_on_every_backend(db: Any) -> None:
    _sales(db, [('NL', '2009-02-03', '0.10')])
    row = Sale.query().select(cast(Sale.c.day, datetime.date).as_('d'), cast(Sale.c.city, datetime.date).as_('t'),
                              cast(Sale.c.qty, 'DECIMAL(10, 2)').as_('n')).as_dicts().one()
    assert row == {'d': datetime.date(2009, 1, 1), 't': datetime.date(2009, 2, 3), 'n': Decimal('1.00')}
    assert type(row['d']) is datetime.date and str(row['n']) == '1.00'


# -- item 6: equal money totals compare equal ----------------------------------------------------

def test_equal_totals_order_rank_and_pass_having_as_equals(db: Any) -> None:
    # AA's total is 0.30 in one row; BB's is 0.10 + 0.20 (0.30000000000000004 as floats)
    _sales(db, [('BB', 'x', '0.10'), ('BB', 'x', '0.20'), ('AA', 'y', '0.30'), ('CC', 'z', '0.25')])
    total = func.sum(Sale.c.total)
    ordered = (Sale.query().select(Sale.c.country, total.as_('s')).group_by('country')
               .order_by(total.desc(), Sale.c.country).as_dicts().all())
    assert [row['country'] for row in ordered] == ['AA', 'BB', 'CC']
    having = (Sale.query().select(Sale.c.country).group_by('country')
              .having(total <= Decimal('0.30')).having(total >= Decimal('0.30')).order_by('country').pluck('country'))
    assert having == ['AA', 'BB']
    ranked = (Sale.query().select(Sale.c.country, func.rank().over(order_by=[total.desc()]).as_('rk'))
              .group_by('country').order_by('country').as_dicts().all())
    assert [row['rk'] for row in ranked] == [1, 1, 3]


# -- item 7: ilike folds Unicode case ---------------------------------------------------------

def test_ilike_folds_unicode_case(db: Any) -> None:
    _sales(db, [('BR', 'São Paulo', '1.00'), ('BR', 'SÃO PAULO', '1.00'), ('NL', 'Delft', '1.00')])
    assert Sale.query().where(Sale.c.city.ilike('%SÃO%')).count() == 2
    assert Sale.query().where(Sale.c.city.ilike('%são paulo')).count() == 2
    assert Sale.query().where(Sale.c.city.not_ilike('%SÃO%')).pluck('city') == ['Delft']


# -- issue 16 item 8 and the 15-digit limit --------------------------------------------------------

def test_a_float_nan_is_never_stored_as_null(db: Any) -> None:
    db.use(Ledger)
    try:
        Ledger(id=1, ratio=math.nan).save()
    except DataError as error:
        assert db.name != 'postgresql'   # PostgreSQL's double precision keeps NaN
        assert 'ratio' in str(error)
        assert Ledger.query().count() == 0
    else:
        assert db.name == 'postgresql'
        assert math.isnan(Ledger.find_one(1).ratio)


@pytest.mark.backends('sqlite')
def test_sqlite_refuses_nan_in_raw_parameters(db: Any) -> None:
    db.use(Ledger)
    with pytest.raises(DataError, match='NaN'):
        Ledger.backend().execute('INSERT INTO ty_ledger (id, ratio) VALUES (?, ?)', (1, math.nan))
    assert Ledger.query().count() == 0


def test_a_decimal_beyond_what_the_backend_keeps_is_refused_not_rounded(db: Any) -> None:
    db.use(Ledger)
    wide = Decimal('1234567890123.4567')   # 17 significant digits: more than a double keeps
    try:
        Ledger(id=1, amount=wide).save()
    except DataError as error:
        assert db.name == 'sqlite'
        assert 'amount' in str(error) and '15' in str(error)
        assert Ledger.query().count() == 0
    else:
        assert db.name != 'sqlite'
        assert Ledger.find_one(1).amount == wide
    Ledger(id=2, amount=Decimal('12345678901.2345')).save()   # 15 digits: exact everywhere
    assert Ledger.find_one(2).amount == Decimal('12345678901.2345')
    assert Ledger.query().where(Ledger.c.id == 2).sum(Ledger.c.amount) == Decimal('12345678901.2345')


def test_money_read_from_a_derived_table_is_summed_and_ordered_exactly(db: Any) -> None:
    _sales(db, [('BB', 'x', '0.10'), ('BB', 'x', '0.20'), ('AA', 'y', '0.30')])
    amounts = Sale.query().select(Sale.c.id, Sale.c.total.as_('amount')).as_('d')
    total = func.sum(amounts.c.amount)
    rows = (Sale.query().join(amounts, amounts.c.id == Sale.c.id).select(Sale.c.country, total.as_('s'))
            .group_by('country').having(total >= Decimal('0.30')).order_by(total.desc(), Sale.c.country)
            .as_dicts().all())
    assert rows == [{'country': 'AA', 's': Decimal('0.30')}, {'country': 'BB', 's': Decimal('0.30')}]
    assert [str(row['s']) for row in rows] == ['0.30', '0.30']
