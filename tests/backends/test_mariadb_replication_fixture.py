"""The MariaDB GTID replication fixture, used through activerecord's public backend API: writes on
the primary reach the replica, the replica refuses ordinary users' writes, pausing the applier
holds new rows back until resumed, and a multi-host URL with the replica first still writes to
the primary."""
from __future__ import annotations

import time
from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.mysql.backend import MySQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.support.mariadb_replication import ReplicatedMariaDB

pytestmark = pytest.mark.server


@pytest.fixture(scope='module')
def cluster() -> Iterator[ReplicatedMariaDB]:
    with ReplicatedMariaDB(replicas=1) as live:
        primary = backend_for(live.url(live.primary))
        try:
            primary.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(50))')
        finally:
            primary.close()
        live.wait_caught_up()
        yield live


def backend_for(url: str) -> MySQLBackend:
    return MySQLBackend(ConnectionConfig.from_url(url, connect_timeout=3))


def note_ids(backend: MySQLBackend) -> list[int]:
    return [row['id'] for row in backend.fetch_all('SELECT id FROM notes ORDER BY id')]


def test_a_write_on_the_primary_reaches_the_replica(cluster: ReplicatedMariaDB) -> None:
    primary, replica = backend_for(cluster.url(cluster.primary)), backend_for(cluster.url(cluster.replicas[0]))
    try:
        primary.execute('INSERT INTO notes (id, body) VALUES (?, ?)', (1, 'replicated'))
        cluster.wait_caught_up()
        assert replica.fetch_value('SELECT body FROM notes WHERE id = 1') == 'replicated'
        assert replica.fetch_value('SELECT @@read_only') == 1
        assert replica.fetch_value('SELECT @@gtid_slave_pos') == primary.fetch_value('SELECT @@gtid_binlog_pos')
    finally:
        primary.close()
        replica.close()


def test_the_replica_refuses_writes_from_a_user_without_super(cluster: ReplicatedMariaDB) -> None:
    cluster.execute(cluster.primary, "CREATE USER IF NOT EXISTS 'app'@'127.0.0.1'")
    cluster.execute(cluster.primary, "GRANT SELECT, INSERT ON test.* TO 'app'@'127.0.0.1'")
    cluster.wait_caught_up()   # the user reaches the replica by replication, like any write
    replica = cluster.replicas[0]
    app = backend_for(f'mysql://app@{replica.host}:{replica.port}/test')
    try:
        with pytest.raises(errors.ReadOnlyError, match='--read-only') as caught:
            app.execute('INSERT INTO notes (id, body) VALUES (?, ?)', (99, 'refused'))
        assert caught.value.code == 1290   # ER_OPTION_PREVENTS_STATEMENT, naming --read-only
        assert not caught.value.retryable   # the same server refuses it again
        assert app.fetch_value('SELECT count(*) FROM notes WHERE id = 99') == 0
    finally:
        app.close()


def test_other_options_behind_error_1290_stay_what_they_were(cluster: ReplicatedMariaDB) -> None:
    # --secure-file-priv is the same error number for another reason: not a read-only server
    cluster.execute(cluster.primary, "CREATE USER IF NOT EXISTS 'filer'@'127.0.0.1'")
    cluster.execute(cluster.primary, "GRANT FILE ON *.* TO 'filer'@'127.0.0.1'")
    cluster.execute(cluster.primary, "GRANT SELECT ON test.* TO 'filer'@'127.0.0.1'")
    primary = cluster.primary
    filer = backend_for(f'mysql://filer@{primary.host}:{primary.port}/test')
    try:
        with pytest.raises(errors.DatabaseError, match='secure-file-priv') as caught:
            filer.fetch_all("SELECT 1 INTO OUTFILE '/nonexistent-dir/out.txt'")
        assert caught.value.code == 1290 and not isinstance(caught.value, errors.ReadOnlyError)
    finally:
        filer.close()


def test_a_paused_replica_holds_new_rows_back_until_resumed(cluster: ReplicatedMariaDB) -> None:
    replica_server = cluster.replicas[0]
    primary, replica = backend_for(cluster.url(cluster.primary)), backend_for(cluster.url(replica_server))
    try:
        cluster.pause(replica_server)
        try:
            primary.execute('INSERT INTO notes (id, body) VALUES (?, ?)', (2, 'held back'))
            # the IO thread still receives the event: wait until it has, so the check below
            # shows the applier, not the network, holding the row back
            position = primary.fetch_value('SELECT @@gtid_binlog_pos')
            deadline = time.monotonic() + 10
            while cluster.rows(replica_server, 'SHOW SLAVE STATUS')[0]['Gtid_IO_Pos'] != position:
                assert time.monotonic() < deadline, 'the replica did not receive the event'
                time.sleep(0.02)
            assert 2 not in note_ids(replica)
        finally:
            cluster.resume(replica_server)
        cluster.wait_caught_up()
        assert 2 in note_ids(replica)
    finally:
        primary.close()
        replica.close()


def test_read_write_multi_host_skips_the_replica_listed_first(cluster: ReplicatedMariaDB) -> None:
    backend = backend_for(cluster.multi_host_url())   # replica first, then the primary
    try:
        assert backend.config.session_attrs == 'read-write'
        assert backend.fetch_value('SELECT @@port') == cluster.primary.port
        backend.execute('INSERT INTO notes (id, body) VALUES (?, ?)', (3, 'via multi-host'))
    finally:
        backend.close()
    cluster.wait_caught_up()
    assert cluster.value(cluster.replicas[0], 'SELECT body FROM test.notes WHERE id = 3') == 'via multi-host'
