"""Oracle-only tests against a live server: they run when AR_TEST_ORACLE_URL names one.

    AR_TEST_ORACLE_URL=oracle://user:password@host:1521/FREEPDB1 python -m pytest tests -q

Without the variable every test here is reported as skipped with that reason (no Oracle server
can run on the development machines). The shared matrix tests of the model, query and relation
layers also run on Oracle when the variable is set (tests/conftest.py adds it to the matrix).
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
from activerecord.backend.impl.oracle.backend import InOut, Out
from activerecord.backend.transaction import IsolationLevel

pytestmark = [
    pytest.mark.backends('oracle'),
    pytest.mark.skipif(not os.environ.get('AR_TEST_ORACLE_URL'),
                       reason='AR_TEST_ORACLE_URL is not set: the live Oracle suite did not run'),
]


class Mood(enum.Enum):
    HAPPY = 'happy'
    SAD = 'sad'


class LiveType(ActiveRecord):
    """Every kind of the type map (the DDL of test_oracle_sql.py's EveryType, on a server)."""
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
        amount=Decimal('12345678901234567890.123456789'), code='c-1', body='b' * 40000 + 'é',
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


def test_keys_insert_many_and_merge_upsert(db) -> None:
    db.use(Named)
    first = Named.create(name='ann')
    assert Named.insert_many([{'name': 'bob'}, {'name': 'cyd'}]) == 2
    assert Named.insert_many([{'id': 100, 'name': 'dan'}]) == 1         # an explicit key
    after = Named.create(name='eve')                                    # the identity moved past it
    assert after.id > 100 and first.id < after.id
    assert Named.upsert([{'name': 'ann', 'nick': 'A'}, {'name': 'fay', 'nick': 'F'}], conflict=['name']) == 2
    assert {row.name: row.nick for row in Named.query().order_by('name').all()} == {
        'ann': 'A', 'bob': None, 'cyd': None, 'dan': None, 'eve': None, 'fay': 'F'}
    assert Named.query().order_by('id').offset(1).limit(2).all()[0].name == 'bob'
    assert Named.query().where(Named.c.name.like('%a%')).count() == 3


def test_the_empty_string_is_null(db) -> None:
    db.use(Named)
    record = Named.create(name='ann', nick='')
    record.refresh()
    assert record.nick is None
    with pytest.raises(errors.IntegrityError) as raised:
        Named.create(name='')
    assert raised.value.code == 'ORA-01400'


def test_errors_carry_their_ora_codes(db) -> None:
    db.use(Named)
    Named.create(name='ann')
    with pytest.raises(errors.IntegrityError) as raised:
        Named.create(name='ann')
    assert raised.value.code == 'ORA-00001'
    with pytest.raises(errors.ProgrammingError) as missing:
        db.backend.fetch_all('SELECT * FROM "ar_live_no_such_table"')
    assert missing.value.code == 'ORA-00942'


def test_labels_come_back_as_written(db) -> None:
    db.use(Named)
    assert db.backend.fetch_one('SELECT 1 AS n, 2 AS "Mixed" FROM DUAL') == {'n': 1, 'Mixed': 2}
    assert db.backend.fetch_value('SELECT COUNT(*) FROM "ar_live_named"') == 0
    assert db.backend.server_version()[0] >= 12
    assert db.backend.tls_in_use() == db.backend.uses_tls()


def _insert_elsewhere(name: str) -> None:
    Named.create(name=name)       # another thread: its own pooled connection, autocommitted


@pytest.mark.parametrize(('level', 'sees_new_rows'), [
    (IsolationLevel.READ_UNCOMMITTED, True),       # given as READ COMMITTED
    (IsolationLevel.READ_COMMITTED, True),
    (IsolationLevel.REPEATABLE_READ, False),       # given as SERIALIZABLE
    (IsolationLevel.SERIALIZABLE, False),
])
def test_isolation_levels_are_the_asked_or_stronger(db, level: IsolationLevel, sees_new_rows: bool) -> None:
    db.use(Named)
    Named.create(name='before')
    with Named.transaction(isolation_level=level):
        assert Named.query().count() == 1
        worker = threading.Thread(target=_insert_elsewhere, args=('during',))
        worker.start()
        worker.join()
        assert Named.query().count() == (2 if sees_new_rows else 1)
    with pytest.raises(errors.NotSupportedError, match='SNAPSHOT'):
        with Named.transaction(isolation_level=IsolationLevel.SNAPSHOT):
            pass


def test_read_only_transactions_refuse_writes(db) -> None:
    db.use(Named)
    with pytest.raises(errors.DatabaseError) as raised:
        with Named.transaction(read_only=True):
            Named.create(name='x')
    assert raised.value.code == 'ORA-01456'
    assert Named.query().count() == 0


def test_savepoints_without_release(db) -> None:
    db.use(Named)
    with Named.transaction():
        Named.create(name='kept')
        with pytest.raises(ZeroDivisionError):
            with Named.transaction():
                Named.create(name='undone')
                1 / 0
        Named.create(name='also kept')
    assert sorted(row.name for row in Named.query().all()) == ['also kept', 'kept']


def test_plsql_blocks_procedures_and_functions(db) -> None:
    db.use(Named)
    backend = db.backend
    backend.execute("CREATE OR REPLACE PROCEDURE ar_live_add(a IN NUMBER, b IN OUT NUMBER, msg OUT VARCHAR2) AS "
                    "BEGIN b := a + b; msg := 'sum ' || b; END;")
    backend.execute('CREATE OR REPLACE FUNCTION ar_live_twice(x IN NUMBER) RETURN NUMBER AS BEGIN RETURN x * 2; END;')
    try:
        assert backend.callproc('ar_live_add', [2, InOut(3, int), Out(str)]) == [2, 5, 'sum 5']
        assert backend.callfunc('ar_live_twice', int, [21]) == 42
        assert backend.execute_plsql('BEGIN ? := ? || ?; END;', [Out(str), 'a', 'b']) == ['ab', 'a', 'b']
        assert backend.execute_plsql('BEGIN :total := :x + 1; END;', {'x': 41, 'total': Out(int)}) == {'x': 41, 'total': 42}
        with pytest.raises(errors.ProgrammingError) as raised:
            backend.callproc('ar_live_no_such_procedure', [])
        assert raised.value.code == 'ORA-06550'
    finally:
        backend.execute('DROP PROCEDURE ar_live_add')
        backend.execute('DROP FUNCTION ar_live_twice')
