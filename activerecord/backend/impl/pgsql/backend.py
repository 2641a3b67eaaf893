"""The PostgreSQL backend on pg8000 (pure Python): the driver adapter and nothing else.

pg8000's DB-API cursor rescans every statement character by character to turn its paramstyle
into `$n`, and spends three round trips per statement. Our placeholders are translated to `$n`
once per SQL text (paramstyle 'dollar'), so the cursor below hands the SQL to the protocol as
it is, in one round trip: Parse, Bind, Describe, Execute and Sync in a single write (a
statement without parameters: one simple Query message).
"""
from __future__ import annotations

import datetime
import decimal
import getpass
import itertools
import socket
import ssl
from typing import Any, ClassVar, Sequence

from .... import errors
from ....errors import ConfigurationError
from ...base import StorageBackend, parse_version, require_driver
from ...pool import PooledConnection
from .dialect import PostgreSQLDialect

dbapi = require_driver('pg8000.dbapi', 'pgsql', 'PostgreSQLBackend')
from pg8000 import core as _core  # noqa: E402  (only after the driver is known to be there)
from pg8000.converters import make_params  # noqa: E402

#: options -> the server setting they set in the startup packet (no round trip needed)
STARTUP_OPTIONS: dict[str, str] = {
    'search_path': 'search_path', 'statement_timeout': 'statement_timeout',
    'lock_timeout': 'lock_timeout', 'idle_in_transaction_session_timeout': 'idle_in_transaction_session_timeout',
}
#: SQLSTATEs that mean the server ended the session
DISCONNECT_SQLSTATES = frozenset({'57P01', '57P02', '57P03'})
_cursor_names = itertools.count(1)
#: statements a cursor can be DECLAREd for; others are read in one go
_DECLARABLE = frozenset({'SELECT', 'WITH', 'VALUES', 'TABLE'})


#: Python type -> the type OID its parameters are declared with. Other values (str, None, bytes,
#: UUID, lists, JSON text) go untyped and take the type the statement gives them, as literals do.
_PARAMETER_OIDS: dict[type, int] = {
    bool: 16, float: 701, decimal.Decimal: 1700, datetime.date: 1082, datetime.timedelta: 1186,
}
_INT4, _INT8, _NUMERIC, _TIMESTAMP, _TIMESTAMPTZ = 23, 20, 1700, 1114, 1184


def parameter_types(values: Sequence[Any]) -> tuple[int, ...]:
    """Type OIDs for the Parse message, so that `SELECT ?` and `depth + ?` know an int is one."""
    oids = []
    typed = False
    for value in values:
        kind = type(value)
        if kind is int:
            # The smallest type that holds it: an int4 widens to int8 or numeric where needed,
            # and functions taking integer (repeat, substr, ...) accept it.
            oid = _INT4 if -2**31 <= value < 2**31 else _INT8 if -2**63 <= value < 2**63 else _NUMERIC
        elif kind is datetime.datetime:
            oid = _TIMESTAMP if value.tzinfo is None else _TIMESTAMPTZ
        else:
            oid = _PARAMETER_OIDS.get(kind, 0)
        typed = typed or oid != 0
        oids.append(oid)
    return tuple(oids) if typed else ()


class _Cursor(dbapi.Cursor):
    """A pg8000 cursor that sends `$n` SQL as it is, in one round trip."""

    def execute(self, operation: str, args: Sequence[Any] = (), stream: Any = None) -> None:
        """Parse, bind, describe and execute `operation` with `args` bound to $1, $2, ..."""
        connection = self._c
        if connection is None:
            raise dbapi.InterfaceError('Cursor closed')
        if connection._sock is None:
            raise dbapi.InterfaceError('connection is closed')
        if not args and stream is None:
            # Nothing to bind: one Query message, as pg8000's own cursor sends it. The server
            # skips the bind/describe steps (about a fifth of the client+server CPU of a
            # `SELECT 1`, see docs/performance.md).
            context = connection.execute_simple(operation)
            self._context = context
            self._row_iter = None if context.rows is None else map(tuple, context.rows)
            return
        # Parameters are encoded before anything is sent: a value that fails to encode must
        # not leave half a message exchange on the wire.
        params = make_params(connection.py_types, args)
        context = _core.Context(operation, stream=stream)
        connection.send_PARSE(_core.NULL_BYTE, operation, parameter_types(args))
        connection.send_BIND(_core.NULL_BYTE, params)
        connection._send_message(_core.DESCRIBE, _core.PORTAL + _core.NULL_BYTE)
        connection.send_EXECUTE()
        _core._write(connection._sock, _core.SYNC_MSG)
        _core._flush(connection._sock)
        connection.handle_messages(context)
        self._context = context
        # pg8000 builds each row as a list; DB-API rows (and the other backends') are tuples.
        self._row_iter = None if context.rows is None else map(tuple, context.rows)


class _Connection(dbapi.Connection):
    """pg8000's connection, handing out the one-round-trip cursor."""

    def cursor(self) -> _Cursor:
        """A cursor that sends SQL as translated by activerecord."""
        return _Cursor(self)


class _ServerSideRows:
    """A DECLAREd cursor read with FETCH, so a huge result never sits in client memory."""

    def __init__(self, backend: 'PostgreSQLBackend', pooled: PooledConnection, name: str,
                 owns_transaction: bool) -> None:
        self._backend = backend
        self._pooled = pooled
        self._name = name
        self._owns_transaction = owns_transaction
        self._description: Any = None
        self._done = False

    def _fetch(self, count: int) -> Any:
        cursor = self._backend._run(self._pooled, f'FETCH FORWARD {int(count)} FROM {self._name}', (), 0)
        self._description = cursor.description
        return cursor

    @property
    def description(self) -> Any:
        """Column descriptions (FETCH 0 learns them without moving the cursor)."""
        if self._description is None:
            self._fetch(0)
        return self._description

    def fetchmany(self, size: int) -> Sequence[Any]:
        """The next `size` rows (empty at the end)."""
        if self._done:
            return ()
        rows = self._fetch(size).fetchall()
        self._done = len(rows) < size
        return rows

    def close(self) -> None:
        """End the cursor (and the transaction opened for it)."""
        raw = self._pooled.raw
        if self._pooled.invalidated or raw._sock is None:
            return
        if not self._owns_transaction:
            self._backend.run_control(self._pooled, [f'CLOSE {self._name}'])
        elif raw._transaction_status == _core.IN_FAILED_TRANSACTION:
            self._backend.run_control(self._pooled, ['ROLLBACK'])
        else:
            self._backend.run_control(self._pooled, ['COMMIT'])  # also closes the cursor


class PostgreSQLBackend(StorageBackend):
    """PostgreSQL through pg8000: TLS with a verifying SSLContext, UTC sessions, streamed iter()."""

    name = 'postgresql'
    driver_module = 'pg8000.dbapi'
    driver_extra = 'pgsql'
    dialect_class = PostgreSQLDialect
    paramstyle = 'dollar'
    default_port = 5432
    known_options = frozenset({'application_name', 'ssl', 'read_timeout', 'tcp_keepalive', *STARTUP_OPTIONS})
    sqlstate_classes: ClassVar[dict[str, type[errors.DatabaseError]]] = {
        **StorageBackend.sqlstate_classes,
        '21': errors.ProgrammingError, '25': errors.InternalError, '26': errors.ProgrammingError,
        # 2B: dependent objects still exist (DROP of a referenced table): IntegrityError everywhere
        '28': errors.OperationalError, '2B': errors.IntegrityError, '2D': errors.InternalError,
        '34': errors.ProgrammingError, '3D': errors.OperationalError, '3F': errors.ProgrammingError,
        '44': errors.ProgrammingError, '54': errors.OperationalError, '55': errors.OperationalError,
        '58': errors.OperationalError, 'F0': errors.OperationalError, 'P0': errors.InternalError,
        'XX': errors.InternalError,
    }

    def check_config(self, config: Any) -> None:
        """A database name is required; option values must have the right shape."""
        super().check_config(config)
        options = config.options
        if 'ssl' in options and _flag(options['ssl']) is None:
            raise ConfigurationError(f"ConnectionConfig.options['ssl']: {options['ssl']!r} is not allowed; "
                                     'expected True or False')
        if 'tcp_keepalive' in options and _flag(options['tcp_keepalive']) is None:
            raise ConfigurationError(f"ConnectionConfig.options['tcp_keepalive']: {options['tcp_keepalive']!r} "
                                     'is not allowed; expected True or False')
        if 'read_timeout' in options:
            _seconds(options['read_timeout'])
        for key in STARTUP_OPTIONS:
            if key in options and not isinstance(options[key], (str, int)):
                raise ConfigurationError(f'ConnectionConfig.options[{key!r}]: {options[key]!r} is not allowed; '
                                         'expected a string or an integer')

    # -- connecting ---------------------------------------------------------------------

    def connect_kwargs(self) -> dict[str, Any]:
        """pg8000 connect arguments; session settings travel in the startup packet."""
        config = self.config
        startup = {'TimeZone': 'UTC', 'client_encoding': config.charset or 'UTF8'}
        startup.update({STARTUP_OPTIONS[key]: str(value) for key, value in config.options.items()
                        if key in STARTUP_OPTIONS})
        kwargs: dict[str, Any] = {
            'user': config.username or getpass.getuser(), 'password': config.password,
            'host': config.host, 'port': config.port or self.default_port, 'database': config.database,
            # False, not None: pg8000 takes None as "try TLS without checking anything".
            'ssl_context': self.ssl_context() or False, 'timeout': config.connect_timeout,
            'application_name': str(config.options.get('application_name', 'activerecord')),
            'tcp_keepalive': _flag(config.options.get('tcp_keepalive', True)),
            'startup_params': startup,
        }
        kwargs.update(self._connection_overrides)
        return kwargs

    def open_raw_connection(self, kwargs: dict[str, Any]) -> Any:
        """A pg8000 connection whose cursors send our `$n` SQL in one round trip."""
        return _Connection(**kwargs)

    def ssl_context(self) -> ssl.SSLContext | None:
        """ssl_ca/ssl_cert ask for verified TLS; options ssl=True asks for it with the system CAs."""
        context = super().ssl_context()
        if context is None and _flag(self.config.options.get('ssl', False)):
            context = ssl.create_default_context()
            if not self.config.ssl_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        # pg8000 sends SSLRequest whenever it has a context and fails if the server says no:
        # a server without TLS is refused, never used in plain text.
        return context

    def setup_session(self, raw: Any) -> None:
        """Autocommit mode (the TransactionManager sends BEGIN itself); no read timeout by default."""
        raw.autocommit = True
        # pg8000 keeps the connect timeout on the socket, which would cut off any statement
        # running longer than connect_timeout.
        raw._usock.settimeout(_seconds(self.config.options['read_timeout'])
                              if 'read_timeout' in self.config.options else None)
        if raw._usock.family in (socket.AF_INET, socket.AF_INET6):
            # pg8000 leaves Nagle's algorithm on: the last piece of a statement longer than
            # its 8 KB write buffer then waits for the server's delayed ACK, about 40 ms.
            raw._usock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def transaction_open(self, raw: Any) -> bool:
        """From the status of the server's last ReadyForQuery: no round trip."""
        return raw._transaction_status in (_core.IN_TRANSACTION, _core.IN_FAILED_TRANSACTION)

    def close_connection(self, raw: Any) -> None:
        """Close unless already closed (a broken connection may be gone)."""
        if raw._usock is not None:
            raw.close()

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """From the server_version the server reported at startup: no round trip."""
        text = raw.parameter_statuses.get('server_version')
        return parse_version(text) if text else super().read_server_version(raw)

    def tls_in_use(self) -> bool:
        """Whether this session is encrypted, as the server sees it."""
        return bool(self.fetch_value('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))

    # -- streaming ----------------------------------------------------------------------

    def _open_stream(self, pooled: PooledConnection, sql: str, bound: Any, count: int) -> Any:
        """A server-side cursor (DECLARE ... FETCH), in a transaction of its own if none is open."""
        first_word = sql.lstrip(' \t\n(').split(None, 1)[0].upper() if sql.strip() else ''
        if first_word not in _DECLARABLE:
            return super()._open_stream(pooled, sql, bound, count)  # SHOW, INSERT ... RETURNING
        name = self.dialect.quote(f'ar_stream_{next(_cursor_names)}')
        owns_transaction = not self.transaction_open(pooled.raw)
        if owns_transaction:
            self.run_control(pooled, ['BEGIN'])
        try:
            cursor = self._run(pooled, f'DECLARE {name} NO SCROLL CURSOR FOR {sql}', bound, count)
        except BaseException:
            if owns_transaction and not pooled.invalidated:
                self._close_cursor(_ServerSideRows(self, pooled, name, True))
            raise
        self._close_cursor(cursor)
        return _ServerSideRows(self, pooled, name, owns_transaction)

    # -- errors -------------------------------------------------------------------------

    def error_sqlstate(self, error: BaseException) -> str | None:
        """The 'C' field of the server's ErrorResponse."""
        fields = _error_fields(error)
        return fields.get('C') if fields else None

    def is_disconnect(self, error: BaseException) -> bool:
        """Socket-level failures, a closed connection, or the server ending the session."""
        if isinstance(error, errors.ActiveRecordError):
            return False
        fields = _error_fields(error)
        if fields is not None:
            code = fields.get('C', '')
            return code in DISCONNECT_SQLSTATES or code.startswith('08')
        # Anything else broke off a message exchange halfway: the protocol state is unknown.
        return True

    def describe_error(self, error: BaseException) -> str:
        """The server's message, SQLSTATE, detail and hint (pg8000 only gives a dict)."""
        fields = _error_fields(error)
        if fields is None:
            return super().describe_error(error)
        text = f"{fields.get('M', 'error')} (SQLSTATE {fields.get('C', '?')})"
        if fields.get('D'):
            text += f"; {fields['D']}"
        if fields.get('H'):
            text += f"; hint: {fields['H']}"
        password = self.config.password
        return text.replace(password, '***') if password else text


def _error_fields(error: BaseException) -> dict[str, str] | None:
    """The ErrorResponse fields of a server error, or None for client-side errors."""
    if isinstance(error, dbapi.DatabaseError) and error.args and isinstance(error.args[0], dict):
        return error.args[0]
    return None


def _flag(value: Any) -> bool | None:
    """True/False from a bool or a URL word; None when it is neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'):
        return value.lower() in ('1', 'true', 'yes', 'on')
    return None


def _seconds(value: Any) -> float:
    """A positive number of seconds from a number or URL text."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or seconds <= 0:
        raise ConfigurationError(f"ConnectionConfig.options['read_timeout']: {value!r} is not allowed; "
                                 'expected a number of seconds > 0')
    return seconds


__all__ = ['PostgreSQLBackend']
