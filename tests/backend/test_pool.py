"""The generic pool: size, overflow, bounded waits, recycle, pre-ping, reset, invalidation, close.

The pool's bookkeeping is driven through a scripted DB-API module (fake_driver), where a test
can drop a connection or fail a connect on cue; the same behaviours are then checked on real
SQLite connections.
"""
from __future__ import annotations

import threading
import time

import pytest

from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ActiveRecordError, OperationalError, PoolTimeout

from .fake_driver import GONE, FakeServer, make_backend


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


def test_connections_open_lazily_and_status_counts_them(server):
    backend = make_backend(server, pool_size=2, max_overflow=1)
    assert backend.pool.status() == {'size': 2, 'open': 0, 'checked_out': 0, 'idle': 0,
                                     'overflow': 0, 'max_overflow': 1}
    first = backend.pool.checkout()
    second = backend.pool.checkout()
    third = backend.pool.checkout()
    assert backend.pool.status() == {'size': 2, 'open': 3, 'checked_out': 3, 'idle': 0,
                                     'overflow': 1, 'max_overflow': 1}
    for pooled in (first, second, third):
        backend.pool.release(pooled)
    # Only pool_size connections are kept: the overflow one is closed on return.
    assert backend.pool.status() == {'size': 2, 'open': 2, 'checked_out': 0, 'idle': 2,
                                     'overflow': 0, 'max_overflow': 1}
    assert server.open_now == 2
    assert sum(connection.closed for connection in server.connections) == 1


def test_idle_connections_are_reused_newest_first(server):
    backend = make_backend(server, pool_size=3)
    a, b = backend.pool.checkout(), backend.pool.checkout()
    backend.pool.release(a)
    backend.pool.release(b)
    assert backend.pool.checkout() is b
    assert len(server.connections) == 2


def test_exhausted_pool_raises_pool_timeout_with_its_state_after_the_timeout(server):
    backend = make_backend(server, pool_size=1, max_overflow=1, pool_timeout=0.2)
    held = [backend.pool.checkout(), backend.pool.checkout()]
    started = time.monotonic()
    with pytest.raises(PoolTimeout) as caught:
        backend.pool.checkout()
    waited = time.monotonic() - started
    assert 0.19 <= waited < 2
    assert caught.value.status == {'size': 1, 'open': 2, 'checked_out': 2, 'idle': 0,
                                   'overflow': 1, 'max_overflow': 1}
    message = str(caught.value)
    assert 'within 0.2s' in message and 'checked_out=2' in message and 'size=1' in message
    assert isinstance(caught.value, OperationalError)
    for pooled in held:
        backend.pool.release(pooled)
    assert backend.pool.status()['checked_out'] == 0


def test_a_waiting_checkout_gets_the_connection_another_thread_returns(server):
    backend = make_backend(server, pool_size=1, max_overflow=0, pool_timeout=5)
    held = backend.pool.checkout()
    got = []
    waiter = threading.Thread(target=lambda: got.append(backend.pool.checkout()))
    waiter.start()
    time.sleep(0.1)
    assert not got  # still waiting: the pool is exhausted
    backend.pool.release(held)
    waiter.join(5)
    assert got == [held]
    assert len(server.connections) == 1


def test_a_failed_connect_gives_its_slot_back(server):
    backend = make_backend(server, pool_size=1, max_overflow=0, pool_timeout=0.5,
                           host='db.internal', port=6000, password='hunter2-secret')
    server.connect_error = server_error = ConnectionRefusedError('connection refused (password hunter2-secret)')
    with pytest.raises(OperationalError) as caught:
        backend.execute('SELECT 1')
    assert caught.value.__cause__ is server_error
    assert 'cannot connect to fake at db.internal:6000' in str(caught.value)
    assert 'hunter2-secret' not in str(caught.value)
    assert backend.pool.status()['open'] == 0 and backend.pool.status()['checked_out'] == 0
    assert backend.fetch_one('SELECT 1')['connection_id'] == 1  # the slot was free again


def test_returned_connections_are_rolled_back(server):
    backend = make_backend(server, pool_size=1)
    pooled = backend.pool.checkout()
    pooled.raw.cursor().execute('BEGIN')
    backend.pool.release(pooled)
    assert pooled.raw.rollbacks == 1 and not pooled.raw.in_transaction
    # A connection without an open transaction is not rolled back needlessly.
    backend.pool.release(backend.pool.checkout())
    assert pooled.raw.rollbacks == 1


def test_a_connection_whose_reset_fails_is_discarded(server):
    backend = make_backend(server, pool_size=2)
    pooled = backend.pool.checkout()
    pooled.raw.cursor().execute('BEGIN')
    pooled.raw.alive = False  # the rollback on return will fail
    backend.pool.release(pooled)
    assert pooled.invalidated and pooled.raw.closed
    assert backend.pool.status()['open'] == 0


def test_pool_recycle_replaces_old_connections(server):
    backend = make_backend(server, pool_size=1, pool_recycle=0.05)
    first = backend.fetch_one('SELECT 1')['connection_id']
    assert backend.fetch_one('SELECT 1')['connection_id'] == first  # young: reused
    time.sleep(0.1)
    assert backend.fetch_one('SELECT 1')['connection_id'] == first + 1
    assert server.connections[0].closed
    assert backend.pool.status()['open'] == 1


def test_pre_ping_replaces_a_dropped_connection_before_handing_it_out(server):
    backend = make_backend(server, pool_size=1, pool_pre_ping=True)
    assert backend.fetch_one('SELECT ?', (7,)) == {'connection_id': 1, 'p1': 7}
    server.kill_all()
    assert backend.fetch_one('SELECT ?', (8,)) == {'connection_id': 2, 'p1': 8}
    assert server.connections[0].closed
    pings = server.sent('SELECT 1')
    backend.fetch_one('SELECT ?', (9,))
    assert server.sent('SELECT 1') == pings + 1  # every checkout of an idle connection pings it


def test_without_pre_ping_a_dropped_connection_fails_once_is_invalidated_and_never_rerun(server):
    backend = make_backend(server, pool_size=2)
    backend.execute('UPDATE t SET n = n + 1')
    server.kill_all()
    with pytest.raises(OperationalError) as caught:
        backend.execute('UPDATE t SET n = n + 2')
    assert GONE in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)
    # Sent exactly once: the pool never re-runs a failed statement on a new connection.
    assert server.sent('UPDATE t SET n = n + 2') == 1
    assert backend.pool.status() == {'size': 2, 'open': 0, 'checked_out': 0, 'idle': 0,
                                     'overflow': 0, 'max_overflow': 10}
    assert server.connections[0].closed
    backend.execute('UPDATE t SET n = n + 3')  # the next statement gets a fresh connection
    assert server.statements[-1][0] == 2


def test_an_error_that_is_not_a_disconnect_keeps_the_connection(server):
    from .fake_driver import IntegrityError
    backend = make_backend(server, pool_size=1)
    server.errors['INSERT INTO t VALUES (1)'] = IntegrityError('duplicate key')
    with pytest.raises(Exception):
        backend.execute('INSERT INTO t VALUES (1)')
    assert backend.pool.status()['idle'] == 1
    assert backend.fetch_one('SELECT 1')['connection_id'] == 1


def test_close_closes_idle_connections_now_and_busy_ones_when_they_return(server):
    backend = make_backend(server, pool_size=3)
    busy = backend.pool.checkout()
    backend.pool.release(backend.pool.checkout())
    backend.close()
    assert server.open_now == 1 and not busy.raw.closed
    backend.pool.release(busy)
    assert busy.raw.closed and server.open_now == 0
    assert backend.pool.status()['open'] == 0
    with pytest.raises(ActiveRecordError, match='pool is closed'):
        backend.pool.checkout()


def test_many_threads_never_exceed_size_plus_overflow_and_all_come_back(server):
    backend = make_backend(server, pool_size=2, max_overflow=1, pool_timeout=10)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                with backend.connection() as pooled:
                    assert not pooled.invalidated
        except BaseException as error:  # reported below: a thread's error must fail the test
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert server.most_open <= 3
    assert backend.pool.status()['checked_out'] == 0
    assert backend.pool.status()['open'] == server.open_now <= 3


# -- the same behaviours on real SQLite connections ------------------------------------------

def test_sqlite_pool_rolls_back_an_abandoned_transaction_on_return(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'pool.db'), pool_size=1))
    backend.execute('CREATE TABLE t (n INTEGER)')
    pooled = backend.pool.checkout()
    pooled.raw.execute('BEGIN')
    pooled.raw.execute('INSERT INTO t VALUES (1)')
    backend.pool.release(pooled)
    assert not pooled.raw.in_transaction
    assert backend.fetch_all('SELECT n FROM t') == []
    backend.close()


def test_sqlite_pool_timeout_and_status(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'pool.db'), pool_size=1,
                                             max_overflow=0, pool_timeout=0.1))
    with backend.transaction():
        assert backend.pool.status()['checked_out'] == 1
        errors = []
        # Another thread needs a connection while this one's transaction holds the only one.
        thread = threading.Thread(target=lambda: _catch(errors, backend.fetch_one, 'SELECT 1'))
        thread.start()
        thread.join(5)
        assert len(errors) == 1 and isinstance(errors[0], PoolTimeout)
        assert errors[0].status['checked_out'] == 1 and errors[0].status['open'] == 1
    assert backend.pool.status() == {'size': 1, 'open': 1, 'checked_out': 0, 'idle': 1,
                                     'overflow': 0, 'max_overflow': 0}
    backend.close()


def test_sqlite_closed_connection_is_invalidated_and_replaced(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'pool.db'), pool_size=1))
    backend.execute('CREATE TABLE t (n INTEGER)')
    with backend.connection() as pooled:
        raw = pooled.raw
    raw.close()  # as if the connection had died while idle
    with pytest.raises(OperationalError, match='closed database'):
        backend.execute('INSERT INTO t VALUES (1)')
    assert backend.pool.status()['open'] == 0
    backend.execute('INSERT INTO t VALUES (2)')
    assert backend.fetch_all('SELECT n FROM t') == [{'n': 2}]  # the failed insert was not re-run
    backend.close()


def test_sqlite_pre_ping_hides_a_closed_idle_connection(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'pool.db'), pool_size=1,
                                             pool_pre_ping=True))
    backend.execute('CREATE TABLE t (n INTEGER)')
    with backend.connection() as pooled:
        raw = pooled.raw
    raw.close()
    backend.execute('INSERT INTO t VALUES (1)')
    assert backend.fetch_all('SELECT n FROM t') == [{'n': 1}]
    backend.close()


def _catch(errors: list, function, *args):
    try:
        function(*args)
    except Exception as error:
        errors.append(error)


def test_the_pool_cost_script_measures_every_figure(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[2] / 'scripts' / 'pool_cost.py'
    output = tmp_path / 'cost.json'
    result = subprocess.run([sys.executable, str(script), '--backends', 'sqlite', '--rounds', '500',
                             '--json', str(output)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    figures = json.loads(output.read_text())['backends']['sqlite']
    assert set(figures) == {'checkout', 'return', 'pair', 'contended', 'pair+ping'}
    for values in figures.values():
        assert 0 < values['median_us'] <= values['p90_us'] <= values['p99_us']
    assert 'sqlite      pair' in result.stdout
