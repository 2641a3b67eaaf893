"""insert_many of rows that give their generated key mixed with rows that leave it to the database.

Rows are written group by group (one group per set of columns); whichever group comes first,
the rows without a key must get keys past the explicit ones, on every live backend, both
below and above PostgreSQL's COPY threshold (150 rows go through COPY there, 50 do not).
"""
from __future__ import annotations

from typing import Any, Optional

import pytest

from activerecord import ActiveRecord


class Keyed(ActiveRecord):
    __table_name__ = 'mdl_bulk_keyed'
    id: Optional[int] = None
    name: str


@pytest.mark.parametrize('count', [50, 150])
def test_explicit_keys_first_then_generated_ones(db, count: int) -> None:
    db.use(Keyed)
    rows: list[dict[str, Any]] = [{'id': i + 1, 'name': 'given'} for i in range(count)]
    rows += [{'name': 'auto'} for _ in range(3)]
    assert Keyed.insert_many(rows) == count + 3
    generated = sorted(record.id for record in Keyed.query().where(name='auto').all())
    assert generated == [count + 1, count + 2, count + 3]
    later = Keyed(name='later')
    later.save()
    assert later.id is not None and later.id > count + 3   # a sequence may leave a gap


@pytest.mark.parametrize('count', [50, 150])
def test_generated_keys_first_then_explicit_ones(db, count: int) -> None:
    db.use(Keyed)
    rows: list[dict[str, Any]] = [{'name': 'auto'} for _ in range(3)]
    rows += [{'id': 1000 + i, 'name': 'given'} for i in range(count)]
    assert Keyed.insert_many(rows) == count + 3
    assert sorted(record.id for record in Keyed.query().where(name='auto').all()) == [1, 2, 3]
    assert Keyed.query().where(name='given').count() == count
    later = Keyed(name='later')
    later.save()
    assert later.id is not None and later.id >= 1000 + count
