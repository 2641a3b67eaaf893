"""StorageBackend: the generic DB-API 2.0 backend every database subclasses.

It owns the public verbs (execute, fetch, transactions, ping, close), the pool, placeholder
translation, error translation and statement logging. A database subclass supplies data and a
few small hooks: its driver module, dialect, paramstyle, connect arguments, session setup,
disconnect detection and error-code table.
"""
from __future__ import annotations

import functools
import importlib
import logging
import os
import ssl
import threading
import time
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable, ClassVar, Iterator, Sequence

from .. import errors
from ..errors import ActiveRecordError, ConfigurationError
from .dialect import Dialect
from .features import Features
from . import registry
from .placeholders import translate
from .schema import SchemaIntrospector
from .pool import ConnectionPool, PooledConnection
from .transaction import IsolationLevel, TransactionManager
from .typing import ConnectionConfig

sql_logger = logging.getLogger('activerecord.sql')

#: PEP 249 exception names, most specific first -> our error class.
_PEP249_NAMES: tuple[tuple[str, type[errors.DatabaseError]], ...] = (
    ('IntegrityError', errors.IntegrityError), ('DataError', errors.DataError),
    ('NotSupportedError', errors.NotSupportedError), ('ProgrammingError', errors.ProgrammingError),
    ('OperationalError', errors.OperationalError), ('InternalError', errors.InternalError),
    ('InterfaceError', errors.InterfaceError), ('DatabaseError', errors.DatabaseError),
)


#: no database takes fewer parameters in one statement (SQLite before 3.32): below it, no check
_FEWEST_MAX_PARAMETERS = 999

#: exceptions a driver raises for a value it cannot bind -> what the DataError adds to the message
_UNBINDABLE_VALUES: dict[type, str] = {
    UnicodeEncodeError: '; text values must be valid Unicode (a lone surrogate cannot be stored)',
    OverflowError: '; integers must fit in 64 bits (out of range for any integer column)',
}


@contextmanager
def tls_file_errors(config: ConnectionConfig) -> Iterator[None]:
    """A CA, certificate or key file that cannot be read is a ConfigurationError naming the field and path."""
    try:
        yield
    except (OSError, ssl.SSLError) as error:
        for name in ('ssl_ca', 'ssl_cert', 'ssl_key'):
            path = getattr(config, name)
            if path and not os.path.isfile(path):
                raise ConfigurationError(f'ConnectionConfig.{name}: the file {path!r} does not exist or is not '
                                         f'a file ({error.strerror or error}); expected a PEM file') from error
        given = ', '.join(f'{name}={getattr(config, name)!r}' for name in ('ssl_ca', 'ssl_cert', 'ssl_key')
                          if getattr(config, name))
        raise ConfigurationError(f'ConnectionConfig: the TLS files cannot be loaded ({error}); expected PEM '
                                 f'files: {given}') from error


class StorageBackend:
    """Execution, pooling and transactions over any DB-API 2.0 driver."""

    #: canonical name ('sqlite', 'postgresql', ...), the URL schemes' target
    name: ClassVar[str] = 'generic'
    #: module to import for the driver, and the pip extra that installs it
    driver_module: ClassVar[str] = ''
    driver_extra: ClassVar[str | None] = None
    dialect_class: ClassVar[type[Dialect]] = Dialect
    #: the driver's paramstyle; `?` is translated to it once per SQL text
    paramstyle: ClassVar[str] = 'qmark'
    default_port: ClassVar[int | None] = None
    #: names accepted in ConnectionConfig.options
    known_options: ClassVar[frozenset[str]] = frozenset()
    #: driver error code -> our error class, for codes whose PEP 249 class is too vague
    error_codes: ClassVar[dict[Any, type[errors.DatabaseError]]] = {}
    #: SQLSTATE class (first two characters) -> our error class
    sqlstate_classes: ClassVar[dict[str, type[errors.DatabaseError]]] = {
        '08': errors.OperationalError, '22': errors.DataError, '23': errors.IntegrityError,
        '40': errors.OperationalError, '42': errors.ProgrammingError, '53': errors.OperationalError,
        '57': errors.OperationalError, '0A': errors.NotSupportedError,
        '2B': errors.IntegrityError,   # dependent objects still exist (DROP of a referenced table)
    }

    #: SQLSTATEs after which running the whole transaction again may succeed: serialization
    #: failure and deadlock (the database rolled the transaction back)
    retryable_sqlstates: ClassVar[frozenset[str]] = frozenset({'40001', '40P01'})
    #: driver error codes with the same meaning, for databases whose codes say it better
    retryable_codes: ClassVar[frozenset[Any]] = frozenset()

    def __init__(self, config: ConnectionConfig, **connection_overrides: Any) -> None:
        if not isinstance(config, ConnectionConfig):
            raise ConfigurationError(f'{type(self).__name__} needs a ConnectionConfig, got {type(config).__name__}')
        self.config = config
        self._check_options(config)
        self.check_config(config)
        self._connection_overrides = connection_overrides
        self.driver = self.load_driver()
        self.dialect: Dialect = self.dialect_class()
        self._version_lock = threading.Lock()
        self._server_version: tuple[int, ...] | None = None
        self.pool = ConnectionPool(
            connect=self._open_connection, close=self.close_connection, ping=self.ping_connection,
            reset=self._reset_connection, size=config.pool_size, max_overflow=config.max_overflow,
            timeout=config.pool_timeout, recycle=config.pool_recycle, pre_ping=config.pool_pre_ping,
            name=f'{self.name} pool ({config.display_url()})')
        self.transaction_manager = TransactionManager(self)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.config!r})'

    # -- configuration checks (no connection) -------------------------------------------

    def _check_options(self, config: ConnectionConfig) -> None:
        unknown = sorted(set(config.options) - self.known_options)
        if unknown:
            allowed = ', '.join(sorted(self.known_options)) or 'none'
            raise ConfigurationError(f'ConnectionConfig.options: {unknown[0]!r} is not an option of '
                                     f'{type(self).__name__}; allowed: {allowed}')

    def check_config(self, config: ConnectionConfig) -> None:
        """Hook: reject values this database cannot use (called by the constructor)."""
        if config.database is None:
            raise ConfigurationError(f'ConnectionConfig.database: None is not allowed for '
                                     f'{type(self).__name__}; expected the database name')

    @classmethod
    def load_driver(cls) -> ModuleType:
        """The driver module (its import error names the extra that installs it)."""
        return require_driver(cls.driver_module, cls.driver_extra, cls.__name__)

    # -- hooks a database fills in ------------------------------------------------------

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for driver.connect() (host, port, credentials, TLS...)."""
        raise NotImplementedError

    def setup_session(self, raw: Any) -> None:
        """Run once on every new connection (session settings, autocommit mode)."""

    def ping_connection(self, raw: Any) -> None:
        """Raise if the connection is unusable."""
        self.run_internal(raw, self.dialect.ping_sql)

    def run_internal(self, raw: Any, sql: str) -> list:
        """Run a statement the backend sends by itself (session setup, ping, version) on a raw
        connection, logged like every other statement; returns its rows."""
        started = time.perf_counter()
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            rows = list(cursor.fetchall()) if cursor.description else []
        except BaseException as error:
            self._log(sql, 0, started, error)
            raise
        finally:
            self._close_cursor(cursor)
        self._log(sql, 0, started, None)
        return rows

    def transaction_open(self, raw: Any) -> bool:
        """Whether the connection has a transaction open (True when the driver cannot tell)."""
        return True

    def is_disconnect(self, error: BaseException) -> bool:
        """Whether a driver error means the connection is gone."""
        return False

    def close_connection(self, raw: Any) -> None:
        """Close a driver connection."""
        raw.close()

    def error_code(self, error: BaseException) -> Any:
        """The database's own error number for a driver error, if it has one."""
        return None

    def error_sqlstate(self, error: BaseException) -> str | None:
        """The SQLSTATE of a driver error, if the driver reports one."""
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying SSLContext from ssl_ca/ssl_cert/ssl_key (None when no TLS is asked for)."""
        config = self.config
        if config.ssl_ca is None and config.ssl_cert is None:
            return None
        with tls_file_errors(config):
            context = ssl.create_default_context(cafile=config.ssl_ca) if config.ssl_ca else ssl.create_default_context()
            if not config.ssl_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if config.ssl_cert:
                context.load_cert_chain(config.ssl_cert, config.ssl_key)
        return context

    # -- connections --------------------------------------------------------------------

    def open_raw_connection(self, kwargs: dict[str, Any]) -> Any:
        """Hook: open one driver connection (a driver with its own connection class overrides)."""
        return self.driver.connect(**kwargs)

    def _open_connection(self) -> Any:
        try:
            raw = self.open_raw_connection(self.connect_kwargs())
        except Exception as error:
            raise self.translate_error(error, connecting=True) from error
        try:
            self.setup_session(raw)
        except Exception as error:
            self._close_quietly(raw)
            raise self.translate_error(error, connecting=True) from error
        except BaseException:
            self._close_quietly(raw)   # interrupted mid-setup: a half-set-up session is no use
            raise
        return raw

    def _close_quietly(self, raw: Any) -> None:
        try:
            self.close_connection(raw)
        except Exception:
            pass

    def _reset_connection(self, raw: Any) -> None:
        if self.transaction_open(raw):
            raw.rollback()

    @contextmanager
    def connection(self) -> Iterator[PooledConnection]:
        """This task's transaction connection (its turn held), or a pooled one, for the block's length."""
        pooled, turn = self._acquire()
        try:
            yield pooled
        except (Exception, GeneratorExit):
            raise
        except BaseException:
            # Interrupted inside the block (KeyboardInterrupt, cancellation): whatever was being
            # said to the server was cut off, so the connection's state is unknown. (A
            # transaction's connection is the transaction's to end.)
            if turn is None:
                self.pool.invalidate(pooled)
            raise
        finally:
            self._give_back(pooled, turn)   # this very transaction's turn, wherever the block is closed

    # The statement verbs below use _acquire() with try/finally rather than `with
    # self.connection()`: a generator context manager costs more than the rest of a primary-key
    # lookup's Python overhead together (see docs/performance.md).

    def _acquire(self) -> tuple[PooledConnection, Any]:
        """(connection, turn): the open transaction's pinned connection with this caller's turn on
        it held (`turn` is the transaction), else one checked out of the pool (`turn` is None);
        either way the caller ends with `self._give_back(pooled, turn)`."""
        turn = self.transaction_manager.take_turn()
        if turn is not None:
            return turn.connection, turn
        return self.pool.checkout(), None

    def _give_back(self, pooled: PooledConnection, turn: Any) -> None:
        """End a statement's use of what _acquire() gave: the transaction's turn, or the checkout."""
        if turn is not None:
            turn.turn_lock.release()
        elif not pooled.invalidated:
            try:
                self.pool.release(pooled)
            except BaseException:
                self.pool.invalidate(pooled)   # the return was cut short: state unknown
                raise

    # -- execution ----------------------------------------------------------------------

    def _prepare(self, sql: str, params: Sequence[Any] | None) -> tuple[str, Any, int]:
        dialect = self.dialect
        translated = translate(sql, self.paramstyle, dialect.features.question_mark_operators,
                               dialect.lexical_rules)
        if params is None:
            params = ()
        elif not isinstance(params, (list, tuple)):
            raise errors.ProgrammingError(f'parameters must be a tuple or list, got {type(params).__name__}; '
                                          f'for one value write ({params!r},)')
        count = len(params)
        if count > _FEWEST_MAX_PARAMETERS:
            self._check_parameter_count(count)
        return translated.sql, translated.bind(self.adapt_params(params)), count

    def _check_parameter_count(self, count: int) -> None:
        features = self.features
        if features.max_parameters_enforced and count > features.max_parameters:
            raise errors.ProgrammingError(
                f'the statement has {count} parameters but {self.name} takes at most {features.max_parameters} '
                'in one statement; split the work (e.g. several in_() queries, or insert_many batches)')

    def adapt_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Turn values the driver cannot bind (UUID, Enum, dict...) into ones it can."""
        type_map = self.dialect.type_map
        if type_map is None:
            return params
        return type_map.adapt_params(params)

    def _run(self, pooled: PooledConnection, sql: str, params: Any, count: int, many: bool = False,
             cursor_args: tuple = ()) -> Any:
        """Execute on a connection with logging and error translation; returns the cursor."""
        started = time.perf_counter()
        cursor = None
        try:
            # Inside the try: a closed connection fails here, and must be translated too.
            cursor = pooled.raw.cursor(*cursor_args)  # cursor_args: e.g. a streaming cursor class
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params) if count or self.always_pass_params else cursor.execute(sql)
        except Exception as error:
            self._log(sql, count, started, error)
            self._close_cursor(cursor)
            self._handle_failure(pooled, error)
            raise self.translate_error(error) from error
        except BaseException as interruption:
            # Interrupted mid-statement (KeyboardInterrupt): the wire protocol is in an unknown
            # state, so the connection must never serve another statement. Invalidated first:
            # closing the cursor may itself fail or read from the cut-off stream.
            if not pooled.invalidated:
                self.pool.invalidate(pooled)
            try:
                self._log(sql, count, started, interruption)
                self._close_cursor(cursor)
            except Exception:
                pass   # the interrupt is what the caller must see
            raise
        if sql_logger.isEnabledFor(logging.DEBUG):
            self._log(sql, count, started, None)
        return cursor

    #: pass an empty parameter tuple to execute() (drivers whose % escaping needs it)
    always_pass_params: ClassVar[bool] = False

    @staticmethod
    def _close_cursor(cursor: Any) -> None:
        try:
            cursor.close()
        except Exception:
            pass

    def _handle_failure(self, pooled: PooledConnection, error: BaseException) -> None:
        """After a failed statement: a connection that is gone is discarded, never reused."""
        # Inside a transaction the block goes on failing on the invalid connection until
        # its exit rolls back; the statement itself is never re-run elsewhere.
        if not pooled.invalidated and self.is_disconnect(error):
            self.pool.invalidate(pooled)

    def _log(self, sql: str, count: int, started: float, error: BaseException | None) -> None:
        if not sql_logger.isEnabledFor(logging.DEBUG):
            return
        elapsed = (time.perf_counter() - started) * 1000
        outcome = f' -- failed: {type(error).__name__}' if error is not None else ''
        sql_logger.debug('%s -- %d params, %.3f ms%s', sql, count, elapsed, outcome)

    def run_control(self, pooled: PooledConnection, statements: Sequence[str]) -> None:
        """Run transaction-control statements (BEGIN, SAVEPOINT, ...) on a connection."""
        for statement in statements:
            cursor = self._run(pooled, statement, (), 0)
            self._close_cursor(cursor)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement; returns the number of affected rows (-1 when unknown)."""
        sql, bound, count = self._prepare(sql, params)
        pooled, turn = self._acquire()
        try:
            cursor = self._run(pooled, sql, bound, count)
            try:
                return cursor.rowcount
            finally:
                self._close_cursor(cursor)
        finally:
            self._give_back(pooled, turn)

    def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> int:
        """Run one statement for each parameter tuple; returns the affected rows in total."""
        rows = list(seq_of_params)
        if not rows:
            return 0
        translated = translate(sql, self.paramstyle, self.features.question_mark_operators,
                               self.dialect.lexical_rules)
        bound = [translated.bind(self.adapt_params(row)) for row in rows]
        with self.connection() as pooled:
            cursor = self._run(pooled, translated.sql, bound, translated.placeholder_count, many=True)
            try:
                return cursor.rowcount
            finally:
                self._close_cursor(cursor)

    def query_rows(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Column labels and every row as a tuple (the fast path for building models)."""
        sql, bound, count = self._prepare(sql, params)
        pooled, turn = self._acquire()
        try:
            cursor = self._run(pooled, sql, bound, count)
            try:
                rows = cursor.fetchall()
                labels = self._labels(cursor)
            except Exception as error:
                self._handle_failure(pooled, error)
                raise self.translate_error(error) from error
            finally:
                self._close_cursor(cursor)
        finally:
            self._give_back(pooled, turn)
        return labels, rows

    def _labels(self, cursor: Any) -> list[str]:
        description = cursor.description or ()
        if self.dialect.folds_to_upper:
            return [column[0].lower() if column[0].isupper() else column[0] for column in description]
        return [column[0] for column in description]

    def fetch_all(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Every row as a dict keyed by column label."""
        labels, rows = self.query_rows(sql, params)
        return [dict(zip(labels, row)) for row in rows]

    def fetch_one(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, Any] | None:
        """The first row as a dict, or None."""
        sql, bound, count = self._prepare(sql, params)
        pooled, turn = self._acquire()
        try:
            cursor = self._run(pooled, sql, bound, count)
            try:
                row = cursor.fetchone()
                labels = self._labels(cursor)
                if row is not None and not self.fetchone_drains:
                    cursor.fetchall()
            except Exception as error:
                self._handle_failure(pooled, error)
                raise self.translate_error(error) from error
            finally:
                self._close_cursor(cursor)
        finally:
            self._give_back(pooled, turn)
        return None if row is None else dict(zip(labels, row))

    #: whether fetchone() leaves the connection ready for the next statement by itself
    fetchone_drains: ClassVar[bool] = True

    def fetch_value(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.fetch_one(sql, params)
        return None if row is None else next(iter(row.values()))

    def iter_rows(self, sql: str, params: Sequence[Any] | None = None,
                  batch_size: int = 1000) -> Iterator[tuple[list[str], list[tuple]]]:
        """Stream (labels, batch of rows) with fetchmany; holds one connection while iterating."""
        sql, bound, count = self._prepare(sql, params)
        with self.connection() as pooled:
            cursor = self._open_stream(pooled, sql, bound, count)
            try:
                labels = self._labels(cursor)
                while True:
                    if pooled.invalidated:
                        # Closed since the last batch, or inherited across os.fork(): the cursor
                        # must not read from that socket (the parent process may be using it).
                        raise errors.OperationalError(
                            'the connection this stream reads from was closed, or belongs to the '
                            'process that forked this one: the remaining rows cannot be read')
                    try:
                        batch = cursor.fetchmany(batch_size)
                    except Exception as error:
                        self._handle_failure(pooled, error)
                        raise self.translate_error(error) from error
                    except BaseException:
                        # interrupted mid-read: a streamed result's position is unknown
                        if not pooled.invalidated:
                            self.pool.invalidate(pooled)
                        raise
                    if not batch:
                        return
                    yield labels, batch
            finally:
                if not pooled.invalidated:   # else closing could read from a foreign socket
                    self._close_cursor(cursor)

    def _open_stream(self, pooled: PooledConnection, sql: str, bound: Any, count: int) -> Any:
        """Hook: a cursor that streams rows (drivers that buffer everything override this)."""
        return self._run(pooled, sql, bound, count)

    def insert_returning_key(self, sql: str, params: Sequence[Any]) -> Any:
        """Run an INSERT built by the dialect and return the generated key (per features.generated_keys)."""
        sql, bound, count = self._prepare(sql, params)
        pooled, turn = self._acquire()
        try:
            cursor = self._run(pooled, sql, bound, count)
            try:
                if self.features.generated_keys == 'lastrowid':
                    return cursor.lastrowid
                row = cursor.fetchone()
                return None if row is None else row[0]
            finally:
                self._close_cursor(cursor)
        finally:
            self._give_back(pooled, turn)

    def execute_script(self, script: str) -> None:
        """Run several `;`-separated statements (split with sqlparse), in one transaction."""
        import sqlparse  # local: only scripts need the splitter
        statements = [statement.strip().rstrip(';').strip() for statement in sqlparse.split(script)]
        with self.transaction():
            for statement in statements:
                if statement and sqlparse.format(statement, strip_comments=True).strip():
                    self.execute(statement)

    # -- errors -------------------------------------------------------------------------

    def translate_error(self, error: BaseException, connecting: bool = False) -> errors.ActiveRecordError:
        """The one chokepoint that turns a driver exception into activerecord.errors."""
        if isinstance(error, ActiveRecordError):
            return error
        code = self.error_code(error)
        sqlstate = self.error_sqlstate(error)
        cls = self.error_codes.get(code) if code is not None else None
        if cls is None and sqlstate:
            cls = self.sqlstate_classes.get(sqlstate[:2])
        unbindable = None if connecting else _UNBINDABLE_VALUES.get(type(error))
        if cls is None and unbindable is not None:
            # A value the driver cannot bind (a lone surrogate, an int beyond 64 bits): bad
            # input, not a lost connection.
            cls = errors.DataError
        if cls is None and (connecting or self.is_disconnect(error)):
            cls = errors.OperationalError
        if cls is None:
            names = {klass.__name__ for klass in type(error).__mro__}
            cls = next((ours for name, ours in _PEP249_NAMES if name in names), None)
        if cls is None:
            cls = errors.OperationalError if isinstance(error, (OSError, ssl.SSLError)) else errors.DatabaseError
        message = self.describe_error(error)
        if cls is errors.DataError and unbindable is not None:
            message += unbindable
        if connecting:
            message = f'cannot connect to {self.name} at {self.where()}: {message}'
            # Drivers often wrap the socket error in a vaguer one ("can't create a connection"):
            # the innermost OSError says why (refused, unknown host, timed out...).
            cause = innermost_os_error(error)
            if cause is not None and cause is not error and str(cause) not in message:
                message += f' ({type(cause).__name__}: {self.describe_error(cause)})'
        retryable = (code in self.retryable_codes or sqlstate in self.retryable_sqlstates
                     or self.is_disconnect(error))
        return cls(message, code=code, sqlstate=sqlstate, retryable=retryable)

    def describe_error(self, error: BaseException) -> str:
        """The driver error's message, without any password."""
        text = str(error) or type(error).__name__
        password = self.config.password
        if password:
            text = text.replace(password, '***')
        return text

    def where(self) -> str:
        """host:port (or the file) this backend connects to, for messages."""
        return f'{self.config.host}:{self.config.port or self.default_port}'

    # -- public verbs -------------------------------------------------------------------

    @functools.cached_property
    def schema(self) -> SchemaIntrospector:
        """What the database has now: `schema.tables()`, `schema.columns(table)`."""
        return SchemaIntrospector(self)

    @property
    def features(self) -> Features:
        """Capability flags for this database (and server version, once connected)."""
        return self.dialect.features

    def transaction(self, isolation_level: IsolationLevel | None = None, read_only: bool = False):
        """`with backend.transaction():` BEGIN ... COMMIT, ROLLBACK on exception."""
        return self.transaction_manager.transaction(isolation_level, read_only)

    def run_transaction(self, fn: Callable[..., Any], *args: Any, retries: int = 3,
                        isolation_level: IsolationLevel | None = None, **kwargs: Any) -> Any:
        """fn(*args, **kwargs) in a transaction, run again after a retryable failure; its result."""
        return self.transaction_manager.run_transaction(fn, *args, retries=retries,
                                                        isolation_level=isolation_level, **kwargs)

    @property
    def in_transaction(self) -> bool:
        """True while this task or thread has a transaction open on this backend."""
        return self.transaction_manager.is_active

    def ping(self) -> bool:
        """Connect (if needed) and check the server answers now; raises OperationalError if not."""
        with self.connection() as pooled:
            try:
                self.ping_connection(pooled.raw)
            except Exception as error:
                self._handle_failure(pooled, error)
                raise self.translate_error(error) from error
        return True

    def server_version(self) -> tuple[int, ...]:
        """The server's version as a tuple of ints (queried once)."""
        if self._server_version is None:
            with self._version_lock:
                if self._server_version is None:
                    with self.connection() as pooled:
                        self._server_version = self.read_server_version(pooled.raw)
        return self._server_version

    def server_version_text(self) -> str:
        """The server's version string as it reports it."""
        row = self.fetch_one(self.dialect.server_version_sql)
        return str(next(iter(row.values()))) if row else ''

    def read_server_version(self, raw: Any) -> tuple[int, ...]:
        """Hook: parse the server version from a live connection."""
        return parse_version(str(self.run_internal(raw, self.dialect.server_version_sql)[0][0]))

    def tls_in_use(self) -> bool:
        """Whether this backend's connections are encrypted (asks the server where it can)."""
        return False

    def close(self) -> None:
        """Close every pooled connection; models configured again get a new backend."""
        self.pool.close()
        registry.forget(self)


def innermost_os_error(error: BaseException) -> OSError | None:
    """The deepest OSError in an exception's chain of causes, if any."""
    found, seen, current = None, set(), error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            found = current
        current = current.__cause__ or current.__context__
    return found


def require_driver(module_name: str, extra: str | None, backend_name: str) -> ModuleType:
    """Import a driver module, or raise MissingDriverError naming the pip extra."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        hint = f'pip install "activerecord[{extra}]"' if extra else f'install {module_name}'
        raise errors.MissingDriverError(f'{backend_name} needs the driver module {module_name!r}, which is '
                                        f'not installed: {hint} ({error})') from None


def parse_version(text: str) -> tuple[int, ...]:
    """'PostgreSQL 15.4 on x86_64' -> (15, 4); '10.11.6-MariaDB' -> (10, 11, 6)."""
    import re
    match = re.search(r'(\d+)(?:\.(\d+))?(?:\.(\d+))?', text)
    if not match:
        return (0,)
    return tuple(int(part) for part in match.groups() if part is not None)
