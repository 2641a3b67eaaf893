"""A throwaway MariaDB primary with GTID replicas, on loopback ports.

    with ReplicatedMariaDB(replicas=1) as cluster:
        cluster.url(cluster.primary)        # mysql://root@127.0.0.1:p1/test
        cluster.wait_caught_up()
        cluster.pause(cluster.replicas[0])  # STOP SLAVE SQL_THREAD: reads there go stale

The primary writes a row-based binary log in GTID strict mode; each replica is a fresh copy of
the same template data directory, read-only, following the primary from its first GTID
(`MASTER_USE_GTID=slave_pos`), so `CREATE DATABASE test` on the primary reaches every replica.
Everything is stopped and deleted when the `with` block ends, also when starting part of it failed.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from .servers import ServerError, ThrowawayMariaDB

#: seconds a replica may take to attach or catch up before the fixture gives up
READY_TIMEOUT = 30.0


class PrimaryMariaDB(ThrowawayMariaDB):
    """A ThrowawayMariaDB writing a GTID-strict, row-based binary log (server_id 1)."""

    name = 'mariadb-primary'

    def __init__(self, options: Sequence[str] = ()) -> None:
        super().__init__(options=['--server-id=1', '--log-bin=primary-bin', '--binlog-format=ROW',
                                  '--gtid-strict-mode=1', '--log-slave-updates', *options])


class ReplicaMariaDB(ThrowawayMariaDB):
    """A read-only GTID replica of `source` (attached by ReplicatedMariaDB once both run)."""

    name = 'mariadb-replica'

    def __init__(self, source: ThrowawayMariaDB, server_id: int, options: Sequence[str] = ()) -> None:
        # read_only stops clients without SUPER; the replication threads write regardless.
        super().__init__(options=[f'--server-id={server_id}', '--read-only=1', '--gtid-strict-mode=1',
                                  f'--relay-log=replica{server_id}-relay', *options])
        self.source = source


class ReplicatedMariaDB:
    """A primary and `replicas` GTID replicas; `with` starts them all, its end stops and deletes them."""

    def __init__(self, replicas: int = 1) -> None:
        if replicas < 1:
            raise ValueError(f'replicas must be >= 1, not {replicas!r}')
        self.primary = PrimaryMariaDB()
        self.replicas = [ReplicaMariaDB(self.primary, server_id) for server_id in range(2, replicas + 2)]

    def __enter__(self) -> 'ReplicatedMariaDB':
        try:
            self.primary.__enter__()
            for replica in self.replicas:
                replica.__enter__()
                self.attach(replica)
            self.wait_caught_up()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop and delete every server (safe to call twice); replicas first."""
        for server in [*self.replicas, self.primary]:
            try:
                server.close()
            except ServerError:
                pass   # the others are still closed; the directory is deleted either way

    @property
    def servers(self) -> list[ThrowawayMariaDB]:
        """The primary first, then the replicas."""
        return [self.primary, *self.replicas]

    @staticmethod
    def url(server: ThrowawayMariaDB, database: str = 'test') -> str:
        """The URL of `database` on one server, as root."""
        return f'mysql://root@{server.host}:{server.port}/{database}'

    def multi_host_url(self, servers: Sequence[ThrowawayMariaDB] | None = None, query: str = '') -> str:
        """A URL listing the servers (default: replicas first, then the primary)."""
        chosen = servers if servers is not None else [*self.replicas, self.primary]
        hosts = ','.join(f'{server.host}:{server.port}' for server in chosen)
        return f'mysql://root@{hosts}/test' + (f'?{query}' if query else '')

    def attach(self, replica: ReplicaMariaDB) -> None:
        """Point the replica at the primary by GTID and start both replication threads."""
        self.execute(replica, f"CHANGE MASTER TO MASTER_HOST='{self.primary.host}', "
                              f"MASTER_PORT={self.primary.port}, MASTER_USER='root', "
                              "MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos")
        self.execute(replica, 'START SLAVE')

    def wait_caught_up(self, replicas: Sequence[ReplicaMariaDB] | None = None,
                       timeout: float = READY_TIMEOUT) -> None:
        """Return once the replicas have applied everything the primary has logged so far."""
        position = self.value(self.primary, 'SELECT @@gtid_binlog_pos')
        deadline = time.monotonic() + timeout
        for replica in replicas if replicas is not None else self.replicas:
            left = max(0.0, deadline - time.monotonic())
            # MASTER_GTID_WAIT: 0 once applied, -1 when the timeout passes first
            if self.value(replica, f"SELECT MASTER_GTID_WAIT('{position}', {left:.3f})") != 0:
                status = self.rows(replica, 'SHOW SLAVE STATUS')
                raise ServerError(f'{replica!r} did not reach GTID {position} within {timeout:g}s: '
                                  f'{_slave_summary(status)}')

    def pause(self, replica: ReplicaMariaDB) -> None:
        """Stop applying on the replica (it keeps receiving): its reads fall behind the primary."""
        self.execute(replica, 'STOP SLAVE SQL_THREAD')

    def resume(self, replica: ReplicaMariaDB) -> None:
        """Apply again after pause()."""
        self.execute(replica, 'START SLAVE SQL_THREAD')

    def stop(self, server: ThrowawayMariaDB, mode: str = 'fast') -> None:
        """Stop one server ('immediate' kills it)."""
        server.stop(mode)

    def start(self, server: ThrowawayMariaDB) -> None:
        """Start a stopped server again; a replica resumes replication by itself."""
        server.start()

    @staticmethod
    def rows(server: ThrowawayMariaDB, sql: str) -> list[dict[str, Any]]:
        """The rows of one statement run as root on one server over its Unix socket."""
        import pymysql  # type: ignore[import-untyped]  # no stubs installed for mypy
        import pymysql.cursors  # type: ignore[import-untyped]

        connection = pymysql.connect(unix_socket=str(server.socket_path), user='root', connect_timeout=5,
                                     read_timeout=READY_TIMEOUT + 10, autocommit=True,
                                     cursorclass=pymysql.cursors.DictCursor)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            connection.close()

    @classmethod
    def execute(cls, server: ThrowawayMariaDB, sql: str) -> None:
        """Run one statement that returns no rows on one server."""
        cls.rows(server, sql)

    @classmethod
    def value(cls, server: ThrowawayMariaDB, sql: str) -> Any:
        """The first column of the first row of one statement run on one server (None if none)."""
        found = cls.rows(server, sql)
        return next(iter(found[0].values())) if found else None


def _slave_summary(status: list[dict[str, Any]]) -> str:
    """The SHOW SLAVE STATUS fields that say why a replica is not applying."""
    if not status:
        return 'no replication configured'
    keys = ('Slave_IO_Running', 'Slave_SQL_Running', 'Last_IO_Error', 'Last_SQL_Error', 'Gtid_IO_Pos')
    return ', '.join(f'{key}={status[0].get(key)!r}' for key in keys)


__all__ = ['PrimaryMariaDB', 'ReplicaMariaDB', 'ReplicatedMariaDB']
