"""API.md, "Transactions": BEGIN/COMMIT/ROLLBACK, savepoints, isolation levels, read-only, threads."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from activerecord import ActiveRecord
from activerecord.backend.transaction import IsolationLevel
from activerecord.errors import DatabaseError, NotSupportedError


class TxUser(ActiveRecord):
    __table_name__ = 'apic_tx_users'
    id: int
    username: str


class TxNote(ActiveRecord):
    __table_name__ = 'apic_tx_notes'
    id: int
    body: str


class Boom(Exception):
    pass


def _names() -> list[str]:
    return sorted(user.username for user in TxUser.find_all())


def test_commit_rollback_and_nested_savepoints(db: Any, sent: Any) -> None:
    db.use(TxUser)
    with TxUser.transaction():
        TxUser.create(username='kept')
    with pytest.raises(Boom):
        with TxUser.transaction():
            TxUser.create(username='undone')
            raise Boom
    assert _names() == ['kept']
    sent.clear()
    with TxUser.transaction():
        TxUser.create(username='outer')
        with pytest.raises(Boom):
            with TxUser.transaction():
                TxUser.create(username='inner-undone')
                raise Boom
        with TxUser.transaction():
            TxUser.create(username='inner-kept')
    assert _names() == ['inner-kept', 'kept', 'outer']
    upper = [sql.upper() for sql in sent.statements()]
    assert sum('SAVEPOINT' in sql and 'ROLLBACK' not in sql and 'RELEASE' not in sql for sql in upper) == 2
    assert any(sql.startswith('ROLLBACK TO') for sql in upper)
    if db.backend.features.release_savepoint:
        assert sum(sql.startswith('RELEASE') for sql in upper) == 2


def test_transaction_manager_savepoint_verbs(db: Any) -> None:
    db.use(TxUser)
    tm = TxUser.backend().transaction_manager
    with TxUser.transaction():
        TxUser.create(username='a')
        tm.savepoint('s1')
        TxUser.create(username='b')
        tm.rollback_to('s1')
        TxUser.create(username='c')
        tm.release('s1')
    assert _names() == ['a', 'c']


def test_models_sharing_a_backend_share_the_transaction(db: Any) -> None:
    db.use(TxUser, TxNote)
    assert TxUser.backend() is TxNote.backend()
    with pytest.raises(Boom):
        with TxUser.transaction():
            TxUser.create(username='a')
            TxNote.create(body='b')
            raise Boom
    assert TxUser.find_all() == [] and TxNote.find_all() == []


@pytest.mark.backends('postgresql', 'mysql')
def test_a_transaction_holds_its_connection_in_its_own_thread(db: Any) -> None:
    db.use(TxUser)
    seen: list[Any] = []
    with TxUser.transaction():
        TxUser.create(username='pending')
        worker = threading.Thread(target=lambda: seen.append((_names(), TxUser.backend().in_transaction)))
        worker.start()
        worker.join(10)
        assert _names() == ['pending']
    assert seen == [([], False)]
    assert _names() == ['pending']


def _current_level(db: Any) -> str | None:
    if db.name == 'postgresql':
        return db.backend.fetch_one('SHOW transaction_isolation')['transaction_isolation'].upper()
    if db.name == 'mysql':
        time.sleep(0.15)   # information_schema.innodb_trx is a cache refreshed at most every 0.1 s
        row = db.backend.fetch_one('SELECT trx_isolation_level AS level FROM information_schema.innodb_trx '
                                   'WHERE trx_mysql_thread_id = CONNECTION_ID()')
        return row['level'].replace('-', ' ').upper()
    return None


@pytest.mark.parametrize('level', [level for level in IsolationLevel if level is not IsolationLevel.SNAPSHOT])
def test_a_requested_isolation_level_or_a_stronger_one_is_given(db: Any, level: IsolationLevel) -> None:
    db.use(TxUser)
    with TxUser.transaction(isolation_level=level):
        TxUser.create(username='w')
        actual = _current_level(db)
    if actual is not None:
        assert IsolationLevel(actual).strength >= level.strength
    assert _names() == ['w']


@pytest.mark.backends('sqlite', 'mysql')
def test_a_level_the_database_cannot_give_raises_not_supported(db: Any) -> None:
    db.use(TxUser)
    with pytest.raises(NotSupportedError, match='SNAPSHOT'):
        with TxUser.transaction(isolation_level=IsolationLevel.SNAPSHOT):
            pass
    assert not TxUser.backend().in_transaction
    TxUser.create(username='after')


def test_serializable_read_only_reads_and_refuses_writes(db: Any) -> None:
    db.use(TxUser)
    TxUser.create(username='a')
    with TxUser.transaction(isolation_level=IsolationLevel.SERIALIZABLE, read_only=True):
        assert _names() == ['a']
    with pytest.raises(DatabaseError):
        with TxUser.transaction(isolation_level=IsolationLevel.SERIALIZABLE, read_only=True):
            TxUser.create(username='refused')
    with pytest.raises(DatabaseError):
        with TxUser.transaction(read_only=True):
            TxUser.create(username='refused')
    TxUser.create(username='b')          # the connection went back to the pool writable
    assert _names() == ['a', 'b']


@pytest.mark.backends('sqlite')
def test_sqlite_begin_statements(db: Any, sent: Any) -> None:
    db.use(TxUser)
    sent.clear()
    with TxUser.transaction():
        TxUser.create(username='a')
    assert sent.statements()[0].upper() == 'BEGIN' and sent.statements()[-1].upper() == 'COMMIT'
    sent.clear()
    with TxUser.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
        pass
    assert sent.statements()[0].upper() == 'BEGIN IMMEDIATE'
    sent.clear()
    with TxUser.transaction(read_only=True):
        during = TxUser.backend().fetch_one('PRAGMA query_only')
    statements = [sql.upper() for sql in sent.statements()]
    assert statements[0] == 'BEGIN' and any(sql.startswith('PRAGMA QUERY_ONLY') for sql in statements[1:])
    assert list(during.values()) == [1]
    assert list(TxUser.backend().fetch_one('PRAGMA query_only').values()) == [0]
