"""Bad connection settings: malformed URLs, wrong ports, bad credentials, TLS asked of a server
without it. Each fails with an error that names the problem, and no message, repr or log
record ever shows the password.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator

import pytest

from activerecord import ActiveRecord
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ActiveRecordError, ConfigurationError, OperationalError
from conftest import require_server
from tests.support.servers import Certs, ThrowawayPostgres, free_port, make_certificates

from .conftest import record

PASSWORD = 'Sup3r-S3cret_pw'
RIGHT_PASSWORD = 'Right-Pa55word'
ROLE = 'ar_secret'


class Probe(ActiveRecord):
    __table_name__ = 'ar_rel_probe'
    id: int


@pytest.fixture
def all_logs() -> Iterator[list[str]]:
    """Every log record of the run while the test runs (any logger, any level)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage() + (self.format(record) if record.exc_info else ''))

    root = logging.getLogger()
    handler, level = Collect(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield messages
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        assert not [message for message in messages if PASSWORD in message]


def assert_hidden(*texts: object) -> None:
    for text in texts:
        assert PASSWORD not in str(text), f'the password shows in: {text}'


# -- malformed URLs -----------------------------------------------------------------------

MALFORMED = [
    (f'postgresql//ann:{PASSWORD}@db.example/app', 'is not a URL'),
    (f'nosuchdb://ann:{PASSWORD}@db.example/app', "'nosuchdb' is not a known URL scheme"),
    (f'postgresql://ann:{PASSWORD}@db.example:notaport/app', 'ConnectionConfig.port'),
    (f'mysql://ann:{PASSWORD}@db.example:99999/app', 'ConnectionConfig.port'),
    (f'mysql://ann:{PASSWORD}@[::1/app', 'ConnectionConfig.port'),
    (f'postgresql://ann:{PASSWORD}@db.example/app?pool_size=many', 'ConnectionConfig.pool_size'),
    (f'postgresql://ann:{PASSWORD}@db.example/app?pool_timeout=-1', 'ConnectionConfig.pool_timeout'),
    (f'postgresql://ann:{PASSWORD}@db.example/app?pool_pre_ping=perhaps', 'ConnectionConfig.pool_pre_ping'),
    (f'postgresql://ann:{PASSWORD}@db.example/app?ssl_cert=only-a-cert.pem', 'ssl_key'),
    (f'postgresql://ann:{PASSWORD}@db.example/app?nosuchoption=1', "'nosuchoption' is not an option"),
    (f'mysql://ann:{PASSWORD}@db.example', 'ConnectionConfig.database'),
    (f'sqlite://ann:{PASSWORD}@db.example/app.db', 'has a host part'),
    (f'postgresql://ann@db.example/app?password={PASSWORD}&port=0', 'ConnectionConfig.port'),
]


@pytest.mark.parametrize('url, problem', MALFORMED, ids=[problem for _, problem in MALFORMED])
def test_a_malformed_url_names_the_problem_and_hides_the_password(url: str, problem: str, all_logs) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Probe.configure(url)
    assert problem in str(raised.value)
    assert_hidden(raised.value, repr(raised.value))
    record('inputs')


def test_configs_and_backends_never_show_the_password(all_logs) -> None:
    config = ConnectionConfig.from_url(f'postgresql://ann:{PASSWORD}@db.example:5432/app?pool_size=2')
    backend = backend_class_for(config.scheme)(config)
    assert config.password == PASSWORD
    assert_hidden(repr(config), str(config), config.display_url(), repr(backend), backend.pool.name)
    record('inputs')


# -- servers that cannot be reached or refuse us ------------------------------------------

def failed_connection(url: str, **changes: object) -> OperationalError:
    """The error of the first statement through a model configured on `url`."""
    config = ConnectionConfig.from_url(url, connect_timeout=5, **changes)
    backend = Probe.configure(config)
    try:
        with pytest.raises(OperationalError) as raised:
            Probe.query().count()
        with pytest.raises(OperationalError):
            backend.ping()
        # A failed connect leaves no slot taken.
        assert backend.pool.status()['open'] == 0 and backend.pool.status()['checked_out'] == 0
        assert_hidden(raised.value, repr(raised.value), raised.value.__cause__)
        return raised.value
    finally:
        backend.close()


@pytest.mark.parametrize('scheme', ['postgresql', 'mysql'])
def test_a_wrong_port_names_host_and_port(scheme: str, all_logs) -> None:
    port = free_port()
    error = failed_connection(f'{scheme}://ann:{PASSWORD}@127.0.0.1:{port}/test')
    message = str(error).lower()
    assert f'127.0.0.1:{port}' in message and 'cannot connect' in message
    assert 'refused' in message
    record('inputs')


def test_mariadb_bad_credentials_say_access_denied(all_logs) -> None:
    url = require_server('mysql').replace('root@', f'root:{PASSWORD}@')
    error = failed_connection(url)
    assert 'access denied' in str(error).lower()
    record('inputs')


def test_postgresql_unknown_role_is_named(all_logs) -> None:
    url = require_server('postgresql').replace('postgres@', f'ar_no_such_role:{PASSWORD}@')
    error = failed_connection(url)
    assert 'ar_no_such_role' in str(error) and 'does not exist' in str(error)
    record('inputs')


@pytest.fixture(scope='module')
def password_server() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server where ROLE must give its password (SCRAM) over TCP."""
    with ThrowawayPostgres() as server:
        admin = backend_class_for('postgresql')(ConnectionConfig.from_url(server.url, pool_size=1))
        try:
            # CREATE ROLE takes no bound parameters; the password is a constant of this test.
            admin.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{RIGHT_PASSWORD}'")
            hba = server.data_directory / 'pg_hba.conf'
            hba.write_text(f'host all {ROLE} 127.0.0.1/32 scram-sha-256\n' + hba.read_text())
            assert admin.fetch_value('SELECT pg_reload_conf()') is True
            _wait_for_password_checks(server)
        finally:
            admin.close()
        yield server


def _wait_for_password_checks(server: ThrowawayPostgres) -> None:
    deadline = time.monotonic() + 10
    while True:
        config = ConnectionConfig.from_url(server.url, username=ROLE, password='not-it', connect_timeout=5)
        backend = backend_class_for('postgresql')(config)
        try:
            backend.ping()
        except OperationalError:
            return   # the new pg_hba.conf is in force
        finally:
            backend.close()
        assert time.monotonic() < deadline, 'pg_hba.conf was not reloaded'
        time.sleep(0.05)


@pytest.mark.server
def test_postgresql_wrong_password_says_authentication_failed(password_server: ThrowawayPostgres, all_logs) -> None:
    url = f'postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{password_server.port}/postgres'
    error = failed_connection(url)
    assert 'password authentication failed' in str(error) and ROLE in str(error)
    # The right password works: the failure above was about the password.
    backend = Probe.configure(url.replace(PASSWORD, RIGHT_PASSWORD))
    try:
        assert backend.fetch_value('SELECT current_user') == ROLE
    finally:
        backend.close()
    record('inputs')


# -- TLS asked of a server that has none --------------------------------------------------

@pytest.fixture(scope='module')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certificates(tmp_path_factory.mktemp('reliability-certs'))


@pytest.mark.server
def test_postgresql_without_tls_is_refused_when_ssl_ca_is_set(password_server: ThrowawayPostgres,
                                                              certs: Certs, all_logs) -> None:
    url = f'postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{password_server.port}/postgres'
    error = failed_connection(url, ssl_ca=str(certs.ca_cert))
    assert 'ssl' in str(error).lower() or 'tls' in str(error).lower(), error
    record('inputs')


def test_mariadb_without_tls_is_refused_when_ssl_ca_is_set(certs: Certs, all_logs) -> None:
    live = ConnectionConfig.from_url(require_server('mysql'))
    backend = Probe.configure(live)
    try:
        assert backend.fetch_one("SHOW VARIABLES LIKE 'have_ssl'")['Value'] != 'YES', \
            'the matrix MariaDB has TLS on: this test needs a server without it'
    finally:
        backend.close()
    url = require_server('mysql').replace('root@', f'root:{PASSWORD}@')
    error = failed_connection(url, ssl_ca=str(certs.ca_cert))
    assert 'ssl' in str(error).lower() or 'tls' in str(error).lower(), error
    record('inputs')


def test_an_unconfigured_model_says_how_to_configure_it() -> None:
    class Loose(ActiveRecord):
        __table_name__ = 'ar_rel_loose'
        id: int

    with pytest.raises(ActiveRecordError, match=r'Loose is not configured: call Loose\.configure'):
        Loose.query().count()
    record('inputs')


def test_a_missing_certificate_file_is_named(tmp_path: Path, all_logs) -> None:
    missing = tmp_path / 'no-such-ca.pem'
    url = require_server('postgresql').replace('postgres@', f'postgres:{PASSWORD}@')
    with pytest.raises(ActiveRecordError) as raised:
        config = ConnectionConfig.from_url(url, ssl_ca=str(missing), connect_timeout=5)
        backend = Probe.configure(config)
        try:
            backend.ping()
        finally:
            backend.close()
    assert 'no-such-ca.pem' in str(raised.value) or 'No such file' in str(raised.value), raised.value
    assert_hidden(raised.value)
    record('inputs')
