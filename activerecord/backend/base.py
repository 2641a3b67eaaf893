"""StorageBackend: the generic DB-API 2.0 backend every database subclasses.

It owns the public verbs (execute, fetch, transactions, ping, close), the pool, placeholder
translation, error translation and statement logging. A database subclass supplies data and a
few small hooks: its driver module, dialect, paramstyle, connect arguments, session setup,
disconnect detection and error-code table.
"""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib
import logging
import operator
import re
import ssl
import threading
import time
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, suppress
from contextvars import ContextVar
from types import ModuleType
from typing import Any, AsyncIterator, Callable, ClassVar, Generator, Iterator, Sequence, TypeVar

import sqlparse

from .. import errors
from ..errors import ActiveRecordError, ConfigurationError
from .aio import Lane, LaneStream, Loan, Workers, serving_lane, task_context, wait_for_job
from .async_verbs import AsyncVerbs
from .dialect import Dialect
from .features import Features
from .placeholders import translate
from .schema import SchemaIntrospector
from .pool import ConnectionPool, PooledConnection
from .transaction import IsolationLevel, TransactionManager, current_owner
from .options import OptionParser, parse_options
from .tls import tls_context
from .typing import ConnectionConfig

sql_logger = logging.getLogger('activerecord.sql')
T = TypeVar('T')

#: PEP 249 exception names, most specific first -> our error class.
_PEP249_NAMES: tuple[tuple[str, type[errors.DatabaseError]], ...] = (
    ('IntegrityError', errors.IntegrityError), ('DataError', errors.DataError),
    ('NotSupportedError', errors.NotSupportedError), ('ProgrammingError', errors.ProgrammingError),
    ('OperationalError', errors.OperationalError), ('InternalError', errors.InternalError),
    ('InterfaceError', errors.InterfaceError), ('DatabaseError', errors.DatabaseError),
)


#: no database takes fewer parameters in one statement (SQLite before 3.32): below it, no check
_FEWEST_MAX_PARAMETERS = 999
_lastrowid = operator.attrgetter('lastrowid')
#: the `turn` _acquire() gives with a connection lent to an async call (not the statement's to return)
_LENT: Any = object()

#: exceptions a driver raises for a value it cannot bind -> what the DataError adds to the message
_UNBINDABLE_VALUES: dict[type, str] = {
    UnicodeEncodeError: '; text values must be valid Unicode (a lone surrogate cannot be stored)',
    OverflowError: '; integers must fit in 64 bits (out of range for any integer column)',
}


class StorageBackend(AsyncVerbs):
    """Execution, pooling and transactions over any DB-API 2.0 driver (and its async twins)."""

    #: canonical name ('sqlite', 'postgresql', ...), the URL schemes' target
    name: ClassVar[str] = 'generic'
    #: module to import for the driver, and the pip extra that installs it
    driver_module: ClassVar[str] = ''
    driver_extra: ClassVar[str | None] = None
    dialect_class: ClassVar[type[Dialect]] = Dialect
    #: the driver's paramstyle; `?` is translated to it once per SQL text
    paramstyle: ClassVar[str] = 'qmark'
    default_port: ClassVar[int | None] = None
    #: ConnectionConfig.options this backend accepts: name -> parser (see options.py)
    option_specs: ClassVar[dict[str, OptionParser]] = {}
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
        if not isinstance(config, ConnectionConfig):   # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise ConfigurationError(f'{type(self).__name__} needs a ConnectionConfig, got {type(config).__name__}')
        self.config = config
        #: the options, parsed once: connect_kwargs and setup_session read these
        self.options: dict[str, Any] = parse_options(self.option_specs, config.options, type(self).__name__)
        self.check_config(config)
        self._connection_overrides = connection_overrides
        self.driver = self.load_driver()
        self.dialect: Dialect = self.make_dialect()
        self._version_lock = threading.Lock()
        self._server_version: tuple[int, ...] | None = None
        self.pool = ConnectionPool(
            connect=self._open_connection, close=self.close_connection, ping=self.ping_connection,
            reset=self.reset_connection, size=config.pool_size, max_overflow=config.max_overflow,
            timeout=config.pool_timeout, recycle=config.pool_recycle, pre_ping=config.pool_pre_ping,
            name=f'{self.name} pool ({config.display_url()})')
        self.transaction_manager = TransactionManager(self)
        #: the worker threads of async calls: no more than the pool's connections, since a
        #: thread never waits for the pool (the event loop does)
        self.workers = Workers(config.pool_size + config.max_overflow, f'activerecord-{self.name}')
        # The connection lent to the async call a worker thread is running (see arun()).
        self._lent: ContextVar[Loan | None] = ContextVar(
            f'activerecord_lent_{id(self):x}', default=None)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.config!r})'

    # -- configuration checks (no connection) -------------------------------------------

    def check_config(self, config: ConnectionConfig) -> None:
        """Hook: reject values this database cannot use together (called after the options are parsed)."""
        if config.database is None:
            raise ConfigurationError(f'ConnectionConfig.database: None is not allowed for '
                                     f'{type(self).__name__}; expected the database name')

    def make_dialect(self) -> Dialect:
        """Hook: this backend's dialect (a database whose SQL depends on options builds it from them)."""
        return self.dialect_class()

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

    def run_internal(self, raw: Any, sql: str) -> list[Any]:
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
            self.close_cursor(cursor)
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
        return tls_context(self.config)

    # -- connections --------------------------------------------------------------------

    def open_raw_connection(self, kwargs: dict[str, Any]) -> Any:
        """Hook: open one driver connection (a driver with its own connection class overrides)."""
        return self.driver.connect(**kwargs)

    def _open_connection(self) -> Any:
        config = self.config
        if len(config.hosts) == 1 and (config.session_attrs == 'any' or self.dialect.read_only_sql is None):
            return self._connect_to(self.connect_kwargs())   # one host, any session: no probe
        # Several hosts (libpq's rule): each in order; with read-write, one that cannot write
        # is closed and the next tried. Every host's reason is kept for the error.
        tried: list[str] = []
        for host, port in config.hosts:
            kwargs = self.connect_kwargs()
            kwargs.update(host=host, port=port or self.default_port)
            where = f'{host}:{port or self.default_port}'
            try:
                raw = self._connect_to(kwargs)
            except errors.DatabaseError as error:
                # the reason only: translate_error's "cannot connect to ... at <all hosts>: " dropped
                reason = str(error).removeprefix(f'cannot connect to {self.name} at {self.where()}: ')
                tried.append(f'{where} ({reason})')
                continue
            try:
                refuses_writes = config.session_attrs == 'read-write' and self._read_only(raw)
            except errors.DatabaseError as error:   # gone between connecting and the probe
                tried.append(f'{where} ({error})')
                continue
            if refuses_writes:
                self._close_quietly(raw)
                tried.append(f'{where} (does not accept writes)')
                continue
            return raw
        message = (f'cannot connect to {self.name}: no host fits target_session_attrs={config.session_attrs}; '
                   f'tried {", ".join(tried)}')
        if config.password:
            message = message.replace(config.password, '***')
        # retryable: a standby may be promoted, or the primary come back, by the next attempt
        raise errors.OperationalError(message, retryable=True)

    def _read_only(self, raw: Any) -> bool:
        """Whether a new connection's server refuses writes (the dialect's probe)."""
        sql = self.dialect.read_only_sql
        if sql is None:
            return False   # no such thing as a read-only server here (SQLite: a file)
        try:
            rows = self.run_internal(raw, sql)
        except Exception as error:
            self._close_quietly(raw)
            raise self.translate_error(error) from error
        except BaseException:
            self._close_quietly(raw)   # interrupted: nobody would close it
            raise
        return bool(rows) and str(rows[0][0]).lower() in ('on', '1', 'true')

    def _connect_to(self, kwargs: dict[str, Any]) -> Any:
        try:
            raw = self.open_raw_connection(kwargs)
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
        with suppress(Exception):
            self.close_connection(raw)

    def reset_connection(self, raw: Any) -> None:
        """Hook: make a connection coming back to the pool clean (roll back a transaction left open)."""
        if self.transaction_open(raw):
            raw.rollback()

    @contextmanager
    def connection(self) -> Generator[PooledConnection, None, None]:
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

    # The statement skeleton (_statement) uses _acquire() with try/finally rather than `with
    # self.connection()`: a generator context manager costs more than the rest of a primary-key
    # lookup's Python overhead together (see docs/performance.md).

    def _acquire(self) -> tuple[PooledConnection, Any]:
        """(connection, turn): the open transaction's pinned connection with this caller's turn on
        it held (`turn` is the transaction), else one checked out of the pool (`turn` is None);
        either way the caller ends with `self._give_back(pooled, turn)`."""
        turn = self.transaction_manager.take_turn()
        if turn is not None:
            return turn.connection, turn   # type: ignore[return-value]  # take_turn() gives open ones only
        loan = self._lent.get()
        if loan is not None and loan.usable():
            if loan.single:
                loan.open = False   # the stream's cursor has it now, for itself alone
            return loan.pooled, _LENT   # the async call that lent it gives it back
        return self.pool.checkout(), None

    def _give_back(self, pooled: PooledConnection, turn: Any) -> None:
        """End a statement's use of what _acquire() gave: the transaction's turn, or the checkout."""
        if turn is not None:
            if turn is not _LENT:
                turn.turn_lock.release()
        elif not pooled.invalidated:
            try:
                self.pool.release(pooled)
            except BaseException:
                self.pool.invalidate(pooled)   # the return was cut short: state unknown
                raise

    # -- execution ----------------------------------------------------------------------

    def _prepare(self, sql: str, params: Sequence[Any] | None) -> tuple[str, Any, int]:
        """(SQL in the driver's paramstyle, bound parameters, parameter count)."""
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

    def _prepare_rows(self, sql: str, rows: Sequence[Any] | None) -> tuple[str, list[Any], int]:
        """(SQL in the driver's paramstyle, each row's bound parameters, parameters in one row)."""
        translated = translate(sql, self.paramstyle, self.dialect.features.question_mark_operators,
                               self.dialect.lexical_rules)
        return (translated.sql, [translated.bind(self.adapt_params(row)) for row in rows or ()],
                translated.placeholder_count)

    def _check_parameter_count(self, count: int) -> None:
        features = self.features
        if features.max_parameters_enforced and count > features.max_parameters:
            raise errors.ProgrammingError(
                f'the statement has {count} parameters but {self.name} takes at most {features.max_parameters} '
                'in one statement; split the work (e.g. several in_() queries, or insert_many batches)')

    def adapt_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Turn values the driver cannot bind (UUID, Enum, dict...) into ones it can."""
        type_map = self.dialect.type_map
        return params if type_map is None else type_map.adapt_params(params)

    def _statement(self, sql: str, params: Sequence[Any] | None, read: Callable[[Any], T],
                   bind: Callable[[Any], Any] | None = None, many: bool = False) -> T:
        """The one path of a statement: prepare, take a connection, run, `read(cursor)`, close, give
        back; errors translated. With `bind`, `sql` is in the driver's paramstyle already and
        `bind(cursor)` makes the parameters on the cursor (`params` then only counts). With `many`,
        `params` is a list of parameter rows and the statement runs once per row (executemany)."""
        # Prepared here, not by each verb: an unpacking call `_statement(*_prepare())` is not
        # inlined and would cost a tenth of a primary-key lookup.
        if bind is None:
            sql, params, count = self._prepare_rows(sql, params) if many else self._prepare(sql, params)
        else:
            count = len(params or ())
        pooled, turn = self._acquire()
        try:
            cursor = self._run(pooled, sql, params, count, many, (), bind)
            try:
                return read(cursor)
            except Exception as error:
                raise self._handle_failure(pooled, error) from error
            finally:
                self.close_cursor(cursor)
        finally:
            self._give_back(pooled, turn)

    def _run(self, pooled: PooledConnection, sql: str, params: Any, count: int, many: bool = False,
             cursor_args: tuple[Any, ...] = (), bind: Callable[[Any], Any] | None = None) -> Any:
        """Execute one statement on a connection with logging and error translation; returns the cursor
        (`cursor_args`: e.g. a streaming cursor class; `bind(cursor)`: parameters made on the cursor)."""
        logged = sql_logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if logged else 0.0   # the clock is read only for the log
        cursor = None
        try:
            # Inside the try: a closed connection fails here, and must be translated too.
            cursor = pooled.raw.cursor(*cursor_args)
            if bind is not None:
                params = bind(cursor)
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params) if count or self.always_pass_params or bind else cursor.execute(sql)
        except Exception as error:
            self._log(sql, count, started, error)
            self.close_cursor(cursor)
            raise self._handle_failure(pooled, error) from error
        except BaseException as interruption:
            # Interrupted mid-statement (KeyboardInterrupt): the wire protocol is in an unknown
            # state, so the connection must never serve another statement. Invalidated first:
            # closing the cursor may itself fail or read from the cut-off stream.
            self.pool.invalidate(pooled)
            try:
                self._log(sql, count, started, interruption)
                self.close_cursor(cursor)
            except Exception:
                pass   # the interrupt is what the caller must see
            raise
        if logged:
            self._log(sql, count, started, None)
        return cursor

    #: pass an empty parameter tuple to execute() (drivers whose % escaping needs it)
    always_pass_params: ClassVar[bool] = False

    def close_cursor(self, cursor: Any) -> None:
        """Hook: close a cursor (None when cursor() itself failed); errors are swallowed."""
        try:
            cursor.close()
        except Exception:
            pass

    def _handle_failure(self, pooled: PooledConnection, error: BaseException) -> ActiveRecordError:
        """After a failed statement: a connection that is gone is discarded, never reused; returns
        the translated error to raise."""
        # Inside a transaction the block goes on failing on the invalid connection until
        # its exit rolls back; the statement itself is never re-run elsewhere.
        if not pooled.invalidated and self.is_disconnect(error):
            self.pool.invalidate(pooled)
        return self.translate_error(error)

    def _log(self, sql: str, count: int, started: float, error: BaseException | None) -> None:
        if not sql_logger.isEnabledFor(logging.DEBUG):
            return
        elapsed = (time.perf_counter() - started) * 1000
        outcome = f' -- failed: {type(error).__name__}' if error is not None else ''
        sql_logger.debug('%s -- %d params, %.3f ms%s', sql, count, elapsed, outcome)

    def run_control(self, pooled: PooledConnection, statements: Sequence[str]) -> None:
        """Run control statements (SAVEPOINT, the dialect's BEGIN/COMMIT...) on a connection."""
        for statement in statements:
            self.close_cursor(self._run(pooled, statement, (), 0))

    def begin(self, pooled: PooledConnection, statements: Sequence[str]) -> None:
        """Hook: open a transaction on a connection with the dialect's BEGIN statements."""
        self.run_control(pooled, statements)

    def end(self, pooled: PooledConnection, statements: Sequence[str], commit: bool) -> None:
        """Hook: end the transaction on a connection (COMMIT when `commit`, else ROLLBACK statements)."""
        self.run_control(pooled, statements)

    # -- statement verbs: each is the skeleton plus how it reads the cursor ----------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement; returns the number of affected rows (-1 when unknown)."""
        return self._statement(sql, params, self.affected_rows)

    def affected_rows(self, cursor: Any) -> int:
        """Hook: the rows the statement just run on `cursor` changed (-1 when unknown)."""
        rowcount: int = cursor.rowcount
        return rowcount

    def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> int:
        """Run one statement for each parameter tuple; returns the affected rows in total."""
        rows = list(seq_of_params)
        # the driver's own total (not affected_rows, which reads one statement's first count)
        return self._statement(sql, rows, lambda cursor: cursor.rowcount, many=True) if rows else 0

    def query_rows(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column labels and every row as a tuple (the fast path for building models)."""
        return self._statement(sql, params, self._labelled_rows)

    def _labelled_rows(self, cursor: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        rows = cursor.fetchall()
        return self._labels(cursor), rows

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
        return self._statement(sql, params, self._first_row)

    def _first_row(self, cursor: Any) -> dict[str, Any] | None:
        row = cursor.fetchone()
        if row is None:
            return None
        labels = self._labels(cursor)
        if not self.fetchone_drains:
            cursor.fetchall()
        return dict(zip(labels, row))

    #: whether fetchone() leaves the connection ready for the next statement by itself
    fetchone_drains: ClassVar[bool] = True

    def fetch_value(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.fetch_one(sql, params)
        return None if row is None else next(iter(row.values()))

    def iter_rows(self, sql: str, params: Sequence[Any] | None = None,
                  batch_size: int = 1000) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """Stream (labels, batch of rows) with fetchmany; holds one connection while iterating."""
        # Not the statement skeleton: the connection is held across yields, between the caller's
        # steps, and given back when the caller stops (GeneratorExit), which connection() handles.
        sql, bound, count = self._prepare(sql, params)
        with self.connection() as pooled:
            cursor = self.open_stream(pooled, sql, bound, count)
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
                        raise self._handle_failure(pooled, error) from error
                    except BaseException:
                        self.pool.invalidate(pooled)   # interrupted mid-read: the stream's position is unknown
                        raise
                    if not batch:
                        return
                    yield labels, batch
            finally:
                if not pooled.invalidated:   # else closing could read from a foreign socket
                    self.close_cursor(cursor)

    def open_stream(self, pooled: PooledConnection, sql: str, bound: Any, count: int) -> Any:
        """Hook: a cursor that streams rows (drivers that buffer everything override this)."""
        return self._run(pooled, sql, bound, count)

    def insert_returning_key(self, sql: str, params: Sequence[Any]) -> Any:
        """Run an INSERT built by the dialect and return the generated key (per features.generated_keys)."""
        generated_keys = self.dialect.features.generated_keys
        if generated_keys == 'lastrowid':
            return self._statement(sql, params, _lastrowid)
        if generated_keys != 'returning_into':
            return self._statement(sql, params, self.returned_key)
        # RETURNING ... INTO ?: output variables on the cursor fill the placeholders after the values
        translated = translate(sql, self.paramstyle, False, self.dialect.lexical_rules)
        values = self.adapt_params(list(params))
        extra = translated.placeholder_count - len(values)
        if extra < 1:
            raise errors.ProgrammingError('insert_returning_key needs an INSERT built with returning=[...] '
                                          f'(RETURNING ... INTO ?) on {self.name}; got: {sql[:200]}')
        outputs: list[Any] = []

        def bind(cursor: Any) -> Any:
            outputs.extend(self.key_outputs(cursor, extra))
            return translated.bind([*values, *outputs])
        return self._statement(translated.sql, values, lambda cursor: self.returned_key(cursor, outputs), bind)

    def key_outputs(self, cursor: Any, count: int) -> list[Any]:
        """Hook: output variables for the `count` RETURNING ... INTO placeholders (none by default)."""
        return []

    def returned_key(self, cursor: Any, outputs: Sequence[Any] = ()) -> Any:
        """Hook: the key an INSERT ... RETURNING / OUTPUT / RETURNING INTO generated (the first row's
        first value by default); where features.generated_keys is 'lastrowid' it is cursor.lastrowid."""
        rows = cursor.fetchall()   # all of it: the connection is then ready for the next statement
        return rows[0][0] if rows else None

    def execute_script(self, script: str) -> None:
        """Run several `;`-separated statements (split with sqlparse), in one transaction."""
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
        cls = self.error_class(error, code)
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
        message = self.driver_message(error)
        if cls is errors.DataError and unbindable is not None:
            message += unbindable
        if connecting:
            message = f'cannot connect to {self.name} at {self.where()}: {message}'
            # Drivers often wrap the socket error in a vaguer one ("can't create a connection"):
            # the innermost OSError says why (refused, unknown host, timed out...).
            cause = innermost_os_error(error)
            if cause is not None and cause is not error and str(cause) not in message:
                message += f' ({type(cause).__name__}: {self.driver_message(cause)})'
        retryable = (code in self.retryable_codes or sqlstate in self.retryable_sqlstates
                     or self.is_disconnect(error))
        # Masked here, in the finished message, so that no driver_message can forget it.
        password = self.config.password
        if password:
            message = message.replace(password, '***')
        return cls(message, code=code, sqlstate=sqlstate, retryable=retryable)

    def error_class(self, error: BaseException, code: Any) -> type[errors.DatabaseError] | None:
        """Hook: the class the database's own error code names (None: SQLSTATE, then PEP 249, decide)."""
        return self.error_codes.get(code) if code is not None else None

    def driver_message(self, error: BaseException) -> str:
        """Hook: the driver error's own message (translate_error masks the password in it)."""
        return str(error) or type(error).__name__

    def where(self) -> str:
        """host:port (or the file) this backend connects to, for messages."""
        return f'{self.config.host}:{self.config.port or self.default_port}'

    # -- public verbs -------------------------------------------------------------------

    @functools.cached_property
    def schema(self) -> SchemaIntrospector:
        """What the database has now: `schema.tables()`, `schema.columns(table)`."""
        return SchemaIntrospector(self.fetch_all, self.dialect)

    @property
    def features(self) -> Features:
        """Capability flags for this database (and server version, once connected)."""
        return self.dialect.features

    def transaction(self, isolation_level: IsolationLevel | None = None,
                    read_only: bool = False) -> AbstractContextManager[TransactionManager]:
        """`with backend.transaction():` BEGIN ... COMMIT, ROLLBACK on exception."""
        return self.transaction_manager.transaction(isolation_level, read_only)

    def lent_connection(self) -> PooledConnection | None:
        """The connection lent to the async call this worker thread runs, if any."""
        loan = self._lent.get()
        return loan.pooled if loan is not None and loan.usable() else None

    # -- async: every blocking call of a task goes through arun() -------------------------

    def lends_connection(self) -> bool:
        """Whether this context is that of an async call with a connection lent to it, still going
        (true on the event loop too, in the call's async hooks)."""
        loan = self._lent.get()
        return loan is not None and loan.open

    async def arun(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) on a worker thread, in a copy of this task's context: inside the
        task's transaction (on its lane), else with a pooled connection (awaited on the loop) lent
        to it for its whole length. Cancelled while fn runs: fn finishes, then CancelledError."""
        context = task_context(current_owner(), fn)
        cancelled: list[bool] = []   # set when the caller is cancelled: a job not started skips fn
        on_cancel = functools.partial(cancelled.append, True)

        def in_context() -> T:
            if cancelled:
                raise asyncio.CancelledError()
            return context.run(fn, *args, **kwargs)
        state = self.transaction_manager.state()
        if state is not None:
            future = self.transaction_manager.submit(state, in_context)
            if future is not None:
                return await wait_for_job(future, on_cancel)
            # its lane has ended (the transaction too): fn meets that as in sync code, below
        elif self._lent.get() is not None:
            # From an async hook of a call that has a connection lent: run on the thread awaiting
            # the hook, which holds it, while that call goes on; after, as any other call.
            serving = serving_lane()
            future = None if serving is None else serving.submit(in_context)
            if future is not None:
                return await wait_for_job(future, on_cancel)
        reserved = await self.pool.areserve()   # cancelled here: nothing was taken

        def lent() -> T:
            return context.run(self._run_lent, reserved, cancelled, fn, args, kwargs)
        try:
            future = self.workers.submit(lent)
        except BaseException:
            self.pool.unreserve(reserved)
            raise
        return await wait_for_job(future, on_cancel)

    def _run_lent(self, reserved: PooledConnection, cancelled: list[bool], fn: Callable[..., T],
                  args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        """On the worker thread: fn with the reserved connection lent to it, then given back."""
        if cancelled:   # the caller was cancelled before this job started: fn never runs
            self.pool.unreserve(reserved)
            raise asyncio.CancelledError()
        pooled = self.pool.finish_checkout(reserved)
        loan = Loan(pooled)
        self._lent.set(loan)   # in this call's own copy of the context
        pooled.shared = True
        try:
            return fn(*args, **kwargs)
        finally:
            loan.open = False   # a task a hook started may outlive the call: it must not use it
            pooled.shared = False
            self._give_back(pooled, None)

    async def astream(self, make_iterator: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """The items of a sync iterator, every step on one lane: the transaction's (interleaved
        with its statements, as in sync code), else a thread of the stream's own with a
        connection of its own until the stream ends or is closed. Outside a transaction a stream
        never reads on an async call's connection (not even in that call's async hook): as in
        sync code, its cursor has a connection to itself (unbuffered on MySQL; on PostgreSQL
        the server-side cursor's transaction is the stream's alone)."""
        context = task_context(current_owner())
        stream = opening = None
        state = self.transaction_manager.state()
        shared = self.transaction_manager.lane_of(state) if state is not None else None
        if shared is not None:
            stream = LaneStream(shared, context, make_iterator, _nothing, own_lane=False)
            opening = stream.open()   # None: that lane has ended, so as any stream, below
        if stream is None or opening is None:
            stream, opening = await self._own_lane_stream(context, make_iterator, state is not None)
        try:
            await wait_for_job(opening)
            while True:
                found, item = await wait_for_job(stream.step())
                if not found:
                    return
                yield item
        finally:
            await wait_for_job(stream.close())

    async def _own_lane_stream(self, context: Any, make_iterator: Callable[[], Iterator[T]],
                               in_transaction: bool) -> tuple[LaneStream, Future[None]]:
        """A stream on a thread of its own, with a connection reserved (on the loop) for its
        cursor alone: the iterator's other statements (a query's preloads) check out another, as
        in sync code. None in a transaction opened by sync code: its statements take their turns
        on its connection."""
        reserved = None if in_transaction else await self.pool.areserve()
        held: list[PooledConnection] = []
        loans: list[Loan] = []

        def open_iterator() -> Iterator[T]:
            if reserved is not None:
                held.append(self.pool.finish_checkout(reserved))
                loans.append(Loan(held[0], single=True))   # for this stream's thread
                self._lent.set(loans[0])
            return make_iterator()

        def finish() -> None:
            for loan in loans:
                loan.open = False
            if held:
                self._give_back(held[0], None)
            elif reserved is not None and reserved.lent and not reserved.invalidated:
                self.pool.unreserve(reserved)   # closed before its first step

        try:
            lane = Lane.start(f'activerecord-{self.name}-stream')
        except BaseException:
            if reserved is not None:
                self.pool.unreserve(reserved)
            raise
        stream = LaneStream(lane, context, open_iterator, finish, own_lane=True)
        opening = stream.open()
        assert opening is not None   # a new lane takes jobs
        return stream, opening

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
                raise self._handle_failure(pooled, error) from error
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

    def sibling(self, **config_changes: Any) -> 'StorageBackend':
        """A new backend (its own pool) on the same database, with some ConnectionConfig fields
        changed: e.g. the migrator's pool of one connection."""
        return type(self)(dataclasses.replace(self.config, **config_changes), **self.sibling_overrides())

    def sibling_overrides(self) -> dict[str, Any]:
        """Hook: connect() overrides a sibling needs to reach this very database."""
        return dict(self._connection_overrides)

    def close(self) -> None:
        """Close every pooled connection; models configured again get a new backend (see registry)."""
        self.pool.close()
        self.workers.shutdown()


def _nothing() -> None:
    """A stream on its transaction's lane gives nothing back: the connection is the transaction's."""


def innermost_os_error(error: BaseException) -> OSError | None:
    """The deepest OSError in an exception's chain of causes, if any."""
    found: OSError | None = None
    seen: set[int] = set()
    current: BaseException | None = error
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
    match = re.search(r'(\d+)(?:\.(\d+))?(?:\.(\d+))?', text)
    return tuple(int(part) for part in match.groups() if part is not None) if match else (0,)
