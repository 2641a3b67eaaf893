"""Reporting queries give equal rows, value AND type, on every backend (issue 15, "Done means").

The same 60 sales (money in DECIMAL(12,2), aware datetimes, dates, ints, bools) are seeded on
SQLite and on the backend under test; every query below runs on both through the public query
API, and the `as_dicts()` rows must be equal with the same Python type in every cell. A few
answers are also checked against exact Decimal arithmetic done in Python.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Callable, Optional

from pydantic import Field

from activerecord import ActiveRecord, func
from activerecord.query.nodes import case, cast
from activerecord.query.sources import table

UTC = datetime.timezone.utc
COUNTRIES = ('AR', 'BR', 'CL', 'DE', 'NL')
# amounts whose float sums carry noise (0.1 + 0.2) and totals that tie exactly
AMOUNTS = ('0.10', '0.20', '0.30', '37.62', '12.40', '0.70', '18.81', '18.81', '99.99', '5.05')


class Sale(ActiveRecord):
    __table_name__ = 'ty_report_sales'
    id: int
    country: Annotated[str, Field(max_length=2)]
    total: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    at: datetime.datetime
    day: datetime.date
    qty: int
    paid: bool = False
    rate: Optional[float] = None


def sales() -> list[dict[str, Any]]:
    """60 sales over 12 months of 2009 (noon UTC, away from any month boundary)."""
    rows = []
    for index in range(1, 61):
        at = datetime.datetime(2009, (index - 1) % 12 + 1, (index * 7) % 25 + 2, 12, 0, tzinfo=UTC)
        rows.append({'id': index, 'country': COUNTRIES[index % 5], 'total': Decimal(AMOUNTS[index % 10]),
                     'at': at, 'day': at.date(), 'qty': index % 4 + 1, 'paid': index % 3 == 0,
                     'rate': None if index % 7 else index / 8})
    return rows


S = Sale.c
money = func.sum(S.total)
month = func.substr(cast(S.at, str), 1, 7)
per_country = Sale.query().select(S.country, money.as_('s'), func.count().as_('n')).group_by('country')
totals = table('totals')
derived = per_country.as_('pc')

QUERIES: dict[str, Callable[[], Any]] = {
    'sum': lambda: Sale.query().select(money.as_('s')),
    'avg': lambda: Sale.query().select(func.avg(S.total).as_('a')),
    'min_max_at': lambda: Sale.query().select(func.min(S.at).as_('first'), func.max(S.at).as_('last')),
    'min_max_day': lambda: Sale.query().select(func.min(S.day).as_('first'), func.max(S.day).as_('last')),
    'count_per_country': lambda: Sale.query().select(S.country, func.count().as_('n')).group_by('country')
    .order_by('country'),
    'total_per_country_desc': lambda: Sale.query().select(S.country, money.as_('s')).group_by('country')
    .order_by(money.desc(), S.country),
    'avg_per_country': lambda: Sale.query().select(S.country, func.avg(S.total).as_('a')).group_by('country')
    .order_by('country'),
    'having_over_threshold': lambda: Sale.query().select(S.country, money.as_('s')).group_by('country')
    .having(money > Decimal('190.00')).order_by('country'),
    'having_exact_threshold': lambda: Sale.query().select(S.country).group_by('country')
    .having(money >= Decimal('225.78')).order_by('country'),
    'total_per_month': lambda: Sale.query().select(month.as_('ym'), money.as_('s')).group_by('ym').order_by('ym'),
    'per_month_and_country': lambda: Sale.query().select(month.as_('ym'), S.country, money.as_('s'))
    .group_by('ym', 'country').order_by('ym', 'country'),
    'total_per_day': lambda: Sale.query().select(S.day, money.as_('s')).group_by('day').order_by('day').limit(10),
    'running_total': lambda: Sale.query().select(S.id, money.over(order_by=[S.id]).as_('run')).order_by('id'),
    'running_total_per_country': lambda: Sale.query().select(
        S.id, S.country, money.over(partition_by=[S.country], order_by=[S.id]).as_('run')).order_by('id'),
    'lag_total': lambda: Sale.query().select(S.id, func.lag(S.total).over(order_by=[S.id]).as_('prev'))
    .order_by('id'),
    'lead_at': lambda: Sale.query().select(S.id, func.lead(S.at).over(order_by=[S.id]).as_('next_at'))
    .order_by('id'),
    'rank_by_total': lambda: Sale.query().select(S.id, func.rank().over(order_by=[S.total.desc()]).as_('rk'))
    .order_by('id'),
    'dense_rank_per_country': lambda: Sale.query().select(S.id, func.dense_rank().over(
        partition_by=[S.country], order_by=[S.total.desc()]).as_('rk')).order_by('id'),
    'country_ranking_by_total': lambda: Sale.query().select(S.country, func.rank().over(
        order_by=[money.desc()]).as_('rk')).group_by('country').order_by('country'),
    'first_value_per_country': lambda: Sale.query().select(S.id, func.first_value(S.total).over(
        partition_by=[S.country], order_by=[S.id]).as_('first')).order_by('id'),
    'moving_sum': lambda: Sale.query().select(S.id, money.over(order_by=[S.id], frame=('rows', -2, 0))
                                              .as_('moving')).order_by('id'),
    'window_avg_per_country': lambda: Sale.query().select(S.id, func.avg(S.total).over(
        partition_by=[S.country]).as_('a')).order_by('id'),
    'cte_totals_joined': lambda: Sale.query().with_cte('totals', per_country)
    .join(totals, totals.c.country == S.country).select(S.id, totals.c.s, totals.c.n).order_by('id'),
    'cte_over_average': lambda: Sale.query().with_cte('totals', per_country)
    .join(totals, totals.c.country == S.country).where(S.total * totals.c.n > totals.c.s)
    .select(S.id, S.total).order_by('id'),
    'derived_table': lambda: Sale.query().join(derived, derived.c.country == S.country)
    .select(S.country, derived.c.s).distinct().order_by('country'),
    'scalar_subquery': lambda: Sale.query().select(S.id, Sale.query().select(func.max(S.at)).as_('latest'))
    .where(S.id <= 3).order_by('id'),
    'count_distinct': lambda: Sale.query().select(func.count(S.country, distinct=True).as_('n')),
    'sum_qty': lambda: Sale.query().select(S.country, func.sum(S.qty).as_('q')).group_by('country')
    .order_by('country'),
    'avg_qty': lambda: Sale.query().select(S.country, func.avg(S.qty).as_('a')).group_by('country')
    .order_by('country'),
    'line_totals': lambda: Sale.query().select(S.country, func.sum(S.total * S.qty).as_('revenue'))
    .group_by('country').order_by('country'),
    'case_buckets': lambda: Sale.query().select(
        case((S.total > Decimal('10'), 'big'), else_='small').as_('bucket'), money.as_('s'))
    .group_by('bucket').order_by('bucket'),
    'coalesce_rate': lambda: Sale.query().select(S.country, func.coalesce(func.max(S.rate), 0.0).as_('r'))
    .group_by('country').order_by('country'),
    'paid_split': lambda: Sale.query().select(S.paid, money.as_('s'), func.count().as_('n')).group_by('paid')
    .order_by('paid'),
    'top_sales': lambda: Sale.query().select(S.id, S.total, S.at, S.day, S.paid).order_by(S.total.desc(), S.id)
    .limit(5),
}


def _rows(name: str) -> list[list[tuple[str, type, Any]]]:
    rows = QUERIES[name]().as_dicts().all()
    return [[(key, type(value), value) for key, value in row.items()] for row in rows]


def _answers() -> dict[str, Any]:
    Sale.insert_many(sales())
    answers = {name: _rows(name) for name in QUERIES}
    answers['q.sum'] = Sale.query().sum(S.total), Sale.query().min(S.total), Sale.query().max(S.total)
    return answers


def test_there_are_at_least_30_reporting_queries() -> None:
    assert len(QUERIES) >= 30


def test_reporting_queries_give_equal_rows_and_types_on_every_backend(db: Any) -> None:
    db.use(Sale)
    answers = _answers()
    Sale.configure('sqlite://')
    try:
        Sale.drop_table(if_exists=True)
        Sale.create_table()
        reference = _answers()
        Sale.drop_table()
    finally:
        db.use(Sale, create=False)
    differing = [name for name in reference if answers[name] != reference[name]]
    assert differing == [], {name: (answers[name][:3], reference[name][:3]) for name in differing}
    exact = sum((row['total'] for row in sales()), Decimal(0))
    assert answers['sum'] == [[('s', Decimal, exact)]] and str(answers['sum'][0][0][2]) == str(exact)
    assert answers['q.sum'] == (exact, Decimal('0.10'), Decimal('99.99'))
    by_country: dict[str, Decimal] = {}
    for row in sales():
        by_country[row['country']] = by_country.get(row['country'], Decimal(0)) + row['total']
    expected = sorted(by_country.items(), key=lambda item: (-item[1], item[0]))
    assert [(row[0][2], row[1][2]) for row in answers['total_per_country_desc']] == expected
