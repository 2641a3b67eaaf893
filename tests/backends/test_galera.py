"""A three-node MariaDB Galera cluster: conflicting writes through different nodes, retried by
run_transaction, add up exactly; a multi-host config over the nodes survives losing a node.

Galera certifies a transaction at COMMIT against the write sets the other nodes committed
meanwhile; the loser is rolled back and reaches the client as error 1213 (deadlock), which
activerecord marks retryable. The drill counts every attempt, so the numbers show how many
conflicts were retried.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any, Iterator

import pytest

from activerecord import ActiveRecord, errors
from activerecord.backend.impl.mysql.backend import MySQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.support.galera import GaleraCluster, galera_missing

pytestmark = pytest.mark.server

ROWS = 4
THREADS = 8
CALLS_PER_THREAD = 50
RETRIES = 5
#: a read on a node waits until the node has applied every write the cluster committed before it
CAUSAL_READS = 'SET SESSION wsrep_sync_wait = 1'


@pytest.fixture(scope='module')
def cluster() -> Iterator[GaleraCluster]:
    missing = galera_missing()
    if missing is not None:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'CI=true: the Galera tests must run, but {missing}')
        pytest.skip(missing)
    started = time.monotonic()
    with GaleraCluster(3) as live:
        print(f'\nGalera: 3 nodes synced in {time.monotonic() - started:.1f}s')
        yield live


def counter_model(url: str) -> type[Any]:
    """A Counter model of its own, bound to one node."""
    class Counter(ActiveRecord):
        __table_name__ = 'galera_counters'
        id: int
        n: int = 0
    Counter.configure(url)
    return Counter


def causal_backend(url: str) -> MySQLBackend:
    return MySQLBackend(ConnectionConfig.from_url(url, connect_timeout=3, options={'init_command': CAUSAL_READS}))


class FailedStatements(logging.Handler):
    """Counts the statements that failed, from the `activerecord.sql` log, by their first word."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.failed: dict[str, int] = {}
        self._lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ' -- failed: ' in message:
            verb = message.split(None, 1)[0].upper()
            with self._lock_counts:
                self.failed[verb] = self.failed.get(verb, 0) + 1


def test_conflicting_writes_through_three_nodes_add_up(cluster: GaleraCluster) -> None:
    models = [counter_model(cluster.url(node)) for node in cluster.nodes]
    try:
        models[0].create_table()
        models[0].insert_many([{'id': key, 'n': 0} for key in range(1, ROWS + 1)])
        for node in cluster.nodes:   # the table and its rows have reached every node
            check = causal_backend(cluster.url(node))
            try:
                assert check.fetch_value('SELECT @@session.wsrep_sync_wait') == 1
                assert check.fetch_value('SELECT count(*) FROM galera_counters') == ROWS
            finally:
                check.close()

        attempts = [0] * THREADS
        successes = [0] * THREADS
        exhausted: list[errors.DatabaseError] = []
        unexpected: list[BaseException] = []
        statement_errors: list[tuple[Any, bool]] = []
        start = threading.Barrier(THREADS)

        def bump(model: Any, worker: int, key: int) -> int:
            attempts[worker] += 1
            try:
                # read, then write: the other nodes' commits in between make the conflict
                before = model.query().where(id=key).one().n
                model.query().where(id=key).update_all(n=model.c.n + 1)
            except errors.DatabaseError as error:   # a conflict noticed before COMMIT
                statement_errors.append((error.code, error.retryable))
                raise
            return int(before)

        def worker(number: int) -> None:
            model = models[number % len(models)]
            start.wait()
            for call in range(CALLS_PER_THREAD):
                try:
                    model.run_transaction(bump, model, number, 1 + (number + call) % ROWS, retries=RETRIES)
                    successes[number] += 1
                except errors.DatabaseError as error:
                    exhausted.append(error)
                except BaseException as error:
                    unexpected.append(error)

        failed = FailedStatements()
        sql_log = logging.getLogger('activerecord.sql')
        level = sql_log.level
        sql_log.addHandler(failed)
        sql_log.setLevel(logging.DEBUG)
        started = time.monotonic()
        try:
            threads = [threading.Thread(target=worker, args=(number,)) for number in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert not any(thread.is_alive() for thread in threads), 'a drill thread hung'
        finally:
            sql_log.removeHandler(failed)
            sql_log.setLevel(level)
        elapsed = time.monotonic() - started

        calls, succeeded, tried = THREADS * CALLS_PER_THREAD, sum(successes), sum(attempts)
        retried = tried - succeeded - len(exhausted)
        print(f'\nGalera drill: {calls} calls in {elapsed:.1f}s, {tried} attempts, {succeeded} succeeded, '
              f'{retried} conflicts retried, {len(exhausted)} gave up after {RETRIES} retries; '
              f'failed statements by verb: {failed.failed}; before COMMIT: {len(statement_errors)}')

        assert not unexpected, unexpected
        # a call that gave up did so on a retryable error (a conflict), never on anything else
        assert all(error.retryable and error.code == 1213 for error in exhausted), exhausted
        assert all(code == 1213 and retryable for code, retryable in statement_errors), statement_errors
        assert succeeded + len(exhausted) == calls
        assert retried > 0, 'no certification conflict happened: the drill tested nothing'
        assert failed.failed.get('COMMIT', 0) > 0, 'no conflict surfaced at COMMIT'

        # every node holds the same counters, and they count exactly the calls that succeeded
        seen: list[list[int]] = []
        for node in cluster.nodes:
            check = causal_backend(cluster.url(node))
            try:
                seen.append([row['n'] for row in check.fetch_all('SELECT n FROM galera_counters ORDER BY id')])
            finally:
                check.close()
        assert seen[0] == seen[1] == seen[2], seen
        assert sum(seen[0]) == succeeded
    finally:
        for model in models:
            model.backend().close()


def test_multi_host_over_the_nodes_survives_losing_node_one(cluster: GaleraCluster) -> None:
    first, second = cluster.nodes[0], cluster.nodes[1]
    for node in cluster.running:   # a Galera node accepts writes: read-write takes any of them
        assert cluster.value(node, 'SELECT @@read_only') == 0
    backend = MySQLBackend(ConnectionConfig.from_url(cluster.multi_host_url(), connect_timeout=3))
    try:
        assert backend.config.session_attrs == 'read-write'
        assert backend.fetch_value('SELECT @@port') == first.port
        cluster.stop(first)   # leaves the cluster cleanly; nodes 2 and 3 keep quorum
        try:
            # the pooled connection to node 1 is dead: the statement fails, retryable, and the
            # pool discards it; the next checkout connects to node 2
            try:
                port = backend.fetch_value('SELECT @@port')
            except errors.OperationalError as error:
                assert error.retryable, error
                port = backend.fetch_value('SELECT @@port')
            assert port == second.port
            backend.execute('CREATE TABLE IF NOT EXISTS galera_after_loss (id INTEGER PRIMARY KEY)')
            assert backend.execute('INSERT INTO galera_after_loss (id) VALUES (?)', (1,)) == 1
        finally:
            cluster.start(first)   # rejoins the other two (by IST) before the module ends
        assert cluster.value(first, 'SELECT count(*) FROM test.galera_after_loss') == 1
    finally:
        backend.close()


def test_a_node_lost_while_commit_is_in_flight_is_ambiguous_and_not_retried(cluster: GaleraCluster) -> None:
    doomed, peers = cluster.nodes[2], cluster.nodes[:2]
    backend = MySQLBackend(ConnectionConfig.from_url(cluster.url(doomed), connect_timeout=3))
    calls: list[int] = []
    updated = threading.Event()
    outcome: list[BaseException | None] = []

    def bump() -> None:
        calls.append(1)
        backend.execute('UPDATE galera_ambiguous SET n = n + 1 WHERE id = 1')
        updated.set()

    def commit_in_flight() -> None:
        try:
            backend.run_transaction(bump, retries=3)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    try:
        backend.execute('CREATE TABLE galera_ambiguous (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)')
        backend.execute('INSERT INTO galera_ambiguous (id, n) VALUES (1, 0)')
        # With its peers frozen the node cannot get its write set delivered, so COMMIT waits
        # (for the peers or, after evs.suspect_timeout, for a new view): the node dies meanwhile.
        for peer in peers:
            assert peer.pid is not None
            os.kill(peer.pid, signal.SIGSTOP)
        try:
            thread = threading.Thread(target=commit_in_flight)
            thread.start()
            assert updated.wait(10), 'the UPDATE before COMMIT did not run'
            time.sleep(0.5)
            assert thread.is_alive() and not outcome, f'COMMIT finished although the peers are frozen: {outcome}'
            cluster.stop(doomed, 'immediate')
            thread.join(10)
            assert not thread.is_alive(), 'COMMIT did not fail after its node was killed'
        finally:
            for peer in peers:
                if peer.pid is not None:
                    os.kill(peer.pid, signal.SIGCONT)
        assert calls == [1], 'run_transaction ran the transaction again after an ambiguous COMMIT'
        assert isinstance(outcome[0], errors.AmbiguousCommitError), outcome
        assert outcome[0].retryable is False
        cluster.wait_synced()   # the two survivors agree on a cluster of two
        # what the killed COMMIT did is for the survivors to say: either outcome is allowed
        assert cluster.value(peers[0], 'SELECT n FROM test.galera_ambiguous WHERE id = 1') in (0, 1)
    finally:
        backend.close()
        # node 3 stays down: this is the module's last test, and a node killed this way
        # rejoins only by a full SST (seconds) that nothing after it needs
