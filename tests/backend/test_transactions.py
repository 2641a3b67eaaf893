"""TransactionManager: commit/rollback, savepoints, isolation levels, read-only, one pinned connection."""
from __future__ import annotations

import logging
import threading

import pytest

from activerecord.backend.dialect import Dialect
from activerecord.backend.features import Features
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.transaction import IsolationLevel, effective_level
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ActiveRecordError, DatabaseError, NotSupportedError


class Boom(Exception):
    pass


def names(backend, table):
    return [row['name'] for row in backend.fetch_all(f'SELECT name FROM {table} ORDER BY id')]


# -- on every backend of the matrix ---------------------------------------------------------

def test_commit_keeps_and_an_exception_rolls_back(live):
    backend, table = live.backend, live.table()
    with backend.transaction():
        backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'kept'))
    with pytest.raises(Boom):
        with backend.transaction():
            backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (2, 'lost'))
            raise Boom
    assert names(backend, table) == ['kept']
    assert not backend.in_transaction
    assert backend.pool.status()['checked_out'] == 0


def test_nested_blocks_are_savepoints(live):
    backend, table = live.backend, live.table()
    with backend.transaction():
        backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'outer'))
        with pytest.raises(Boom):
            with backend.transaction():
                assert backend.transaction_manager.depth == 2
                backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (2, 'inner, undone'))
                raise Boom
        with backend.transaction():
            backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (3, 'inner, kept'))
    assert names(backend, table) == ['outer', 'inner, kept']


def test_explicit_savepoints(live):
    backend, table = live.backend, live.table()
    tm = backend.transaction_manager
    with backend.transaction():
        backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'a'))
        tm.savepoint('s1')
        backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (2, 'b'))
        tm.rollback_to('s1')
        backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (3, 'c'))
        tm.release('s1')
        with pytest.raises(ActiveRecordError, match="no open savepoint named 's1'"):
            tm.rollback_to('s1')
    assert names(backend, table) == ['a', 'c']


def test_an_explicit_savepoint_inside_a_failing_block_does_not_save_the_block(live):
    backend, table = live.backend, live.table()
    with backend.transaction():
        with pytest.raises(Boom):
            with backend.transaction():
                backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'before s1'))
                backend.transaction_manager.savepoint('s1')
                backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (2, 'after s1'))
                raise Boom
        assert backend.transaction_manager.depth == 1
    assert names(backend, table) == []


def test_a_transaction_pins_one_connection_and_other_threads_do_not_see_it(live):
    backend, table = live.backend, live.table()
    seen_from_other_thread: list = []
    with backend.transaction():
        pinned = backend.transaction_manager.connection
        backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'uncommitted'))
        for _ in range(3):
            backend.fetch_all(f'SELECT * FROM {table}')
            with backend.connection() as pooled:
                assert pooled is pinned
        assert backend.pool.status()['checked_out'] == 1

        def other() -> None:
            seen_from_other_thread.append((backend.in_transaction, names(backend, table)))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(30)
    assert seen_from_other_thread == [(False, [])]
    assert names(backend, table) == ['uncommitted']


def test_outside_a_transaction_every_statement_autocommits(live):
    backend, table = live.backend, live.table()
    backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'at once'))
    other = live.open()  # its own pool: sees only what was committed
    assert names(other, table) == ['at once']


def test_every_isolation_level_is_given_or_refused(live):
    backend, table = live.backend, live.table()
    available = backend.features.isolation_levels
    assert available, f'{live.name} declares no isolation level'
    for level in IsolationLevel:
        asked = backend.dialect.isolation_aliases.get(level, level)   # PostgreSQL: SNAPSHOT is REPEATABLE READ
        try:
            expected = effective_level(asked, available, backend.name)
        except NotSupportedError:
            with pytest.raises(NotSupportedError, match=level.value):
                with backend.transaction(isolation_level=level):
                    pass  # pragma: no cover - never entered
            continue
        assert expected.strength >= asked.strength
        with backend.transaction(isolation_level=level):
            backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (len(level.value), level.name))
    assert backend.pool.status()['checked_out'] == 0


def test_read_only_transactions_refuse_writes_and_leave_the_connection_writable(live):
    backend, table = live.backend, live.table()
    if not backend.features.read_only_transactions:
        with pytest.raises(NotSupportedError):
            with backend.transaction(read_only=True):
                pass  # pragma: no cover
        return
    backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'a'))
    with pytest.raises(DatabaseError):
        with backend.transaction(read_only=True):
            assert names(backend, table) == ['a']
            backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (2, 'b'))
    backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (3, 'c'))
    assert names(backend, table) == ['a', 'c']


def test_level_and_read_only_belong_to_the_outer_transaction(live):
    backend = live.backend
    with backend.transaction():
        with pytest.raises(ActiveRecordError, match='outermost'):
            backend.transaction_manager.begin(read_only=True)


# -- the transaction manager's own rules ----------------------------------------------------

@pytest.fixture
def memory():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:', pool_size=1))
    backend.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)')
    yield backend
    backend.close()


def test_verbs_outside_a_transaction_are_errors(memory):
    tm = memory.transaction_manager
    for verb, args in ((tm.commit, ()), (tm.rollback, ()), (tm.savepoint, ('s',)),
                       (tm.rollback_to, ('s',)), (tm.release, ('s',))):
        with pytest.raises(ActiveRecordError):
            verb(*args)


def test_explicit_begin_commit_rollback(memory):
    tm = memory.transaction_manager
    tm.begin()
    memory.execute('INSERT INTO t (name) VALUES (?)', ('x',))
    tm.rollback()
    tm.begin()
    memory.execute('INSERT INTO t (name) VALUES (?)', ('y',))
    tm.commit()
    assert memory.fetch_all('SELECT name FROM t') == [{'name': 'y'}]
    assert not tm.is_active and tm.depth == 0


def test_sqlite_maps_levels_and_read_only_to_its_statements(memory, caplog):
    with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
        with memory.transaction():
            pass
        with memory.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
            pass
        with memory.transaction(isolation_level=IsolationLevel.READ_COMMITTED):  # given as SERIALIZABLE
            pass
        with memory.transaction(read_only=True):
            pass
    sent = [record.getMessage().split(' -- ')[0] for record in caplog.records]
    assert sent == ['BEGIN', 'COMMIT', 'BEGIN IMMEDIATE', 'COMMIT', 'BEGIN', 'COMMIT',
                    'BEGIN', 'PRAGMA query_only = ON', 'PRAGMA query_only = OFF', 'COMMIT']


def test_sqlite_refuses_snapshot_and_leaks_no_connection(memory):
    with pytest.raises(NotSupportedError, match='sqlite cannot give isolation level SNAPSHOT'):
        with memory.transaction(isolation_level=IsolationLevel.SNAPSHOT):
            pass  # pragma: no cover
    assert memory.pool.status()['checked_out'] == 0 and not memory.in_transaction


def test_a_failed_commit_ends_the_transaction(memory):
    memory.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)')
    memory.execute('CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER '
                   'REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)')
    with pytest.raises(DatabaseError, match='FOREIGN KEY'):
        with memory.transaction():
            memory.execute('INSERT INTO child (parent_id) VALUES (?)', (42,))  # checked at COMMIT
    assert not memory.in_transaction and memory.pool.status()['checked_out'] == 0
    assert memory.fetch_all('SELECT * FROM child') == []


# -- the mapping rules every dialect shares -------------------------------------------------

LEVELS = IsolationLevel


@pytest.mark.parametrize('available, requested, given', [
    ({LEVELS.READ_COMMITTED, LEVELS.SERIALIZABLE}, LEVELS.READ_UNCOMMITTED, LEVELS.READ_COMMITTED),
    ({LEVELS.READ_COMMITTED, LEVELS.SERIALIZABLE}, LEVELS.REPEATABLE_READ, LEVELS.SERIALIZABLE),
    ({LEVELS.READ_COMMITTED, LEVELS.SERIALIZABLE}, LEVELS.SERIALIZABLE, LEVELS.SERIALIZABLE),
    (set(LEVELS), LEVELS.SNAPSHOT, LEVELS.SNAPSHOT),
])
def test_a_level_is_given_as_itself_or_the_next_stronger_one(available, requested, given):
    assert effective_level(requested, frozenset(available), 'db') is given


@pytest.mark.parametrize('available, requested', [
    ({LEVELS.READ_COMMITTED}, LEVELS.SERIALIZABLE),
    ({LEVELS.READ_COMMITTED, LEVELS.SERIALIZABLE}, LEVELS.SNAPSHOT),
])
def test_a_level_the_database_cannot_give_is_refused_never_weakened(available, requested):
    with pytest.raises(NotSupportedError, match=f'db cannot give isolation level {requested.value}'):
        effective_level(requested, frozenset(available), 'db')


def test_the_base_dialect_writes_standard_begin_statements():
    features = Features(isolation_levels=frozenset({LEVELS.READ_COMMITTED, LEVELS.SERIALIZABLE}))
    dialect = Dialect()
    assert dialect.begin_statements(None, False, features) == ['BEGIN']
    assert dialect.begin_statements(None, True, features) == ['BEGIN READ ONLY']
    assert dialect.begin_statements(LEVELS.REPEATABLE_READ, True, features) == \
        ['BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY']
    with pytest.raises(NotSupportedError, match='read-only'):
        dialect.begin_statements(None, True, features.with_(read_only_transactions=False))
