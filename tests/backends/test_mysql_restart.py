"""A MariaDB restart: pooled connections that the server dropped are discarded, never reused."""
from __future__ import annotations

from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.mysql.backend import MySQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.support.servers import ThrowawayMariaDB

pytestmark = pytest.mark.server


@pytest.fixture(scope='module')
def server() -> Iterator[ThrowawayMariaDB]:
    with ThrowawayMariaDB() as live:
        yield live


def warm_pool(server: ThrowawayMariaDB, **changes: object) -> MySQLBackend:
    """A backend whose pool holds three idle connections."""
    backend = MySQLBackend(ConnectionConfig.from_url(server.url, pool_size=3, **changes))
    with backend.connection(), backend.connection(), backend.connection():
        pass
    assert backend.pool.status()['idle'] == 3
    return backend


def test_server_gone_away_discards_the_connection(server: ThrowawayMariaDB) -> None:
    backend = warm_pool(server)
    try:
        server.restart()
        with pytest.raises(errors.OperationalError) as raised:
            backend.fetch_value('SELECT 1')
        assert raised.value.code in (2006, 2013, 1927, 4031)
        assert backend.pool.status()['open'] == 2          # that one is gone
        # The pool now suspects the others: each is pinged at its next checkout and replaced,
        # so no further statement fails, and no statement was re-run.
        victims = {backend.fetch_value('SELECT CONNECTION_ID()') for _ in range(4)}
        assert len(victims) == 1
        assert backend.pool.status()['checked_out'] == 0 and backend.pool.status()['open'] <= 2
    finally:
        backend.close()


def test_pre_ping_hides_the_restart(server: ThrowawayMariaDB) -> None:
    backend = warm_pool(server, pool_pre_ping=True)
    try:
        server.restart()
        assert [backend.fetch_value('SELECT ?', (number,)) for number in range(5)] == list(range(5))
        assert backend.pool.status()['checked_out'] == 0
    finally:
        backend.close()


def test_a_transaction_on_a_dropped_connection_fails_and_the_pool_recovers(server: ThrowawayMariaDB) -> None:
    backend = warm_pool(server)
    try:
        backend.execute('CREATE TABLE IF NOT EXISTS ar_my_restart (id INT PRIMARY KEY)')
        with pytest.raises(errors.OperationalError):
            with backend.transaction():
                backend.execute('INSERT INTO ar_my_restart (id) VALUES (1)')
                server.stop('immediate')
                server.start()
                backend.execute('INSERT INTO ar_my_restart (id) VALUES (2)')
        assert backend.in_transaction is False
        assert backend.fetch_all('SELECT id FROM ar_my_restart') == []   # nothing half-committed
    finally:
        backend.close()
