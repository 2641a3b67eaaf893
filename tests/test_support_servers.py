"""The throwaway-server helpers work: TLS verified against the right CA only, restart, cleanup.

Uses the raw drivers only, so that these tests prove the helpers and not the library.
"""
from __future__ import annotations

import contextlib
import socket
import ssl
import stat
from pathlib import Path
from typing import Iterator

import pg8000.dbapi
import pymysql
import pytest

from tests.support.servers import (Certs, ServerError, ThrowawayMariaDB, ThrowawayPostgres,
                                   make_certificates)

pytestmark = pytest.mark.server

TIMEOUT = 10


def verifying_context(cafile: Path) -> ssl.SSLContext:
    """A client context that checks the chain against `cafile` and the host name."""
    return ssl.create_default_context(cafile=str(cafile))


def error_chain_text(error: BaseException | None) -> str:
    """The messages of an error and its causes (drivers wrap the SSL error differently)."""
    parts = []
    while error is not None:
        parts.append(repr(error))
        error = error.__cause__ or error.__context__
    return ' <- '.join(parts)


def port_is_closed(port: int) -> bool:
    """Whether nothing accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
    except OSError:
        return True
    return False


@pytest.fixture(scope='module')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certificates(tmp_path_factory.mktemp('certs'))


# --------------------------------------------------------------------------- certificates


def tls_handshake(cert: Path, key: Path, cafile: Path, hostname: str) -> None:
    """Run a TLS handshake in memory between a server with cert+key and a verifying client."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_out, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = verifying_context(cafile).wrap_bio(to_client, client_out, server_hostname=hostname)
    server = server_context.wrap_bio(to_server, server_out, server_side=True)
    finished = [False, False]
    for _ in range(10):
        for index, (side, outgoing, peer_incoming) in enumerate(
                ((client, client_out, to_server), (server, server_out, to_client))):
            if not finished[index]:
                with contextlib.suppress(ssl.SSLWantReadError):
                    side.do_handshake()
                    finished[index] = True
            peer_incoming.write(outgoing.read())
        if all(finished):
            return
    raise AssertionError('the in-memory TLS handshake did not finish')


@pytest.mark.parametrize('hostname', ['127.0.0.1', 'localhost'])
def test_server_certificate_verifies_against_its_ca(certs: Certs, hostname: str) -> None:
    tls_handshake(certs.server_cert, certs.server_key, certs.ca_cert, hostname)


def test_server_certificate_is_refused_with_the_other_ca(certs: Certs) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match='unable to get local issuer'):
        tls_handshake(certs.server_cert, certs.server_key, certs.other_ca_cert, '127.0.0.1')


def test_wrong_host_certificate_is_refused_by_name_only(certs: Certs) -> None:
    tls_handshake(certs.wrong_host_cert, certs.wrong_host_key, certs.ca_cert, 'wrong.example')
    with pytest.raises(ssl.SSLCertVerificationError, match='mismatch'):
        tls_handshake(certs.wrong_host_cert, certs.wrong_host_key, certs.ca_cert, '127.0.0.1')


def test_private_keys_are_readable_by_their_owner_only(certs: Certs) -> None:
    for key in (certs.ca_key, certs.server_key, certs.wrong_host_key, certs.client_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope='module')
def postgres(certs: Certs) -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres(ssl=True, certs=certs, require_ssl=True) as server:
        yield server


def pg_connect(server: ThrowawayPostgres, context: ssl.SSLContext | bool) -> pg8000.dbapi.Connection:
    """A raw pg8000 connection; `context=False` means plain text (None would try unverified TLS)."""
    return pg8000.dbapi.connect(user='postgres', host=server.host, port=server.port,
                                database='postgres', ssl_context=context, timeout=TIMEOUT)


def pg_session_uses_tls(connection: pg8000.dbapi.Connection) -> bool:
    """What the server says about this session's encryption."""
    cursor = connection.cursor()
    cursor.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    return cursor.fetchone()[0]


def test_postgres_serves_tls_verified_by_the_right_ca(postgres: ThrowawayPostgres, certs: Certs) -> None:
    assert postgres.url == f'postgresql://postgres@127.0.0.1:{postgres.port}/postgres'
    connection = pg_connect(postgres, verifying_context(certs.ca_cert))
    try:
        assert pg_session_uses_tls(connection) is True
    finally:
        connection.close()


def test_postgres_is_refused_with_the_other_ca(postgres: ThrowawayPostgres, certs: Certs) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        pg_connect(postgres, verifying_context(certs.other_ca_cert))


def test_postgres_refuses_plain_text_when_ssl_is_required(postgres: ThrowawayPostgres) -> None:
    with pytest.raises(pg8000.dbapi.DatabaseError, match='no encryption'):
        pg_connect(postgres, False)


def test_postgres_restart_breaks_old_connections_and_accepts_new(
        postgres: ThrowawayPostgres, certs: Certs) -> None:
    context = verifying_context(certs.ca_cert)
    old = pg_connect(postgres, context)
    postgres.restart()
    with pytest.raises(pg8000.dbapi.Error):
        pg_session_uses_tls(old)
    with contextlib.suppress(Exception):
        old.close()
    postgres.stop()
    assert not postgres.running and port_is_closed(postgres.port)
    postgres.start()
    new = pg_connect(postgres, context)
    try:
        assert pg_session_uses_tls(new) is True
    finally:
        new.close()


def test_postgres_with_the_wrong_host_certificate_is_refused_by_name(certs: Certs) -> None:
    with ThrowawayPostgres(ssl=True, certs=certs, wrong_host_cert=True) as server:
        with pytest.raises(ssl.SSLCertVerificationError, match='mismatch'):
            pg_connect(server, verifying_context(certs.ca_cert))


def test_postgres_without_tls_cleans_up_after_itself() -> None:
    with ThrowawayPostgres() as server:
        directory, port = server.directory, server.port
        connection = pg_connect(server, False)
        assert pg_session_uses_tls(connection) is False
        connection.close()
    assert directory is not None and not directory.exists()
    assert port_is_closed(port)


def test_postgres_startup_failure_shows_the_log_and_cleans_up() -> None:
    server = ThrowawayPostgres(settings={'shared_buffers': 'plenty'})
    with pytest.raises(ServerError, match='shared_buffers') as caught:
        server.__enter__()
    assert 'starting PostgreSQL' in str(caught.value)
    assert server.directory is None and not server.running


# --------------------------------------------------------------------------- MariaDB


@pytest.fixture(scope='module')
def mariadb(certs: Certs) -> Iterator[ThrowawayMariaDB]:
    with ThrowawayMariaDB(ssl=True, certs=certs, require_secure_transport=True) as server:
        yield server


def my_connect(server: ThrowawayMariaDB, context: ssl.SSLContext | None) -> pymysql.Connection:
    """A raw pymysql connection to database `test`; `context=None` means plain text."""
    # Without ssl_disabled, pymysql silently tries unverified TLS when given no context.
    tls = {'ssl': context} if context is not None else {'ssl_disabled': True}
    return pymysql.connect(host=server.host, port=server.port, user='root', database='test',
                           connect_timeout=TIMEOUT, read_timeout=TIMEOUT, **tls)


def my_cipher(connection: pymysql.Connection) -> str:
    """The TLS cipher the server reports for this session ('' when plain text)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW STATUS LIKE 'Ssl_cipher'")
        return cursor.fetchone()[1]


def test_mariadb_serves_tls_verified_by_the_right_ca(mariadb: ThrowawayMariaDB, certs: Certs) -> None:
    assert mariadb.url == f'mysql://root@127.0.0.1:{mariadb.port}/test'
    connection = my_connect(mariadb, verifying_context(certs.ca_cert))
    try:
        assert my_cipher(connection) != ''
    finally:
        connection.close()


def test_mariadb_is_refused_with_the_other_ca(mariadb: ThrowawayMariaDB, certs: Certs) -> None:
    with pytest.raises(pymysql.MySQLError) as caught:
        my_connect(mariadb, verifying_context(certs.other_ca_cert))
    assert 'CERTIFICATE_VERIFY_FAILED' in error_chain_text(caught.value)


def test_mariadb_refuses_plain_text_when_secure_transport_is_required(mariadb: ThrowawayMariaDB) -> None:
    # MariaDB answers 1045 'Access denied' here, where MySQL would say 'insecure transport'.
    with pytest.raises(pymysql.MySQLError, match='Access denied|insecure transport'):
        my_connect(mariadb, None)


def test_mariadb_restart_breaks_old_connections_and_accepts_new(
        mariadb: ThrowawayMariaDB, certs: Certs) -> None:
    context = verifying_context(certs.ca_cert)
    old = my_connect(mariadb, context)
    mariadb.restart()
    with pytest.raises(pymysql.MySQLError):
        my_cipher(old)
    with contextlib.suppress(Exception):
        old.close()
    mariadb.stop(mode='immediate')
    assert not mariadb.running and port_is_closed(mariadb.port)
    mariadb.start()  # after a crash: InnoDB recovers
    new = my_connect(mariadb, context)
    try:
        assert my_cipher(new) != ''
    finally:
        new.close()


def test_mariadb_without_tls_cleans_up_after_itself() -> None:
    with ThrowawayMariaDB() as server:
        directory, port = server.directory, server.port
        connection = my_connect(server, None)
        assert my_cipher(connection) == ''
        connection.close()
    assert directory is not None and not directory.exists()
    assert port_is_closed(port)


def test_mariadb_startup_failure_shows_the_log_and_cleans_up() -> None:
    server = ThrowawayMariaDB(options=['--no-such-option'])
    with pytest.raises(ServerError, match='no-such-option') as caught:
        server.__enter__()
    assert 'during startup' in str(caught.value)
    assert server.directory is None and not server.running
