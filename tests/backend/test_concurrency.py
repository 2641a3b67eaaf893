"""16 threads doing transactions on a WAL file database through a pool of 4: no error, nothing leaked."""
from __future__ import annotations

import threading
import time

from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.typing import ConnectionConfig

THREADS = 16
ROUNDS = 25
POOL_SIZE = 4


def test_sixteen_threads_share_a_pool_of_four(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(
        database=str(tmp_path / 'busy.db'), options={'journal_mode': 'WAL', 'synchronous': 'NORMAL'},
        pool_size=POOL_SIZE, max_overflow=0, pool_timeout=30))
    backend.execute_script("""
        CREATE TABLE orders (id INTEGER PRIMARY KEY, thread INTEGER NOT NULL);
        CREATE TABLE lines (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id), n INTEGER);
        CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counter (id, value) VALUES (1, 0);
    """)
    failures: list[BaseException] = []
    most_checked_out = most_open = 0
    running = True
    start = threading.Barrier(THREADS + 1)

    def watch() -> None:
        nonlocal most_checked_out, most_open
        while running:
            status = backend.pool.status()
            most_checked_out = max(most_checked_out, status['checked_out'])
            most_open = max(most_open, status['open'])
            time.sleep(0.001)

    def work(number: int) -> None:
        try:
            start.wait()
            for round_number in range(ROUNDS):
                # Write-first transaction: a deferred BEGIN takes the write lock at the INSERT.
                with backend.transaction():
                    order_id = backend.insert_returning_key('INSERT INTO orders (thread) VALUES (?)', (number,))
                    backend.executemany('INSERT INTO lines (order_id, n) VALUES (?, ?)',
                                        [(order_id, 1), (order_id, 2)])
                # Read-modify-write: SERIALIZABLE (BEGIN IMMEDIATE) takes the write lock up front.
                with backend.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
                    value = backend.fetch_value('SELECT value FROM counter WHERE id = ?', (1,))
                    backend.execute('UPDATE counter SET value = ? WHERE id = ?', (value + 1, 1))
                # A nested block that fails undoes only itself.
                with backend.transaction():
                    backend.execute('INSERT INTO orders (thread) VALUES (?)', (-number - 1,))
                    try:
                        with backend.transaction():
                            backend.execute('INSERT INTO lines (order_id, n) VALUES (?, ?)', (-1, round_number))
                    except Exception:  # the foreign key fails: expected, and rolled back to the savepoint
                        pass
                backend.fetch_all('SELECT COUNT(*) AS n FROM orders WHERE thread = ?', (number,))
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=work, args=(number,)) for number in range(THREADS)]
    watcher.start()
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join(120)
    elapsed = time.perf_counter() - started
    running = False
    watcher.join(5)

    assert failures == []
    assert not any(worker.is_alive() for worker in workers)
    total = THREADS * ROUNDS
    assert backend.fetch_value('SELECT value FROM counter') == total
    assert backend.fetch_value('SELECT COUNT(*) FROM orders WHERE thread >= 0') == total
    assert backend.fetch_value('SELECT COUNT(*) FROM orders WHERE thread < 0') == total
    assert backend.fetch_value('SELECT COUNT(*) FROM lines') == 2 * total
    status = backend.pool.status()
    assert status['checked_out'] == 0 and status['idle'] == status['open'] <= POOL_SIZE
    assert most_checked_out == most_open == POOL_SIZE  # the pool was the bottleneck, never exceeded
    print(f'\n{THREADS} threads x {ROUNDS} rounds x 3 transactions on a pool of {POOL_SIZE}: '
          f'{elapsed:.2f}s, {3 * total / elapsed:.0f} transactions/s, final status {status}')
    backend.close()
    assert backend.pool.status()['open'] == 0
