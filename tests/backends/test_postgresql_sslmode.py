"""libpq's sslmode on live PostgreSQL servers: the matrix server (TLS off) and throwaway TLS servers."""
from __future__ import annotations

from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.conftest import require_server
from tests.support.servers import Certs, ThrowawayPostgres, make_certificates


def connect(url: str, **changes: object) -> PostgreSQLBackend:
    return PostgreSQLBackend(ConnectionConfig.from_url(url, connect_timeout=5, **changes))


def with_query(url: str, query: str) -> str:
    return f'{url}{"&" if "?" in url else "?"}{query}'


def test_disable_connects_in_plain_text_to_the_matrix_server() -> None:
    backend = connect(with_query(require_server('postgresql'), 'sslmode=disable'))
    try:
        assert backend.fetch_value('SELECT 1') == 1
        assert backend.tls_in_use() is False
    finally:
        backend.close()


def test_require_never_falls_back_to_plain_text() -> None:
    backend = connect(with_query(require_server('postgresql'), 'sslmode=require'))  # ssl = off there
    with pytest.raises(errors.OperationalError, match='refuses SSL'):
        backend.ping()
    assert backend.pool.status()['open'] == 0
    backend.close()


@pytest.fixture(scope='module')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certificates(tmp_path_factory.mktemp('pg-sslmode-certs'))


@pytest.fixture(scope='module')
def wrong_host_server(certs: Certs) -> Iterator[ThrowawayPostgres]:
    """TLS on, certificate signed by the test CA but issued for wrong.example."""
    with ThrowawayPostgres(ssl=True, certs=certs, wrong_host_cert=True) as server:
        yield server


@pytest.mark.server
def test_each_mode_gives_what_it_promises(wrong_host_server: ThrowawayPostgres, certs: Certs) -> None:
    url = wrong_host_server.url
    for query in ('sslmode=require', f'sslmode=verify-ca&ssl_ca={certs.ca_cert}'):
        backend = connect(with_query(url, query))     # the host name is not checked by these two
        try:
            assert backend.tls_in_use() is True
        finally:
            backend.close()
    refusals = {f'sslmode=verify-full&ssl_ca={certs.ca_cert}': "IP address mismatch|doesn't match|Hostname mismatch",
                f'sslmode=verify-ca&ssl_ca={certs.other_ca_cert}': 'certificate verify failed'}
    for query, reason in refusals.items():
        backend = connect(with_query(url, query))
        with pytest.raises(errors.OperationalError, match=reason):
            backend.ping()
        backend.close()
