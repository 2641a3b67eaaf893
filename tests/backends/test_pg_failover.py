"""Multi-host configs on a real PostgreSQL primary with two hot standbys, and a failover drill.

The pool connects to the first listed host that accepts writes (target_session_attrs=read-write,
the default with several hosts) or to the first that answers (any); after the primary dies
and a standby is promoted, the next checkout finds the new primary.
"""
from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.support.pg_replication import ReplicatedPostgres

pytestmark = pytest.mark.server

WRITERS = 8
#: how long writes may take to resume after the promotion (the issue's bound)
RESUME_WITHIN = 10.0


@pytest.fixture(scope='module')
def cluster() -> Iterator[ReplicatedPostgres]:
    with ReplicatedPostgres(standbys=2) as live:
        yield live


def backend_for(url: str, **changes: object) -> PostgreSQLBackend:
    return PostgreSQLBackend(ConnectionConfig.from_url(url, connect_timeout=3, **changes))


def test_read_write_skips_the_standbys_listed_first(cluster: ReplicatedPostgres) -> None:
    backend = backend_for(cluster.multi_host_url())   # standby 1, standby 2, then the primary
    try:
        assert backend.config.session_attrs == 'read-write'
        assert backend.fetch_value('SELECT inet_server_port()') == cluster.primary.port
        assert backend.fetch_value('SELECT pg_is_in_recovery()') is False
    finally:
        backend.close()


def test_any_takes_the_first_host_that_answers(cluster: ReplicatedPostgres) -> None:
    backend = backend_for(cluster.multi_host_url(query='target_session_attrs=any'))
    try:
        assert backend.fetch_value('SELECT inet_server_port()') == cluster.standbys[0].port
        assert backend.fetch_value('SELECT pg_is_in_recovery()') is True
    finally:
        backend.close()


def test_hosts_that_do_not_answer_are_skipped(cluster: ReplicatedPostgres) -> None:
    # port 1: nothing listens there, the connection is refused at once
    url = f'postgresql://postgres@127.0.0.1:1,127.0.0.1:{cluster.primary.port}/postgres'
    backend = backend_for(url)
    try:
        assert backend.fetch_value('SELECT inet_server_port()') == cluster.primary.port
    finally:
        backend.close()


def test_a_standby_refuses_writes_with_read_only_error(cluster: ReplicatedPostgres) -> None:
    standby = cluster.standbys[0]
    backend = backend_for(f'postgresql://postgres@{standby.host}:{standby.port}/postgres')
    try:
        with pytest.raises(errors.ReadOnlyError, match='read-only transaction') as caught:
            backend.execute('CREATE TABLE ar_on_a_standby (n INTEGER)')
        assert caught.value.sqlstate == '25006'
        assert backend.fetch_value('SELECT 1') == 1   # the connection is still good for reads
    finally:
        backend.close()


def test_no_host_accepting_writes_names_every_host_tried(cluster: ReplicatedPostgres) -> None:
    url = cluster.multi_host_url(cluster.standbys, query='target_session_attrs=read-write')
    backend = backend_for(url)
    try:
        with pytest.raises(errors.OperationalError) as caught:
            backend.fetch_value('SELECT 1')
        message = str(caught.value)
        for standby in cluster.standbys:
            assert f'{standby.host}:{standby.port} (does not accept writes)' in message
        assert 'target_session_attrs=read-write' in message
        assert caught.value.retryable   # a standby may be promoted by the next attempt
        assert backend.pool.status()['open'] == 0   # the standbys' connections were closed
    finally:
        backend.close()


def test_failover_drill_loses_nothing_committed_and_writes_resume() -> None:
    """8 writers through run_transaction; the primary is killed and standby 1 promoted."""
    with ReplicatedPostgres(standbys=2, synchronous=True) as cluster:
        new_primary = cluster.standbys[0]
        cluster.execute(cluster.primary, 'CREATE TABLE ar_failover (key TEXT NOT NULL)')  # no key: duplicates show
        # The primary listed last: while it is down, the probe walks the standbys first.
        backend = backend_for(cluster.multi_host_url([*cluster.standbys, cluster.primary]),
                              pool_size=WRITERS, max_overflow=0)
        committed: list[str] = []
        ambiguous: list[str] = []
        failed: list[tuple[str, errors.DatabaseError]] = []
        unexpected: list[BaseException] = []
        resumed_at: dict[int, float] = {}
        promoted_at: list[float] = []
        stop = threading.Event()
        lock = threading.Lock()

        def insert(key: str) -> None:
            backend.execute('INSERT INTO ar_failover (key) VALUES (?)', [key])

        def writer(number: int) -> None:
            attempt = 0
            while not stop.is_set():
                attempt += 1
                key = f'{number}-{attempt}'
                try:
                    backend.run_transaction(insert, key, retries=3)
                except errors.AmbiguousCommitError:
                    with lock:
                        ambiguous.append(key)
                except errors.DatabaseError as error:
                    with lock:
                        failed.append((key, error))
                    time.sleep(0.05)
                except BaseException as error:   # anything else is a failure of the drill
                    with lock:
                        unexpected.append(error)
                    return
                else:
                    with lock:
                        committed.append(key)
                        if promoted_at and number not in resumed_at:
                            resumed_at[number] = time.monotonic()
                time.sleep(0.002)

        threads = [threading.Thread(target=writer, args=(number,), daemon=True) for number in range(WRITERS)]
        try:
            for thread in threads:
                thread.start()
            time.sleep(0.5)
            with lock:
                before = len(committed)
            cluster.primary.stop('immediate')
            cluster.promote(new_primary)
            with lock:
                promoted_at.append(time.monotonic())
            deadline = promoted_at[0] + RESUME_WITHIN
            while len(resumed_at) < WRITERS and time.monotonic() < deadline and not unexpected:
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
            backend.close()

        assert not unexpected
        assert before > 0, 'no write committed before the primary was killed'
        assert len(resumed_at) == WRITERS, f'writers {sorted(resumed_at)} wrote within {RESUME_WITHIN:g}s'
        for key, error in failed:
            assert error.retryable, f'{key}: {error!r} is neither retryable nor AmbiguousCommitError'
        rows = cluster.rows(new_primary, 'SELECT key, count(*) AS n FROM ar_failover GROUP BY key')
        counts = {str(row['key']): int(row['n']) for row in rows}
        assert all(count == 1 for count in counts.values()), 'a transaction was stored twice'
        missing = [key for key in committed if key not in counts]
        assert not missing, f'committed but lost in the failover: {missing}'
        # A failure that was not ambiguous rolled back: its row is nowhere.
        assert not [key for key, _ in failed if key in counts]
        assert set(counts) <= set(committed) | set(ambiguous)
