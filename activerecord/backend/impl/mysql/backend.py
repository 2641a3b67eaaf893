"""The MySQL/MariaDB backend on pymysql (pure Python): `pip install "activerecord[mysql]"`.

Every connection runs in autocommit mode with utf8mb4, time_zone '+00:00' and a strict
sql_mode; transactions are sent as SQL by the transaction manager. The first connection reads
`SELECT VERSION()` and tunes the dialect's feature flags to that server (MySQL or MariaDB).
"""
from __future__ import annotations

import threading
from typing import Any, ClassVar, Sequence, cast

from .... import errors
from ....errors import ConfigurationError
from ...base import StorageBackend, require_driver
from ...options import OptionParser, matching, seconds, text
from ...pool import PooledConnection
from ...typing import ConnectionConfig
from . import pymysql_internals  # without PyMySQL: MissingDriverError naming the pip extra
from .dialect import MySQLDialect, is_mariadb_version, server_version_tuple

#: pymysql's own escaping (public): what a value becomes inside the statement's text
escape_string = require_driver('pymysql.converters', 'mysql', 'MySQLBackend').escape_string

#: the session's sql_mode unless options['sql_mode'] says otherwise: strict, no zero dates,
#: and an explicit 0 in an AUTO_INCREMENT column is stored as given
DEFAULT_SQL_MODE = ('STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,'
                    'NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO')

#: client error codes (CR_*) and server codes that mean the connection is gone
DISCONNECT_CODES = frozenset({
    2006,  # CR_SERVER_GONE_ERROR: MySQL server has gone away
    2013,  # CR_SERVER_LOST: lost connection during query
    1153,  # ER_NET_PACKET_TOO_LARGE: the server closes the connection after it
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
    1792: errors.ReadOnlyError,     # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
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

#: server error numbers that name several causes: (words of the message, class) per cause, the
#: first whose words the message holds wins; no match leaves the code to ERROR_CODES and the rest.
#: 1290 ER_OPTION_PREVENTS_STATEMENT is also --secure-file-priv, --skip-grant-tables...
ERROR_MESSAGES: dict[Any, tuple[tuple[str, type[errors.DatabaseError]], ...]] = {
    1290: (('--read-only', errors.ReadOnlyError), ('--super-read-only', errors.ReadOnlyError)),
}


def _fits_in_a_literal(value: str) -> bool:
    """Whether text can go inside a SET statement's string literal (it cannot take parameters)."""
    return not any(character in value for character in "'\\\x00")


#: ConnectionConfig.options this backend accepts -> parser
OPTIONS: dict[str, OptionParser] = {
    'sql_mode': matching(_fits_in_a_literal, 'comma-separated mode names'),
    'engine': matching(str.isidentifier, 'a storage engine name such as InnoDB'),
    'collation': matching(lambda name: name.replace('_', '').isalnum(),
                          'a MySQL collation name such as utf8mb4_general_ci'),
    'init_command': text, 'unix_socket': text, 'server_version': text,
    'read_timeout': seconds, 'write_timeout': seconds,
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
    option_specs = OPTIONS
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = ERROR_CODES
    error_messages: ClassVar[dict[Any, tuple[tuple[str, type[errors.DatabaseError]], ...]]] = ERROR_MESSAGES
    #: deadlock (also Galera's certification conflict) and lock wait timeout: run_transaction
    #: rolls the whole transaction back before running it again, so both are safe to retry
    retryable_codes: ClassVar[frozenset[Any]] = frozenset({1213, 1205})
    #: ER_NET_PACKET_TOO_LARGE drops the connection, yet the same statement fails again anywhere
    permanent_codes: ClassVar[frozenset[Any]] = frozenset({1153})

    def __init__(self, config: ConnectionConfig, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self._version_text: str | None = None   # VERSION() of the server, read on first connect
        self._packet_limit: int | None = None   # @@max_allowed_packet, read on first bulk write
        self._adopt_lock = threading.Lock()
        from pymysql.constants import CLIENT  # type: ignore[import-untyped]  # no stubs installed for mypy
        from pymysql.cursors import SSCursor  # type: ignore[import-untyped]
        self._client_flags = CLIENT.FOUND_ROWS
        self._stream_cursor = SSCursor

    # -- statement size -----------------------------------------------------------------

    def statement_byte_limit(self) -> int | None:
        """The server's max_allowed_packet, read once per backend: pymysql puts the values into
        the statement's text, so a multi-row INSERT must fit one packet."""
        if self._packet_limit is None:
            self._packet_limit = int(self.fetch_value('SELECT @@max_allowed_packet'))
        return self._packet_limit

    def value_bytes(self, values: Sequence[Any]) -> int:
        """The bytes of the values as pymysql's escaped literals (an upper bound for non-text values)."""
        size = 0
        for value in values:
            if isinstance(value, str):
                size += len(escape_string(value).encode('utf-8', 'surrogatepass')) + 2
            elif isinstance(value, (bytes, bytearray)):
                size += len(escape_string(bytes(value).decode('latin-1'))) * 2 + 10   # _binary'...'
            else:
                size += len(str(value)) + 8   # quotes, a datetime's literal form
        return size

    def make_dialect(self) -> MySQLDialect:
        """MySQL's SQL for the configured engine, charset, collation and sql_mode."""
        options = self.options
        dialect = MySQLDialect(engine=options.get('engine', 'InnoDB'), charset=self.config.charset or 'utf8mb4',
                               collation=options.get('collation'))
        # The session's sql_mode decides where literals end: the translator must read them alike.
        dialect.adopt_sql_mode(options.get('sql_mode', DEFAULT_SQL_MODE))
        if options.get('server_version'):
            # A known server: SQL built before connecting already fits it.
            dialect.adopt_server(options['server_version'])
        return dialect

    def check_config(self, config: ConnectionConfig) -> None:
        """A database name, and a charset name that can be written into SQL."""
        super().check_config(config)
        if config.charset is not None and not config.charset.replace('_', '').isalnum():
            raise ConfigurationError(f'ConnectionConfig.charset: {config.charset!r} is not allowed; '
                                     'expected a MySQL charset name such as utf8mb4')

    # -- connecting ---------------------------------------------------------------------

    def connect_kwargs(self) -> dict[str, Any]:
        """pymysql.connect arguments: autocommit, utf8mb4, UTC session, strict sql_mode, TLS."""
        config = self.config
        options = self.options
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
            'init_command': "SET SESSION time_zone = '+00:00', SESSION sql_mode = '%s'"
                            % options.get('sql_mode', DEFAULT_SQL_MODE),
        }
        kwargs.update((key, options[key]) for key in ('read_timeout', 'write_timeout') if key in options)
        kwargs.update((key, options[key]) for key in ('collation', 'unix_socket') if options.get(key))
        context = self.ssl_context()
        if context is not None:
            # An SSLContext makes TLS required; it verifies the chain and the host name itself
            # (pymysql given only ssl_ca would check neither).
            kwargs['ssl'] = context
        kwargs.update(self._connection_overrides)
        return kwargs

    def setup_session(self, raw: Any) -> None:
        """Run options['init_command']; on the first connection read the server's version."""
        if init_command := self.options.get('init_command'):
            self.run_internal(raw, init_command)
        if self._version_text is None:
            with self._adopt_lock:
                if self._version_text is None:
                    text = str(self.run_internal(raw, self.dialect.server_version_sql)[0][0])
                    if not self.options.get('server_version'):
                        cast(MySQLDialect, self.dialect).adopt_server(text)   # a pinned version keeps its flags
                    self._server_version = server_version_tuple(text)
                    self._version_text = text

    def server_version_text(self) -> str:
        """The server's VERSION(), e.g. '10.11.6-MariaDB-0+deb12u1' (connects if needed)."""
        if self._version_text is None:
            self.ping()  # the first connection reads it
        return self._version_text or ''

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """Known from the first connection (setup_session read it)."""
        return server_version_tuple(self.server_version_text())

    @property
    def is_mariadb(self) -> bool:
        """Whether the server is MariaDB (connects if needed)."""
        return is_mariadb_version(self.server_version_text())

    # -- small verbs --------------------------------------------------------------------

    def close_connection(self, raw: Any) -> None:
        """COM_QUIT and close; an unfinished streamed result is abandoned first."""
        pymysql_internals.abandon_unread_result(raw)
        raw.close()

    def ping_connection(self, raw: Any) -> None:
        """COM_PING: no SQL to parse, one small packet."""
        raw.ping(reconnect=False)

    #: the server's status flags say whether a transaction is open (no round trip)
    transaction_open = staticmethod(pymysql_internals.transaction_open)  # pyright: ignore[reportAssignmentType]  # called as self.transaction_open(raw): a staticmethod fits

    def close_cursor(self, cursor: Any) -> None:
        """Close, then let go of the rows PyMySQL's connection keeps of its last result."""
        if cursor is None:
            return   # cursor() itself failed or was interrupted: nothing to close
        connection = cursor.connection
        super().close_cursor(cursor)
        pymysql_internals.release_finished_result(connection)

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

    def error_class(self, error: BaseException, code: Any) -> type[errors.DatabaseError] | None:
        """A code that names several causes is told apart by its message (error_messages)."""
        for words, cls in self.error_messages.get(code, ()):
            if words in str(error):
                return cls
        return super().error_class(error, code)

    def error_code(self, error: BaseException) -> Any:
        """The server's (or client's) error number, e.g. 1062 for a duplicate key."""
        args: tuple[Any, ...] = getattr(error, 'args', ())
        if isinstance(error, self.driver.err.MySQLError) and args and isinstance(args[0], int):
            return args[0]
        return None

    def error_sqlstate(self, error: BaseException) -> str | None:
        """The SQLSTATE the server sent with the error (pymysql keeps it as .sqlstate)."""
        return getattr(error, 'sqlstate', None)

    def driver_message(self, error: BaseException) -> str:
        """'Duplicate entry ... (MariaDB error 1062, SQLSTATE 23000)'."""
        args: tuple[Any, ...] = getattr(error, 'args', ())
        if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
            state = self.error_sqlstate(error)
            flavor = cast(MySQLDialect, self.dialect).flavor
            return f'{args[1] or type(error).__name__} ({flavor} error {args[0]}' + (
                f', SQLSTATE {state})' if state else ')')
        return super().driver_message(error)

    def where(self) -> str:
        """host:port, or the Unix socket."""
        return self.options.get('unix_socket') or super().where()

    def tls_in_use(self) -> bool:
        """Whether this connection is encrypted, as the server reports it (Ssl_cipher)."""
        row = self.fetch_one("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return bool(row and row.get('Value'))

    # -- streaming ----------------------------------------------------------------------

    def open_stream(self, pooled: PooledConnection, sql: str, bound: Any, count: int) -> Any:
        """An unbuffered cursor (SSCursor): rows arrive as they are fetched, memory stays flat.

        Inside a transaction the connection is shared with the statements of the loop's body,
        and an unfinished unbuffered result would be silently cut short by the next statement:
        there the rows are buffered instead.
        """
        if pooled.in_transaction or pooled.shared:   # shared: lent to an async call (the same holds)
            return self._run(pooled, sql, bound, count)
        return self._run(pooled, sql, bound, count, cursor_args=(self._stream_cursor,))


__all__ = ['MySQLBackend', 'DEFAULT_SQL_MODE', 'DISCONNECT_CODES', 'ERROR_CODES']
