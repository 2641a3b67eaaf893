"""PostgreSQL over TLS: against throwaway servers with a CA and certificates made for the test.

ssl_ca means verified TLS (chain and host name); ssl_verify=False is the only way to skip the
checks; a server without TLS is refused rather than used in plain text.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.conftest import require_server
from tests.support.servers import Certs, ThrowawayPostgres, make_certificates

pytestmark = pytest.mark.server

SESSION_TLS = 'SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()'


@pytest.fixture(scope='module')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certificates(tmp_path_factory.mktemp('pg-certs'))


@pytest.fixture(scope='module')
def tls_server(certs: Certs) -> Iterator[ThrowawayPostgres]:
    """TLS on, certificate for 127.0.0.1 and localhost signed by the test CA."""
    with ThrowawayPostgres(ssl=True, certs=certs) as server:
        yield server


@pytest.fixture(scope='module')
def wrong_host_server(certs: Certs) -> Iterator[ThrowawayPostgres]:
    """TLS on, certificate signed by the test CA but issued for wrong.example."""
    with ThrowawayPostgres(ssl=True, certs=certs, wrong_host_cert=True) as server:
        yield server


def connect(url: str, **changes: object) -> PostgreSQLBackend:
    return PostgreSQLBackend(ConnectionConfig.from_url(url, connect_timeout=5, **changes))


def test_right_ca_connects_and_the_session_is_encrypted(tls_server: ThrowawayPostgres, certs: Certs) -> None:
    backend = connect(tls_server.url, ssl_ca=str(certs.ca_cert), pool_size=2)
    try:
        assert backend.tls_in_use() is True
        assert backend.fetch_one(SESSION_TLS) == {'ssl': True, 'client_dn': None}
        context = backend.ssl_context()
        assert context.check_hostname is True and context.verify_mode.name == 'CERT_REQUIRED'
    finally:
        backend.close()


def test_url_query_carries_the_ca(tls_server: ThrowawayPostgres, certs: Certs) -> None:
    backend = PostgreSQLBackend(ConnectionConfig.from_url(f'{tls_server.url}?ssl_ca={certs.ca_cert}&pool_size=1'))
    try:
        assert backend.tls_in_use() is True
    finally:
        backend.close()


def test_client_certificate_is_presented(tls_server: ThrowawayPostgres, certs: Certs) -> None:
    backend = connect(tls_server.url, ssl_ca=str(certs.ca_cert), ssl_cert=str(certs.client_cert),
                      ssl_key=str(certs.client_key))
    try:
        assert backend.fetch_one(SESSION_TLS) == {'ssl': True, 'client_dn': '/CN=root'}
    finally:
        backend.close()


def test_wrong_ca_is_refused(tls_server: ThrowawayPostgres, certs: Certs) -> None:
    backend = connect(tls_server.url, ssl_ca=str(certs.other_ca_cert))
    with pytest.raises(errors.OperationalError, match='certificate verify failed') as caught:
        backend.ping()
    assert f'127.0.0.1:{tls_server.port}' in str(caught.value)
    assert backend.pool.status()['open'] == 0
    backend.close()


def test_wrong_host_name_is_refused(wrong_host_server: ThrowawayPostgres, certs: Certs) -> None:
    backend = connect(wrong_host_server.url, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.OperationalError, match="IP address mismatch|doesn't match|Hostname mismatch"):
        backend.ping()
    backend.close()


def test_ssl_verify_false_is_the_only_way_to_skip_checks(wrong_host_server: ThrowawayPostgres,
                                                         tls_server: ThrowawayPostgres, certs: Certs) -> None:
    for server, ca in ((wrong_host_server, certs.ca_cert), (tls_server, certs.other_ca_cert)):
        backend = connect(server.url, ssl_ca=str(ca), ssl_verify=False)
        try:
            assert backend.tls_in_use() is True
        finally:
            backend.close()
    # options ssl=True asks for TLS verified against the system's CAs, which do not know ours.
    system_cas = connect(tls_server.url, options={'ssl': True})
    with pytest.raises(errors.OperationalError, match='certificate verify failed'):
        system_cas.ping()
    system_cas.close()
    unverified = connect(tls_server.url, options={'ssl': 'true'}, ssl_verify=False)
    try:
        assert unverified.tls_in_use() is True
    finally:
        unverified.close()


def test_no_tls_settings_means_plain_text_never_a_silent_unverified_tls(tls_server: ThrowawayPostgres) -> None:
    backend = connect(tls_server.url)
    try:
        assert backend.tls_in_use() is False
    finally:
        backend.close()


def test_a_server_without_tls_is_refused_when_ssl_ca_is_set(certs: Certs) -> None:
    plain_url = require_server('postgresql')   # the matrix server runs with ssl = off
    backend = connect(plain_url, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.OperationalError, match='refuses SSL'):
        backend.ping()
    assert backend.pool.status()['open'] == 0
    backend.close()


def test_missing_ca_file_is_a_clear_error(tls_server: ThrowawayPostgres, tmp_path: Path) -> None:
    backend = connect(tls_server.url, ssl_ca=str(tmp_path / 'absent-ca.pem'))
    with pytest.raises(errors.ConfigurationError, match=r'ssl_ca.*absent-ca\.pem'):
        backend.ping()
    backend.close()
