"""A throwaway PostgreSQL primary with hot standbys by streaming replication, on loopback ports.

    with ReplicatedPostgres(standbys=2, synchronous=True) as cluster:
        cluster.multi_host_url()          # postgresql://postgres@127.0.0.1:p1,127.0.0.1:p2,.../postgres
        cluster.primary.stop('immediate')
        cluster.promote(cluster.standbys[0])

Each standby is a `pg_basebackup -R` copy of the primary with a replication slot of its own.
With `synchronous=True` the primary's commits wait for standby 1 (its `cluster_name`), so
promoting standby 1 loses nothing that was reported committed. Everything is stopped and
deleted when the `with` block ends, also when starting part of it failed.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.typing import ConnectionConfig

# servers.py's own helpers for running setup commands as the postgres user
from .servers import (LOOPBACK, STARTUP_TIMEOUT, ServerError, ThrowawayPostgres,
                      _give_to_postgres, _run)  # pyright: ignore[reportPrivateUsage]

#: seconds a standby may take to catch up or be promoted before the fixture gives up
READY_TIMEOUT = 30.0


class PrimaryPostgres(ThrowawayPostgres):
    """A ThrowawayPostgres that standbys may replicate from (replication trusted on 127.0.0.1)."""

    name = 'postgres-primary'

    def _write_hba(self) -> None:
        super()._write_hba()
        with open(self.data_directory / 'pg_hba.conf', 'a') as hba:
            hba.write('host replication all 127.0.0.1/32 trust\n')


class StandbyPostgres(ThrowawayPostgres):
    """A hot standby: its data directory is a base backup of `source`, following it by streaming."""

    name = 'postgres-standby'

    def __init__(self, source: ThrowawayPostgres, slot: str, *, synchronous_commit: str = 'off',
                 startup_timeout: float = STARTUP_TIMEOUT) -> None:
        # cluster_name is the application_name the walreceiver reports (synchronous_standby_names)
        # synchronous_standby_names is the primary's, copied by the base backup: once promoted,
        # a standby would wait for itself on every COMMIT, so it is cleared.
        super().__init__(settings={'hot_standby': 'on', 'cluster_name': slot,
                                   'synchronous_commit': synchronous_commit, 'synchronous_standby_names': ''},
                         startup_timeout=startup_timeout)
        self.source = source
        self.slot = slot

    def _set_up(self) -> None:
        directory = self._make_directory()
        _give_to_postgres(directory)
        # -R writes standby.signal and primary_conninfo; -C -S a slot keeps the WAL it needs.
        # bindir may hold only a pg_ctl link (on PATH): pg_basebackup sits beside its target
        basebackup = (self.bindir / 'pg_ctl').resolve().parent / 'pg_basebackup'
        _run(self._as_postgres(basebackup, '-h', LOOPBACK, '-p', str(self.source.port),
                               '-U', 'postgres', '-D', self.data_directory, '-R', '-X', 'stream',
                               '-c', 'fast', '--no-sync', '-C', '-S', self.slot),
             f'pg_basebackup of {self.source.host}:{self.source.port} for {self.slot}',
             timeout=READY_TIMEOUT, cwd=directory)
        self._write_settings()   # appended after the primary's copied postgresql.conf
        self.log_path.touch()
        _give_to_postgres(self.log_path)


class ReplicatedPostgres:
    """A primary and `standbys` hot standbys; `with` starts them all, its end stops and deletes them."""

    def __init__(self, standbys: int = 2, *, synchronous: bool = False, apply_wait: bool = False) -> None:
        """`apply_wait`: every COMMIT waits until all standbys have applied it
        (synchronous_commit=remote_apply), so a read right after a write finds it there."""
        if standbys < 1:
            raise ValueError(f'standbys must be >= 1, not {standbys!r}')
        self.synchronous = synchronous
        settings: dict[str, object] = {'wal_level': 'replica', 'hot_standby': 'on', 'max_wal_senders': 10,
                                       'max_replication_slots': 10}
        if synchronous:
            # ThrowawayPostgres turns synchronous_commit off for speed: here commits must wait.
            settings.update(synchronous_commit='on', synchronous_standby_names='slot1')
        if apply_wait:
            names = ', '.join(f'slot{number}' for number in range(1, standbys + 1))
            settings.update(synchronous_commit='remote_apply',
                            synchronous_standby_names=f'FIRST {standbys} ({names})')
        self.primary = PrimaryPostgres(settings=settings)
        self.standbys = [StandbyPostgres(self.primary, f'slot{number}',
                                         synchronous_commit='on' if synchronous else 'off')
                         for number in range(1, standbys + 1)]

    def __enter__(self) -> 'ReplicatedPostgres':
        try:
            self.primary.__enter__()
            for standby in self.standbys:
                standby.__enter__()
            self.wait_streaming()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop and delete every server (safe to call twice); standbys first."""
        for server in [*self.standbys, self.primary]:
            try:
                server.close()
            except ServerError:
                pass   # the others are still closed; the directory is deleted either way

    @property
    def servers(self) -> list[ThrowawayPostgres]:
        """The primary first, then the standbys."""
        return [self.primary, *self.standbys]

    def multi_host_url(self, servers: Sequence[ThrowawayPostgres] | None = None, query: str = '') -> str:
        """A libpq-style URL listing the servers (default: standbys first, then the primary)."""
        chosen = servers if servers is not None else [*self.standbys, self.primary]
        hosts = ','.join(f'{server.host}:{server.port}' for server in chosen)
        return f'postgresql://postgres@{hosts}/postgres' + (f'?{query}' if query else '')

    def wait_streaming(self) -> None:
        """Return once every standby streams from the primary (bounded by READY_TIMEOUT)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            streaming = int(self.value(self.primary,
                                       "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"))
            if streaming >= len(self.standbys):
                return
            if time.monotonic() > deadline:
                raise ServerError(f'only {streaming} of {len(self.standbys)} standbys stream after '
                                  f'{READY_TIMEOUT:g}s')
            time.sleep(0.05)

    def promote(self, standby: StandbyPostgres) -> None:
        """pg_promote() the standby and return once it accepts writes."""
        if not self.value(standby, 'SELECT pg_promote(true, 30)'):
            raise ServerError(f'pg_promote() on {standby!r} did not finish')

    @staticmethod
    def rows(server: ThrowawayPostgres, sql: str) -> list[dict[str, Any]]:
        """The rows of one statement run on one server through a connection of its own."""
        backend = PostgreSQLBackend(ConnectionConfig.from_url(server.url, pool_size=1, connect_timeout=10))
        try:
            return backend.fetch_all(sql)
        finally:
            backend.close()

    @staticmethod
    def execute(server: ThrowawayPostgres, sql: str) -> None:
        """Run one statement that returns no rows (DDL, a write) on one server."""
        backend = PostgreSQLBackend(ConnectionConfig.from_url(server.url, pool_size=1, connect_timeout=10))
        try:
            backend.execute(sql)
        finally:
            backend.close()

    @classmethod
    def value(cls, server: ThrowawayPostgres, sql: str) -> Any:
        """The first column of the first row of one statement run on one server (None if none)."""
        found = cls.rows(server, sql)
        return next(iter(found[0].values())) if found else None


__all__ = ['PrimaryPostgres', 'ReplicatedPostgres', 'StandbyPostgres']
