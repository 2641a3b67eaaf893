"""A complete custom backend: MySQL and MariaDB through MySQL Connector/Python in pure-Python mode.

This is the worked example of docs/custom-backend.md, and the test suite runs CRUD through
models on it (tests/backend/test_custom_backend.py). It shows every piece a backend supplies:

- the driver module (`mysql.connector`, from `pip install mysql-connector-python`) and how to
  say so when it is missing;
- the dialect and type map: this driver talks to a server whose SQL the project already speaks,
  so they subclass MySQLDialect / MySQLTypeMap and state only what this driver does differently;
- the paramstyle (`pyformat`: `%(p1)s` with a dict), to which `?` is translated once per SQL text;
- its options as data: name -> parser, parsed once when the backend is made;
- the connect template's hooks: connect_kwargs, setup_session, ping_connection,
  transaction_open, is_disconnect, error_code, error_sqlstate, tls_in_use.

Everything else (pool, transactions, savepoints, logging, error translation) is inherited.
"""
from __future__ import annotations

import threading
from typing import Any, ClassVar

from activerecord import errors
from activerecord.backend.base import StorageBackend, require_driver
from activerecord.backend.impl.mysql.backend import DEFAULT_SQL_MODE, DISCONNECT_CODES, ERROR_CODES
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.mysql.types import MySQLTypeMap
from activerecord.backend.options import OptionParser, matching
from activerecord.backend.types import Converter, to_bytes

#: the pip package that provides the driver module
DRIVER_PACKAGE = 'mysql-connector-python'


def is_mode_list(text: str) -> bool:
    """Mode names and commas only: sql_mode is written into SET, which cannot take a parameter."""
    return text.replace('_', '').replace(',', '').isalnum()


class ConnectorTypeMap(MySQLTypeMap):
    """MySQL's types; Connector/Python hands binary columns back as bytearray, so make them bytes."""

    from_db_converters: ClassVar[dict[str, Converter]] = {
        **MySQLTypeMap.from_db_converters, 'bytes': to_bytes, 'bytes_sized': to_bytes,
    }


class ConnectorDialect(MySQLDialect):
    """MySQL's SQL, with this driver's type map."""

    type_map_class = ConnectorTypeMap


class MySQLConnectorBackend(StorageBackend):
    """MySQL 8 / MariaDB 10.3+ over mysql.connector (use_pure=True): no compiled code at all."""

    name = 'mysql'
    driver_module = 'mysql.connector'
    dialect_class = ConnectorDialect
    # The driver's own style: %(name)s placeholders and a dict of values.
    paramstyle = 'pyformat'
    # `%` is doubled for %-formatting, so the driver must format even without parameters.
    always_pass_params = True
    default_port = 3306
    option_specs: ClassVar[dict[str, OptionParser]] = {
        'sql_mode': matching(is_mode_list, 'comma-separated mode names'),
    }
    # Error numbers are the server's, whichever driver reports them: reuse the MySQL table.
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = ERROR_CODES

    def __init__(self, config: Any, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self._server_known = False
        self._server_lock = threading.Lock()

    @classmethod
    def load_driver(cls) -> Any:
        """mysql.connector, or an error that names the pip package to install."""
        try:
            return require_driver(cls.driver_module, None, cls.__name__)
        except errors.MissingDriverError:
            raise errors.MissingDriverError(
                f'{cls.__name__} needs the driver module {cls.driver_module!r}: '
                f'pip install {DRIVER_PACKAGE}') from None

    # -- the connect template's hooks ---------------------------------------------------

    def connect_kwargs(self) -> dict[str, Any]:
        """mysql.connector.connect arguments: pure Python, autocommit, buffered rows, UTC session."""
        config = self.config
        from mysql.connector.constants import ClientFlag
        kwargs: dict[str, Any] = {
            'host': config.host, 'port': config.port or self.default_port,
            'user': config.username, 'password': config.password or '', 'database': config.database,
            'use_pure': True,
            # The transaction manager sends START TRANSACTION / COMMIT itself.
            'autocommit': True,
            # Rows are read at execute(): the connection is free for the next statement at once.
            'buffered': True,
            # A collation both MySQL and MariaDB know (the driver's default is MySQL 8's only).
            'charset': config.charset or 'utf8mb4', 'collation': 'utf8mb4_unicode_ci',
            'connection_timeout': max(1, int(config.connect_timeout)),
            # UPDATE reports matched rows, not changed ones (what optimistic locking counts).
            'client_flags': [ClientFlag.FOUND_ROWS],
            'init_command': "SET time_zone = '+00:00', sql_mode = '%s'"
                            % self.options.get('sql_mode', DEFAULT_SQL_MODE),
        }
        if config.ssl_ca or config.ssl_cert:
            # TLS asked for: required, with the chain and the host name checked unless ssl_verify=False.
            kwargs.update(ssl_ca=config.ssl_ca, ssl_cert=config.ssl_cert, ssl_key=config.ssl_key,
                          ssl_verify_cert=config.ssl_verify, ssl_verify_identity=config.ssl_verify)
        kwargs.update(self._connection_overrides)
        return kwargs

    def setup_session(self, raw: Any) -> None:
        """On the first connection, tune the dialect's feature flags to the server's version."""
        if self._server_known:
            return
        with self._server_lock:
            if not self._server_known:
                self.dialect.adopt_server(raw.server_info)
                self._server_version = self.dialect.server_version
                self._server_known = True

    def ping_connection(self, raw: Any) -> None:
        """COM_PING, without the driver's own silent reconnect."""
        raw.ping(reconnect=False)

    def transaction_open(self, raw: Any) -> bool:
        """The driver tracks the server's in-transaction status flag."""
        return bool(raw.in_transaction)

    def is_disconnect(self, error: BaseException) -> bool:
        """Server gone, connection lost or killed, or the driver's own 'not available'."""
        if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return True
        if self.error_code(error) in DISCONNECT_CODES:
            return True
        return isinstance(error, self.driver.Error) and 'Connection not available' in str(error)

    def error_code(self, error: BaseException) -> Any:
        """The server's error number (Connector/Python keeps it as `errno`; -1 means none)."""
        code = getattr(error, 'errno', None)
        return code if isinstance(code, int) and code > 0 else None

    def error_sqlstate(self, error: BaseException) -> str | None:
        """The SQLSTATE the server sent."""
        return getattr(error, 'sqlstate', None)

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """Known since the first connection."""
        return self.dialect.server_version or super().read_server_version(raw)

    def tls_in_use(self) -> bool:
        """Whether the session is encrypted, as the server reports it."""
        row = self.fetch_one("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return bool(row and row.get('Value'))
