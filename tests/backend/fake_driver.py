"""A scripted PEP 249 driver module, for the pool and error-translation logic.

A real server cannot be told "drop this connection now" or "fail the next connect" on cue,
so the pool's bookkeeping is driven through this module, and the same behaviours are then
checked against real SQLite in the tests next to it. `FakeServer` holds what a test steers
(failures, kills) and what it inspects (every statement sent, open connections).
"""
from __future__ import annotations

import threading
from typing import Any

from activerecord import errors
from activerecord.backend.base import StorageBackend
from activerecord.backend.dialect import Dialect
from activerecord.backend.options import as_given
from activerecord.backend.typing import ConnectionConfig

apilevel = '2.0'
threadsafety = 1
paramstyle = 'qmark'


class Error(Exception):
    """PEP 249 root."""


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class DataError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class ServerError(DatabaseError):
    """An error that carries a vendor code and SQLSTATE, like pg8000/pymysql errors do."""

    def __init__(self, message: str, code: int | None = None, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.sqlstate = sqlstate


GONE = 'server closed the connection unexpectedly'


class FakeServer:
    """What a test steers and observes; one per test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connect_error: BaseException | None = None   # raised by the next connect()
        self.statements: list[tuple[int, str, Any]] = []  # (connection id, sql, params)
        self.connections: list['FakeConnection'] = []
        self.open_now = 0
        self.most_open = 0
        self.errors: dict[str, BaseException] = {}       # sql -> error to raise when it runs
        self.last_connect_kwargs: dict[str, Any] = {}

    def connect(self, **kwargs: Any) -> 'FakeConnection':
        with self.lock:
            self.last_connect_kwargs = kwargs
            if self.connect_error is not None:
                error, self.connect_error = self.connect_error, None
                raise error
            connection = FakeConnection(self, len(self.connections) + 1)
            self.connections.append(connection)
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
            return connection

    def kill_all(self) -> None:
        """The server drops every connection (a restart): the next use of each fails."""
        for connection in self.connections:
            connection.alive = False

    def sent(self, sql: str) -> int:
        """How many times `sql` was sent, on any connection."""
        return sum(1 for _, text, _ in self.statements if text == sql)


class FakeCursor:
    def __init__(self, connection: 'FakeConnection') -> None:
        self.connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid = None
        self._rows: list[tuple] = []

    def execute(self, sql: str, params: Any = ()) -> None:
        connection = self.connection
        server = connection.server
        with server.lock:  # recorded as sent even when the connection turns out to be dead
            server.statements.append((connection.id, sql, params))
        connection.check_usable()
        if sql in server.errors:
            raise server.errors[sql]
        upper = sql.strip().upper()
        if upper == 'BEGIN':
            connection.in_transaction = True
        elif upper in ('COMMIT', 'ROLLBACK'):
            connection.in_transaction = False
        if upper.startswith('SELECT'):
            # SELECT returns one row: the connection's id and the parameters
            self.description = (('connection_id', None, None, None, None, None, None),) + tuple(
                (f'p{index}', None, None, None, None, None, None) for index in range(1, len(params) + 1))
            self._rows = [(connection.id, *params)]
            self.rowcount = 1
        else:
            self.description = None
            self._rows = []
            self.rowcount = 1

    def executemany(self, sql: str, seq_of_params: Any) -> None:
        total = 0
        for params in seq_of_params:
            self.execute(sql, params)
            total += 1
        self.rowcount = total

    def fetchone(self) -> Any:
        self.connection.check_usable()
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, server: FakeServer, connection_id: int) -> None:
        self.server = server
        self.id = connection_id
        self.alive = True
        self.closed = False
        self.in_transaction = False
        self.rollbacks = 0

    def check_usable(self) -> None:
        if self.closed:
            raise InterfaceError('connection already closed')
        if not self.alive:
            raise OperationalError(GONE)

    def cursor(self) -> FakeCursor:
        if self.closed:
            raise InterfaceError('connection already closed')
        return FakeCursor(self)

    def commit(self) -> None:
        self.check_usable()
        self.in_transaction = False

    def rollback(self) -> None:
        self.check_usable()
        self.rollbacks += 1
        self.in_transaction = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with self.server.lock:
                self.server.open_now -= 1


class FakeDialect(Dialect):
    """The base dialect is standard SQL; the fake server understands what it sends."""
    name = 'fake'


class FakeBackend(StorageBackend):
    """A StorageBackend over this module (make_backend routes it to one FakeServer)."""

    name = 'fake'
    driver_module = __name__
    dialect_class = FakeDialect
    default_port = 7777
    option_specs = {'flavour': as_given}
    error_codes = {1213: errors.OperationalError}   # a deadlock, whatever class the driver gave

    def connect_kwargs(self) -> dict[str, Any]:
        config = self.config
        return {'host': config.host, 'port': config.port or self.default_port, 'user': config.username,
                'password': config.password, 'database': config.database}

    def transaction_open(self, raw: FakeConnection) -> bool:
        return raw.in_transaction

    def is_disconnect(self, error: BaseException) -> bool:
        return GONE in str(error) or 'already closed' in str(error)

    def error_code(self, error: BaseException) -> Any:
        return getattr(error, 'code', None)

    def error_sqlstate(self, error: BaseException) -> str | None:
        return getattr(error, 'sqlstate', None)


def make_backend(server: FakeServer, **config: Any) -> FakeBackend:
    """A FakeBackend whose driver.connect talks to `server`."""
    import sys
    module = sys.modules[__name__]

    class Bound(FakeBackend):
        @classmethod
        def load_driver(cls) -> Any:
            return _BoundModule(module, server)

    config.setdefault('database', 'fakedb')
    return Bound(ConnectionConfig(**config))


class _BoundModule:
    """The driver module, with connect() routed to one FakeServer."""

    def __init__(self, module: Any, server: FakeServer) -> None:
        self._module = module
        self.connect = server.connect

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)
