"""Bulk writes on PostgreSQL: insert_many batches rows instead of paying a round trip per row.

pg8000's executemany sends one statement per row. insert_many sends multi-row VALUES lists
within the protocol's 65,535-parameter limit, so 10,000 rows of 3 columns go in one statement.
Both are timed here side by side on the same rows.
"""
from __future__ import annotations

import time
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


def test_insert_many_beats_one_statement_per_row(db) -> None:
    db.use(BulkItem)
    backend = db.backend
    started = time.perf_counter()
    assert BulkItem.insert_many(fresh_rows()) == ROWS
    bulk_seconds = time.perf_counter() - started
    assert BulkItem.query().count() == ROWS

    BulkItem.query().delete_all()
    rows = [(row['name'], row['qty'], row['price']) for row in fresh_rows()]
    started = time.perf_counter()
    with backend.transaction():   # one commit, like insert_many: only the round trips differ
        assert backend.executemany('INSERT INTO ar_pg_bulk_items (name, qty, price) VALUES (?, ?, ?)',
                                   rows) == ROWS
    per_row_seconds = time.perf_counter() - started

    print(f'\nPostgreSQL {ROWS:,} rows: insert_many {bulk_seconds:.3f} s, executemany {per_row_seconds:.3f} s '
          f'({per_row_seconds / bulk_seconds:.1f}x)')
    assert BulkItem.query().count() == ROWS
    assert BulkItem.query().sum(BulkItem.c.price) == sum(Decimal(i) / 100 for i in range(ROWS))
    assert bulk_seconds * 3 < per_row_seconds


def test_insert_many_splits_at_the_parameter_limit(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(BulkItem)
    limit = db.backend.features.max_parameters
    assert limit == 65535
    rows = [{'name': f'n{i}', 'qty': i, 'price': Decimal('1.00')} for i in range(limit // 3 + 5)]
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert BulkItem.insert_many(rows) == len(rows)
    inserts = [record for record in caplog.records if record.getMessage().startswith('INSERT INTO')]
    assert len(inserts) == 2                      # 21,845 rows, then 5
    assert BulkItem.query().count() == len(rows)
    keys = BulkItem.insert_many([{'name': 'k1', 'qty': 1, 'price': Decimal(1)},
                                 {'name': 'k2', 'qty': 2, 'price': Decimal(2)}], return_keys=True)
    assert keys == [len(rows) + 1, len(rows) + 2]
