"""Models, values and checks of the live Oracle and SQL Server suites (test_oracle_live.py,
test_mssql_live.py): what the two databases must do alike; what differs stays in their modules.
"""
from __future__ import annotations

import datetime
import os
import threading
import uuid
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Iterator, Optional

import pytest
from pydantic import Field, NaiveDatetime

from activerecord import ActiveRecord, Column
from activerecord.backend.transaction import IsolationLevel
from tests.backends.test_oracle_mssql_constructs import Mood


def live_suite_marks(backend: str, variable: str, server: str) -> list[pytest.MarkDecorator]:
    """The pytestmark of a live suite: `backend` only, reported skipped unless `variable` names a server."""
    return [pytest.mark.backends(backend),
            pytest.mark.skipif(not os.environ.get(variable),
                               reason=f'{variable} is not set: the live {server} suite did not run')]


class LiveType(ActiveRecord):
    """Every kind of the type map (the DDL of EveryType in test_oracle_mssql_constructs.py, on a server)."""
    __table_name__ = 'ar_live_types'
    id: int
    flag: bool
    count: int
    ratio: float
    price: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    amount: Decimal
    code: Annotated[str, Field(max_length=20), Column(unique=True)]
    body: str
    data: bytes
    happened_at: datetime.datetime
    local_at: NaiveDatetime
    day: datetime.date
    at_time: datetime.time
    duration: datetime.timedelta
    token: uuid.UUID
    meta: dict
    tags: list[str]
    mood: Mood
    note: Annotated[Optional[str], Field(max_length=50)] = None


class Named(ActiveRecord):
    __table_name__ = 'ar_live_named'
    id: int
    name: Annotated[str, Field(max_length=40), Column(unique=True)]
    nick: Annotated[Optional[str], Field(max_length=40)] = None


def every_value(amount: Decimal) -> dict:
    """A value for every field of LiveType; `amount` is the widest Decimal the database keeps unbounded."""
    return dict(
        flag=True, count=2 ** 62, ratio=1.5, price=Decimal('1234567890.12'),
        amount=amount, code='c-1', body='b' * 40000 + 'é',
        data=bytes(range(256)) * 200, happened_at=datetime.datetime(
            2024, 3, 1, 12, 30, 15, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        local_at=datetime.datetime(2024, 3, 1, 12, 30, 15, 654321), day=datetime.date(2024, 2, 29),
        at_time=datetime.time(23, 59, 58, 999999), duration=datetime.timedelta(days=3, microseconds=7),
        token=uuid.uuid4(), meta={'k': [1, 'é', None]}, tags=['a', 'b'], mood=Mood.SAD)


def check_every_type_round_trips(values: dict) -> None:
    """A LiveType saved with `values` reads back equal, of the same Python types, with note None."""
    saved = LiveType.create(**values)
    assert isinstance(saved.id, int)
    loaded = LiveType.find_one_or_fail(saved.id)
    for name, value in values.items():
        assert getattr(loaded, name) == value, name
        assert type(getattr(loaded, name)) is type(value), name
    assert loaded.note is None


def check_generated_and_explicit_keys_and_upsert() -> None:
    """Generated keys, insert_many, an explicit key the identity then moves past, and a MERGE upsert."""
    first = Named.create(name='ann')
    assert Named.insert_many([{'name': 'bob'}, {'name': 'cyd'}]) == 2
    assert Named.insert_many([{'id': 100, 'name': 'dan'}]) == 1         # an explicit key
    after = Named.create(name='eve')                                    # the identity moved past it
    assert after.id > 100 and first.id < after.id
    assert Named.upsert([{'name': 'ann', 'nick': 'A'}, {'name': 'fay', 'nick': 'F'}], conflict=['name']) == 2
    assert {row.name: row.nick for row in Named.query().order_by('name').all()} == {
        'ann': 'A', 'bob': None, 'cyd': None, 'dan': None, 'eve': None, 'fay': 'F'}
    assert Named.query().where(Named.c.name.like('%a%')).count() == 3


def insert_elsewhere(name: str) -> None:
    """Create a Named row from this thread: its own pooled connection, autocommitted."""
    Named.create(name=name)


@contextmanager
def transaction_beside_a_concurrent_insert(level: IsolationLevel, sees_new_rows: bool) -> Iterator[None]:
    """Inside a transaction at `level` that read one row, another thread commits a second one:
    the transaction counts 2 if `sees_new_rows` else 1; the body runs inside the transaction."""
    Named.create(name='before')
    with Named.transaction(isolation_level=level):
        assert Named.query().count() == 1
        worker = threading.Thread(target=insert_elsewhere, args=('during',))
        worker.start()
        worker.join()
        assert Named.query().count() == (2 if sees_new_rows else 1)
        yield
