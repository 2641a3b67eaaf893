"""Replica routing on a real PostgreSQL primary with two hot standbys (streaming replication).

Which server answered is told by `SELECT inet_server_port()`: the primary and each standby
listen on ports of their own.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from typing import Any, Iterator, cast

import pytest

from activerecord import ActiveRecord, errors
from activerecord.cli import _report as report, check  # pyright: ignore[reportPrivateUsage] - check's report of a routed backend
from activerecord.backend.routing import ReplicaRouter
from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_for_url
from tests.support.pg_replication import ReplicatedPostgres
from tests.support.threads import in_thread
from tests.support.replica_drill import drill

pytestmark = pytest.mark.server

PORT = 'SELECT inet_server_port()'


@pytest.fixture(scope='module')
def cluster() -> Iterator[ReplicatedPostgres]:
    with ReplicatedPostgres(standbys=2) as live:
        live.execute(live.primary, 'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)')
        yield live


class Item(ActiveRecord):
    __tablename__ = 'items'
    id: int | None = None
    name: str


def configure(cluster: ReplicatedPostgres, **settings: Any) -> StorageBackend:
    return Item.configure(cluster.primary.url + '?connect_timeout=3',
                          replicas=[standby.url + '?connect_timeout=3' for standby in cluster.standbys],
                          **settings)


@pytest.fixture
def backend(cluster: ReplicatedPostgres) -> Iterator[StorageBackend]:
    routed = configure(cluster)
    wait_caught_up(cluster)
    try:
        yield routed
    finally:
        for standby in cluster.standbys:
            if standby.running and cluster.value(standby, 'SELECT pg_is_wal_replay_paused()'):
                cluster.value(standby, 'SELECT pg_wal_replay_resume()')
        routed.close()


def wait_caught_up(cluster: ReplicatedPostgres, timeout: float = 10.0) -> None:
    """Return once every running standby has replayed all the primary has written."""
    target = cluster.value(cluster.primary, 'SELECT pg_current_wal_insert_lsn()::text')
    deadline = time.monotonic() + timeout
    for standby in cluster.standbys:
        while not cluster.value(standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            assert time.monotonic() < deadline, f'{standby!r} did not catch up'
            time.sleep(0.02)



def pause_replay(cluster: ReplicatedPostgres, standbys: list[Any] | None = None) -> None:
    """Pause replay and return once it has paused (the request alone does not wait)."""
    chosen = cluster.standbys if standbys is None else standbys
    for standby in chosen:
        cluster.value(standby, 'SELECT pg_wal_replay_pause()')
    deadline = time.monotonic() + 10
    for standby in chosen:
        while cluster.value(standby, 'SELECT pg_get_wal_replay_pause_state()') != 'paused':
            assert time.monotonic() < deadline, f'{standby!r} did not pause'
            time.sleep(0.01)


def test_reads_are_spread_over_the_replicas(cluster: ReplicatedPostgres, backend: StorageBackend) -> None:
    ports = in_thread(lambda: [backend.fetch_value(PORT) for _ in range(20)])
    standby_ports = {standby.port for standby in cluster.standbys}
    assert set(ports) == standby_ports
    assert min(ports.count(port) for port in standby_ports) >= 5   # round robin, both used
    assert backend.router is not None and backend.router.reads_served()['primary'] == 0


def test_writes_transactions_and_locking_reads_go_to_the_primary(cluster: ReplicatedPostgres,
                                                                 backend: StorageBackend) -> None:
    primary = cluster.primary.port
    assert backend.fetch_value(f"INSERT INTO items (name) VALUES ('w') RETURNING {PORT[7:]}") == primary
    with backend.transaction():
        assert backend.fetch_value(PORT) == primary
    # a standby would refuse FOR UPDATE (it runs reads only), so it must not be sent there
    assert backend.fetch_value(f'SELECT {PORT[7:]} FROM items LIMIT 1 FOR UPDATE') == primary
    with Item.transaction():
        locked = Item.query().for_update().first()
        assert locked is not None
        locked.name = 'locked'
        locked.save()
    created = Item.create(name='model')
    assert created.id is not None


def test_role_reading_refuses_writes_and_reads_replicas(cluster: ReplicatedPostgres,
                                                        backend: StorageBackend) -> None:
    standby_ports = {standby.port for standby in cluster.standbys}
    with Item.connected_to(role='reading'):
        assert {backend.fetch_value(PORT) for _ in range(4)} <= standby_ports
        with pytest.raises(errors.ReadOnlyError):
            Item.create(name='refused')
        with pytest.raises(errors.ReadOnlyError):
            backend.execute("UPDATE items SET name = 'x'")
        with Item.connected_to(role='writing'):
            assert backend.fetch_value(PORT) == cluster.primary.port
    assert Item.query().where(name='refused').count() == 0


def test_a_read_whose_function_writes_runs_on_the_primary(cluster: ReplicatedPostgres,
                                                          backend: StorageBackend) -> None:
    """A standby (whose sessions are read-only, too) refuses the function's INSERT: the read runs
    again on the primary and counts as the caller's write."""
    assert backend.router is not None
    cluster.execute(cluster.primary, 'CREATE FUNCTION add_item(label text) RETURNS int LANGUAGE sql AS '
                                     '$$ INSERT INTO items (name) VALUES (label) RETURNING inet_server_port() $$')
    try:
        wait_caught_up(cluster)
        replica = backend.router.replicas[0].backend
        assert replica.fetch_value('SHOW default_transaction_read_only') == 'on'
        pause_replay(cluster)

        def write_then_read() -> Any:
            port = backend.fetch_value("SELECT add_item('by-function')")
            return port, backend.fetch_value("SELECT count(*) FROM items WHERE name = 'by-function'")
        assert in_thread(write_then_read) == (cluster.primary.port, 1)
        with Item.connected_to(role='reading'), pytest.raises(errors.ReadOnlyError):
            backend.fetch_value("SELECT add_item('refused')")   # the caller asked for no writes
        # quoted function names, EXPLAIN ANALYZE of a write, the server's own state: the primary
        assert in_thread(lambda: backend.fetch_value('SELECT pg_catalog."nextval"(\'items_id_seq\')')) > 0
        in_thread(lambda: backend.fetch_all('EXPLAIN ANALYZE CREATE TABLE explained AS SELECT 1'))
        cluster.execute(cluster.primary, 'DROP TABLE explained')
        assert in_thread(lambda: backend.fetch_value('SHOW transaction_read_only')) == 'off'
        assert in_thread(lambda: backend.fetch_value('SELECT pg_is_in_recovery()')) is False
        assert cluster.value(cluster.primary, "SELECT count(*) FROM items WHERE name = 'refused'") == 0
    finally:
        cluster.execute(cluster.primary, 'DROP FUNCTION add_item(text)')


def test_replica_sessions_behind_a_transaction_pooler_set_nothing(cluster: ReplicatedPostgres) -> None:
    """A session SET would stay on the pooler's server connection: skipped (the standby refuses
    writes by itself), so the replica stays usable."""
    standby = cluster.standbys[0]
    routed = Item.configure(cluster.primary.url, replicas=[standby.url + '?pooler=transaction'])
    try:
        assert in_thread(lambda: routed.fetch_value(PORT)) == standby.port
        assert routed.router is not None
        assert routed.router.replicas[0].backend.fetch_value('SHOW default_transaction_read_only') == 'off'
    finally:
        routed.close()


def test_a_read_cancelled_by_a_recovery_conflict_runs_on_the_primary(cluster: ReplicatedPostgres,
                                                                      backend: StorageBackend) -> None:
    cluster.execute(cluster.primary, 'CREATE TABLE conflicted (id int)')
    for standby in cluster.standbys:
        cluster.execute(standby, "ALTER SYSTEM SET max_standby_streaming_delay = '100ms'")
        cluster.value(standby, 'SELECT pg_reload_conf()')
    try:
        wait_caught_up(cluster)
        outcome: list[Any] = []
        slow = 'SELECT inet_server_port() AS port, (SELECT count(*) FROM conflicted) AS n, pg_sleep(1) AS slept'
        reader = threading.Thread(target=lambda: outcome.append(in_thread(lambda: backend.fetch_one(slow))))
        reader.start()
        time.sleep(0.3)   # the read holds its lock on a standby: replaying this must cancel it there
        running = ("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1) AS slept' "
                   'AND pid <> pg_backend_pid()')
        assert sum(cluster.value(standby, running) for standby in cluster.standbys) == 1
        cluster.execute(cluster.primary, 'ALTER TABLE conflicted ADD COLUMN extra int')
        reader.join(30)
        assert outcome and outcome[0]['port'] == cluster.primary.port   # not an error: the primary's answer
    finally:
        for standby in cluster.standbys:
            cluster.execute(standby, 'ALTER SYSTEM RESET max_standby_streaming_delay')
            cluster.value(standby, 'SELECT pg_reload_conf()')
        cluster.execute(cluster.primary, 'DROP TABLE conflicted')


def test_replicas_with_no_free_connection_are_passed_over(cluster: ReplicatedPostgres) -> None:
    routed = Item.configure(cluster.primary.url,
                            replicas=[standby.url + '?pool_size=1&max_overflow=0' for standby in cluster.standbys])
    try:
        assert routed.router is not None
        standby_ports = {standby.port for standby in cluster.standbys}
        assert {in_thread(lambda: routed.fetch_value(PORT)) for _ in range(2)} <= standby_ports
        with contextlib.ExitStack() as held:
            for replica in routed.router.replicas:
                held.enter_context(cast(StorageBackend, replica.backend).connection())   # its only connection
            started = time.monotonic()
            assert in_thread(lambda: routed.fetch_value(PORT)) == cluster.primary.port
            assert in_thread(lambda: [row for _, rows in routed.iter_rows(PORT) for row in rows]) == [
                (cluster.primary.port,)]
            assert time.monotonic() - started < 2   # not the 30 s pool_timeout
            assert all(replica.usable for replica in routed.router.replicas)   # busy is not down
        assert in_thread(lambda: routed.fetch_value(PORT)) in standby_ports
    finally:
        routed.close()


def test_read_your_writes_with_replay_paused(cluster: ReplicatedPostgres, backend: StorageBackend) -> None:
    assert backend.router is not None
    standby_ports = {standby.port for standby in cluster.standbys}
    pause_replay(cluster)
    Item.create(name='mine')   # an autocommit write: its position is recorded
    count = "SELECT count(*) AS n, inet_server_port() AS port FROM items WHERE name = 'mine'"
    for _ in range(5):
        row = backend.fetch_one(count)
        assert row == {'n': 1, 'port': cluster.primary.port}   # no standby has replayed it
    # another thread wrote nothing: the replicas (which have not replayed it) serve it
    other = in_thread(lambda: backend.fetch_one(count))
    assert other is not None and other['n'] == 0 and other['port'] in standby_ports
    # a committed transaction is recorded too
    with Item.transaction():
        Item.create(name='in-transaction')
    assert backend.fetch_value("SELECT count(*) FROM items WHERE name = 'in-transaction'") == 1
    checks_before = sum(replica.position_checks for replica in backend.router.replicas)
    for standby in cluster.standbys:
        cluster.value(standby, 'SELECT pg_wal_replay_resume()')
    wait_caught_up(cluster)
    # caught up: the position asked again (counted) lets the replicas serve this thread again
    row = backend.fetch_one(count)
    assert row is not None and row['n'] == 1 and row['port'] in standby_ports
    assert sum(replica.position_checks for replica in backend.router.replicas) > checks_before


def test_a_lagging_replica_is_skipped(cluster: ReplicatedPostgres) -> None:
    routed = configure(cluster, max_replica_lag=1, replica_check_interval=0.2)
    try:
        wait_caught_up(cluster)
        lagging, healthy = cluster.standbys
        pause_replay(cluster, [lagging])
        cluster.execute(cluster.primary, "INSERT INTO items (name) VALUES ('lag')")
        time.sleep(1.5)   # past max_replica_lag, and past the check interval
        ports = in_thread(lambda: {routed.fetch_value(PORT) for _ in range(10)})
        assert ports == {healthy.port}
        assert routed.router is not None and routed.router.replicas[0].lag is not None
        assert routed.router.replicas[0].lag > 1
        cluster.value(lagging, 'SELECT pg_wal_replay_resume()')
        wait_caught_up(cluster)
        time.sleep(0.3)
        ports = in_thread(lambda: {routed.fetch_value(PORT) for _ in range(10)})
        assert ports == {lagging.port, healthy.port}
    finally:
        cluster.value(cluster.standbys[0], 'SELECT pg_wal_replay_resume()')
        routed.close()


def test_a_stopped_replica_is_skipped_without_errors_and_used_again(cluster: ReplicatedPostgres) -> None:
    routed = configure(cluster, replica_check_interval=0.2)
    stopped, running = cluster.standbys
    try:
        wait_caught_up(cluster)
        assert in_thread(lambda: {routed.fetch_value(PORT) for _ in range(6)}) == {stopped.port, running.port}
        stopped.stop('immediate')   # its pooled connections die with it
        started = time.monotonic()
        ports = in_thread(lambda: [routed.fetch_value(PORT) for _ in range(30)])
        assert stopped.port not in ports and set(ports) <= {running.port, cluster.primary.port}
        assert time.monotonic() - started < 5
        status = routed.status()['hosts']
        assert [host['role'] for host in status] == ['primary', 'down', 'replica']
        stopped.start()
        deadline = time.monotonic() + 10
        while stopped.port not in in_thread(lambda: {routed.fetch_value(PORT) for _ in range(4)}):
            assert time.monotonic() < deadline, 'the restarted replica was not used again'
            time.sleep(0.1)
    finally:
        if not stopped.running:
            stopped.start()
        routed.close()


def test_status_lists_every_host(cluster: ReplicatedPostgres, backend: StorageBackend) -> None:
    cluster.wait_streaming()
    wait_caught_up(cluster)
    hosts = backend.status()['hosts']
    assert [(host['port'], host['role']) for host in hosts] == [
        (cluster.primary.port, 'primary'), *[(standby.port, 'replica') for standby in cluster.standbys]]
    assert all(set(host) == {'host', 'port', 'role', 'lag', 'pool'} for host in hosts)
    assert hosts[0]['lag'] is None and [host['lag'] for host in hosts[1:]] == [0, 0]   # idle, caught up
    assert all(isinstance(host['pool'], dict) and 'size' in host['pool'] for host in hosts)
    # a multi-host primary config: each listed host probed, the pool shown where it connects
    listed = backend_for_url(cluster.multi_host_url(query='connect_timeout=3'))
    try:
        roles = [(host['port'], host['role'], host['pool'] is not None) for host in listed.status()['hosts']]
        assert roles == [(cluster.standbys[0].port, 'replica', False), (cluster.standbys[1].port, 'replica', False),
                         (cluster.primary.port, 'primary', True)]
    finally:
        listed.close()


def test_async_a_task_reads_its_own_write(cluster: ReplicatedPostgres, backend: StorageBackend) -> None:
    standby_ports = {standby.port for standby in cluster.standbys}
    count = "SELECT count(*) AS n, inet_server_port() AS port FROM items WHERE name = ?"

    async def writer(name: str) -> dict[str, Any] | None:
        await backend.aexecute('INSERT INTO items (name) VALUES (?)', (name,))
        return await backend.afetch_one(count, (name,))

    async def reader(name: str) -> dict[str, Any] | None:
        await asyncio.sleep(0.1)   # after the writer's write
        return await backend.afetch_one(count, (name,))

    async def both() -> tuple[Any, Any]:
        return await asyncio.gather(writer('async'), reader('async'))

    pause_replay(cluster)
    mine, other = asyncio.run(both())
    assert mine == {'n': 1, 'port': cluster.primary.port}     # the writer's read: the primary
    assert other['n'] == 0 and other['port'] in standby_ports  # another task's read: a replica
    for standby in cluster.standbys:
        cluster.value(standby, 'SELECT pg_wal_replay_resume()')
    wait_caught_up(cluster)

    async def caught_up() -> dict[str, Any] | None:
        async with backend.atransaction():
            await backend.aexecute("INSERT INTO items (name) VALUES ('async-tx')")
        assert backend.router is not None and backend.router.last_written is not None
        return await backend.afetch_one(count, ('async-tx',))
    row = asyncio.run(caught_up())
    assert row is not None and row['n'] == 1


def test_check_reports_the_primary_server_not_a_replica(cluster: ReplicatedPostgres) -> None:
    routed = backend_for_url(cluster.primary.url)
    routed.router = ReplicaRouter(routed, [backend_for_url(standby.url) for standby in cluster.standbys])
    try:
        out = io.StringIO()
        assert report(routed, out) == 0
        assert 'server:    PostgreSQL' in out.getvalue() and 'TLS:       off' in out.getvalue()
        served = routed.router.reads_served()
        assert sum(count for host, count in served.items() if host != 'primary') == 0, served
    finally:
        routed.close()


def test_check_command_lists_the_replicas(cluster: ReplicatedPostgres) -> None:
    out, err = io.StringIO(), io.StringIO()
    replicas = [standby.url.replace('postgres@', 'postgres:sekret@') for standby in cluster.standbys]
    assert check(cluster.primary.url, out, err, replicas) == 0, err.getvalue()
    lines = out.getvalue().split('hosts:\n')[1].splitlines()
    assert [line.split()[:2] for line in lines] == [
        [f'127.0.0.1:{cluster.primary.port}', 'primary'],
        *[[f'127.0.0.1:{standby.port}', 'replica'] for standby in cluster.standbys]]
    assert 'sekret' not in out.getvalue()
    assert check(cluster.primary.url, out, err, ['mysql://app:sekret@127.0.0.1:1/app']) == 2
    assert 'same kind of database' in err.getvalue() and 'sekret' not in err.getvalue()


@pytest.fixture(scope='module')
def applying_cluster() -> Iterator[ReplicatedPostgres]:
    """Standbys that apply every commit before it returns (synchronous_commit=remote_apply)."""
    with ReplicatedPostgres(standbys=2, apply_wait=True) as live:
        live.execute(live.primary, 'CREATE TABLE marks (id serial PRIMARY KEY, writer int, step int)')
        yield live


THREADS, THREAD_STEPS = 8, 125     # 1,000 write-then-read cycles on threads
TASKS, TASK_STEPS = 50, 20         # and 1,000 on async tasks



def replica_share(label: str, routed: StorageBackend, reads: int, elapsed: float) -> float:
    """The share of `reads` the replicas served since the router began (printed for -s)."""
    assert routed.router is not None
    on_primary = routed.router.reads_served()['primary']
    waits = routed.router.wait_counts()
    share = 1 - on_primary / reads
    print(f'\n{label}: {reads} reads, {share:.1%} on replicas, {waits["waits"]} waits, '
          f'{waits["timeouts"]} timeouts, {elapsed:.2f}s')
    return share


def test_threads_and_tasks_read_their_writes_mostly_from_replicas(applying_cluster: ReplicatedPostgres) -> None:
    cluster = applying_cluster
    routed = configure(cluster)
    try:
        routed.status()   # the replicas checked, as a running application's are (not start-up)
        started = time.monotonic()
        seen, _ = drill(routed, THREADS, THREAD_STEPS, TASKS, TASK_STEPS)
        cycles = THREADS * THREAD_STEPS + TASKS * TASK_STEPS
        assert cycles == 2000 and seen == [1] * cycles   # every read saw its own write
        share = replica_share('PostgreSQL drill, remote_apply', routed, cycles, time.monotonic() - started)
        assert share >= 0.8
    finally:
        routed.close()


def test_asynchronous_standbys_with_replica_wait(cluster: ReplicatedPostgres) -> None:
    """Without remote_apply a standby replays a commit just after it returns: a read waits for it
    (PostgreSQL 15 has no server-side wait, so the router polls the replay position)."""
    cluster.execute(cluster.primary, 'CREATE TABLE IF NOT EXISTS marks (id serial PRIMARY KEY, writer int, step int)')
    # The fixture turns synchronous_commit off for speed, so WAL reaches the standbys only when
    # the WAL writer flushes it (every 200 ms); PostgreSQL's default flushes at COMMIT.
    cluster.execute(cluster.primary, "ALTER SYSTEM SET synchronous_commit = 'on'")
    cluster.value(cluster.primary, 'SELECT pg_reload_conf()')
    routed = configure(cluster, replica_wait=0.5)
    try:
        wait_caught_up(cluster)
        routed.status()
        started = time.monotonic()
        seen, _ = drill(routed, THREADS, THREAD_STEPS, TASKS, TASK_STEPS)
        cycles = THREADS * THREAD_STEPS + TASKS * TASK_STEPS
        assert seen == [1] * cycles
        share = replica_share('PostgreSQL drill, asynchronous + replica_wait', routed, cycles,
                              time.monotonic() - started)
        assert share >= 0.8
        assert routed.router is not None and routed.router.wait_counts()['waits'] > 0
        # Replay paused: each read gives up within the wait and reads its write on the primary.
        pause_replay(cluster)
        before = routed.router.reads_served()['primary']
        started = time.monotonic()
        seen, read_times = drill(routed, THREADS, 10, 0, 0, first_writer=1000)
        assert seen == [1] * (THREADS * 10)
        assert routed.router.reads_served()['primary'] - before == THREADS * 10
        assert max(read_times) < 0.5 + 0.5, max(read_times)
        # a timeout stops the waiting there for a check interval (1 s): not every read waits
        assert sum(1 for took in read_times if took >= 0.5) <= 2 * THREADS
        print(f'PostgreSQL replay paused: {THREADS * 10} reads on the primary, '
              f'{routed.router.wait_counts()["timeouts"]} timeouts, {time.monotonic() - started:.2f}s')
    finally:
        cluster.execute(cluster.primary, 'ALTER SYSTEM RESET synchronous_commit')
        cluster.value(cluster.primary, 'SELECT pg_reload_conf()')
        for standby in cluster.standbys:
            if cluster.value(standby, 'SELECT pg_is_wal_replay_paused()'):
                cluster.value(standby, 'SELECT pg_wal_replay_resume()')
        routed.close()
