"""TLS to MariaDB: `ssl_ca` verifies the chain and the host name; no silent plain-text fallback.

pymysql given only a CA file checks neither the chain nor the host name, so the backend hands
it a verifying SSLContext. These tests start MariaDB servers of their own with a CA and server
certificate made for the test.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.mysql.backend import MySQLBackend
from activerecord.backend.typing import ConnectionConfig
from tests.support.servers import Certs, ThrowawayMariaDB, make_certificates

pytestmark = pytest.mark.server


@pytest.fixture(scope='module')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    # The server certificate names only 'localhost': connecting to 127.0.0.1 is a host mismatch.
    return make_certificates(tmp_path_factory.mktemp('mysql-tls'), hostnames=('localhost',))


@pytest.fixture(scope='module')
def tls_server(certs: Certs) -> Iterator[ThrowawayMariaDB]:
    with ThrowawayMariaDB(ssl=True, certs=certs) as server:
        yield server


def connect(server: ThrowawayMariaDB, host: str = 'localhost', **changes: object) -> MySQLBackend:
    values: dict = {'username': 'root', 'database': 'test', 'connect_timeout': 5, **changes}
    config = ConnectionConfig(host=host, port=server.port, **values)
    return MySQLBackend(config)


def test_the_right_ca_connects_encrypted_and_verified(tls_server: ThrowawayMariaDB, certs: Certs) -> None:
    backend = connect(tls_server, ssl_ca=str(certs.ca_cert))
    try:
        assert backend.tls_in_use() is True
        version = backend.fetch_one("SHOW SESSION STATUS LIKE 'Ssl_version'")['Value']
        assert version in ('TLSv1.2', 'TLSv1.3')
        assert backend.fetch_value('SELECT ? + 1', (41,)) == 42
        with backend.connection() as pooled:
            # The context pymysql got is the verifying one.
            context = pooled.raw.ctx
            assert context.check_hostname is True and context.verify_mode.name == 'CERT_REQUIRED'
    finally:
        backend.close()


def test_a_wrong_ca_is_refused(tls_server: ThrowawayMariaDB, certs: Certs) -> None:
    backend = connect(tls_server, ssl_ca=str(certs.other_ca_cert))
    try:
        with pytest.raises(errors.OperationalError, match='certificate verify failed') as raised:
            backend.ping()
        assert f'localhost:{tls_server.port}' in str(raised.value)
        assert backend.pool.status()['open'] == 0
    finally:
        backend.close()


def test_a_certificate_for_another_host_name_is_refused(tls_server: ThrowawayMariaDB, certs: Certs) -> None:
    backend = connect(tls_server, host='127.0.0.1', ssl_ca=str(certs.ca_cert))
    try:
        with pytest.raises(errors.OperationalError, match="(?i)hostname mismatch|doesn't match|not valid for"):
            backend.ping()
    finally:
        backend.close()


def test_ssl_verify_false_encrypts_without_checking(tls_server: ThrowawayMariaDB, certs: Certs) -> None:
    backend = connect(tls_server, host='127.0.0.1', ssl_ca=str(certs.other_ca_cert), ssl_verify=False)
    try:
        assert backend.tls_in_use() is True
    finally:
        backend.close()


def test_a_client_certificate_authenticates_a_user_that_requires_one(tls_server: ThrowawayMariaDB,
                                                                   certs: Certs) -> None:
    admin = connect(tls_server, ssl_ca=str(certs.ca_cert))
    try:
        admin.execute("CREATE USER IF NOT EXISTS 'ar_x509'@'%' REQUIRE X509")
        admin.execute("GRANT SELECT ON test.* TO 'ar_x509'@'%'")
    finally:
        admin.close()
    with_cert = connect(tls_server, username='ar_x509', ssl_ca=str(certs.ca_cert),
                        ssl_cert=str(certs.client_cert), ssl_key=str(certs.client_key))
    without_cert = connect(tls_server, username='ar_x509', ssl_ca=str(certs.ca_cert))
    try:
        assert with_cert.fetch_value('SELECT CURRENT_USER()') == 'ar_x509@%'
        with pytest.raises(errors.OperationalError, match='Access denied') as raised:
            without_cert.ping()
        assert raised.value.code == 1045
    finally:
        with_cert.close()
        without_cert.close()


def test_no_plain_text_fallback_when_the_server_has_no_tls(certs: Certs) -> None:
    with ThrowawayMariaDB() as plain_server:
        backend = connect(plain_server, ssl_ca=str(certs.ca_cert))
        try:
            with pytest.raises(errors.OperationalError, match="SSL is required|doesn't support"):
                backend.ping()
            assert backend.pool.status()['open'] == 0
        finally:
            backend.close()
        # Without ssl_ca the same server is reached in plain text, and says so.
        plain = connect(plain_server)
        try:
            assert plain.tls_in_use() is False
        finally:
            plain.close()


def test_certificate_files_that_do_not_exist_fail_clearly(tls_server: ThrowawayMariaDB, tmp_path: Path) -> None:
    backend = connect(tls_server, ssl_ca=str(tmp_path / 'missing-ca.pem'))
    try:
        with pytest.raises(errors.ConfigurationError, match=r'ssl_ca.*missing-ca\.pem'):
            backend.ping()
    finally:
        backend.close()
