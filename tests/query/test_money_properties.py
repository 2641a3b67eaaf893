"""Property: sum/min/max (and avg) of a random DECIMAL(12,2) column equal Python's exact Decimal
arithmetic on every live backend (SQLite keeps decimals as doubles but adds them exactly)."""
from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import Field

from activerecord import ActiveRecord, func

EXAMPLES = int(os.environ.get('AR_HYPOTHESIS_EXAMPLES', '40'))


class Amount(ActiveRecord):
    __table_name__ = 'ty_amounts'
    id: int
    value: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]


# up to 8 integer digits and 2 decimals: a sum of 40 stays within 15 significant digits, and the
# mean at 6 places within 14 (what SQLite's doubles keep exactly, docs/types.md)
amounts = st.decimals(min_value=Decimal('-99999999.99'), max_value=Decimal('99999999.99'),
                      places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(amounts, min_size=1, max_size=40))
def test_sum_min_max_avg_equal_exact_decimal_arithmetic(db: Any, values: list[Decimal]) -> None:
    db.use(Amount)
    Amount.insert_many([{'id': index, 'value': value} for index, value in enumerate(values, 1)])
    exact = sum(values, Decimal(0))
    query = Amount.query()
    assert (query.sum(Amount.c.value), query.min(Amount.c.value), query.max(Amount.c.value)) == (
        exact, min(values), max(values))
    assert str(query.sum(Amount.c.value)) == str(exact.quantize(Decimal('0.01')))
    mean = (exact / len(values)).quantize(Decimal('0.000001'), rounding=ROUND_HALF_UP)
    assert query.avg(Amount.c.value) == mean
    row = query.select(func.sum(Amount.c.value).as_('s')).as_dicts().one()
    assert type(row['s']) is Decimal and row['s'] == exact
