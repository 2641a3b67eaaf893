"""Multi-host configs on MySQL/MariaDB: target_session_attrs=read-write skips a read-only server
(`@@read_only` = 1), `any` takes it; the live server is the writable one."""
from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

import pytest

from activerecord.backend.impl.mysql.backend import MySQLBackend
from activerecord.backend.typing import ConnectionConfig
from conftest import require_server
from tests.support.servers import ThrowawayMariaDB

pytestmark = pytest.mark.server


@pytest.fixture(scope='module')
def read_only_server() -> Iterator[ThrowawayMariaDB]:
    with ThrowawayMariaDB(options=['--read-only']) as live:
        yield live


def multi_host_backend(read_only_server: ThrowawayMariaDB, attrs: str) -> tuple[MySQLBackend, int]:
    live = urlsplit(require_server('mysql'))
    assert live.port is not None
    url = (f'mysql://{live.username or "root"}@{read_only_server.host}:{read_only_server.port},'
           # the `mysql` database: one that both servers have
           f'{live.hostname}:{live.port}/mysql?target_session_attrs={attrs}&connect_timeout=3')
    return MySQLBackend(ConnectionConfig.from_url(url)), live.port


def test_read_write_skips_a_read_only_server(read_only_server: ThrowawayMariaDB) -> None:
    backend, live_port = multi_host_backend(read_only_server, 'read-write')
    try:
        assert backend.fetch_value('SELECT @@port') == live_port
        assert backend.fetch_value('SELECT @@read_only') == 0
    finally:
        backend.close()
    # The same URL with `any` lands on the read-only server: it was skipped above by the probe,
    # not for being unreachable.
    backend, _ = multi_host_backend(read_only_server, 'any')
    try:
        assert backend.fetch_value('SELECT @@read_only') == 1
    finally:
        backend.close()


def test_any_takes_the_read_only_server_listed_first(read_only_server: ThrowawayMariaDB) -> None:
    backend, _ = multi_host_backend(read_only_server, 'any')
    try:
        assert backend.fetch_value('SELECT @@port') == read_only_server.port
        assert backend.fetch_value('SELECT @@read_only') == 1
    finally:
        backend.close()
