"""Replica health and read-your-writes chains on a real PostgreSQL primary with one hot standby:
a standby cut off from its primary, a frozen standby, writes in awaited child tasks and threads,
the position recorded after a write, a standby that is both a primary host and a listed replica."""
from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import threading
import time
from typing import Any, Iterator

import pytest

from activerecord import ActiveRecord
from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_for_url
from tests.support.pg_replication import ReplicatedPostgres, StandbyPostgres
from tests.support.threads import in_thread, eventually

pytestmark = pytest.mark.server

PORT = 'SELECT inet_server_port()'
COUNT = 'SELECT count(*) AS n, inet_server_port() AS port FROM gadgets WHERE name = ?'


@pytest.fixture(scope='module')
def cluster() -> Iterator[ReplicatedPostgres]:
    with ReplicatedPostgres(standbys=1) as live:
        live.execute(live.primary, 'CREATE TABLE gadgets (id serial PRIMARY KEY, name text NOT NULL)')
        yield live


class Gadget(ActiveRecord):
    __tablename__ = 'gadgets'
    id: int | None = None
    name: str


def routed(cluster: ReplicatedPostgres, replica_query: str = 'connect_timeout=1', **settings: Any) -> StorageBackend:
    return Gadget.configure(cluster.primary.url + '?connect_timeout=3',
                            replicas=[cluster.standbys[0].url + '?' + replica_query], **settings)




def set_primary_conninfo(cluster: ReplicatedPostgres, standby: StandbyPostgres, conninfo: str) -> None:
    quoted = conninfo.replace("'", "''")
    cluster.execute(standby, f"ALTER SYSTEM SET primary_conninfo = '{quoted}'")
    cluster.value(standby, 'SELECT pg_reload_conf()')


def process_ids(standby: StandbyPostgres) -> list[int]:
    """The standby's postmaster and its children (all of them are frozen together)."""
    postmaster = int((standby.data_directory / 'postmaster.pid').read_text().split()[0])
    children = subprocess.run(['pgrep', '-P', str(postmaster)], capture_output=True, text=True, check=False)
    return [postmaster, *(int(pid) for pid in children.stdout.split())]


def test_a_standby_cut_off_from_its_primary_is_used_for_max_replica_lag_then_skipped(
        cluster: ReplicatedPostgres) -> None:
    standby, primary = cluster.standbys[0], cluster.primary
    backend = routed(cluster, max_replica_lag=0.5, replica_check_interval=0.1)
    conninfo = str(cluster.value(standby, 'SHOW primary_conninfo'))
    try:
        eventually(lambda: in_thread(lambda: backend.fetch_value(PORT)) == standby.port, 'standby used')
        set_primary_conninfo(cluster, standby, '')
        eventually(lambda: not cluster.rows(standby, 'SELECT pid FROM pg_stat_wal_receiver'), 'receiver gone')
        # Its own lag figure stays 0: the first check that sees no receiver starts the clock.
        assert cluster.value(standby, 'SELECT pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()') is True
        time.sleep(0.15)
        assert in_thread(lambda: backend.fetch_value(PORT)) == standby.port
        time.sleep(0.7)   # detached longer than max_replica_lag
        assert [in_thread(lambda: backend.fetch_value(PORT)) for _ in range(3)] == [primary.port] * 3
        replica_entry = backend.status()['hosts'][-1]
        assert replica_entry['role'] == 'replica' and replica_entry['lag'] > 0.5
    finally:
        set_primary_conninfo(cluster, standby, conninfo)
        cluster.wait_streaming()
    try:
        eventually(lambda: in_thread(lambda: backend.fetch_value(PORT)) == standby.port, 'standby used again')
        assert backend.status()['hosts'][-1]['lag'] < 0.5
    finally:
        backend.close()


def test_a_frozen_standby_holds_up_neither_status_nor_readers(cluster: ReplicatedPostgres) -> None:
    standby, primary = cluster.standbys[0], cluster.primary
    # read_timeout on the replica URL bounds a read on an idle pooled connection (documented)
    backend = routed(cluster, 'connect_timeout=1&read_timeout=1', replica_check_interval=30)
    try:
        assert in_thread(lambda: backend.fetch_value(PORT)) == standby.port   # checked now, 30 s valid
        frozen = process_ids(standby)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            # the pooled connection to the standby times out: the read runs again on the primary
            assert in_thread(lambda: backend.fetch_value(PORT)) == primary.port
            assert time.monotonic() - started < 4
            started = time.monotonic()
            hosts = backend.status()['hosts']
            assert time.monotonic() - started < 4
            assert [host['role'] for host in hosts] == ['primary', 'down']
            started = time.monotonic()
            assert in_thread(lambda: backend.fetch_value(PORT)) == primary.port   # skipped, no wait
            assert time.monotonic() - started < 1
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
    finally:
        backend.close()
    checking = routed(cluster, replica_check_interval=0.1)   # no read_timeout: only checks are bounded
    try:
        assert in_thread(lambda: checking.fetch_value(PORT)) == standby.port
        frozen = process_ids(standby)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(0.15)   # the next read checks the standby
            started = time.monotonic()
            assert in_thread(lambda: checking.fetch_value(PORT)) == primary.port
            assert time.monotonic() - started < 3   # the check gave up after its 1 s
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        eventually(lambda: in_thread(lambda: checking.fetch_value(PORT)) == standby.port, 'standby used again')
    finally:
        checking.close()


def pause_replay(cluster: ReplicatedPostgres) -> None:
    standby = cluster.standbys[0]
    cluster.value(standby, 'SELECT pg_wal_replay_pause()')
    eventually(lambda: cluster.value(standby, 'SELECT pg_get_wal_replay_pause_state()') == 'paused', 'paused')


def test_writes_of_awaited_child_tasks_and_threads_count_for_the_parent(cluster: ReplicatedPostgres) -> None:
    standby, primary = cluster.standbys[0], cluster.primary
    backend = routed(cluster, max_replica_lag=3600)

    async def child(name: str) -> None:
        await Gadget.acreate(name=name)

    async def parent() -> list[Any]:
        await backend.afetch_value('SELECT 1')   # the parent's first statement gives it its mark
        seen: list[Any] = []
        await asyncio.create_task(child('task'))
        seen.append(await backend.afetch_one(COUNT, ('task',)))
        await asyncio.gather(Gadget.acreate(name='gathered'))
        seen.append(await backend.afetch_one(COUNT, ('gathered',)))
        await asyncio.to_thread(Gadget.create, name='to-thread')
        seen.append(await backend.afetch_one(COUNT, ('to-thread',)))
        return seen

    def thread_with_context() -> Any:
        backend.fetch_value('SELECT 1')
        worker = threading.Thread(target=contextvars.copy_context().run, args=(Gadget.create,),
                                  kwargs={'name': 'copied-context'})
        worker.start()
        worker.join()
        return backend.fetch_one(COUNT, ('copied-context',))

    async def siblings() -> tuple[Any, Any]:
        await backend.afetch_value('SELECT 1')

        async def writer() -> None:
            await Gadget.acreate(name='sibling')

        async def reader() -> Any:
            await asyncio.sleep(0.2)   # after the writer's write
            return await backend.afetch_one(COUNT, ('sibling',))
        _, other = await asyncio.gather(writer(), reader())
        return other, await backend.afetch_one(COUNT, ('sibling',))

    try:
        pause_replay(cluster)
        assert in_thread(lambda: asyncio.run(parent())) == [{'n': 1, 'port': primary.port}] * 3
        assert in_thread(thread_with_context) == {'n': 1, 'port': primary.port}
        other, awaited = in_thread(lambda: asyncio.run(siblings()))
        assert other == {'n': 0, 'port': standby.port}     # a sibling's read is not held back
        assert awaited == {'n': 1, 'port': primary.port}   # the parent that awaited it is
    finally:
        cluster.value(standby, 'SELECT pg_wal_replay_resume()')
        backend.close()


def test_the_position_is_the_flush_position_unless_synchronous_commit_is_off(cluster: ReplicatedPostgres) -> None:
    backend = backend_for_url(cluster.primary.url, pool_size=1)
    spec = backend.dialect.replication
    assert spec is not None
    compare = (f'SELECT w.x = pg_current_wal_flush_lsn()::text AS flushed, '
               f'w.x = pg_current_wal_insert_lsn()::text AS inserted FROM ({spec.written_sql}) AS w(x)')
    try:
        with backend.transaction():   # one connection for the session setting
            backend.execute("SET LOCAL synchronous_commit = 'on'")
            backend.execute("INSERT INTO gadgets (name) VALUES ('flush')")
            on = backend.fetch_one(compare)
            backend.execute("SET LOCAL synchronous_commit = 'off'")
            # WAL inserted but not flushed yet: the insert position lies past the flush position
            backend.execute("INSERT INTO gadgets (name) SELECT 'bulk' FROM generate_series(1, 2000)")
            off = backend.fetch_one(compare)
        assert on is not None and on['flushed'] is True
        assert off == {'flushed': False, 'inserted': True}
    finally:
        backend.close()


def test_a_standby_that_is_a_primary_host_and_a_replica_is_listed_once(cluster: ReplicatedPostgres) -> None:
    standby, primary = cluster.standbys[0], cluster.primary
    backend = Gadget.configure(cluster.multi_host_url([primary, standby], 'target_session_attrs=read-write'),
                               replicas=[standby.url.replace('/postgres', '/postgres?connect_timeout=3')])
    try:
        hosts = backend.status()['hosts']
        assert [(host['port'], host['role']) for host in hosts] == [(primary.port, 'primary'),
                                                                   (standby.port, 'replica')]
        assert hosts[1]['pool'] is not None and hosts[1]['lag'] is not None
    finally:
        backend.close()
