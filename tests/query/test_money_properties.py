"""Property: sum/min/max (and avg) of a random DECIMAL(12,2) column equal Python's exact Decimal
arithmetic on every live backend (SQLite keeps decimals as doubles but adds them exactly), and
a total past 15 significant digits is refused with DataError on SQLite, never rounded."""
from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import Field

from activerecord import ActiveRecord, func
from activerecord.errors import DataError

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


class WideAmount(ActiveRecord):
    __table_name__ = 'ty_wide_amounts'
    id: int
    value: Annotated[Decimal, Field(max_digits=18, decimal_places=2)]


# 15-digit amounts: a sum of a few of them may need 16 or 17 digits
wide_amounts = st.decimals(min_value=Decimal('-9999999999999.99'), max_value=Decimal('9999999999999.99'),
                           places=2, allow_nan=False, allow_infinity=False)


def _double_holds(value: Decimal) -> bool:
    """Whether SQLite's double reads back as exactly this decimal (always so up to 15 digits)."""
    return Decimal(repr(float(value))) == value


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(wide_amounts, min_size=1, max_size=12))
def test_totals_past_15_digits_are_exact_or_refused_on_sqlite(db: Any, values: list[Decimal]) -> None:
    db.use(WideAmount)
    WideAmount.insert_many([{'id': index, 'value': value} for index, value in enumerate(values, 1)])
    exact = sum(values, Decimal(0))
    mean = (exact / len(values)).quantize(Decimal('0.000001'), rounding=ROUND_HALF_UP)
    for result, run in ((exact, lambda: WideAmount.query().sum(WideAmount.c.value)),
                        (mean, lambda: WideAmount.query().avg(WideAmount.c.value))):
        if db.name == 'sqlite' and not _double_holds(result):
            assert len(result.normalize().as_tuple().digits) > 15
            with pytest.raises(DataError, match='more than 15 significant digits'):
                run()
        else:
            assert run() == result
