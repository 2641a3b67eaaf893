"""The Oracle driver adapter, tested against the real oracledb module (thin mode) without a server.

- the exact keywords OracleBackend passes to oracledb.connect (oracledb.connect captured);
- a closed loopback port: the real thin driver, translated to OperationalError;
- TLS: oracledb's real thin client against a loopback TLS endpoint with certificates made for the
  test: the right CA completes the handshake and the driver's TNS CONNECT packet arrives
  encrypted; a wrong CA, a wrong host name and a server without TLS are refused;
- errors: exception objects built by oracledb's own error machinery, as the thin driver raises
  them for a server's ORA- message, reach the error family;
- sessions, transactions, RETURNING INTO and PL/SQL calls: driven through a recording stand-in
  for the driver connection (the one part that needs a server to be real), checking the SQL, the
  binds and the autocommit switch the adapter sends.
"""
from __future__ import annotations

import decimal
import socket
import ssl
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import oracledb
from oracledb import errors as oracledb_errors
import pytest

from activerecord import errors
from activerecord.backend.impl.oracle.backend import (DISCONNECT_CODES, ERROR_CODES, InOut, OracleBackend, Out,
                                                       output_type_handler)
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.typing import ConnectionConfig
from tests.backends.closed_port import check_fails_plainly, refused_at_a_closed_port
from tests.backends.loopback import LoopbackEndpoint, started_endpoints
from tests.support.servers import Certs, free_port, make_certificates

SECRET = 'S3cret-pw!'


def backend_for(**changes: Any) -> OracleBackend:
    values: dict[str, Any] = dict(host='127.0.0.1', port=1521, database='FREEPDB1', username='scott',
                                  password=SECRET, connect_timeout=5, pool_size=1)
    values.update(changes)
    return OracleBackend(ConnectionConfig(**values))


def test_thin_mode_is_what_runs() -> None:
    backend_for().close()
    assert oracledb.is_thin_mode() is True


# -- connect keywords ----------------------------------------------------------------------------

def test_connect_keywords_are_exactly_these(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}
    monkeypatch.setattr(oracledb, 'connect', lambda **kwargs: captured.update(kwargs) or 'raw connection')
    backend = backend_for(options={'expire_time': '5', 'program': 'billing', 'call_timeout': 3000})
    assert backend.open_raw_connection(backend.connect_kwargs()) == 'raw connection'
    assert captured == {
        'user': 'scott', 'password': SECRET, 'host': '127.0.0.1', 'port': 1521, 'service_name': 'FREEPDB1',
        'tcp_connect_timeout': 5.0, 'retry_count': 0, 'expire_time': 5, 'program': 'billing',
    }
    backend.close()


def test_a_sid_replaces_the_service_name() -> None:
    kwargs = backend_for(database=None, port=None, options={'sid': 'ORCL'}).connect_kwargs()
    assert kwargs['sid'] == 'ORCL' and 'service_name' not in kwargs and kwargs['port'] == 1521


def test_ssl_ca_means_tcps_with_a_verifying_context(certs: Certs) -> None:
    kwargs = backend_for(ssl_ca=str(certs.ca_cert)).connect_kwargs()
    context = kwargs['ssl_context']
    assert kwargs['protocol'] == 'tcps' and kwargs['ssl_server_dn_match'] is True
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True
    assert [dict(item[0] for item in ca['subject'])['commonName'] for ca in context.get_ca_certs()] \
        == ['activerecord test CA']
    unchecked = backend_for(ssl_ca=str(certs.ca_cert), ssl_verify=False).connect_kwargs()
    assert unchecked['ssl_server_dn_match'] is False and unchecked['ssl_context'].verify_mode == ssl.CERT_NONE
    system = backend_for(options={'protocol': 'tcps'}).connect_kwargs()
    assert system['protocol'] == 'tcps' and system['ssl_context'].verify_mode == ssl.CERT_REQUIRED
    assert 'protocol' not in backend_for().connect_kwargs()


def test_bad_configurations_are_refused(certs: Certs) -> None:
    with pytest.raises(errors.ConfigurationError, match='expected the service name'):
        backend_for(database=None)
    with pytest.raises(errors.ConfigurationError, match="'udp' is not allowed; expected 'tcp' or 'tcps'"):
        backend_for(options={'protocol': 'udp'})
    with pytest.raises(errors.ConfigurationError, match="'tcp' is not allowed with ssl_ca"):
        backend_for(options={'protocol': 'tcp'}, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.ConfigurationError, match=r"options\['expire_time'\]: 'soon' is not allowed"):
        backend_for(options={'expire_time': 'soon'})
    with pytest.raises(errors.ConfigurationError, match="'wallet' is not an option of OracleBackend"):
        backend_for(options={'wallet': 'x'})


def test_a_closed_port_raises_operational_error_naming_host_and_port_not_the_password() -> None:
    port = free_port()
    backend = backend_for(port=port)
    error, elapsed = refused_at_a_closed_port(backend, 'oracle', port, SECRET)
    assert str(error).startswith(f'cannot connect to oracle at 127.0.0.1:{port}: DPY-6005: cannot connect to database')
    assert error.code == 'DPY-6005'
    assert isinstance(error.__cause__, oracledb.OperationalError)
    assert SECRET not in repr(backend)
    assert elapsed < 2.0
    backend.close()


def test_check_command_says_which_host_and_port_failed_without_traceback_or_password() -> None:
    port = free_port()
    stderr = check_fails_plainly(f'oracle://scott:{SECRET}@127.0.0.1:{port}/FREEPDB1', SECRET)
    assert stderr.startswith(f'error: cannot connect to oracle at 127.0.0.1:{port}: ')
    assert 'DPY-6005: cannot connect to database' in stderr


# -- TLS against a loopback endpoint -----------------------------------------------------------------

@pytest.fixture(scope='module')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certificates(tmp_path_factory.mktemp('oracle-certs'))


class TLSEndpoint(LoopbackEndpoint):
    """Runs a TLS handshake (or none), records what the client sent, closes; a TLS or socket
    error is recorded as ('refused', error class name)."""

    failure_event = 'refused'
    session_errors = (ssl.SSLError, OSError)

    def __init__(self, cert: Path | None = None, key: Path | None = None) -> None:
        self.context = None
        if cert is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(str(cert), str(key))
        super().__init__()

    def session(self, conn: socket.socket) -> None:
        if self.context is None:
            self.events.append(('plain bytes', conn.recv(5)))
        else:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.events.append(('handshake', tls.version()))
                self.events.append(('decrypted', len(tls.recv(4096))))


@pytest.fixture
def endpoint() -> Iterator[Any]:
    yield from started_endpoints(TLSEndpoint)


def _wait_for(events: list[Any], count: int) -> list[Any]:
    deadline = time.monotonic() + 5
    while len(events) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return events


def test_right_ca_handshakes_and_the_driver_talks_tns_inside_tls(endpoint: Any, certs: Certs) -> None:
    server = endpoint(certs.server_cert, certs.server_key)
    backend = backend_for(port=server.port, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.OperationalError) as raised:
        backend.ping()
    events = _wait_for(server.events, 2)
    assert events[0][0] == 'handshake' and events[0][1].startswith('TLS')
    assert events[1][0] == 'decrypted' and events[1][1] > 0      # the TNS CONNECT packet, encrypted
    # the endpoint then hangs up, which the driver reports as a closed connection
    assert 'DPY-4011' in str(raised.value)
    backend.close()


def test_wrong_ca_is_refused(endpoint: Any, certs: Certs) -> None:
    server = endpoint(certs.server_cert, certs.server_key)
    backend = backend_for(port=server.port, ssl_ca=str(certs.other_ca_cert))
    with pytest.raises(errors.OperationalError, match='CERTIFICATE_VERIFY_FAILED'):
        backend.ping()
    assert _wait_for(server.events, 1)[0] == ('refused', 'SSLError')
    backend.close()


def test_wrong_host_name_is_refused_by_the_driver(endpoint: Any, certs: Certs) -> None:
    server = endpoint(certs.wrong_host_cert, certs.wrong_host_key)
    backend = backend_for(port=server.port, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.OperationalError, match='DPY-6006: The name on the server certificate does not match'):
        backend.ping()
    backend.close()


def test_ssl_verify_false_skips_the_checks(endpoint: Any, certs: Certs) -> None:
    server = endpoint(certs.wrong_host_cert, certs.wrong_host_key)
    backend = backend_for(port=server.port, ssl_ca=str(certs.other_ca_cert), ssl_verify=False)
    with pytest.raises(errors.OperationalError, match='DPY-4011'):
        backend.ping()
    assert _wait_for(server.events, 2)[1][0] == 'decrypted'
    backend.close()


def test_a_server_without_tls_gets_a_client_hello_never_plain_text(endpoint: Any, certs: Certs) -> None:
    server = endpoint()
    backend = backend_for(port=server.port, ssl_ca=str(certs.ca_cert), connect_timeout=3)
    with pytest.raises(errors.OperationalError):
        backend.ping()
    first = _wait_for(server.events, 1)[0]
    assert first[0] == 'plain bytes' and first[1][:1] == b'\x16'   # a TLS handshake record
    backend.close()


# -- errors, as the thin driver builds them ------------------------------------------------------------

def driver_error(message: str, code: int = 0) -> Exception:
    """The exception oracledb raises for a server message (its own classification included)."""
    error = oracledb_errors._Error(message, code=code)
    return error.exc_type(error)


@pytest.mark.parametrize(('code', 'expected'), [
    (1, errors.IntegrityError), (1400, errors.IntegrityError), (2290, errors.IntegrityError),
    (2291, errors.IntegrityError), (2292, errors.IntegrityError),
    (8177, errors.OperationalError), (60, errors.OperationalError), (54, errors.OperationalError),
    (942, errors.ProgrammingError), (904, errors.ProgrammingError), (933, errors.ProgrammingError),
    (6550, errors.ProgrammingError), (1438, errors.DataError), (12899, errors.DataError),
    (1722, errors.DataError), (1017, errors.OperationalError),
])
def test_ora_errors_reach_the_error_family(code: int, expected: type) -> None:
    backend = backend_for()
    error = driver_error(f'ORA-{code:05d}: the server said so', code)
    translated = backend.translate_error(error)
    assert type(translated) is expected
    assert translated.code == f'ORA-{code:05d}'
    assert str(translated).startswith(f'ORA-{code:05d}: the server said so')
    assert not backend.is_disconnect(error)
    backend.close()


@pytest.mark.parametrize('code', [3113, 3114, 3135, 28, 1012])
def test_lost_sessions_are_disconnects(code: int) -> None:
    backend = backend_for()
    error = driver_error(f'ORA-{code:05d}: end-of-file on communication channel', code)
    assert backend.is_disconnect(error)
    translated = backend.translate_error(error)
    assert type(translated) is errors.OperationalError and translated.code == 'DPY-4011'
    backend.close()


def test_error_tables_use_only_the_error_family() -> None:
    assert all(issubclass(cls, errors.DatabaseError) for cls in ERROR_CODES.values())
    assert {'DPY-4011', 'DPY-1001'} <= DISCONNECT_CODES


def test_a_password_in_a_driver_message_is_masked() -> None:
    backend = backend_for()
    translated = backend.translate_error(driver_error(f'ORA-01017: invalid username/password {SECRET}', 1017))
    assert SECRET not in str(translated) and '***' in str(translated)
    backend.close()


# -- output type handler ---------------------------------------------------------------------------

class RecordingCursor:
    arraysize = 100

    def __init__(self) -> None:
        self.vars: list[tuple] = []

    def var(self, kind: Any, size: int = 0, arraysize: int = 1, outconverter: Any = None) -> Any:
        self.vars.append((kind, arraysize, outconverter))
        return SimpleNamespace(kind=kind, outconverter=outconverter)


@pytest.mark.parametrize(('type_code', 'precision', 'scale', 'expected'), [
    (oracledb.DB_TYPE_NUMBER, 19, 0, None),                         # NUMBER(19): int as the driver gives it
    (oracledb.DB_TYPE_NUMBER, 10, 2, decimal.Decimal),              # NUMBER(10, 2): exact
    (oracledb.DB_TYPE_NUMBER, 0, -127, decimal.Decimal),            # NUMBER / COUNT(*) / SUM(...)
    (oracledb.DB_TYPE_CLOB, 0, 0, oracledb.DB_TYPE_LONG),
    (oracledb.DB_TYPE_NCLOB, 0, 0, oracledb.DB_TYPE_LONG_NVARCHAR),
    (oracledb.DB_TYPE_BLOB, 0, 0, oracledb.DB_TYPE_LONG_RAW),
    (oracledb.DB_TYPE_VARCHAR, 0, 0, None),
    (oracledb.DB_TYPE_BINARY_DOUBLE, 0, 0, None),
])
def test_output_type_handler_fetches_exact_numbers_and_lob_values(type_code: Any, precision: int, scale: int,
                                                                   expected: Any) -> None:
    cursor = RecordingCursor()
    metadata = SimpleNamespace(type_code=type_code, precision=precision, scale=scale)
    result = output_type_handler(cursor, metadata)
    if expected is None:
        assert result is None and cursor.vars == []
    else:
        assert result.kind is expected and cursor.vars[0][1] == 100


def test_numbers_of_unknown_scale_are_int_when_integral_else_decimal() -> None:
    cursor = RecordingCursor()
    variable = output_type_handler(cursor, SimpleNamespace(type_code=oracledb.DB_TYPE_NUMBER, precision=0, scale=-127))
    assert variable.outconverter(decimal.Decimal('42')) == 42 and type(variable.outconverter(decimal.Decimal('42'))) is int
    assert variable.outconverter(decimal.Decimal('2.50')) == decimal.Decimal('2.50')


# -- sessions, transactions, RETURNING INTO, PL/SQL (a recording driver connection) ----------------------

class FakeVar:
    def __init__(self, kind: Any, size: int = 0) -> None:
        self.kind, self.size = kind, size
        self.value: Any = None

    def setvalue(self, position: int, value: Any) -> None:
        self.value = value

    def getvalue(self) -> Any:
        return self.value


class FakeCursor:
    def __init__(self, connection: 'FakeConnection') -> None:
        self.connection = connection
        self.rowcount = 1
        self.description = None

    def var(self, kind: Any, size: int = 0, **_: Any) -> FakeVar:
        return FakeVar(kind, size)

    def execute(self, sql: str, params: Any = None) -> None:
        self.connection.log.append((sql, params, self.connection.autocommit))
        outcome = self.connection.script.pop(0) if self.connection.script else None
        if isinstance(outcome, Exception):
            raise outcome
        if callable(outcome):
            outcome(params)

    def fetchall(self) -> list:
        return []

    def close(self) -> None:
        pass


class FakeConnection:
    """Records each statement with its binds and the autocommit flag in force when it ran."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any, bool]] = []
        self.script: list[Any] = []
        self.autocommit = False
        self.transaction_in_progress = False
        self.outputtypehandler = None
        self.rollbacks = 0

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def rollback(self) -> None:
        self.rollbacks += 1

    def ping(self) -> None:
        self.log.append(('<ping>', None, self.autocommit))

    def close(self) -> None:
        pass


@pytest.fixture
def faked(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[OracleBackend, FakeConnection]]:
    connection = FakeConnection()
    monkeypatch.setattr(oracledb, 'connect', lambda **kwargs: connection)
    backend = backend_for()
    yield backend, connection
    backend.close()


def statements(connection: FakeConnection) -> list[tuple[str, bool]]:
    return [(sql, autocommit) for sql, _, autocommit in connection.log]


def test_a_new_session_autocommits_in_utc_with_the_type_handler(faked: Any) -> None:
    backend, connection = faked
    backend.ping()
    assert connection.outputtypehandler is output_type_handler
    assert statements(connection) == [("ALTER SESSION SET TIME_ZONE = '+00:00'", True), ('<ping>', True)]


def test_transactions_switch_autocommit_off_and_send_oracle_statements(faked: Any) -> None:
    backend, connection = faked
    backend.execute('UPDATE "t" SET "n" = ?', (1,))
    with backend.transaction(isolation_level=IsolationLevel.REPEATABLE_READ):   # -> SERIALIZABLE
        backend.execute('UPDATE "t" SET "n" = ?', (2,))
        with backend.transaction():
            backend.execute('DELETE FROM "t"')
    with backend.transaction(read_only=True):
        backend.execute('SELECT 1 FROM DUAL')
    log = statements(connection)[1:]
    savepoint = log[3][0].split()[-1]
    assert log == [
        ('UPDATE "t" SET "n" = :p1', True),
        ('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', False),
        ('UPDATE "t" SET "n" = :p1', False),
        (f'SAVEPOINT {savepoint}', False),
        ('DELETE FROM "t"', False),
        ('COMMIT', False),
        ('SET TRANSACTION READ ONLY', False),
        ('SELECT 1 FROM DUAL', False),
        ('COMMIT', False),
    ]
    assert connection.autocommit is True                  # back to autocommit after each transaction
    assert connection.log[1][1] == {'p1': 1}


def test_a_nested_failure_rolls_back_to_the_savepoint_without_release(faked: Any) -> None:
    backend, connection = faked
    backend.ping()
    with backend.transaction():
        with pytest.raises(ZeroDivisionError):
            with backend.transaction():
                backend.execute('DELETE FROM "t"')
                1 / 0
    log = [sql for sql, _ in statements(connection)[2:]]
    savepoint = log[0].split()[-1]
    assert log == [f'SAVEPOINT {savepoint}', 'DELETE FROM "t"', f'ROLLBACK TO SAVEPOINT {savepoint}', 'COMMIT']


def test_a_failed_commit_leaves_the_pooled_connection_autocommitting(faked: Any) -> None:
    backend, connection = faked
    backend.ping()
    connection.script = [None, driver_error('ORA-02091: transaction rolled back', 2091)]
    with pytest.raises(errors.DatabaseError):
        with backend.transaction():
            backend.execute('INSERT INTO "t" ("n") VALUES (?)', (1,))
    assert connection.autocommit is True
    backend.execute('DELETE FROM "t"')
    assert connection.log[-1] == ('DELETE FROM "t"', None, True)


def test_snapshot_is_refused_and_read_committed_is_sent_as_asked(faked: Any) -> None:
    backend, connection = faked
    with pytest.raises(errors.NotSupportedError, match='oracle cannot give isolation level SNAPSHOT'):
        with backend.transaction(isolation_level=IsolationLevel.SNAPSHOT):
            pass
    with backend.transaction(isolation_level=IsolationLevel.READ_UNCOMMITTED):
        pass
    assert statements(connection)[-2:] == [('SET TRANSACTION ISOLATION LEVEL READ COMMITTED', False), ('COMMIT', False)]


def test_insert_returning_key_binds_an_output_variable(faked: Any) -> None:
    backend, connection = faked
    sql = backend.dialect.insert_sql('users', ['name', 'email'], returning=['id'])
    connection.script = [None, lambda params: params['p3'].setvalue(0, [42])]
    assert backend.insert_returning_key(sql, ('ann', 'a@x')) == 42
    sent, params, _ = connection.log[-1]
    assert sent == 'INSERT INTO "users" ("name", "email") VALUES (:p1, :p2) RETURNING "id" INTO :p3'
    assert (params['p1'], params['p2'], params['p3'].kind) == ('ann', 'a@x', int)
    with pytest.raises(errors.ProgrammingError, match='RETURNING ... INTO'):
        backend.insert_returning_key(backend.dialect.insert_sql('users', ['name']), ('bob',))


def test_callproc_and_callfunc_write_a_plsql_call_with_out_variables(faked: Any) -> None:
    backend, connection = faked
    connection.script = [None, lambda params: params['p2'].setvalue(0, 'done')]
    assert backend.callproc('billing.close_month', [2024, Out(str), True]) == [2024, 'done', True]
    sql, params, _ = connection.log[-1]
    assert sql == 'BEGIN billing.close_month(:p1, :p2, :p3); END;'
    assert params['p1'] == 2024 and params['p3'] is True           # a PL/SQL BOOLEAN stays a bool
    assert (params['p2'].kind, params['p2'].size) == (str, 32767)
    connection.script = [lambda params: params['ret'].setvalue(0, decimal.Decimal('7.5'))]
    assert backend.callfunc('"Pricing".net', decimal.Decimal, [10], {'rate': InOut(3, int)}) == decimal.Decimal('7.5')
    sql, params, _ = connection.log[-1]
    assert sql == 'BEGIN :ret := "Pricing".net(:p1, rate => :k_rate); END;'
    assert params['k_rate'].value == 3 and params['k_rate'].kind is int


def test_execute_plsql_takes_question_marks_or_names(faked: Any) -> None:
    backend, connection = faked
    connection.script = [None, lambda params: params['p2'].setvalue(0, 6)]
    result = backend.execute_plsql('DECLARE x NUMBER := ?; BEGIN ? := x * 2; END;', [3, Out(int)])
    assert result == [3, 6]
    assert connection.log[-1][0] == 'DECLARE x NUMBER := :p1; BEGIN :p2 := x * 2; END;'
    connection.script = [lambda params: params['total'].setvalue(0, 9)]
    assert backend.execute_plsql('BEGIN :total := :a + 4; END;', {'a': 5, 'total': Out(int)}) == {'a': 5, 'total': 9}
    with pytest.raises(errors.ProgrammingError, match=r'has 0 `\?` placeholder\(s\) but 1 parameter'):
        backend.execute_plsql('BEGIN NULL; END; -- ? in a comment is text', ['one too many'])


@pytest.mark.parametrize('name', ['x; DROP TABLE t', 'a.b.c.d', '1abc', '"unterminated', 'p(1)', ''])
def test_plsql_names_that_are_not_identifiers_are_refused(faked: Any, name: str) -> None:
    backend, connection = faked
    with pytest.raises(errors.ProgrammingError, match='is not a PL/SQL name'):
        backend.callproc(name, [])
    assert connection.log == []
