"""Bulk writes on PostgreSQL: insert_many batches rows instead of paying a round trip per row.

pg8000's executemany sends one statement per row. insert_many loads many rows with one COPY
(test_postgresql_copy.py) and sends multi-row VALUES lists where keys come back (return_keys)
or batch_size is given, within the protocol's 65,535-parameter limit. The statements sent are
counted here; the time each way takes is benchmark b's figure (scripts/bench.py, PostgreSQL:
insert_many against pg8000's executemany), not a test's.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import Field

from activerecord import ActiveRecord

pytestmark = pytest.mark.backends('postgresql')

ROWS = 10_000


class BulkItem(ActiveRecord):
    __table_name__ = 'ar_pg_bulk_items'
    id: int
    name: str
    qty: int
    price: Decimal = Field(max_digits=12, decimal_places=2)


def fresh_rows() -> list[dict]:
    return [{'name': f'item {i}', 'qty': i, 'price': Decimal(i) / 100} for i in range(ROWS)]


def test_insert_many_sends_one_statement_for_ten_thousand_rows(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(BulkItem)
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert BulkItem.insert_many(fresh_rows()) == ROWS
    copies = [record for record in caplog.records if record.getMessage().startswith('COPY ')]
    assert len(copies) == 1                       # no keys asked back: one COPY
    BulkItem.query().delete_all()
    caplog.clear()
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert len(BulkItem.insert_many(fresh_rows(), return_keys=True)) == ROWS
    inserts = [record for record in caplog.records if record.getMessage().startswith('INSERT INTO')]
    assert len(inserts) == 1                      # 30,000 parameters: within one statement's limit
    assert BulkItem.query().count() == ROWS
    assert BulkItem.query().sum(BulkItem.c.price) == sum(Decimal(i) / 100 for i in range(ROWS))

    # executemany on the same rows: pg8000 sends a statement per row; the same rows result
    BulkItem.query().delete_all()
    rows = [(row['name'], row['qty'], row['price']) for row in fresh_rows()]
    with db.backend.transaction():
        assert db.backend.executemany('INSERT INTO ar_pg_bulk_items (name, qty, price) VALUES (?, ?, ?)',
                                      rows) == ROWS
    assert BulkItem.query().count() == ROWS
    assert BulkItem.query().sum(BulkItem.c.price) == sum(Decimal(i) / 100 for i in range(ROWS))


def test_insert_many_splits_at_the_parameter_limit(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(BulkItem)
    limit = db.backend.features.max_parameters
    assert limit == 65535
    rows = [{'name': f'n{i}', 'qty': i, 'price': Decimal('1.00')} for i in range(limit // 3 + 5)]
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert len(BulkItem.insert_many(rows, return_keys=True)) == len(rows)   # INSERT ... RETURNING
    inserts = [record for record in caplog.records if record.getMessage().startswith('INSERT INTO')]
    assert len(inserts) == 2                      # 21,845 rows, then 5
    assert BulkItem.query().count() == len(rows)
    keys = BulkItem.insert_many([{'name': 'k1', 'qty': 1, 'price': Decimal(1)},
                                 {'name': 'k2', 'qty': 2, 'price': Decimal(2)}], return_keys=True)
    assert keys == [len(rows) + 1, len(rows) + 2]
