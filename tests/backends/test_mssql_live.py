"""SQL Server-only tests against a live server: they run when AR_TEST_MSSQL_URL names one.

    AR_TEST_MSSQL_URL=mssql://sa:password@host:1433/test python -m pytest tests -q

Without the variable every test here is reported as skipped with that reason (no SQL Server can
run on the development machines). The shared matrix tests of the model, query and relation
layers also run on SQL Server when the variable is set (tests/conftest.py adds it to the matrix).
The SNAPSHOT test turns ALLOW_SNAPSHOT_ISOLATION on for the test database (it needs ALTER
DATABASE permission there).
"""
from __future__ import annotations

import datetime
import enum
import os
import threading
import uuid
from decimal import Decimal
from typing import Annotated, Optional

import pytest
from pydantic import Field, NaiveDatetime

from activerecord import ActiveRecord, Column, errors
from activerecord.backend.transaction import IsolationLevel

pytestmark = [
    pytest.mark.backends('mssql'),
    pytest.mark.skipif(not os.environ.get('AR_TEST_MSSQL_URL'),
                       reason='AR_TEST_MSSQL_URL is not set: the live SQL Server suite did not run'),
]

SESSION_LEVEL = 'SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID'


class Mood(enum.Enum):
    HAPPY = 'happy'
    SAD = 'sad'


class LiveType(ActiveRecord):
    """Every kind of the type map (the DDL of test_mssql_sql.py's EveryType, on a server)."""
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


def every_value() -> dict:
    return dict(
        flag=True, count=2 ** 62, ratio=1.5, price=Decimal('1234567890.12'),
        amount=Decimal('1234567890123456789.1234567891'), code='c-1', body='b' * 40000 + 'é',
        data=bytes(range(256)) * 200, happened_at=datetime.datetime(
            2024, 3, 1, 12, 30, 15, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        local_at=datetime.datetime(2024, 3, 1, 12, 30, 15, 654321), day=datetime.date(2024, 2, 29),
        at_time=datetime.time(23, 59, 58, 999999), duration=datetime.timedelta(days=3, microseconds=7),
        token=uuid.uuid4(), meta={'k': [1, 'é', None]}, tags=['a', 'b'], mood=Mood.SAD)


def test_every_type_round_trips(db) -> None:
    db.use(LiveType)
    values = every_value()
    saved = LiveType.create(**values)
    assert isinstance(saved.id, int)
    loaded = LiveType.find_one_or_fail(saved.id)
    for name, value in values.items():
        assert getattr(loaded, name) == value, name
        assert type(getattr(loaded, name)) is type(value), name
    assert loaded.note is None
    with pytest.raises(errors.IntegrityError) as raised:
        LiveType.create(**{**every_value(), 'meta': {'k': 1}, 'code': 'c-1'})
    assert raised.value.code in (2627, 2601)


def test_output_keys_identity_insert_and_merge(db) -> None:
    db.use(Named)
    first = Named.create(name='ann')
    assert Named.insert_many([{'name': 'bob'}, {'name': 'cyd'}]) == 2
    assert Named.insert_many([{'id': 100, 'name': 'dan'}]) == 1          # IDENTITY_INSERT for explicit keys
    after = Named.create(name='eve')                                     # SQL Server moved the identity past it
    assert after.id > 100 and first.id < after.id
    assert Named.upsert([{'name': 'ann', 'nick': 'A'}, {'name': 'fay', 'nick': 'F'}], conflict=['name']) == 2
    assert {row.name: row.nick for row in Named.query().order_by('name').all()} == {
        'ann': 'A', 'bob': None, 'cyd': None, 'dan': None, 'eve': None, 'fay': 'F'}
    assert [row.name for row in Named.query().order_by('id').limit(2).all()] == ['ann', 'bob']          # TOP
    assert [row.name for row in Named.query().order_by('id').offset(1).limit(2).all()] == ['bob', 'cyd']
    assert Named.query().where(Named.c.name.like('%a%')).count() == 3


def test_more_than_a_thousand_rows_in_one_batch(db) -> None:
    db.use(Named)
    assert Named.insert_many([{'name': f'n{index}'} for index in range(1500)]) == 1500
    assert Named.query().count() == 1500


def test_errors_carry_their_numbers(db) -> None:
    db.use(Named)
    with pytest.raises(errors.ProgrammingError) as missing:
        db.backend.fetch_all('SELECT * FROM [ar_live_no_such_table]')
    assert missing.value.code == 208
    assert db.backend.fetch_one('SELECT 1 AS n, 2 AS [Mixed]') == {'n': 1, 'Mixed': 2}
    assert db.backend.server_version()[0] >= 13
    assert db.backend.tls_in_use() == bool(db.backend.config.ssl_ca)


def _insert_elsewhere(name: str) -> None:
    Named.create(name=name)       # another thread: its own pooled connection, autocommitted


@pytest.mark.parametrize(('level', 'sees_new_rows'), [
    (IsolationLevel.READ_COMMITTED, True),
    (IsolationLevel.SNAPSHOT, False),
])
def test_snapshot_reads_one_version_and_the_level_is_reset_after(db, level: IsolationLevel, sees_new_rows: bool) -> None:
    db.use(Named)
    db.backend.execute('ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON')
    Named.create(name='before')
    with Named.transaction(isolation_level=level):
        assert Named.query().count() == 1
        worker = threading.Thread(target=_insert_elsewhere, args=('during',))
        worker.start()
        worker.join()
        assert Named.query().count() == (2 if sees_new_rows else 1)
        assert db.backend.fetch_value(SESSION_LEVEL) == (2 if level is IsolationLevel.READ_COMMITTED else 5)
    # The commit batch put the session back to READ COMMITTED (2); the pool hands out the most
    # recently returned connection first, which is the one the transaction used.
    assert db.backend.fetch_value(SESSION_LEVEL) == 2


def test_read_only_is_refused_before_anything_is_sent(db) -> None:
    db.use(Named)
    with pytest.raises(errors.NotSupportedError, match='read-only'):
        with Named.transaction(read_only=True):
            pass


def test_savepoints_roll_back_a_nested_block(db) -> None:
    db.use(Named)
    with Named.transaction():
        Named.create(name='kept')
        with pytest.raises(errors.IntegrityError):
            with Named.transaction():
                Named.create(name='undone')
                Named.create(name='kept')            # duplicate: the block rolls back to its savepoint
        Named.create(name='also kept')
    assert sorted(row.name for row in Named.query().all()) == ['also kept', 'kept']


def test_window_functions_with_frames(db) -> None:
    from activerecord import func
    from activerecord.query import Frame
    db.use(Named)
    Named.insert_many([{'name': f'n{index}'} for index in range(1, 6)])
    rows = (Named.query().select(Named.c.name, func.sum(Named.c.id).over(
        order_by=Named.c.id, frame=Frame('rows', -1, 0)).as_('pair')).order_by('id').as_dicts().all())
    ids = [row.id for row in Named.query().order_by('id').all()]
    assert [row['pair'] for row in rows] == [ids[0]] + [ids[index - 1] + ids[index] for index in range(1, 5)]
