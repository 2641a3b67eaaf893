"""PostgreSQL server restarts: pooled connections that died are discarded, never reused or re-run."""
from __future__ import annotations

from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.support.servers import ThrowawayPostgres

pytestmark = pytest.mark.server


@pytest.fixture(scope='module')
def server() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres() as live:
        yield live


def test_statement_on_a_connection_the_server_dropped_fails_once(server: ThrowawayPostgres) -> None:
    backend = PostgreSQLBackend(ConnectionConfig.from_url(server.url, pool_size=2))
    try:
        backend.execute('CREATE TABLE IF NOT EXISTS ar_pg_counter (n INTEGER)')
        backend.execute('DELETE FROM ar_pg_counter')
        server.restart('fast')
        # The INSERT is sent on the dead connection and fails; it is not silently re-run.
        with pytest.raises(errors.OperationalError):
            backend.execute('INSERT INTO ar_pg_counter (n) VALUES (1)')
        assert backend.pool.status()['open'] == 0
        assert backend.fetch_value('SELECT count(*) FROM ar_pg_counter') == 0
    finally:
        backend.close()


def test_pre_ping_replaces_dead_connections_before_use(server: ThrowawayPostgres) -> None:
    backend = PostgreSQLBackend(ConnectionConfig.from_url(server.url, pool_size=2, pool_pre_ping=True))
    try:
        first = backend.fetch_value('SELECT pg_backend_pid()')
        server.restart('immediate')
        assert backend.fetch_value('SELECT pg_backend_pid()') != first
        assert backend.pool.status()['open'] == 1
    finally:
        backend.close()
