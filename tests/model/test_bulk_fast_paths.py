"""insert_many's fast paths give exactly what constructing each record gives.

The rows validator skips building a record per row when validating the model is only
validating its fields, and checks Decimal digit limits quickly before asking pydantic; the
parameters of a batch come from generated code; SQLite batches are kept mid-sized. Each is
checked here against the plain path: the record constructor, pydantic's own errors.
"""
from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Annotated, Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict, Field, field_validator, model_validator

from activerecord import ActiveRecord
from activerecord.errors import DataError, ValidationError
from activerecord.model.bulk_rows import rows_validator


class Priced(ActiveRecord):
    __table_name__ = 'mdl_priced'
    id: int
    label: Annotated[str, Field(max_length=8)] = 'none'
    price: Annotated[Decimal, Field(max_digits=6, decimal_places=2)]
    weight: Optional[Annotated[Decimal, Field(max_digits=4)]] = None
    ratio: Annotated[Decimal, Field(decimal_places=3)] = Decimal('0')
    tags: list[str] = Field(default_factory=list)

    @field_validator('label')
    @classmethod
    def lower(cls, value: str) -> str:
        return value.lower()


class Stamped(ActiveRecord):
    """A model validator changes the values: rows must go through records."""
    __table_name__ = 'mdl_stamped'
    id: int
    a: int
    b: int = 0

    @model_validator(mode='after')
    def double(self) -> 'Stamped':
        self.b = self.a * 2
        return self


class Strict(ActiveRecord):
    """Model config reaches the fields: strict ints, stripped strings."""
    __table_name__ = 'mdl_strict'
    model_config = ConfigDict(strict=True, str_strip_whitespace=True)
    id: int
    n: int
    s: str


def outcome_of_construction(model: type, row: dict) -> Any:
    """The field values of a constructed record, or its errors as (loc, type, msg, input, ctx)."""
    try:
        return dict(model(**row).__dict__)
    except ValidationError as error:
        return [(problem['loc'], problem['type'], problem['msg'], problem['input'], problem.get('ctx'))
                for problem in error.errors()]


def outcome_of_rows_validator(model: type, row: dict) -> Any:
    """The same for the one-call rows validator (locations start with the row index)."""
    import pydantic
    try:
        return dict(rows_validator(model)([row])[0])
    except pydantic.ValidationError as error:
        return [(problem['loc'][1:], problem['type'], problem['msg'], problem['input'], problem.get('ctx'))
                for problem in error.errors(include_url=False)]


decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.decimals(min_value=-10**7, max_value=10**7, places=2),
    st.builds(lambda digits, exponent: Decimal(digits).scaleb(exponent),
              st.integers(-10**9, 10**9), st.integers(-9, 9)),
    st.builds(lambda value: Decimal(value).normalize(), st.integers(-10**8, 10**8)),
)
inputs = st.one_of(decimals, decimals.map(str), st.floats(), st.integers(-10**9, 10**9),
                   st.sampled_from(['', 'x', ' 1.5 ', '1e3', '-0.00', '0E-7', '1_000']))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(price=inputs, weight=st.one_of(st.none(), inputs), ratio=inputs)
def test_the_rows_validator_gives_what_construction_gives(price, weight, ratio):
    row = {'price': price, 'weight': weight, 'ratio': ratio, 'label': 'AbC'}
    assert outcome_of_rows_validator(Priced, row) == outcome_of_construction(Priced, row)


@pytest.mark.parametrize('row', [
    {'price': Decimal('1234.56')}, {'price': Decimal('-9999.99'), 'weight': Decimal('9999')},
    {'price': Decimal('12345.6')}, {'price': Decimal('1.234')}, {'price': Decimal('1.230')},
    {'price': Decimal('1E+4')}, {'price': Decimal('1E+3')}, {'price': Decimal('0.000')},
    {'price': Decimal('1E-7')}, {'price': Decimal('NaN')}, {'price': Decimal('-Infinity')},
    {'price': '99.5'}, {'price': '9999.995'}, {'price': 12.5}, {'price': 10**4},
    {'price': Decimal('1'), 'weight': Decimal('12345')}, {'price': Decimal('1'), 'weight': '1.2345'},
    {'price': Decimal('1'), 'ratio': Decimal('1.2345')}, {'price': Decimal('1'), 'ratio': Decimal('123456789.123')},
    {'price': Decimal('1'), 'label': 'x' * 9}, {'price': Decimal('1'), 'tags': 'no'}, {},
])
def test_edge_values_give_the_same_values_or_errors(row):
    assert outcome_of_rows_validator(Priced, row) == outcome_of_construction(Priced, row)


def test_model_config_and_model_validators_are_kept():
    for row in ({'n': 1, 's': ' a '}, {'n': '1', 's': 'a'}, {'n': 1.0, 's': 'a'}):
        assert outcome_of_rows_validator(Strict, row) == outcome_of_construction(Strict, row)
    assert rows_validator(Stamped)([{'a': 3}]) == [{'id': None, 'a': 3, 'b': 6}]


@pytest.mark.backends('sqlite')
def test_insert_many_stores_what_the_records_hold(db):
    db.use(Priced, Stamped)
    rows = [{'label': f'L{i}', 'price': Decimal(i).scaleb(-2), 'weight': None if i % 2 else Decimal(i),
             'tags': [str(i)]} for i in range(1, 301)]
    assert Priced.insert_many(rows) == 300
    stored = {record.label: record for record in Priced.find_all()}
    for row in rows:
        expected = Priced(**row)
        record = stored[expected.label]
        assert (record.price, record.weight, record.ratio, record.tags) == \
            (expected.price, expected.weight, expected.ratio, expected.tags)
    Stamped.insert_many([{'a': 1}, {'a': 5}])
    assert sorted((record.a, record.b) for record in Stamped.find_all()) == [(1, 2), (5, 10)]


@pytest.mark.backends('sqlite')
def test_a_bad_row_is_named_by_index_and_field_and_nothing_is_written(db):
    db.use(Priced)
    rows = [{'price': Decimal('1.00')}] * 600 + [{'price': Decimal('1.001')}]
    with pytest.raises(ValidationError) as caught:
        Priced.insert_many(rows)
    problem = caught.value.errors()[0]
    assert problem['loc'] == (600, 'price') and problem['type'] == 'decimal_max_places'
    assert problem['msg'] == 'Decimal input should have no more than 2 decimal places'
    assert Priced.query().count() == 0


@pytest.mark.backends('sqlite')
def test_a_value_the_driver_cannot_take_names_the_field(db):
    db.use(Priced)
    with pytest.raises(DataError, match=r'Priced\.ratio'):
        Priced.insert_many([{'price': Decimal('1'), 'ratio': Decimal('1.234') * 10**20}])
    assert Priced.query().count() == 0


@pytest.mark.backends('sqlite')
def test_sqlite_batches_are_mid_sized_unless_batch_size_says_otherwise(db, sent_sql):
    db.use(Priced)
    per = db.backend.features.bulk_parameters // (len(Priced.model_fields) - 1)   # all but the key
    rows = [{'price': Decimal(i % 1000)} for i in range(per * 3 + 1)]
    assert Priced.insert_many(rows) == len(rows)
    assert len([sql for sql in sent_sql.writes() if sql.startswith('INSERT')]) == 4
    sent_sql.clear()
    assert Priced.insert_many(rows, batch_size=len(rows)) == len(rows)   # explicit: one statement
    assert len([sql for sql in sent_sql.writes() if sql.startswith('INSERT')]) == 1
    assert Priced.query().count() == 2 * len(rows)


def test_decimal_rounding_context_does_not_change_the_outcome():
    row = {'price': Decimal('1234.56'), 'ratio': Decimal('0.125')}
    with decimal.localcontext(decimal.Context(prec=3)):
        assert outcome_of_rows_validator(Priced, row) == outcome_of_construction(Priced, row)


class Shelf(ActiveRecord):
    __table_name__ = 'mdl_shelves'
    id: int
    name: str


@pytest.mark.backends('sqlite', 'postgresql')
def test_as_dicts_converts_model_columns_and_keeps_the_last_of_a_repeated_label(db):
    db.use(Priced, Shelf)
    Shelf.insert_many([{'name': f's{i}'} for i in range(1, 41)])
    Priced.insert_many([{'label': f'p{i}', 'price': Decimal(i).scaleb(-1)} for i in range(1, 41)])
    query = (Priced.query().join(Shelf, Shelf.c.id == Priced.c.id)
             .select(Priced.c.id, Priced.c.price, Shelf.c.name, Shelf.c.id.as_('id'), Priced.c.label)
             .order_by(Priced.c.id))
    rows = query.as_dicts().all()
    assert len(rows) == 40   # more than a handful: the generated builder is used
    assert [list(row) for row in rows[:1]] == [['id', 'price', 'name', 'label']]
    assert rows[4] == {'id': 5, 'price': Decimal('0.50'), 'name': 's5', 'label': 'p5'}
    assert all(str(row['price']) == str(Decimal(row['id']).scaleb(-1).quantize(Decimal('0.01'))) for row in rows)
