"""Replica health on a real MariaDB primary with one GTID replica: a replica whose I/O thread
stopped is skipped, a frozen replica holds up neither status() nor readers."""
from __future__ import annotations

import os
import signal
import time
from typing import Any, Iterator

import pytest

from activerecord import ActiveRecord
from activerecord.backend.base import StorageBackend
from tests.support.mariadb_replication import ReplicatedMariaDB
from tests.support.threads import in_thread, eventually

pytestmark = pytest.mark.server

# the port of the server that answered (@@port would be sent to the primary)
PORT = ("SELECT CAST(variable_value AS SIGNED) FROM information_schema.global_variables "
        "WHERE variable_name = 'PORT'")


@pytest.fixture(scope='module')
def cluster() -> Iterator[ReplicatedMariaDB]:
    with ReplicatedMariaDB(replicas=1) as live:
        yield live


class Widget(ActiveRecord):
    id: int | None = None


def routed(cluster: ReplicatedMariaDB, replica_query: str = 'connect_timeout=1', **settings: Any) -> StorageBackend:
    return Widget.configure(cluster.url(cluster.primary) + '?connect_timeout=3',
                            replicas=[cluster.url(cluster.replicas[0]) + '?' + replica_query], **settings)




def test_a_replica_whose_io_thread_stopped_is_skipped(cluster: ReplicatedMariaDB) -> None:
    replica, primary = cluster.replicas[0], cluster.primary
    backend = routed(cluster, replica_check_interval=0.1)
    try:
        eventually(lambda: in_thread(lambda: backend.fetch_value(PORT)) == replica.port, 'replica used')
        cluster.execute(replica, 'STOP SLAVE IO_THREAD')
        try:
            time.sleep(0.15)
            assert [in_thread(lambda: backend.fetch_value(PORT)) for _ in range(3)] == [primary.port] * 3
            assert [(host['role'], host['lag']) for host in backend.status()['hosts']] == [
                ('primary', None), ('replica', None)]
        finally:
            cluster.execute(replica, 'START SLAVE IO_THREAD')
        eventually(lambda: in_thread(lambda: backend.fetch_value(PORT)) == replica.port, 'replica used again')
    finally:
        backend.close()


def test_a_frozen_replica_holds_up_neither_status_nor_readers(cluster: ReplicatedMariaDB) -> None:
    replica, primary = cluster.replicas[0], cluster.primary
    backend = routed(cluster, 'connect_timeout=1&read_timeout=1', replica_check_interval=30)
    pid = replica.pid
    assert pid is not None
    try:
        eventually(lambda: in_thread(lambda: backend.fetch_value(PORT)) == replica.port, 'replica used')
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            assert in_thread(lambda: backend.fetch_value(PORT)) == primary.port   # read_timeout, then the primary
            assert time.monotonic() - started < 4
            started = time.monotonic()
            hosts = backend.status()['hosts']
            assert time.monotonic() - started < 4
            assert [host['role'] for host in hosts] == ['primary', 'down']
        finally:
            os.kill(pid, signal.SIGCONT)
        # status() checks now: the replica is back before the 30 s check interval has passed
        eventually(lambda: backend.status()['hosts'][-1]['role'] == 'replica', 'replica up again')
        assert in_thread(lambda: backend.fetch_value(PORT)) == replica.port
    finally:
        backend.close()
