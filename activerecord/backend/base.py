"""StorageBackend: the generic DB-API 2.0 backend every database subclasses.

It owns the public verbs (execute, fetch, transactions, ping, close), the pool, placeholder
translation and statement logging. Its mixins hold the rest: ErrorTranslation
(error_translation.py), HostWalk, connecting to one of several hosts (hosts.py), and AsyncVerbs,
the async entry points and twins (async_verbs.py).
A database subclass supplies data and a few small hooks: its driver module, dialect, paramstyle,
connect arguments, session setup, disconnect detection and error-code table.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import operator
import re
import ssl
import threading
import time
from contextlib import AbstractContextManager, contextmanager, suppress
from contextvars import ContextVar
from types import ModuleType
from typing import Any, Callable, ClassVar, Generator, Iterable, Iterator, Sequence, TypeVar

import sqlparse

from .. import errors
from ..errors import ActiveRecordError, ConfigurationError
from .aio import Loan, Workers
from .async_verbs import AsyncVerbs
from .dialect import Dialect
from .error_translation import ErrorTranslation
from .error_translation import innermost_os_error as innermost_os_error   # re-exported: cli imports it from here
from .features import Features
from .hosts import HostWalk
from .placeholders import NAMED_PARAMSTYLES, translate
from .schema import SchemaIntrospector
from .pool import ConnectionPool, PooledConnection
from .transaction import IsolationLevel, TransactionManager
from .options import OptionParser, parse_options
from .routing import ReplicaRouter, host_status
from .tls import tls_context
from .typing import ConnectionConfig

sql_logger = logging.getLogger('activerecord.sql')
T = TypeVar('T')

#: no database takes fewer parameters in one statement (SQLite before 3.32): below it, no check
_FEWEST_MAX_PARAMETERS = 999
_lastrowid = operator.attrgetter('lastrowid')
#: makes the role-only router of backend.connected_to() once per backend
_router_lock = threading.Lock()
#: the `turn` _acquire() gives with a connection lent to an async call (not the statement's to return)
_LENT: Any = object()


def _not_a_sequence(params: object) -> errors.ProgrammingError:
    return errors.ProgrammingError(f'parameters must be a tuple or list, got {type(params).__name__}; '
                                   f'for one value write ({params!r},)')


class StorageBackend(HostWalk, ErrorTranslation, AsyncVerbs):
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
    #: primary/replica routing (routing.py); None, the default, costs the hot path one check
    router: ReplicaRouter | None = None
    #: statements run on each new connection after setup_session: the router sets them on its
    #: replica backends (ReplicationPositions.read_only_session_sql), so no read can write there
    session_sql: tuple[str, ...] = ()

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
        # A class with a close_cursor() of its own sees every cursor closed through it.
        self._keeps_cursors = self.reusable_cursor and type(self).close_cursor is StorageBackend.close_cursor

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

    def apply_session_sql(self, raw: Any) -> None:
        """Run `session_sql` on a new connection, after setup_session."""
        for statement in self.session_sql:
            self.run_internal(raw, statement)

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

    def close_connection(self, raw: Any) -> None:
        """Close a driver connection."""
        raw.close()

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying SSLContext from ssl_ca/ssl_cert/ssl_key (None when no TLS is asked for)."""
        return tls_context(self.config)

    # -- connections --------------------------------------------------------------------

    def open_raw_connection(self, kwargs: dict[str, Any]) -> Any:
        """Hook: open one driver connection (a driver with its own connection class overrides)."""
        return self.driver.connect(**kwargs)

    def _connect_to(self, kwargs: dict[str, Any]) -> Any:
        try:
            raw = self.open_raw_connection(kwargs)
        except Exception as error:
            raise self.translate_error(error, connecting=True) from error
        try:
            self.setup_session(raw)
            if self.session_sql:
                self.apply_session_sql(raw)
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
            raise _not_a_sequence(params)
        count = len(params)
        if count > _FEWEST_MAX_PARAMETERS:
            self._check_parameter_count(count)
        if count == translated.placeholder_count and translated.style not in NAMED_PARAMSTYLES:
            return translated.sql, self.adapt_params(params), count   # bind() would return them as they are
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
                   bind: Callable[[Any], Any] | None = None, many: bool = False,
                   after: Callable[[PooledConnection], None] | None = None, drains: bool = False) -> T:
        """The one path of a statement: prepare, take a connection, run, `read(cursor)`, close, give
        back; errors translated. With `bind`, `sql` is in the driver's paramstyle already and
        `bind(cursor)` makes the parameters on the cursor (`params` then only counts). With `many`,
        `params` is a list of parameter rows and the statement runs once per row (executemany).
        `after(connection)` runs before the connection is given back; passing it means the router
        has chosen this backend. `drains`: `read` reads every row (where reusable_cursor is set, the
        cursor is then kept for the connection's next statement, as after a statement without rows)."""
        if self.router is not None and after is None:
            return self.router.statement(sql, params, read, bind, many)
        # Prepared here, not by each verb: an unpacking call `_statement(*_prepare())` is not
        # inlined and would cost a tenth of a primary-key lookup. The one-row case is _prepare()
        # written out: the call and its tuple cost 0.2 us of SQLite's 4.3 us lookup.
        if bind is not None:
            count = len(params or ())
        elif many:
            sql, params, count = self._prepare_rows(sql, params)
        else:
            dialect = self.dialect
            translated = translate(sql, self.paramstyle, dialect.features.question_mark_operators,
                                   dialect.lexical_rules)
            if params is None:
                params = ()
            elif not isinstance(params, (list, tuple)):
                raise _not_a_sequence(params)
            count = len(params)
            if count > _FEWEST_MAX_PARAMETERS:
                self._check_parameter_count(count)
            params = self.adapt_params(params)
            if count != translated.placeholder_count or translated.style in NAMED_PARAMSTYLES:
                params = translated.bind(params)
            sql = translated.sql
        # _acquire() and _give_back() inline for the common cases: each call, and the tuple
        # between them, costs about a tenth of SQLite's whole statement path.
        turn = self.transaction_manager.take_turn()
        if turn is not None:
            pooled: PooledConnection = turn.connection   # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # take_turn() gives open ones only
        elif self._lent.get() is None:
            pooled = self.pool.checkout()
        else:
            pooled, turn = self._acquire()
        kept = None
        reuse = self._keeps_cursors and bind is None and not many
        if reuse:
            kept, pooled.cursor = pooled.cursor, None   # taken: a failure below closes it
        try:
            cursor = self._run(pooled, sql, params, count, many, (), bind, kept)
            finished = False
            try:
                result = read(cursor)
                # A cursor with rows left unread would keep its statement (and SQLite's read
                # lock) open until the next statement: only one with nothing left is kept.
                finished = reuse and (drains or cursor.description is None)
            except Exception as error:
                raise self._handle_failure(pooled, error) from error
            finally:
                if finished:
                    pooled.cursor = cursor
                else:
                    self.close_cursor(cursor)
            if after is not None:
                after(pooled)
            return result
        finally:
            if turn is not None:
                if turn is not _LENT:
                    turn.turn_lock.release()
            elif not pooled.invalidated:
                try:
                    self.pool.release(pooled)
                except BaseException:
                    self.pool.invalidate(pooled)   # the return was cut short: state unknown
                    raise

    def run_statement(self, sql: str, params: Any, read: Callable[[Any], T], bind: Callable[[Any], Any] | None,
                      many: bool, after: Callable[[PooledConnection], None]) -> T:
        """The statement skeleton on this very backend (the router's choice), then `after(connection)`."""
        return self._statement(sql, params, read, bind, many, after)

    def _run(self, pooled: PooledConnection, sql: str, params: Any, count: int, many: bool = False,
             cursor_args: tuple[Any, ...] = (), bind: Callable[[Any], Any] | None = None,
             cursor: Any = None) -> Any:
        """Execute one statement on a connection with logging and error translation; returns the cursor
        (`cursor_args`: e.g. a streaming cursor class; `bind(cursor)`: parameters made on the cursor;
        `cursor`: one of this connection's to run it on, else a new one)."""
        logged = sql_logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if logged else 0.0   # the clock is read only for the log
        try:
            # Inside the try: a closed connection fails here, and must be translated too.
            if cursor is None:
                cursor = pooled.raw.cursor(*cursor_args) if cursor_args else pooled.raw.cursor()
            if bind is not None:
                cursor.execute(sql, bind(cursor)) if not many else cursor.executemany(sql, bind(cursor))
            elif many:
                cursor.executemany(sql, params)
            elif count or self.always_pass_params:
                cursor.execute(sql, params)
            else:
                cursor.execute(sql)
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
    #: a cursor whose statement is done runs the connection's next one, cheaper than a new cursor
    #: (kept on the PooledConnection between statements; see _statement's `drains`); not where a
    #: subclass has its own close_cursor(), which then sees every cursor
    reusable_cursor: ClassVar[bool] = False

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
        return self._statement(sql, params, self._labelled_rows, drains=True)

    def _labelled_rows(self, cursor: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        rows = cursor.fetchall()
        if self.dialect.folds_to_upper:
            return self._labels(cursor), rows
        return [column[0] for column in cursor.description or ()], rows   # _labels() inline: on every lookup

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
        if self.router is not None:
            chosen = self.router.stream_backend(sql)
            if chosen is not self:   # a replica: never re-run elsewhere once the stream began
                yield from chosen.iter_rows(sql, params, batch_size)
                return
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

    def statement_byte_limit(self) -> int | None:
        """Hook: the most bytes one statement with its values may take (None: only max_parameters)."""
        return None

    def value_bytes(self, values: Sequence[Any]) -> int:
        """Hook: an upper bound of the bytes `values` take inside a statement (see statement_byte_limit)."""
        return sum(len(str(value)) + 2 for value in values)

    def copy_rows(self, table: str, columns: Sequence[str], batches: Iterable[Sequence[Any]]) -> int:
        """Hook: bulk-load rows (batches of flat parameter lists, len(columns) values a row) in one
        statement where features.copy_min_rows is set; returns the rows written."""
        raise errors.NotSupportedError(f'{self.name} has no bulk load path (features.copy_min_rows is None)')

    def copy_allowed(self, table: str) -> bool:
        """Hook: whether copy_rows into `table` writes what an INSERT would (not so for a view, or
        where rules rewrite INSERTs); asked only once a load is big enough for copy_rows."""
        return True

    def forget_table(self, table: str) -> None:
        """Hook: `table` was created or dropped: drop what the backend remembers of it."""

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

    def connected_to(self, role: str) -> AbstractContextManager[None]:
        """`with backend.connected_to(role='reading'):` reads from replicas and writes raise
        ReadOnlyError; `role='writing'`: everything on the primary (this task or thread, nestable)."""
        with _router_lock:   # two threads' first roles must not each make a router
            if self.router is None:
                self.router = ReplicaRouter(self)   # no replicas: the role alone (reads stay here)
        return self.router.connected_to(role)

    def status(self) -> dict[str, Any]:
        """{'hosts': [{'host', 'port', 'role', 'lag', 'pool'}, ...]}: every host, probed now."""
        return host_status(self)

    def close(self) -> None:
        """Close every pooled connection; models configured again get a new backend (see registry)."""
        self.pool.close()
        self.workers.shutdown()
        if self.router is not None:
            self.router.close()


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
