"""run_transaction retries retryable failures; a COMMIT lost in flight is AmbiguousCommitError.

The connection-loss cases run on the scripted fake driver (a real server cannot be told to drop
the connection exactly while COMMIT is in flight); `.retryable` of real deadlock-class errors
and `Model.run_transaction` run on every live backend.
"""
from __future__ import annotations

import oracledb
import pymysql
import pytds
import pytest

from activerecord import ActiveRecord, errors
from activerecord.backend.registry import backend_class_for
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.typing import ConnectionConfig

from . import fake_driver
from .fake_driver import GONE, FakeServer, make_backend


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


def test_connection_lost_while_commit_is_in_flight_is_ambiguous_and_never_retried(server) -> None:
    backend = make_backend(server)
    lost = fake_driver.OperationalError(GONE)
    server.errors['COMMIT'] = lost
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        backend.execute('UPDATE t SET n = n + 1')

    with pytest.raises(errors.AmbiguousCommitError) as caught:
        backend.run_transaction(work, retries=3)
    assert calls == [1]
    assert caught.value.__cause__ is lost               # chained from the driver's error
    assert caught.value.retryable is False
    assert isinstance(caught.value, errors.OperationalError)
    assert server.sent('COMMIT') == 1
    assert not backend.in_transaction and backend.pool.status()['checked_out'] == 0


def test_connection_lost_before_commit_is_retryable_and_run_again(server) -> None:
    backend = make_backend(server)
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) == 1:
            backend.transaction_manager.connection.raw.alive = False   # the server drops it
        backend.execute('UPDATE t SET n = n + 1')
        return 'done'

    assert backend.run_transaction(work) == 'done'
    assert len(calls) == 2
    assert server.sent('COMMIT') == 1                   # only the second attempt reached COMMIT
    assert backend.pool.status()['checked_out'] == 0


def test_a_lost_connection_whose_error_was_swallowed_is_not_committed_but_retried(server) -> None:
    backend = make_backend(server)
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            backend.transaction_manager.connection.raw.alive = False
            with pytest.raises(errors.OperationalError) as caught:
                backend.execute('UPDATE t SET n = n + 1')
            assert caught.value.retryable
            return   # the block "succeeds": its COMMIT must not be sent on the lost connection
        backend.execute('UPDATE t SET n = n + 1')

    backend.run_transaction(work)
    assert len(calls) == 2
    assert server.sent('COMMIT') == 1


@pytest.mark.parametrize('retries', [0, 2])
def test_retries_counts_extra_attempts_and_the_last_error_is_raised(server, retries) -> None:
    backend = make_backend(server)
    server.errors['UPDATE t'] = fake_driver.ServerError('deadlock detected', sqlstate='40P01')
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        backend.execute('UPDATE t')

    with pytest.raises(errors.OperationalError) as caught:
        backend.run_transaction(work, retries=retries)
    assert caught.value.retryable and caught.value.sqlstate == '40P01'
    assert len(calls) == retries + 1
    assert server.sent('COMMIT') == 0 and backend.pool.status()['checked_out'] == 0


def test_an_error_that_is_not_retryable_is_raised_at_once(server) -> None:
    backend = make_backend(server)
    server.errors['INSERT dup'] = fake_driver.IntegrityError('duplicate key')
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        backend.execute('INSERT dup')

    with pytest.raises(errors.IntegrityError) as caught:
        backend.run_transaction(work)
    assert not caught.value.retryable
    assert calls == [1]


def test_inside_an_open_transaction_fn_runs_once_in_a_savepoint(server) -> None:
    backend = make_backend(server)
    server.errors['UPDATE t'] = fake_driver.ServerError('serialization failure', sqlstate='40001')
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        backend.execute('UPDATE t')

    with pytest.raises(errors.OperationalError):
        with backend.transaction():
            backend.run_transaction(work, retries=5)
    assert calls == [1]                                  # the outer transaction is doomed: no retry
    assert any(sql.startswith('SAVEPOINT') for _, sql, _ in server.statements)


# -- on every backend of the matrix ---------------------------------------------------------

class Counter(ActiveRecord):
    __table_name__ = 'ar_retry_counters'
    id: int
    n: int


def _serialization_failure(backend, other, update: str, counter_id: int) -> None:
    Counter.find_one(counter_id)                        # the snapshot is taken here
    other.execute(update, (counter_id,))                # another session commits a change to it
    backend.execute(update, (counter_id,))              # 40001: could not serialize access


def _lock_wait_timeout(backend, other, update: str, counter_id: int) -> None:
    backend.execute('SET SESSION innodb_lock_wait_timeout = 1')
    try:
        with other.transaction():
            other.execute(update, (counter_id,))        # holds the row lock
            backend.execute(update, (counter_id,))      # waits 1 s, then error 1205
    finally:
        backend.execute('SET SESSION innodb_lock_wait_timeout = DEFAULT')


def _busy(backend, other, update: str, counter_id: int) -> None:
    backend.execute('PRAGMA busy_timeout = 0')
    try:
        with other.transaction():
            other.execute(update, (counter_id,))        # holds the write lock
            backend.execute(update, (counter_id,))      # SQLITE_BUSY at once
    finally:
        backend.execute('PRAGMA busy_timeout = 5000')


#: how each database loses a race, and the isolation level the loser runs at
CONTENTION = {'postgresql': (_serialization_failure, IsolationLevel.REPEATABLE_READ),
              'mysql': (_lock_wait_timeout, IsolationLevel.REPEATABLE_READ),
              'sqlite': (_busy, None)}


def test_a_lost_race_is_retryable_and_run_transaction_runs_it_again(db, tmp_path) -> None:
    if db.name == 'sqlite':   # two sessions on one database: a file, not a private ':memory:'
        db.url = f'sqlite:///{tmp_path}/race.db'
    db.use(Counter)
    counter = Counter.create(n=0)
    backend = Counter.backend()
    other = backend_class_for(backend.config.scheme)(backend.config)   # a second pool
    table = backend.dialect.quote(Counter.__table_name__)
    contend, level = CONTENTION[db.name]
    attempts: list[BaseException | None] = []

    def bump() -> int:
        if not attempts:
            try:
                contend(backend, other, f'UPDATE {table} SET n = n + 1 WHERE id = ?', counter.id)
            except errors.DatabaseError as error:
                attempts.append(error)
                raise
        attempts.append(None)
        backend.execute(f'UPDATE {table} SET n = n + 10 WHERE id = ?', (counter.id,))
        return Counter.find_one(counter.id).n

    try:
        result = Counter.run_transaction(bump, isolation_level=level)
    finally:
        other.close()
    first = attempts[0]
    assert isinstance(first, errors.OperationalError) and first.retryable, repr(first)
    assert attempts[1:] == [None]
    assert result == Counter.find_one(counter.id).n


# -- the retryable tables of the backends without a live server here -------------------------

class _OracleErrorObject:
    """What oracledb puts in args[0]: an object with the full 'ORA-nnnnn' code."""

    def __init__(self, full_code: str) -> None:
        self.full_code = full_code
        self.message = f'{full_code}: test'
        self.isrecoverable = False


def _oracle_error(full_code: str) -> BaseException:
    return oracledb.DatabaseError(_OracleErrorObject(full_code))


def _mssql_error(number: int) -> BaseException:
    error = pytds.tds_base.OperationalError(f'error {number}')
    error.msg_no = number
    return error


def _mysql_error(number: int) -> BaseException:
    return pymysql.err.OperationalError(number, f'error {number}')


@pytest.mark.parametrize('scheme, make_error, retryable', [
    ('mysql', lambda: _mysql_error(1213), True), ('mysql', lambda: _mysql_error(1205), True),
    ('mysql', lambda: _mysql_error(1062), False),
    ('mssql', lambda: _mssql_error(1205), True), ('mssql', lambda: _mssql_error(3960), True),
    ('mssql', lambda: _mssql_error(2627), False),
    ('oracle', lambda: _oracle_error('ORA-00060'), True), ('oracle', lambda: _oracle_error('ORA-08177'), True),
    ('oracle', lambda: _oracle_error('ORA-00001'), False),
])
def test_deadlocks_and_serialization_failures_are_retryable_per_backend(scheme, make_error, retryable) -> None:
    backend = backend_class_for(scheme)(ConnectionConfig(database='x', host='db.invalid'))
    error = backend.translate_error(make_error())
    assert error.retryable is retryable, (scheme, error)
