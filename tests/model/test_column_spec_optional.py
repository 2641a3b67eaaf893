"""Sizes given inside Optional: `Annotated[str, Field(max_length=N)] | None` is the same column
as `Annotated[str | None, Field(max_length=N)]` (pydantic keeps the inner Field whole there)."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from activerecord import ActiveRecord


class CsSized(ActiveRecord):
    __table_name__ = 'cs_sized'
    id: int | None = None
    outer: Annotated[str, Field(max_length=12)] | None = None
    inner: Annotated[str | None, Field(max_length=12)] = None
    price_outer: Annotated[Decimal, Field(max_digits=8, decimal_places=3)] | None = None
    price_inner: Annotated[Decimal | None, Field(max_digits=8, decimal_places=3)] = None


def test_both_spellings_give_the_same_spec():
    fields = CsSized.__meta__.fields
    assert (fields['outer'].spec.max_length, fields['outer'].nullable) == (12, True)
    assert fields['outer'].spec == fields['inner'].spec
    assert (fields['price_outer'].spec.max_digits, fields['price_outer'].spec.decimal_places) == (8, 3)
    assert fields['price_outer'].spec == fields['price_inner'].spec


def test_both_spellings_make_the_same_column_on_every_backend(db):
    db.use(CsSized)
    columns = {column.name: column for column in db.backend.schema.columns('cs_sized')}
    assert columns['outer'].sql_type == columns['inner'].sql_type
    assert columns['outer'].kind == 'str' and '12' in columns['outer'].sql_type
    assert columns['price_outer'].sql_type == columns['price_inner'].sql_type
    assert columns['price_outer'].kind == 'decimal' and '8' in columns['price_outer'].sql_type
    # a value of the full length fits the bounded column and reads back whole
    row = CsSized.create(outer='x' * 12, inner='y' * 12, price_outer=Decimal('12345.678'))
    assert CsSized.find_one(row.id).outer == 'x' * 12
