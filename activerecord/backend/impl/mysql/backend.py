"""The MySQL/MariaDB backend on pymysql (pure Python): `pip install "activerecord[mysql]"`.

Every connection runs in autocommit mode with utf8mb4, time_zone '+00:00' and a strict
sql_mode; transactions are sent as SQL by the transaction manager. The first connection reads
`SELECT VERSION()` and tunes the dialect's feature flags to that server (MySQL or MariaDB).
"""
from __future__ import annotations

import threading
from typing import Any, ClassVar

from .... import errors
from ....errors import ConfigurationError
from ...base import StorageBackend, require_driver
from ...pool import PooledConnection
from ...typing import ConnectionConfig
from .dialect import MySQLDialect, is_mariadb_version, server_version_tuple

# Importing the backend without its driver fails here, naming the extra (as the other backends do).
require_driver('pymysql', 'mysql', 'MySQLBackend')

#: the session's sql_mode unless options['sql_mode'] says otherwise: strict, no zero dates,
#: and an explicit 0 in an AUTO_INCREMENT column is stored as given
DEFAULT_SQL_MODE = ('STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,'
                    'NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO')

#: client error codes (CR_*) and server codes that mean the connection is gone
DISCONNECT_CODES = frozenset({
    2006,  # CR_SERVER_GONE_ERROR: MySQL server has gone away
    2013,  # CR_SERVER_LOST: lost connection during query
    2014,  # CR_COMMANDS_OUT_OF_SYNC: the protocol state is unknown
    2045,  # CR_NO_STMT_METADATA / broken connection in some clients
    2055,  # CR_SERVER_LOST_EXTENDED
    4031,  # ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8): disconnected for inactivity
    1927,  # ER_CONNECTION_KILLED (MariaDB)
    1053,  # ER_SERVER_SHUTDOWN
})

#: server error numbers whose pymysql class is wrong or too vague
ERROR_CODES: dict[Any, type[errors.DatabaseError]] = {
    1062: errors.IntegrityError,    # ER_DUP_ENTRY
    1586: errors.IntegrityError,    # ER_DUP_ENTRY_WITH_KEY_NAME
    1048: errors.IntegrityError,    # ER_BAD_NULL_ERROR
    1364: errors.IntegrityError,    # ER_NO_DEFAULT_FOR_FIELD: a NOT NULL column left out
    1451: errors.IntegrityError, 1452: errors.IntegrityError,  # foreign keys
    1216: errors.IntegrityError, 1217: errors.IntegrityError,
    3819: errors.IntegrityError,    # ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
    4025: errors.IntegrityError,    # ER_CONSTRAINT_FAILED (MariaDB CHECK)
    1213: errors.OperationalError,  # ER_LOCK_DEADLOCK
    1205: errors.OperationalError,  # ER_LOCK_WAIT_TIMEOUT (also MariaDB's NOWAIT)
    3572: errors.OperationalError,  # ER_LOCK_NOWAIT (MySQL)
    1969: errors.OperationalError,  # ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
    3024: errors.OperationalError,  # ER_QUERY_TIMEOUT (MySQL max_execution_time)
    1317: errors.OperationalError,  # ER_QUERY_INTERRUPTED
    1792: errors.OperationalError,  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
    1406: errors.DataError, 1264: errors.DataError, 1265: errors.DataError, 1366: errors.DataError,
    1292: errors.DataError, 1365: errors.DataError, 1367: errors.DataError, 3140: errors.DataError,
    4038: errors.DataError,         # MariaDB: syntax error in JSON text
    1054: errors.ProgrammingError, 1064: errors.ProgrammingError, 1146: errors.ProgrammingError,
    1149: errors.ProgrammingError,
    1136: errors.ProgrammingError,  # ER_WRONG_VALUE_COUNT_ON_ROW
    1191: errors.ProgrammingError,  # ER_FT_MATCHING_KEY_NOT_FOUND: MATCH without a FULLTEXT index
    1061: errors.ProgrammingError, 1071: errors.ProgrammingError, 1170: errors.ProgrammingError,  # index DDL
    1105: errors.OperationalError,  # ER_UNKNOWN_ERROR
    1235: errors.NotSupportedError,  # ER_NOT_SUPPORTED_YET
}

#: option -> type accepted in ConnectionConfig.options
OPTIONS: dict[str, type] = {
    'sql_mode': str, 'init_command': str, 'collation': str, 'engine': str, 'unix_socket': str,
    'read_timeout': float, 'write_timeout': float, 'server_version': str,
}


class MySQLBackend(StorageBackend):
    """MySQL 8 and MariaDB 10.3+ over pymysql, with one generic pool."""

    name = 'mysql'
    driver_module = 'pymysql'
    driver_extra = 'mysql'
    dialect_class = MySQLDialect
    # pymysql says 'pyformat' but takes %s with a tuple, which is cheaper than a dict.
    paramstyle = 'format'
    # `%` is doubled for %-formatting, so the driver must format even without parameters.
    always_pass_params = True
    default_port = 3306
    known_options = frozenset(OPTIONS)
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = ERROR_CODES
    #: deadlock (also Galera's certification conflict) and lock wait timeout: run_transaction
    #: rolls the whole transaction back before running it again, so both are safe to retry
    retryable_codes: ClassVar[frozenset[Any]] = frozenset({1213, 1205})

    def __init__(self, config: ConnectionConfig, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        options = config.options
        self.dialect = MySQLDialect(engine=options.get('engine', 'InnoDB'),
                                    charset=config.charset or 'utf8mb4', collation=options.get('collation'))
        # The session's sql_mode decides where literals end: the translator must read them alike.
        self.dialect.adopt_sql_mode(options.get('sql_mode', DEFAULT_SQL_MODE))
        if options.get('server_version'):
            # A known server: SQL built before connecting already fits it.
            self.dialect.adopt_server(options['server_version'])
        self._version_text: str | None = None   # VERSION() of the server, read on first connect
        self._adopt_lock = threading.Lock()
        from pymysql.constants import CLIENT, SERVER_STATUS
        from pymysql.cursors import SSCursor
        self._client_flags = CLIENT.FOUND_ROWS
        self._in_trans_flag = SERVER_STATUS.SERVER_STATUS_IN_TRANS
        self._stream_cursor = SSCursor

    def check_config(self, config: ConnectionConfig) -> None:
        """A database name, and options of the right types."""
        super().check_config(config)
        for key, value in config.options.items():
            expected = OPTIONS.get(key)
            if expected is float:
                if isinstance(value, bool) or not _is_number(value) or float(value) <= 0:
                    raise ConfigurationError(f'ConnectionConfig.options[{key!r}]: {value!r} is not allowed; '
                                             'expected a number of seconds > 0')
            elif expected is str and (not isinstance(value, str) or not value):
                raise ConfigurationError(f'ConnectionConfig.options[{key!r}]: {value!r} is not allowed; '
                                         'expected a non-empty string')
        if 'sql_mode' in config.options:
            _sql_text(config.options['sql_mode'])
        engine = config.options.get('engine')
        if engine is not None and not engine.isidentifier():
            raise ConfigurationError(f"ConnectionConfig.options['engine']: {engine!r} is not allowed; "
                                     'expected a storage engine name such as InnoDB')
        for key in ('charset', 'collation'):
            value = config.charset if key == 'charset' else config.options.get('collation')
            if value is not None and not value.replace('_', '').isalnum():
                raise ConfigurationError(f'ConnectionConfig.{key}: {value!r} is not allowed; '
                                         f'expected a MySQL {key} name such as utf8mb4')

    # -- connecting ---------------------------------------------------------------------

    def connect_kwargs(self) -> dict[str, Any]:
        """pymysql.connect arguments: autocommit, utf8mb4, UTC session, strict sql_mode, TLS."""
        config = self.config
        options = config.options
        sql_mode = options.get('sql_mode', DEFAULT_SQL_MODE)
        kwargs: dict[str, Any] = {
            'host': config.host, 'port': config.port or self.default_port,
            'user': config.username, 'password': config.password or '',
            'database': config.database, 'charset': config.charset or 'utf8mb4',
            'autocommit': True, 'connect_timeout': config.connect_timeout,
            # UPDATE reports matched rows, not changed ones (optimistic locking relies on it).
            'client_flag': self._client_flags,
            # bytes are sent as _binary'...' so that no charset check mangles them
            'binary_prefix': True, 'local_infile': False,
            # One round trip for the session: UTC for DATETIME/NOW(), strict modes.
            'init_command': "SET SESSION time_zone = '+00:00', SESSION sql_mode = '%s'" % _sql_text(sql_mode),
        }
        if options.get('collation'):
            kwargs['collation'] = options['collation']
        for key in ('read_timeout', 'write_timeout'):
            if key in options:
                kwargs[key] = float(options[key])
        if options.get('unix_socket'):
            kwargs['unix_socket'] = options['unix_socket']
        context = self.ssl_context()
        if context is not None:
            # An SSLContext makes TLS required; it verifies the chain and the host name itself
            # (pymysql given only ssl_ca would check neither).
            kwargs['ssl'] = context
        kwargs.update(self._connection_overrides)
        return kwargs

    def setup_session(self, raw: Any) -> None:
        """Run options['init_command']; on the first connection read the server's version."""
        init_command = self.config.options.get('init_command')
        if init_command:
            self.run_internal(raw, init_command)
        if self._version_text is None:
            with self._adopt_lock:
                if self._version_text is None:
                    text = str(self.run_internal(raw, self.dialect.server_version_sql)[0][0])
                    if not self.config.options.get('server_version'):
                        self.dialect.adopt_server(text)   # a pinned version keeps its flags
                    self._server_version = server_version_tuple(text)
                    self._version_text = text

    def _known_version_text(self) -> str:
        if self._version_text is None:
            self.ping()  # the first connection reads it
        return self._version_text or ''

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """Known from the first connection (setup_session read it)."""
        return server_version_tuple(self._known_version_text())

    def server_version_text(self) -> str:
        """The server's VERSION(), e.g. '10.11.6-MariaDB-0+deb12u1' (connects if needed)."""
        return self._known_version_text()

    @property
    def is_mariadb(self) -> bool:
        """Whether the server is MariaDB (connects if needed)."""
        return is_mariadb_version(self._known_version_text())

    # -- small verbs --------------------------------------------------------------------

    def close_connection(self, raw: Any) -> None:
        """COM_QUIT and close; an unfinished streamed result is abandoned first."""
        result = getattr(raw, '_result', None)
        if result is not None:
            # Its finalizer (and its cursor's) would otherwise try to read the rest of the rows
            # from the closed socket, and fail noisily in the garbage collector.
            result.unbuffered_active = False
        raw.close()

    def ping_connection(self, raw: Any) -> None:
        """COM_PING: no SQL to parse, one small packet."""
        raw.ping(reconnect=False)

    def transaction_open(self, raw: Any) -> bool:
        """The server's status flags say whether a transaction is open (no round trip)."""
        return bool(raw.server_status & self._in_trans_flag)

    @staticmethod
    def _close_cursor(cursor: Any) -> None:
        if cursor is None:
            return   # cursor() itself failed or was interrupted: nothing to close
        connection = cursor.connection
        StorageBackend._close_cursor(cursor)
        # PyMySQL's connection keeps its last result, every row of it, until its next query:
        # a connection idle in the pool would keep a large result set alive. The cursor
        # holds its own copies of rowcount and lastrowid, so nothing reads it afterwards.
        result = getattr(connection, '_result', None)
        if result is not None and not result.unbuffered_active and not result.has_next:
            connection._result = None

    def is_disconnect(self, error: BaseException) -> bool:
        """'Server has gone away', lost connection, killed connection, closed socket."""
        if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return True
        code = self.error_code(error)
        if code in DISCONNECT_CODES:
            return True
        driver_errors = self.driver.err
        if isinstance(error, driver_errors.InterfaceError) and code in (0, None):
            return True  # pymysql raises InterfaceError(0, '') on a closed connection
        return isinstance(error, driver_errors.Error) and 'Already closed' in str(error)

    def error_code(self, error: BaseException) -> Any:
        """The server's (or client's) error number, e.g. 1062 for a duplicate key."""
        args = getattr(error, 'args', ())
        if isinstance(error, self.driver.err.MySQLError) and args and isinstance(args[0], int):
            return args[0]
        return None

    def error_sqlstate(self, error: BaseException) -> str | None:
        """The SQLSTATE the server sent with the error (pymysql keeps it as .sqlstate)."""
        return getattr(error, 'sqlstate', None)

    def describe_error(self, error: BaseException) -> str:
        """'Duplicate entry ... (MariaDB error 1062, SQLSTATE 23000)', without any password."""
        args = getattr(error, 'args', ())
        if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
            state = self.error_sqlstate(error)
            text = f'{args[1] or type(error).__name__} ({self.dialect.flavor} error {args[0]}' + (
                f', SQLSTATE {state})' if state else ')')
        else:
            text = str(error) or type(error).__name__
        password = self.config.password
        return text.replace(password, '***') if password else text

    def where(self) -> str:
        """host:port, or the Unix socket."""
        socket_path = self.config.options.get('unix_socket')
        return socket_path or super().where()

    def tls_in_use(self) -> bool:
        """Whether this connection is encrypted, as the server reports it (Ssl_cipher)."""
        row = self.fetch_one("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return bool(row and row.get('Value'))

    # -- streaming ----------------------------------------------------------------------

    def _open_stream(self, pooled: PooledConnection, sql: str, bound: Any, count: int) -> Any:
        """An unbuffered cursor (SSCursor): rows arrive as they are fetched, memory stays flat.

        Inside a transaction the connection is shared with the statements of the loop's body,
        and an unfinished unbuffered result would be silently cut short by the next statement:
        there the rows are buffered instead.
        """
        if pooled.in_transaction:
            return self._run(pooled, sql, bound, count)
        return self._run(pooled, sql, bound, count, cursor_args=(self._stream_cursor,))


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _sql_text(value: str) -> str:
    """A string literal's body for SET statements that cannot take bound parameters."""
    if "'" in value or '\\' in value or '\x00' in value:
        raise ConfigurationError(f"ConnectionConfig.options['sql_mode']: {value!r} is not allowed; "
                                 'expected comma-separated mode names')
    return value


__all__ = ['MySQLBackend', 'DEFAULT_SQL_MODE', 'DISCONNECT_CODES', 'ERROR_CODES']
