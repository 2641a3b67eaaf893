"""Replica routing on a real MariaDB primary with two GTID replicas (read-your-writes by GTID).

Which server answered is told by its port, read from information_schema (a statement naming a
system variable, `@@port`, runs on the primary: those describe the server the caller writes to).
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Iterator

import pytest

from activerecord import ActiveRecord, errors
from activerecord.backend.base import StorageBackend
from tests.support.mariadb_replication import ReplicatedMariaDB
from tests.support.threads import in_thread
from tests.support.replica_drill import drill

pytestmark = pytest.mark.server

SERVER_PORT = ("(SELECT CAST(variable_value AS SIGNED) FROM information_schema.global_variables "
               "WHERE variable_name = 'PORT')")
PORT = f'SELECT {SERVER_PORT}'


@pytest.fixture(scope='module')
def cluster() -> Iterator[ReplicatedMariaDB]:
    with ReplicatedMariaDB(replicas=2) as live:
        live.execute(live.primary, 'CREATE TABLE test.notes (id INT AUTO_INCREMENT PRIMARY KEY, '
                                   'name VARCHAR(50) NOT NULL)')
        live.wait_caught_up()
        yield live


class Note(ActiveRecord):
    __tablename__ = 'notes'
    id: int | None = None
    name: str


@pytest.fixture
def backend(cluster: ReplicatedMariaDB) -> Iterator[StorageBackend]:
    routed = Note.configure(cluster.url(cluster.primary) + '?connect_timeout=3',
                            replicas=[cluster.url(replica) + '?connect_timeout=3' for replica in cluster.replicas],
                            replica_check_interval=0.2)
    cluster.wait_caught_up()
    try:
        yield routed
    finally:
        for replica in cluster.replicas:
            cluster.resume(replica)   # START SLAVE SQL_THREAD on a running one changes nothing
        routed.close()



def test_reads_spread_writes_and_locks_on_the_primary(cluster: ReplicatedMariaDB, backend: StorageBackend) -> None:
    replica_ports = {replica.port for replica in cluster.replicas}
    ports = in_thread(lambda: [backend.fetch_value(PORT) for _ in range(20)])
    assert set(ports) == replica_ports and min(ports.count(port) for port in replica_ports) >= 5
    with backend.transaction():
        assert backend.fetch_value(PORT) == cluster.primary.port
    Note.create(name='primary')   # root could write on a read_only replica: it must not be sent there
    assert cluster.value(cluster.primary, "SELECT count(*) FROM test.notes WHERE name = 'primary'") == 1
    assert backend.fetch_value('SELECT @@port FROM notes LIMIT 1 FOR UPDATE') == cluster.primary.port
    assert backend.fetch_value('SELECT @@port FROM notes LIMIT 1 LOCK IN SHARE MODE') == cluster.primary.port


def test_role_reading_refuses_writes(cluster: ReplicatedMariaDB, backend: StorageBackend) -> None:
    with Note.connected_to(role='reading'):
        assert backend.fetch_value(PORT) in {replica.port for replica in cluster.replicas}
        with pytest.raises(errors.ReadOnlyError):
            Note.create(name='refused')
        with Note.connected_to(role='writing'):
            assert backend.fetch_value(PORT) == cluster.primary.port
    assert cluster.value(cluster.primary, "SELECT count(*) FROM test.notes WHERE name = 'refused'") == 0


def test_a_read_whose_function_writes_runs_on_the_primary(cluster: ReplicatedMariaDB,
                                                          backend: StorageBackend) -> None:
    """read_only=1 does not stop root on a replica: its sessions are read-only, so the function's
    INSERT is refused there and the read runs again on the primary, and replication goes on."""
    assert backend.router is not None
    cluster.execute(cluster.primary, 'CREATE FUNCTION test.add_note(label VARCHAR(50)) RETURNS INT '
                                     'DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO test.notes (name) VALUES (label); '
                                     'RETURN 1; END')
    try:
        cluster.wait_caught_up()
        replica = backend.router.replicas[0].backend
        assert replica.fetch_value('SELECT @@session.tx_read_only') == 1   # a replica session
        assert in_thread(lambda: backend.fetch_value("SELECT add_note('by-function')")) == 1
        on_primary = "SELECT count(*) FROM test.notes WHERE name = 'by-function'"
        assert cluster.value(cluster.primary, on_primary) == 1
        with Note.connected_to(role='reading'), pytest.raises(errors.ReadOnlyError):
            backend.fetch_value("SELECT add_note('refused')")   # the caller asked for no writes

        def write_then_read() -> Any:   # the function's write is the caller's: read back at once
            backend.fetch_value("SELECT add_note('mine-by-function')")
            return backend.fetch_value("SELECT count(*) FROM notes WHERE name = 'mine-by-function'")
        for replica_server in cluster.replicas:
            cluster.pause(replica_server)
        assert in_thread(write_then_read) == 1
        for replica_server in cluster.replicas:
            cluster.resume(replica_server)
        cluster.wait_caught_up()   # the replicas applied the primary's rows: replication kept going
        for replica_server in cluster.replicas:
            assert cluster.value(replica_server, on_primary) == 1
            status = cluster.rows(replica_server, 'SHOW SLAVE STATUS')[0]
            assert status['Slave_SQL_Running'] == 'Yes', status['Last_SQL_Error']
        assert cluster.value(cluster.primary, "SELECT count(*) FROM test.notes WHERE name = 'refused'") == 0
    finally:
        cluster.execute(cluster.primary, 'DROP FUNCTION test.add_note')


def test_read_your_writes_by_gtid(cluster: ReplicatedMariaDB, backend: StorageBackend) -> None:
    assert backend.router is not None
    stale, live = cluster.replicas
    cluster.pause(stale)
    Note.create(name='mine')
    assert backend.router.last_written is not None and '-1-' in backend.router.last_written
    count = f"SELECT count(*) AS n, {SERVER_PORT} AS port FROM notes WHERE name = 'mine'"
    for _ in range(6):   # the running replica once it has applied the write, else the primary
        row = backend.fetch_one(count)
        assert row is not None and row['n'] == 1 and row['port'] != stale.port
    time.sleep(0.3)   # past the check interval: the paused replica's lag is NULL, so it is skipped
    other = in_thread(lambda: [backend.fetch_one(count) for _ in range(6)])
    assert {row['port'] for row in other} == {live.port}
    cluster.pause(live)
    with Note.transaction():
        Note.create(name='mine')
    for _ in range(4):   # neither replica applies: the primary
        assert backend.fetch_one(count) == {'n': 2, 'port': cluster.primary.port}
    cluster.resume(stale)
    cluster.resume(live)
    cluster.wait_caught_up()
    time.sleep(0.3)
    ports = {backend.fetch_one(count)['port'] for _ in range(6)}   # type: ignore[index]
    assert ports == {stale.port, live.port}


def test_status_and_async(cluster: ReplicatedMariaDB, backend: StorageBackend) -> None:
    hosts = backend.status()['hosts']
    assert [(host['port'], host['role']) for host in hosts] == [
        (cluster.primary.port, 'primary'), *[(replica.port, 'replica') for replica in cluster.replicas]]
    assert [host['lag'] for host in hosts] == [None, 0, 0]

    async def write_then_read() -> dict[str, Any] | None:
        await backend.aexecute("INSERT INTO notes (name) VALUES ('async')")
        return await backend.afetch_one("SELECT count(*) AS n FROM notes WHERE name = 'async'")
    for replica in cluster.replicas:
        cluster.pause(replica)
    assert asyncio.run(write_then_read()) == {'n': 1}


# -- read-your-writes drills: asynchronous replicas, caught up by replica_wait ----------------

#: seconds a read may wait for a replica to apply its writer's last write: a caught-up MariaDB
#: replica applies a commit a few ms after it returns; the drill's longest waits stay far below this
DRILL_WAIT = 0.5
THREADS, THREAD_STEPS = 8, 125     # 1,000 write-then-read cycles on threads
TASKS, TASK_STEPS = 50, 20         # and 1,000 on async tasks


def configure_waiting(cluster: ReplicatedMariaDB, check_interval: float) -> StorageBackend:
    """An empty marks table and a routed backend whose reads wait up to DRILL_WAIT for their own
    writes on a replica."""
    cluster.execute(cluster.primary, 'CREATE TABLE IF NOT EXISTS test.marks (id INT AUTO_INCREMENT PRIMARY KEY, '
                                     'writer INT NOT NULL, step INT NOT NULL, KEY (writer, step))')
    cluster.execute(cluster.primary, 'TRUNCATE TABLE test.marks')
    cluster.wait_caught_up()
    return Note.configure(cluster.url(cluster.primary) + '?connect_timeout=3&pool_size=10',
                          replicas=[cluster.url(replica) + '?connect_timeout=3&pool_size=10'
                                    for replica in cluster.replicas],
                          replica_check_interval=check_interval, replica_wait=DRILL_WAIT)


@pytest.fixture
def waiting(cluster: ReplicatedMariaDB) -> Iterator[StorageBackend]:
    """configure_waiting() with replicas checked every 0.2 s."""
    routed = configure_waiting(cluster, 0.2)
    # Checked now, as a running application's replicas are: a router's very first reads go to
    # the primary while one of them checks each replica (measured: 10-20% of a cold 1,000-read
    # thread drill), which is start-up, not the steady state the drill measures.
    assert [host['role'] for host in routed.status()['hosts']] == ['primary', 'replica', 'replica']
    try:
        yield routed
    finally:
        for replica in cluster.replicas:
            cluster.resume(replica)
        routed.close()



def report(label: str, routed: StorageBackend, served_before: dict[str, int], waits_before: dict[str, int],
           reads: int, elapsed: float) -> tuple[float, dict[str, int]]:
    """The share of `reads` the replicas served and the waits since the `before` counters (printed for -s)."""
    assert routed.router is not None
    served, waits = routed.router.reads_served(), routed.router.wait_counts()
    on_primary = served['primary'] - served_before['primary']
    delta = {key: waits[key] - waits_before[key] for key in waits}
    share = 1 - on_primary / reads
    print(f'\n{label}: {reads} reads, {share:.1%} on replicas, {delta["waits"]} waits, '
          f'{delta["timeouts"]} timeouts, {elapsed:.2f}s')
    return share, delta


def test_drill_threads_and_tasks_read_their_writes_mostly_from_replicas(waiting: StorageBackend) -> None:
    assert waiting.router is not None
    served, waits = waiting.router.reads_served(), waiting.router.wait_counts()
    started = time.monotonic()
    seen, _ = drill(waiting, THREADS, THREAD_STEPS, TASKS, TASK_STEPS)
    elapsed = time.monotonic() - started
    cycles = THREADS * THREAD_STEPS + TASKS * TASK_STEPS
    assert cycles == 2000 and seen == [1] * cycles   # every read saw its own write
    share, counted = report('MariaDB drill, replicas keeping up', waiting, served, waits, cycles, elapsed)
    assert share >= 0.8
    assert counted['waits'] > 0   # asynchronous replicas: reads did catch them before they applied


def test_drill_with_replication_paused_falls_back_to_the_primary_within_the_wait(
        cluster: ReplicatedMariaDB) -> None:
    # Health checks 5 s apart, longer than the drill: what stops the waiting is the timeout itself
    # (it makes the next reader check that replica, whose stopped applier has no lag figure).
    routed = configure_waiting(cluster, 5.0)
    try:
        assert routed.router is not None
        routed.status()   # both replicas checked (usable) just now: the first reads wait on them
        for replica in cluster.replicas:
            cluster.pause(replica)   # STOP SLAVE SQL_THREAD
        served, waits = routed.router.reads_served(), routed.router.wait_counts()
        started = time.monotonic()
        seen, read_times = drill(routed, THREADS, 25, TASKS, 2)
        elapsed = time.monotonic() - started
        cycles = THREADS * 25 + TASKS * 2
        assert seen == [1] * cycles   # from the primary: no replica has applied them
        share, counted = report('MariaDB drill, replication paused', routed, served, waits, cycles, elapsed)
        assert share == 0
        # Bounded: a read gives up after DRILL_WAIT (plus its round trips), and only the reads
        # already waiting when the first wait ran out waited at all.
        assert max(read_times) < DRILL_WAIT + 0.5, max(read_times)
        assert 1 <= counted['timeouts'] <= THREADS + TASKS, counted
        assert sum(1 for took in read_times if took >= DRILL_WAIT) <= THREADS + TASKS
        assert elapsed < 5, elapsed
    finally:
        for replica in cluster.replicas:
            cluster.resume(replica)
        routed.close()


def test_drill_a_replica_stopped_mid_run_is_skipped_and_used_again(
        cluster: ReplicatedMariaDB, waiting: StorageBackend) -> None:
    router = waiting.router
    assert router is not None
    stopped, running = cluster.replicas
    stopped_at, running_at = (f'{replica.host}:{replica.port}' for replica in (stopped, running))
    at_stop: dict[str, int] = {}

    def stop_midway() -> None:
        time.sleep(0.2)
        cluster.stop(stopped)
        at_stop.update(router.reads_served())
    seen, _ = drill(waiting, THREADS, 100, 0, 0, during=stop_midway)
    assert seen == [1] * (THREADS * 100)   # no error reached a reader, every read saw its write
    after = router.reads_served()
    assert sum(after.values()) > sum(at_stop.values())   # stopped while the writers ran
    assert after[running_at] > at_stop[running_at]
    # skipped once stopped: at most the reads already in flight at the stop (one per writer) can
    # still be counted for it, when their thread counts only after the snapshot
    assert after[stopped_at] - at_stop[stopped_at] <= THREADS
    assert [host['role'] for host in waiting.status()['hosts']] == ['primary', 'down', 'replica']
    cluster.start(stopped)
    cluster.wait_caught_up()
    before = router.reads_served()[stopped_at]
    deadline = time.monotonic() + 10
    while router.reads_served()[stopped_at] == before:
        assert time.monotonic() < deadline, 'the restarted replica was not used again'
        seen, _ = drill(waiting, 2, 5, 0, 0, first_writer=100)
        assert seen == [1] * 10
