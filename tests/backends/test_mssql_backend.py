"""The SQL Server driver adapter, tested against the real python-tds module without a server.

- the exact keywords SQLServerBackend passes to pytds.connect (pytds.connect captured);
- a closed loopback port: the real driver path, translated to OperationalError at once;
- TLS: python-tds's real client against a small TDS endpoint in this file that answers the
  PRELOGIN exchange, runs the TLS handshake inside TDS packets with certificates made for the
  test, and then reads the LOGIN7 packet over TLS (so a verified handshake is proven by the
  login arriving encrypted) and refuses it with error 18456;
- after a plain login the endpoint records each SQL batch as it arrives on the wire and answers
  with the server errors a test asks for, so transaction statements, error numbers and
  disconnects go through the driver's real parsing.
"""
from __future__ import annotations

import datetime
import ipaddress
import re
import socket
import ssl
import struct
import time
from collections import deque
from pathlib import Path
from typing import Any, Iterator

import pytest
import pytds

from activerecord import errors
from activerecord.backend.impl.mssql.backend import DISCONNECT_CODES, ERROR_CODES, SQLServerBackend
from activerecord.backend.impl.mssql.tds_internals import certificate_matches_host
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.typing import ConnectionConfig
from tests.backends.closed_port import check_fails_plainly, refused_at_a_closed_port
from tests.backends.loopback import LoopbackEndpoint, started_endpoints
from tests.support.servers import Certs, free_port, make_certificates

SECRET = 'S3cret-pw!'

# -- a minimal TDS endpoint ------------------------------------------------------------------

PRELOGIN, REPLY, LOGIN7, SQL_BATCH, RPC = 0x12, 0x04, 0x10, 0x01, 0x03
ENCRYPT_ON, ENCRYPT_NOT_SUP = 1, 2


def _read_exact(read: Any, size: int) -> bytes:
    data = b''
    while len(data) < size:
        chunk = read(size - len(data))
        if not chunk:
            raise EOFError('the client closed the connection')
        data += chunk
    return data


def _packet(kind: int, payload: bytes) -> bytes:
    return struct.pack('>BBHHBB', kind, 1, len(payload) + 8, 0, 1, 0) + payload


def _prelogin_reply(encryption: int) -> bytes:
    tokens = [(0, struct.pack('>LH', 0x10000000, 0)), (1, bytes([encryption]))]
    offset, head, body = 5 * len(tokens) + 1, b'', b''
    for token, value in tokens:
        head += struct.pack('>BHH', token, offset + len(body), len(value))
        body += value
    return head + b'\xff' + body


def error_token(number: int, message: str, severity: int = 14) -> bytes:
    """An ERROR token as SQL Server sends it (TDS 7.2+)."""
    text, server = message.encode('utf-16-le'), 'fake'.encode('utf-16-le')
    body = (struct.pack('<lBB', number, 1, severity) + struct.pack('<H', len(message)) + text
            + bytes([4]) + server + bytes([0]) + struct.pack('<l', 1))
    return b'\xaa' + struct.pack('<H', len(body)) + body


def done_token(error: bool = False) -> bytes:
    return b'\xfd' + struct.pack('<HHQ', 0x0002 if error else 0, 0, 0)


def done_in_proc(count: int | None = None) -> bytes:
    """The end of one statement of a batch run by sp_executesql (more follows)."""
    return b'\xff' + struct.pack('<HHQ', 0x0001 | (0x0010 if count is not None else 0), 0, count or 0)


def proc_end() -> bytes:
    """RETURNSTATUS 0 and the final DONEPROC of an sp_executesql call."""
    return b'\x79' + struct.pack('<l', 0) + b'\xfe' + struct.pack('<HHQ', 0, 0, 0)


def login_ack(database: str) -> bytes:
    """ENVCHANGE to the login's database (as a server confirms it), then LOGINACK for TDS 7.4."""
    value = database.encode('utf-16-le')
    change = bytes([1, len(database)]) + value + bytes([0])
    name = 'Microsoft SQL Server'.encode('utf-16-le')
    body = bytes([1]) + struct.pack('>L', 0x74000004) + bytes([len(name) // 2]) + name + struct.pack('>L', 0x10000000)
    return (b'\xe3' + struct.pack('<H', len(change)) + change
            + b'\xad' + struct.pack('<H', len(body)) + body)


class FakeTDS(LoopbackEndpoint):
    """A loopback TDS endpoint: PRELOGIN, optional TLS handshake, LOGIN7, then scripted replies.

    A session that fails (the client gave up) is recorded as ('ended', error class name).
    """

    def __init__(self, encryption: int = ENCRYPT_NOT_SUP, cert: Path | None = None, key: Path | None = None,
                 accept_login: bool = False) -> None:
        self.encryption = encryption
        self.cert, self.key = cert, key
        self.accept_login = accept_login
        self.batches: list[str] = []          # SQL batches as they arrived on the wire
        self.replies: deque[Any] = deque()    # per request: ('error', number, text) | 'close'
        super().__init__()

    def session(self, conn: socket.socket) -> None:
        kind, _ = self._read_packet(conn.recv)
        self.events.append(('prelogin', kind))
        conn.sendall(_packet(REPLY, _prelogin_reply(self.encryption)))
        if self.encryption == ENCRYPT_ON:
            read, send = self._tls(conn)
        else:
            read, send = conn.recv, conn.sendall
        kind, _ = self._read_packet(read)
        self.events.append(('login', kind, 'tls' if self.encryption == ENCRYPT_ON else 'plain'))
        if not self.accept_login:
            send(_packet(REPLY, error_token(18456, "Login failed for user 'u'.") + done_token(error=True)))
            time.sleep(0.2)
            return
        send(_packet(REPLY, login_ack('app') + done_token()))
        while True:
            kind, payload = self._read_packet(read)
            if kind == SQL_BATCH:
                header_length = struct.unpack('<L', payload[:4])[0]
                self.batches.append(payload[header_length:].decode('utf-16-le'))
            else:
                self.batches.append(f'<packet {kind}>')
            reply = self.replies.popleft() if self.replies else None
            if reply == 'close':
                return
            if reply is None:
                send(_packet(REPLY, done_token()))
            elif reply[0] == 'tokens':
                send(_packet(REPLY, reply[1]))
            else:
                send(_packet(REPLY, error_token(reply[1], reply[2]) + done_token(error=True)))

    @staticmethod
    def _read_packet(read: Any) -> tuple[int, bytes]:
        header = _read_exact(read, 8)
        return header[0], _read_exact(read, struct.unpack('>H', header[2:4])[0] - 8)

    def _tls(self, conn: socket.socket) -> tuple[Any, Any]:
        """The TLS handshake inside PRELOGIN packets, then TLS records straight on the socket."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    conn.sendall(_packet(PRELOGIN, outgoing.read()))
                incoming.write(self._read_packet(conn.recv)[1])
        if outgoing.pending:
            conn.sendall(_packet(PRELOGIN, outgoing.read()))
        self.events.append('tls handshake done')

        def read(size: int) -> bytes:
            while True:
                try:
                    return tls.read(size)
                except ssl.SSLWantReadError:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return b''
                    incoming.write(chunk)

        def send(data: bytes) -> None:
            tls.write(data)
            conn.sendall(outgoing.read())
        return read, send


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    # CN=localhost, SAN localhost + 127.0.0.1: connecting to 127.0.0.1 is matched through the
    # subjectAltName, the path python-tds broke on current pyOpenSSL (see the backend module).
    return make_certificates(tmp_path_factory.mktemp('mssql-certs'), hostnames=('localhost', '127.0.0.1'))


@pytest.fixture
def endpoint() -> Iterator[Any]:
    yield from started_endpoints(FakeTDS)


def login_never_arrived(server: FakeTDS) -> bool:
    """A moment after the client gave up, no LOGIN7 has reached the endpoint."""
    time.sleep(0.1)
    return not any(event[0] == 'login' for event in server.events if isinstance(event, tuple))


def backend_for(port: int, **changes: Any) -> SQLServerBackend:
    values: dict[str, Any] = dict(host='127.0.0.1', port=port, database='app', username='u', password=SECRET,
                                  connect_timeout=5, pool_size=1)
    values.update(changes)
    return SQLServerBackend(ConnectionConfig(**values))


# -- connect keywords ----------------------------------------------------------------------------

def test_connect_keywords_are_exactly_these(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}
    listener = socket.create_server(('127.0.0.1', 0))
    port = listener.getsockname()[1]
    monkeypatch.setattr(pytds, 'connect', lambda **kwargs: captured.update(kwargs) or 'raw connection')
    backend = backend_for(port, options={'appname': 'billing', 'query_timeout': '30', 'readonly': 'yes'})
    try:
        assert backend.open_raw_connection(backend.connect_kwargs()) == 'raw connection'
        sock = captured.pop('sock')
        assert sock.getpeername() == ('127.0.0.1', port)   # the socket we opened, handed over connected
        sock.close()
        assert captured == {
            'dsn': '127.0.0.1', 'port': port, 'database': 'app', 'user': 'u', 'password': SECRET,
            'login_timeout': 5.0, 'autocommit': True, 'appname': 'billing', 'disable_connect_retry': True,
            'timeout': 30.0, 'readonly': True,
        }
    finally:
        listener.close()
        backend.close()


def test_tls_keywords_name_the_ca_and_validate_the_host(tmp_path: Path) -> None:
    ca = tmp_path / 'ca.pem'
    ca.write_text('unused')
    verified = backend_for(1433, ssl_ca=str(ca)).connect_kwargs()
    assert (verified['cafile'], verified['validate_host']) == (str(ca), True)
    unchecked = backend_for(1433, ssl_ca=str(ca), ssl_verify=False).connect_kwargs()
    assert (unchecked['cafile'], unchecked['validate_host']) == (str(ca), False)
    plain = backend_for(1433).connect_kwargs()
    assert 'cafile' not in plain and 'validate_host' not in plain


def test_bad_options_and_client_certificates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigurationError, match="options: 'encrypt' is not an option of SQLServerBackend"):
        backend_for(1433, options={'encrypt': 'yes'})
    with pytest.raises(errors.ConfigurationError, match="query_timeout.*'soon' is not allowed"):
        backend_for(1433, options={'query_timeout': 'soon'})
    with pytest.raises(errors.ConfigurationError, match='client certificates are not allowed'):
        backend_for(1433, ssl_cert=str(tmp_path / 'c.pem'), ssl_key=str(tmp_path / 'k.pem'))


def test_a_closed_port_fails_at_once_naming_host_and_port_not_the_password() -> None:
    port = free_port()
    backend = backend_for(port, connect_timeout=10)
    error, elapsed = refused_at_a_closed_port(backend, 'mssql', port, SECRET)
    assert isinstance(error.__cause__, ConnectionRefusedError)
    assert elapsed < 2.0, f'a refused port took {elapsed:.1f}s (python-tds alone retries until login_timeout)'
    backend.close()


def test_check_command_says_which_host_and_port_failed_without_traceback_or_password() -> None:
    port = free_port()
    stderr = check_fails_plainly(f'mssql://scott:{SECRET}@127.0.0.1:{port}/FREEPDB1', SECRET)
    assert stderr.startswith(f'error: cannot connect to mssql at 127.0.0.1:{port}: ')
    assert 'Connection refused' in stderr


# -- TLS against the TDS endpoint --------------------------------------------------------------

def test_right_ca_completes_the_handshake_and_sends_the_login_encrypted(endpoint: Any, certs: Certs) -> None:
    server = endpoint(encryption=ENCRYPT_ON, cert=certs.server_cert, key=certs.server_key)
    backend = backend_for(server.port, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.OperationalError) as raised:
        backend.ping()
    # The endpoint refuses every login: its refusal arriving proves the verified channel worked.
    assert raised.value.code == 18456
    assert "SQL Server error 18456: Login failed for user 'u'." in str(raised.value)
    assert server.events[:3] == [('prelogin', PRELOGIN), 'tls handshake done', ('login', LOGIN7, 'tls')]
    backend.close()


def test_wrong_ca_is_refused_before_any_login(endpoint: Any, certs: Certs) -> None:
    server = endpoint(encryption=ENCRYPT_ON, cert=certs.server_cert, key=certs.server_key)
    backend = backend_for(server.port, ssl_ca=str(certs.other_ca_cert))
    with pytest.raises(errors.OperationalError, match='certificate verify failed'):
        backend.ping()
    assert login_never_arrived(server)
    backend.close()


def test_wrong_host_name_is_refused_unless_ssl_verify_is_false(endpoint: Any, certs: Certs) -> None:
    server = endpoint(encryption=ENCRYPT_ON, cert=certs.wrong_host_cert, key=certs.wrong_host_key)
    backend = backend_for(server.port, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.OperationalError, match="does not match host name '127.0.0.1'"):
        backend.ping()
    backend.close()
    unchecked = backend_for(server.port, ssl_ca=str(certs.ca_cert), ssl_verify=False)
    with pytest.raises(errors.OperationalError) as raised:
        unchecked.ping()
    assert raised.value.code == 18456      # got as far as the login: only the name check was skipped
    unchecked.close()


def test_a_server_without_tls_is_refused_never_used_in_plain_text(endpoint: Any, certs: Certs) -> None:
    server = endpoint(encryption=ENCRYPT_NOT_SUP)
    backend = backend_for(server.port, ssl_ca=str(certs.ca_cert))
    with pytest.raises(errors.OperationalError, match='encryption but it is not supported by server'):
        backend.ping()
    assert login_never_arrived(server)
    backend.close()


def _certificate(common_name: str, alt_names: list[Any] | None) -> Any:
    from OpenSSL import crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)))
    if alt_names is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return crypto.X509.from_cryptography(builder.sign(key, hashes.SHA256()))


def test_host_name_matching_follows_rfc_6125() -> None:
    from cryptography import x509
    san = _certificate('db.internal', [x509.DNSName('sql.example.com'), x509.DNSName('*.db.example.com'),
                                       x509.IPAddress(ipaddress.ip_address('10.0.0.5'))])
    assert certificate_matches_host(cert=san, name=b'sql.example.com')
    assert certificate_matches_host(cert=san, name=b'SQL.Example.com')
    assert certificate_matches_host(cert=san, name=b'eu1.db.example.com')
    assert not certificate_matches_host(cert=san, name=b'a.b.db.example.com')   # * is one label
    assert not certificate_matches_host(cert=san, name=b'db.example.com')
    assert certificate_matches_host(cert=san, name=b'10.0.0.5')
    assert not certificate_matches_host(cert=san, name=b'10.0.0.6')
    assert not certificate_matches_host(cert=san, name=b'db.internal')           # SAN present: CN ignored
    legacy = _certificate('db.internal', None)
    assert certificate_matches_host(cert=legacy, name=b'db.internal')
    assert not certificate_matches_host(cert=legacy, name=b'other.internal')
    assert pytds.tls.validate_host is certificate_matches_host


# -- statements through the endpoint ----------------------------------------------------------------

def test_transaction_statements_arrive_on_the_wire_as_the_dialect_writes_them(endpoint: Any) -> None:
    server = endpoint(accept_login=True)
    backend = backend_for(server.port)
    try:
        with backend.transaction(isolation_level=IsolationLevel.REPEATABLE_READ):
            backend.execute('UPDATE [t] SET [n] = 1')
            with backend.transaction():
                backend.execute('DELETE FROM [t]')
        savepoint = server.batches[2].split()[-1]
        assert re.fullmatch(r'ar_sp_\d+', savepoint)
        assert server.batches == [
            'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; BEGIN TRANSACTION',
            'UPDATE [t] SET [n] = 1',
            f'SAVE TRANSACTION {savepoint}',
            'DELETE FROM [t]',
            'COMMIT TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED',
        ]
    finally:
        backend.close()


def test_a_failed_nested_block_rolls_back_to_its_savepoint(endpoint: Any) -> None:
    server = endpoint(accept_login=True)
    backend = backend_for(server.port)
    try:
        with backend.transaction():
            server.replies.extend([None, (None, 2627, "Violation of PRIMARY KEY constraint 'pk_t'.")])
            with pytest.raises(errors.IntegrityError):
                with backend.transaction():
                    backend.execute('INSERT INTO [t] DEFAULT VALUES')
        savepoint = server.batches[1].split()[-1]
        assert server.batches == ['BEGIN TRANSACTION', f'SAVE TRANSACTION {savepoint}', 'INSERT INTO [t] DEFAULT VALUES',
                                  f'ROLLBACK TRANSACTION {savepoint}',
                                  'COMMIT TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED']
    finally:
        backend.close()


@pytest.mark.parametrize(('number', 'expected'), [
    (2627, errors.IntegrityError), (2601, errors.IntegrityError), (547, errors.IntegrityError),
    (515, errors.IntegrityError), (1205, errors.OperationalError), (3960, errors.OperationalError),
    (3952, errors.NotSupportedError), (208, errors.ProgrammingError), (102, errors.ProgrammingError),
    (8152, errors.DataError), (8115, errors.DataError), (245, errors.DataError),
])
def test_server_error_numbers_reach_the_error_family(endpoint: Any, number: int, expected: type) -> None:
    server = endpoint(accept_login=True)
    server.replies.append((None, number, f'message of error {number}'))
    backend = backend_for(server.port)
    try:
        with pytest.raises(expected) as raised:
            backend.execute('UPDATE [t] SET [n] = 2')
        assert type(raised.value) is expected
        assert raised.value.code == number
        assert str(raised.value) == f'SQL Server error {number}: message of error {number}'
        assert isinstance(raised.value.__cause__, pytds.tds_base.Error)
        assert backend.pool.status()['open'] == 1      # a statement error keeps the connection
    finally:
        backend.close()


def test_a_connection_lost_under_a_statement_is_discarded(endpoint: Any) -> None:
    server = endpoint(accept_login=True)
    server.replies.append('close')
    backend = backend_for(server.port)
    try:
        with pytest.raises(errors.OperationalError):
            backend.execute('UPDATE [t] SET [n] = 3')
        assert backend.pool.status()['open'] == 0
        backend.execute('UPDATE [t] SET [n] = 4')       # a fresh connection, the statement not re-run
        assert server.batches == ['UPDATE [t] SET [n] = 3', 'UPDATE [t] SET [n] = 4']
    finally:
        backend.close()


def test_a_batch_is_read_to_its_end_so_the_next_statement_pays_no_cancel(endpoint: Any) -> None:
    server = endpoint(accept_login=True)
    # SET IDENTITY_INSERT ON; INSERT (1 row); SET IDENTITY_INSERT OFF, as sp_executesql answers it
    server.replies.append(('tokens', done_in_proc() + done_in_proc(1) + done_in_proc() + proc_end()))
    backend = backend_for(server.port)
    try:
        sql = backend.dialect.identity_insert_sql('t', backend.dialect.insert_sql('t', ['id']))
        assert backend.execute(sql, (5,)) == 1          # the INSERT's count, not the SETs'
        backend.execute('DELETE FROM [t]')
        # RPC (3) then the next batch: no ATTENTION packet (6) cancelling a half-read answer
        assert server.batches == [f'<packet {RPC}>', 'DELETE FROM [t]']
    finally:
        backend.close()


def result_tokens(name: str, values: list[int]) -> bytes:
    """COLMETADATA of one nullable INT column and a ROW per value (TDS 7.2+)."""
    column = struct.pack('<LH', 0, 0x0009) + bytes([0x26, 4]) + bytes([len(name)]) + name.encode('utf-16-le')
    rows = b''.join(b'\xd1' + bytes([4]) + struct.pack('<l', value) for value in values)
    return b'\x81' + struct.pack('<H', 1) + column + rows


def test_a_read_result_leaves_the_connection_idle(endpoint: Any) -> None:
    server = endpoint(accept_login=True)
    answer = ('tokens', result_tokens('n', [1, 2]) + done_in_proc(2) + proc_end())
    server.replies.extend([answer, answer])
    backend = backend_for(server.port)
    try:
        assert backend.fetch_all('SELECT [n] FROM [t] WHERE [n] > ?', (0,)) == [{'n': 1}, {'n': 2}]
        assert backend.fetch_one('SELECT [n] FROM [t] WHERE [n] > ?', (0,)) == {'n': 1}
        backend.execute('DELETE FROM [t]')
        assert server.batches == [f'<packet {RPC}>', f'<packet {RPC}>', 'DELETE FROM [t]']   # no ATTENTION (6)
    finally:
        backend.close()


def test_error_tables_cover_disconnects_and_use_only_the_error_family() -> None:
    assert DISCONNECT_CODES <= set(ERROR_CODES)
    assert all(issubclass(cls, errors.DatabaseError) for cls in ERROR_CODES.values())
    closed = pytds.tds_base.ClosedConnectionError()
    backend = backend_for(1433)
    assert backend.is_disconnect(closed) and isinstance(backend.translate_error(closed), errors.OperationalError)
    backend.close()
