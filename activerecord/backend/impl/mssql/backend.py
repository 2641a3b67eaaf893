"""The SQL Server backend on python-tds (`pytds`, pure Python; TLS through pyOpenSSL).

The adapter opens the TCP connection itself (so that a closed port fails at once with the
operating system's reason, instead of after python-tds's retry loop), logs in with
autocommit on (transactions are BEGIN TRANSACTION ... COMMIT sent as SQL), verifies TLS with
`cafile` and host-name validation, and translates SQL Server error numbers.
"""
from __future__ import annotations

import socket
from functools import partial
from typing import Any, ClassVar

from .... import errors
from ....errors import ConfigurationError
from ...base import StorageBackend, parse_version, require_driver
from ...options import OptionParser, as_text, flag, seconds
from ...tls import tls_file_errors
from . import tds_internals  # without python-tds: MissingDriverError naming the pip extra
from .dialect import SQLServerDialect

pytds: Any = require_driver('pytds', 'mssql', 'SQLServerBackend')  # no stubs: explicit Any

#: ConnectionConfig.options this backend accepts -> parser; each is passed to pytds.connect
CONNECT_OPTIONS: dict[str, OptionParser] = {
    'appname': as_text,              # shown in sys.dm_exec_sessions.program_name
    'query_timeout': seconds,        # seconds a statement may run (None: no limit)
    'readonly': partial(flag, expected='true or false', by_text=True),   # ApplicationIntent=ReadOnly (replicas)
    'failover_partner': as_text,
    'enc_login_only': partial(flag, expected='true or false', by_text=True),   # (the wording its refusals always had)
}
#: options whose pytds.connect keyword has another name
_KEYWORDS = {'query_timeout': 'timeout'}

#: SQL Server error numbers whose PEP 249 class (python-tds: mostly OperationalError) is too vague
ERROR_CODES: dict[int, type[errors.DatabaseError]] = {
    # constraints
    2627: errors.IntegrityError,     # violation of PRIMARY KEY / UNIQUE constraint
    2601: errors.IntegrityError,     # duplicate key row in unique index
    547: errors.IntegrityError,      # FOREIGN KEY / CHECK constraint conflict
    515: errors.IntegrityError,      # cannot insert NULL
    3726: errors.IntegrityError,     # DROP TABLE of a table that a FOREIGN KEY references
    # concurrency: retryable
    1205: errors.OperationalError,   # deadlock victim
    1222: errors.OperationalError,   # lock request time out (NOWAIT)
    3960: errors.OperationalError,   # snapshot isolation update conflict
    3961: errors.OperationalError,   # snapshot isolation: object changed by DDL
    # a level the database cannot give
    3952: errors.NotSupportedError,  # snapshot isolation not allowed in this database
    # the SQL is wrong
    102: errors.ProgrammingError,    # incorrect syntax
    156: errors.ProgrammingError,    # incorrect syntax near a keyword
    207: errors.ProgrammingError,    # invalid column name
    208: errors.ProgrammingError,    # invalid object name
    137: errors.ProgrammingError,    # must declare the scalar variable
    2812: errors.ProgrammingError,   # could not find stored procedure
    2714: errors.ProgrammingError,   # there is already an object named ...
    3701: errors.ProgrammingError,   # cannot drop: it does not exist
    4104: errors.ProgrammingError,   # the multi-part identifier could not be bound
    4145: errors.ProgrammingError,   # non-boolean expression where a condition is expected
    8003: errors.ProgrammingError,   # too many parameters (more than 2100)
    10738: errors.ProgrammingError,  # more than 1000 rows in INSERT ... VALUES
    8672: errors.ProgrammingError,   # MERGE touched the same row twice (duplicate keys in the rows)
    544: errors.ProgrammingError,    # explicit value for an IDENTITY column with IDENTITY_INSERT OFF
    334: errors.ProgrammingError,    # OUTPUT without INTO on a table with triggers
    3902: errors.ProgrammingError,   # COMMIT without BEGIN TRANSACTION
    3903: errors.ProgrammingError,   # ROLLBACK without BEGIN TRANSACTION
    # the value does not fit
    8152: errors.DataError,          # string or binary data would be truncated
    2628: errors.DataError,          # the same, naming the column (2019+)
    8115: errors.DataError,          # arithmetic overflow converting to a type
    220: errors.DataError,           # arithmetic overflow for a data type
    8134: errors.DataError,          # divide by zero
    245: errors.DataError,           # conversion failed
    8114: errors.DataError,          # error converting data type
    241: errors.DataError,           # conversion failed converting date/time from text
    242: errors.DataError,           # out-of-range datetime value
    8169: errors.DataError,          # conversion failed converting to uniqueidentifier
    13609: errors.DataError,         # JSON text is not properly formatted
    # connecting and the connection itself
    18456: errors.OperationalError,  # login failed
    4060: errors.OperationalError,   # cannot open database
    233: errors.OperationalError,    # no process is on the other end of the pipe
    10054: errors.OperationalError,  # connection reset by the remote host
    10053: errors.OperationalError,  # connection aborted
    596: errors.OperationalError,    # session is in the kill state
    6005: errors.OperationalError,   # SHUTDOWN is in progress
}
#: error numbers that mean the session is gone
DISCONNECT_CODES = frozenset({233, 10053, 10054, 596, 6005, 4060, 18456})


class SQLServerBackend(StorageBackend):
    """SQL Server 2016+ (and Azure SQL) through python-tds."""

    name = 'mssql'
    driver_module = 'pytds'
    driver_extra = 'mssql'
    dialect_class = SQLServerDialect
    # pytds replaces %s with @P1, @P2 ... and sends the statement through sp_executesql.
    paramstyle = 'format'
    # With no parameters pytds skips its % formatting, so the `%%` our translation writes
    # for a literal % would reach the server doubled: always pass a (maybe empty) tuple.
    always_pass_params = True
    # pytds leaves the rest of a result pending after fetchone(); the next statement on the
    # connection would pay a cancel round trip, so fetch_one drains it.
    fetchone_drains = False
    default_port = 1433
    option_specs = CONNECT_OPTIONS
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = ERROR_CODES
    #: deadlock victim, snapshot isolation update conflict
    retryable_codes: ClassVar[frozenset[Any]] = frozenset({1205, 3960})
    sqlstate_classes: ClassVar[dict[str, type[errors.DatabaseError]]] = {}

    def check_config(self, config: Any) -> None:
        """A database name; no client certificate (python-tds cannot send one)."""
        super().check_config(config)
        if config.ssl_cert or config.ssl_key:
            raise ConfigurationError('ConnectionConfig.ssl_cert: client certificates are not allowed for '
                                     'SQLServerBackend (python-tds cannot present one); use ssl_ca only')

    def connect_kwargs(self) -> dict[str, Any]:
        """pytds.connect keywords: server, port, database, credentials, autocommit, cafile + host check."""
        config = self.config
        kwargs: dict[str, Any] = {
            'dsn': config.host, 'port': config.port or self.default_port, 'database': config.database,
            'user': config.username, 'password': config.password,
            'login_timeout': float(config.connect_timeout),
            'autocommit': True,              # BEGIN TRANSACTION / COMMIT are sent as SQL
            'appname': 'activerecord',
            # Our own retries would re-run a login behind the caller's back: one attempt.
            'disable_connect_retry': True,
        }
        for key, value in self.options.items():
            kwargs[_KEYWORDS.get(key, key)] = value
        if config.ssl_ca:
            # Requests encryption (ENCRYPT_ON): a server without TLS fails the login, never
            # falls back to plain text. The chain is verified against cafile; validate_host
            # matches the certificate to the host name (ssl_verify=False skips only that).
            with tls_file_errors(config):   # python-tds reads it late, with a vaguer error
                open(config.ssl_ca, 'rb').close()
            kwargs['cafile'] = config.ssl_ca
            kwargs['validate_host'] = config.ssl_verify
        kwargs.update(self._connection_overrides)
        return kwargs

    def open_raw_connection(self, kwargs: dict[str, Any]) -> Any:
        """Connect the TCP socket first (a refused port fails now, with its reason), then log in."""
        if 'sock' in kwargs:
            return self.driver.connect(**kwargs)
        sock = socket.create_connection((kwargs['dsn'], kwargs['port']), timeout=kwargs['login_timeout'])
        try:
            return self.driver.connect(sock=sock, **kwargs)
        except BaseException:
            sock.close()
            raise

    # -- sessions -----------------------------------------------------------------------

    #: python-tds records the transaction the server reports (also for BEGIN sent as SQL)
    transaction_open = staticmethod(tds_internals.transaction_open)  # pyright: ignore[reportAssignmentType]  # called as self.transaction_open(raw): a staticmethod fits

    def reset_connection(self, raw: Any) -> None:
        """Roll back a transaction left open (in autocommit mode python-tds's rollback() does nothing)."""
        if self.transaction_open(raw):
            self.run_internal(raw, self.dialect.rollback_sql)

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """SERVERPROPERTY('ProductVersion'): '16.0.1000.6' -> (16, 0, 1000, 6)."""
        return parse_version(str(self.run_internal(
            raw, "SELECT CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128))")[0][0]))

    def tls_in_use(self) -> bool:
        """Whether this session is encrypted, as the server reports it."""
        value = self.fetch_value("SELECT CAST(CONNECTIONPROPERTY('encrypt_option') AS NVARCHAR(10))")
        return str(value or '').upper() == 'TRUE'

    def affected_rows(self, cursor: Any) -> int:
        """The first count of the statement (or batch), after reading the batch to its end."""
        rowcount: int = cursor.rowcount
        # python-tds stops at the first statement that counts rows; what follows in the batch
        # (SET IDENTITY_INSERT ... OFF) is read now, or the next statement on the connection
        # would pay a cancel round trip and its errors would surface there.
        while cursor.nextset():
            pass
        return rowcount

    def close_cursor(self, cursor: Any) -> None:
        """Read the end of a finished result before closing, so the connection is idle again.

        python-tds stops reading after the last row; the end-of-call tokens that follow
        (DONEINPROC, RETURNSTATUS, DONEPROC of sp_executesql) stay unread, and the next
        statement on the connection would first send a cancel and wait for its answer. A
        result whose rows were not all read (a stream left early) is left to that cancel.
        """
        try:
            tds_internals.read_to_end_of_call(cursor)
        except Exception:
            pass  # as with close(): the next statement on this connection reports a broken one
        super().close_cursor(cursor)

    # -- errors -------------------------------------------------------------------------

    def error_code(self, error: BaseException) -> Any:
        """The SQL Server error number (python-tds's `msg_no`)."""
        return getattr(error, 'msg_no', None) or None

    def is_disconnect(self, error: BaseException) -> bool:
        """A closed connection, a socket error, or an error number that ends the session."""
        if isinstance(error, (pytds.tds_base.ClosedConnectionError, OSError, EOFError)):
            return True
        if isinstance(error, pytds.tds_base.Error) and 'closed' in str(error).lower():
            return True
        return self.error_code(error) in DISCONNECT_CODES

    def driver_message(self, error: BaseException) -> str:
        """The server's message (with its number), or the driver's; a bare TimeoutError names its cause."""
        server_error: Any = error  # python-tds's errors carry msg_no and text (no stubs)
        if isinstance(server_error, pytds.tds_base.DatabaseError) and getattr(server_error, 'msg_no', None):
            return f'SQL Server error {server_error.msg_no}: {server_error.text}'
        text = super().driver_message(error)
        if isinstance(error, TimeoutError) and text == 'TimeoutError':
            cause = error.__cause__ or error.__context__
            text = 'timed out' + (f' ({super().driver_message(cause)})' if cause is not None else '')
        return text


__all__ = ['SQLServerBackend', 'ERROR_CODES', 'DISCONNECT_CODES']
