"""Transactions: one pinned connection per asyncio task or thread, depth 0 is BEGIN, deeper is SAVEPOINT.

The open transaction lives in a `contextvars.ContextVar` (one per TransactionManager): every
asyncio task runs in its own copy of the context, so a transaction opened by one task is never
seen by another, and a task created inside the block inherits it. Each `with transaction()` block
captures the `_Transaction` object it opened or joined, and ends exactly that one, whichever thread
or context happens to close it (a generator closed elsewhere, say).
"""
from __future__ import annotations

import asyncio
import enum
import functools
import itertools
import random
import threading
import time
from concurrent.futures import Future
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from typing import Any, AsyncGenerator, Awaitable, Callable, ClassVar, Generator, Protocol, Sequence, TypeVar

from ..errors import ActiveRecordError, AmbiguousCommitError, DatabaseError, NotSupportedError, OperationalError
from .aio import Lane, Workers, current_call, in_hook_task, serving_lane, task_context, wait_for_job
from .pool import ConnectionPool, PooledConnection

T = TypeVar('T')


class IsolationLevel(enum.Enum):
    """SQL-standard isolation levels (plus SNAPSHOT where a database has it), weakest first."""
    READ_UNCOMMITTED = 'READ UNCOMMITTED'
    READ_COMMITTED = 'READ COMMITTED'
    REPEATABLE_READ = 'REPEATABLE READ'
    SNAPSHOT = 'SNAPSHOT'
    SERIALIZABLE = 'SERIALIZABLE'

    @property
    def strength(self) -> int:
        """Rank for 'this level or a stronger one' (the order above)."""
        return list(IsolationLevel).index(self)


def effective_level(requested: IsolationLevel, available: frozenset[IsolationLevel], backend_name: str) -> IsolationLevel:
    """The requested level or the weakest stronger one the database gives; never a weaker one."""
    if requested in available:
        return requested
    stronger = sorted((level for level in available if level.strength > requested.strength),
                      key=lambda level: level.strength)
    if requested is IsolationLevel.SNAPSHOT or not stronger:
        # SNAPSHOT is not on the standard's ladder: nothing else gives exactly its guarantees.
        raise NotSupportedError(f'{backend_name} cannot give isolation level {requested.value}')
    return stronger[0]


def current_owner() -> tuple[int, Any]:
    """(thread id, asyncio task or None): who may open nested blocks in a transaction. On a worker
    thread running a task's async call, that task's owner: the statement is the task's own."""
    call = current_call()
    if call is not None:
        return call.owner_here()
    try:
        task = asyncio.current_task()
    except RuntimeError:   # no event loop running in this thread
        task = None
    return threading.get_ident(), task


class TransactionHost(Protocol):
    """What a TransactionManager needs of its backend: the pool, the dialect's control SQL and
    the verbs that send it (a StorageBackend is one)."""

    pool: ConnectionPool
    dialect: Any     # begin_statements, commit_statements, rollback_statements, savepoint_sql, ...

    name: ClassVar[str]
    @property
    def features(self) -> Any: ...
    def begin(self, pooled: PooledConnection, statements: Sequence[str]) -> None: ...
    def end(self, pooled: PooledConnection, statements: Sequence[str], commit: bool) -> None: ...
    def run_control(self, pooled: PooledConnection, statements: Sequence[str]) -> None: ...
    @property
    def workers(self) -> Workers: ...
    def lent_connection(self) -> PooledConnection | None: ...
    def lends_connection(self) -> bool: ...
    #: the ReplicaRouter (routing.py) or None: told of each COMMIT for read-your-writes
    router: Any


class _Transaction:
    """One open transaction: its pinned connection, savepoints, owner and turn lock."""

    __slots__ = ('connection', 'savepoints', 'blocks', 'owner', 'turn_lock', 'explicit', 'borrowed', 'lane')

    def __init__(self, connection: PooledConnection, owner: tuple[int, Any]) -> None:
        self.connection: PooledConnection | None = connection   # None once ended
        self.savepoints: list[str] = []   # names of open savepoints, innermost last
        self.blocks: list[str] = []       # the savepoint of each nested `with` block, innermost last
        self.owner = owner
        # Tasks and threads that inherited the context share the connection: they take turns,
        # one statement at a time (re-entrant, so a thread may nest statements in a stream).
        self.turn_lock = threading.RLock()
        self.explicit = False   # opened by begin(), not by a `with` block
        #: begun on the connection lent to an async call: that call gives it back, not the end
        self.borrowed = False
        #: opened by atransaction(): the lane (one thread) every blocking job of it runs on
        self.lane: Lane | None = None

    @property
    def depth(self) -> int:
        return 0 if self.connection is None else 1 + len(self.blocks)


def _hand_back(pool: ConnectionPool, pooled: PooledConnection, clean: bool) -> None:
    """Return a connection whose state is known to the pool; close one whose state is not."""
    if pooled.invalidated:
        return
    if not clean:
        pool.invalidate(pooled)
        return
    try:
        pool.release(pooled)
    except BaseException:
        pool.invalidate(pooled)   # the release itself was interrupted: state unknown
        raise


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): randomized, growing, at most 1 s."""
    return random.uniform(0.5, 1.0) * min(1.0, 0.02 * 2.0 ** (attempt - 1))


class TransactionManager:
    """Begin/commit/rollback and savepoints for one backend; state is per asyncio task or thread."""

    _names = itertools.count(1)

    def __init__(self, backend: TransactionHost) -> None:
        self._backend = backend
        self._current: ContextVar[_Transaction | None] = ContextVar(
            f'activerecord_transaction_{id(self):x}', default=None)

    # -- state --------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        """True while this task/thread is inside a transaction on this backend."""
        state = self._current.get()
        return state is not None and state.connection is not None

    @property
    def depth(self) -> int:
        """0 outside a transaction, 1 in the outer one, +1 per nested block."""
        state = self._current.get()
        return 0 if state is None else state.depth

    @property
    def connection(self) -> PooledConnection | None:
        """The connection this task/thread's transaction holds, if any."""
        state = self._current.get()
        return None if state is None else state.connection

    def state(self) -> '_Transaction | None':
        """This task's (or thread's) open transaction, if any."""
        state = self._current.get()
        return state if state is not None and state.connection is not None else None

    @staticmethod
    def lane_of(state: '_Transaction') -> Lane | None:
        """Where a transaction's blocking jobs run: its own lane (atransaction()), else, for one
        begun in an async hook or by sync code under it, the lane of the thread awaiting the hook."""
        return state.lane if state.lane is not None else serving_lane()

    def submit(self, state: '_Transaction', job: Callable[[], T]) -> 'Future[T] | None':
        """Run a blocking job of the transaction where its jobs run; None once its lane ended."""
        lane = self.lane_of(state)
        if lane is not None:
            future = lane.submit(job)
            if future is not None or state.lane is not None:
                return future
        # A transaction sync code opened (on the loop's thread): any worker thread takes its turn.
        return self._backend.workers.submit(job)

    def take_turn(self) -> '_Transaction | None':
        """The open transaction with its turn lock held (give it back with
        `state.turn_lock.release()`), or None outside one. A task or thread that inherited a
        transaction which has since ended gets ActiveRecordError, never an autocommit."""
        state = self._current.get()
        if state is None:
            return None
        if state.connection is None:
            self._after_end(state)
            return None
        # Bounded: a sharer holding the turn while suspended (an open stream) may never give it back.
        if not state.turn_lock.acquire(True, self._backend.pool.timeout):
            raise self._no_turn()
        if state.connection is None:   # pyright: ignore[reportUnnecessaryComparison]  # ended while this caller waited
            state.turn_lock.release()
            self._after_end(state)
            return None
        return state

    def _no_turn(self) -> ActiveRecordError:
        backend = self._backend
        return ActiveRecordError(
            f'{backend.name}: waited {backend.pool.timeout:g}s (pool_timeout) for a turn on this '
            "transaction's connection, which another task or thread sharing the transaction holds "
            '(for example an open stream: a query iter() neither exhausted nor closed); finish or '
            'close it before running statements from elsewhere in the transaction')

    def _after_end(self, state: _Transaction) -> None:
        """An ended transaction seen in this context: its owner (whose block was ended from
        elsewhere, a generator closed in another thread) goes on outside any transaction; an
        inheritor is refused, since its statement was meant to commit or roll back with it."""
        if state.owner == current_owner():
            if self._current.get() is state:
                self._current.set(None)   # forget it, so the next statement costs no more than this
            return None
        raise ActiveRecordError(
            'this task or thread was created inside a `with transaction():` block and inherited its '
            'transaction, which has since ended (committed or rolled back), so this statement can '
            'no longer run in it and is not run at all; open its own transaction with '
            '`with Model.transaction():` around its statements')

    def _active(self, verb: str) -> _Transaction:
        state = self._current.get()
        if state is None or state.connection is None:
            raise ActiveRecordError(f'{verb}() needs an open transaction; use `with Model.transaction():`')
        self._check_owner(state, verb)
        return state

    def _check_owner(self, state: _Transaction, verb: str) -> None:
        if state.owner != current_owner():
            call = current_call()
            if call is not None and call.fn is not None:
                # A write with hooks nests a savepoint: from a task sharing the transaction (each
                # call of asyncio.gather() is one), the sync code cannot tell it is not nesting.
                raise ActiveRecordError(
                    f'{call.verb()} in a transaction opened by another task: it opens a nested block '
                    '(a savepoint, as a write with hooks does), and only the task that opened the '
                    'transaction may nest in it; concurrent writes with hooks inside one transaction '
                    '(asyncio.gather(M.acreate(...), M.acreate(...))) must be awaited one after '
                    'another, or give each task its own transaction')
            raise ActiveRecordError(
                f'{verb}(): this transaction was opened by another task or thread, which owns its '
                'savepoints; a task that shares it (created inside the block) may run statements in '
                'it, but open its own transaction in its own context instead of nesting')

    # -- explicit verbs -----------------------------------------------------------------

    def begin(self, isolation_level: IsolationLevel | None = None, read_only: bool = False) -> None:
        """Start a transaction (depth 0) or a savepoint (deeper)."""
        state, block = self._enter(isolation_level, read_only)
        if block is None:
            state.explicit = True

    def commit(self) -> None:
        """Commit the transaction, or release the innermost block's savepoint."""
        state = self._active('commit')
        if state.blocks:
            self._release_block(state, state.blocks[-1])
        else:
            self._end(state, commit=True)

    def rollback(self) -> None:
        """Roll back the transaction, or back to the innermost block's savepoint."""
        state = self._active('rollback')
        if state.blocks:
            self._rollback_block(state, state.blocks[-1])
        else:
            self._end(state, commit=False)

    def savepoint(self, name: str) -> str:
        """Create a savepoint inside the current transaction (a name already open is refused)."""
        state = self._active('savepoint')
        return self._savepoint(state, name)

    def rollback_to(self, name: str) -> None:
        """Undo everything since savepoint `name` (which stays open)."""
        state = self._active('rollback_to')
        self._rollback_to(state, name)

    def release(self, name: str) -> None:
        """Forget savepoint `name`, keeping its work (a no-op statement where the SQL has none)."""
        state = self._active('release')
        self._release(state, name)

    # -- internals: they act on the captured state, never on whatever the ContextVar holds now

    def _enter(self, isolation_level: IsolationLevel | None, read_only: bool) -> tuple[_Transaction, str | None]:
        """Open a transaction or a nested block: (its state, the block's savepoint or None)."""
        state = self._current.get()
        if state is not None and state.connection is not None:
            if isolation_level is not None or read_only:
                raise ActiveRecordError('isolation_level and read_only apply to the outermost transaction only')
            self._check_owner(state, 'transaction')
            name = self._savepoint(state, f'ar_sp_{next(self._names)}')
            state.blocks.append(name)
            return state, name
        state = self._open(isolation_level, read_only)
        self._current.set(state)
        return state, None

    def _open(self, isolation_level: IsolationLevel | None, read_only: bool,
              reserved: PooledConnection | None = None) -> _Transaction:
        """BEGIN on a connection: `reserved` (by an async caller, not yet finished), else the one
        lent to this async call, else a new checkout."""
        backend = self._backend
        lent = None
        try:
            statements = backend.dialect.begin_statements(isolation_level, read_only, backend.features)
        except BaseException:
            if reserved is not None:
                backend.pool.unreserve(reserved)
            raise
        if reserved is not None:
            pooled = backend.pool.finish_checkout(reserved)
        else:
            lent = backend.lent_connection()
            pooled = backend.pool.checkout() if lent is None else lent
        try:
            backend.begin(pooled, statements)
            pooled.in_transaction = True
            pooled.read_only = read_only
            state = _Transaction(pooled, current_owner())
            state.borrowed = lent is not None
            return state
        except BaseException as error:
            if lent is not None:
                # The async call that lent it gives it back (rolled back by the pool); only an
                # interrupted BEGIN leaves a state nobody knows.
                if not isinstance(error, Exception):
                    backend.pool.invalidate(lent)
                raise
            try:
                # A failed BEGIN leaves a known state (released, the pool rolls back); an
                # interrupted one does not (closed).
                _hand_back(backend.pool, pooled, isinstance(error, Exception))
            except BaseException:
                backend.pool.invalidate(pooled)
                raise
            raise

    def _end(self, state: _Transaction, commit: bool) -> None:
        """COMMIT or ROLLBACK the outermost level; the state is ended and the connection given back."""
        pooled = _connection_of(state)
        backend = self._backend
        interrupted = True
        stranded = False   # a sharer kept the connection's turn: the transaction cannot be ended on it
        lane = state.lane
        try:
            if lane is not None and lane.on_lane_thread():
                lane.run_at_end()   # its streams still open are closed first, as their turn allows
            if not state.turn_lock.acquire(True, backend.pool.timeout):
                stranded = True
                raise ActiveRecordError(
                    f'could not {"commit" if commit else "roll back"} the transaction: a task or thread '
                    f'sharing it still held its connection after {backend.pool.timeout:g}s (pool_timeout; '
                    'e.g. an open iter() stream); the connection was closed, so the database rolled the '
                    'transaction back')
            try:
                if commit:
                    self._send_commit(pooled)
                    if backend.router is not None:
                        backend.router.after_commit(pooled)   # on the connection, before it goes back
                elif not pooled.invalidated:   # a closed connection has nothing to roll back
                    backend.end(pooled, backend.dialect.rollback_statements(pooled.read_only), commit=False)
            finally:
                state.turn_lock.release()
            interrupted = False
        except Exception:
            interrupted = False
            raise
        finally:
            # Inline assignments, no calls: an interrupt here cannot leave the state half-ended.
            # The owner is kept: it tells the owner from an inheritor once ended (_after_end).
            state.connection, state.savepoints, state.blocks = None, [], []
            if self._current.get() is state:
                self._current.set(None)
            pooled.in_transaction = False
            if lane is not None:
                lane.finish()   # its thread ends once the jobs already sent to it have run
            if state.borrowed:
                if interrupted or stranded:
                    backend.pool.invalidate(pooled)   # the lending call must not reuse it
            else:
                try:
                    _hand_back(backend.pool, pooled, not interrupted and not stranded)
                except BaseException:
                    backend.pool.invalidate(pooled)
                    raise

    def _send_commit(self, pooled: PooledConnection) -> None:
        backend = self._backend
        if pooled.invalidated:
            # The connection was lost earlier (a statement failed with a disconnect): COMMIT was
            # never sent and the server rolled everything back, so running it again is safe.
            raise OperationalError(f'{backend.name}: the connection was lost before COMMIT was sent; '
                                   'the transaction was rolled back', retryable=True)
        try:
            backend.end(pooled, backend.dialect.commit_statements(pooled.read_only), commit=True)
        except DatabaseError as error:
            if not pooled.invalidated:
                raise
            raise AmbiguousCommitError(
                f'{backend.name}: the connection was lost while COMMIT was in flight, so the transaction '
                f'may or may not have been committed ({error}); check before running it again',
                code=error.code, sqlstate=error.sqlstate) from (error.__cause__ or error)

    def _savepoint(self, state: _Transaction, name: str) -> str:
        if name in state.savepoints:
            # Databases disagree on a reused name (MySQL moves it, PostgreSQL shadows it): refused.
            raise ActiveRecordError(f'a savepoint named {name!r} is already open; open: {state.savepoints}')
        backend = self._backend
        backend.features.require('savepoints', backend.name)
        with state.turn_lock:
            backend.run_control(_connection_of(state), [backend.dialect.savepoint_sql(name)])
        state.savepoints.append(name)
        return name

    def _rollback_to(self, state: _Transaction, name: str) -> None:
        self._known(state, name)
        with state.turn_lock:
            self._backend.run_control(_connection_of(state), [self._backend.dialect.rollback_to_sql(name)])
        del state.savepoints[state.savepoints.index(name) + 1:]

    def _release(self, state: _Transaction, name: str) -> None:
        self._known(state, name)
        sql = self._backend.dialect.release_sql(name)
        if sql is not None:
            with state.turn_lock:
                self._backend.run_control(_connection_of(state), [sql])
        del state.savepoints[state.savepoints.index(name):]

    @staticmethod
    def _known(state: _Transaction, name: str) -> None:
        if name not in state.savepoints:
            raise ActiveRecordError(f'no open savepoint named {name!r}; open: {state.savepoints}')

    def _release_block(self, state: _Transaction, name: str) -> None:
        """RELEASE a nested block's savepoint (an explicit savepoint made inside goes with it)."""
        self._release(state, name)
        _drop_block(state, name)   # only once released: a failed RELEASE is rolled back instead

    def _rollback_block(self, state: _Transaction, name: str) -> None:
        """ROLLBACK TO and RELEASE a nested block's savepoint."""
        try:
            self._rollback_to(state, name)
            self._release(state, name)
        finally:
            _drop_block(state, name)

    # -- the context manager ------------------------------------------------------------

    @contextmanager
    def transaction(self, isolation_level: IsolationLevel | None = None,
                    read_only: bool = False) -> Generator['TransactionManager', None, None]:
        """BEGIN ... COMMIT, ROLLBACK on exception; nested blocks use savepoints."""
        state, block = self._enter(isolation_level, read_only)
        try:
            yield self
        except BaseException:
            try:
                self._exit_failed(state, block)
            except BaseException:
                self._abandon(state, block)   # the clean-up itself was interrupted
                raise
            raise
        else:
            try:
                self._exit_ok(state, block)
            except BaseException:
                self._after_failed_exit(state, block)
                raise

    def _outermost(self, state: _Transaction) -> _Transaction | None:
        """The transaction an outermost block ends: its own, or the one its owner began in its
        place inside the block (an explicit rollback() then begin()); None if neither is open."""
        if state.connection is not None:
            return state
        current = self._current.get()
        if (current is not None and current.connection is not None and current.explicit
                and not current.blocks and current.owner == current_owner()):
            return current
        return None

    def _exit_ok(self, state: _Transaction, block: str | None) -> None:
        if block is None:
            target = self._outermost(state)
            if target is None:
                raise ActiveRecordError('the transaction was ended inside its own block (an explicit '
                                        'commit() or rollback()); nothing is left for the block to commit')
            self._end(target, commit=True)
        elif state.connection is not None and block in state.blocks:
            self._release_block(state, block)

    def _after_failed_exit(self, state: _Transaction, block: str | None) -> None:
        """COMMIT or RELEASE failed: the outermost level is already ended; a nested block rolls back."""
        if block is None:
            target = self._outermost(state)
            if target is not None:
                self._abandon(target, None)   # _end() never ran: interrupted on the way in
            return   # else _end()'s `finally` has ended it
        if state.connection is None:
            return
        if state.connection.invalidated:
            _drop_block(state, block)
            return
        try:
            self._exit_failed(state, block)
        except BaseException:
            self._abandon(state, block)
            raise

    def _exit_failed(self, state: _Transaction, block: str | None) -> None:
        """Roll back after the block failed; a broken connection must not mask the block's error."""
        target = self._outermost(state) if block is None else state
        if target is None or target.connection is None:
            return   # already ended (by an inner clean-up, or by whoever closed the block)
        try:
            if block is None:
                self._end(target, commit=False)
            elif block in state.blocks:
                self._rollback_block(state, block)
        except Exception:
            # At the outermost level _end() has ended the transaction (in its `finally`). Deeper,
            # the block's savepoint could not be rolled back, so an outer block must not commit
            # its work nor go on autocommitting: the connection is dropped (the server rolls the
            # whole transaction back) and stays pinned, so every later statement of the
            # transaction fails until its outermost block exits.
            pooled = state.connection
            if block is not None and pooled is not None:
                self._backend.pool.invalidate(pooled)

    def _abandon(self, state: _Transaction, block: str | None) -> None:
        """Last resort when a clean-up was interrupted: the connection's state is unknown, so it
        is closed (the server rolls the transaction back); the outermost level also ends."""
        pooled = state.connection
        if pooled is not None:
            self._backend.pool.invalidate(pooled)
        if block is None:
            state.connection, state.savepoints, state.blocks = None, [], []
            if self._current.get() is state:
                self._current.set(None)
            if state.lane is not None:
                state.lane.finish()
        else:
            _drop_block(state, block)

    # -- retries ------------------------------------------------------------------------

    def run_transaction(self, fn: Callable[..., T], *args: Any, retries: int = 3,
                        isolation_level: IsolationLevel | None = None, **kwargs: Any) -> T:
        """fn(*args, **kwargs) in a transaction, run again after a retryable failure; its result."""
        if retries < 0:
            raise ActiveRecordError(f'run_transaction(retries={retries}): expected 0 or more')
        if self.is_active:
            # The outer transaction is doomed by any failure, so there is nothing to retry here:
            # fn runs once, in a nested block (a savepoint), and its error reaches the outer block.
            with self.transaction(isolation_level):
                return fn(*args, **kwargs)
        attempt = 0
        while True:
            try:
                with self.transaction(isolation_level):
                    return fn(*args, **kwargs)
            except DatabaseError as error:
                if not error.retryable or isinstance(error, AmbiguousCommitError) or attempt >= retries:
                    raise
            attempt += 1
            time.sleep(backoff_delay(attempt))


    # -- async: the same steps, each run on a worker thread; the state lives in the task --------

    async def _in_worker(self, state: _Transaction, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) where the transaction's jobs run (its lane), in a copy of this task's context;
        cancelled meanwhile, it still runs to its end before CancelledError is raised."""
        context = task_context(current_owner())

        def job() -> T:
            return context.run(fn, *args)
        future = self.submit(state, job)
        if future is None:   # its lane has ended (so has the transaction): any thread will do
            future = self._backend.workers.submit(job)
        return await wait_for_job(future)

    @asynccontextmanager
    async def atransaction(self, isolation_level: IsolationLevel | None = None,
                           read_only: bool = False) -> AsyncGenerator['TransactionManager', None]:
        """`async with`: BEGIN ... COMMIT, ROLLBACK on exception or cancellation; nested blocks
        use savepoints. The transaction is this task's (and its child tasks')."""
        if self._backend.router is not None:
            self._backend.router.prepare_task()   # COMMIT runs on a worker: its position is the task's
        state, block = await self._aenter(isolation_level, read_only)
        try:
            yield self
        except BaseException:
            try:
                await self._in_worker(state, self._exit_failed, state, block)
            except asyncio.CancelledError:
                pass   # the rollback ran to its end anyway; the block's own error is told
            finally:
                self._forget_ended(state)
            raise
        try:
            await self._in_worker(state, self._exit_ok, state, block)
        except asyncio.CancelledError:
            raise   # COMMIT (or RELEASE) ran to its end: the outcome is what the database says
        except BaseException:
            with suppress(asyncio.CancelledError):
                await self._in_worker(state, self._after_failed_exit, state, block)
            raise
        finally:
            self._forget_ended(state)

    async def _aenter(self, isolation_level: IsolationLevel | None,
                      read_only: bool) -> tuple[_Transaction, str | None]:
        """_enter() for a task: the connection is awaited on the loop, BEGIN or SAVEPOINT runs on
        the transaction's lane; cancelled meanwhile, whatever was opened is closed again."""
        opened: list[tuple[_Transaction, str | None]] = []
        state = self._current.get()
        if state is not None and state.connection is not None:
            def enter() -> tuple[_Transaction, str | None]:   # a savepoint
                opened.append(self._enter(isolation_level, read_only))
                return opened[-1]
            try:
                return await self._in_worker(state, enter)
            except asyncio.CancelledError:
                if opened:
                    with suppress(asyncio.CancelledError):
                        await self._in_worker(state, self._exit_failed, *opened[0])
                raise
        if self._backend.lends_connection() and in_hook_task():
            # Only the hook's own coroutine acts as its call; a task it created is another task:
            # its transaction takes a connection of its own (below), as any task's.
            entered = await self._aenter_borrowed(isolation_level, read_only)
            if entered is not None:
                return entered
        pool = self._backend.pool
        reserved = await pool.areserve()   # cancelled here: nothing was taken
        try:
            lane = Lane.start(f'activerecord-{self._backend.name}-transaction')
        except BaseException:
            pool.unreserve(reserved)
            raise

        def begin() -> tuple[_Transaction, str | None]:
            begun = self._open(isolation_level, read_only, reserved)
            begun.lane = lane
            opened.append((begun, None))
            return opened[-1]
        future = lane.submit(functools.partial(task_context(current_owner()).run, begin))
        assert future is not None   # a new lane takes jobs
        try:
            opened_state, _ = await wait_for_job(future)
        except asyncio.CancelledError:
            if opened:
                with suppress(asyncio.CancelledError):
                    await self._in_worker(opened[0][0], self._end, opened[0][0], False)
            else:
                lane.finish()
            raise
        except BaseException:
            lane.finish()   # BEGIN failed: the connection went back (_open), the lane goes too
            raise
        self._current.set(opened_state)
        return opened_state, None

    async def _aenter_borrowed(self, isolation_level: IsolationLevel | None,
                               read_only: bool) -> tuple[_Transaction, None] | None:
        """In an async hook of a call with a lent connection: BEGIN on that connection, on the
        thread awaiting the hook (its lane runs the transaction's jobs); None if the call ended."""
        serving = serving_lane()
        opened: list[tuple[_Transaction, None]] = []

        def enter() -> tuple[_Transaction, None] | None:
            lent = self._backend.lent_connection()
            if lent is None or lent.in_transaction:
                # Not the call's thread after all, or its connection is in a transaction already
                # (never BEGIN inside another): the caller takes a connection of its own.
                return None
            begun = self._open(isolation_level, read_only)
            opened.append((begun, None))
            assert serving is not None
            serving.at_end(functools.partial(self._cut_borrowed, begun))
            return opened[-1]
        future = None if serving is None else serving.submit(
            functools.partial(task_context(current_owner()).run, enter))
        if future is None:
            return None
        try:
            entered = await wait_for_job(future)
        except asyncio.CancelledError:
            if opened:
                with suppress(asyncio.CancelledError):
                    await self._in_worker(opened[0][0], self._end, opened[0][0], False)
            raise
        if entered is not None:
            self._current.set(entered[0])
        return entered

    @staticmethod
    def _cut_borrowed(state: _Transaction) -> None:
        """The hook that began `state` on its call's connection returned with it still open (a task
        it started holds it): the call gives that connection back (rolled back by the pool), so
        the transaction is over, and every later statement of it is refused."""
        if state.connection is None:
            return
        state.connection.in_transaction = False
        state.connection, state.savepoints, state.blocks = None, [], []
        state.owner = (0, None)   # nobody's: _after_end refuses the owner's statements too

    def _forget_ended(self, state: _Transaction) -> None:
        """In the task: forget a transaction a worker thread ended (its own context is a copy)."""
        if state.connection is None and self._current.get() is state:
            self._current.set(None)

    async def arun_transaction(self, fn: Callable[..., Awaitable[T]], *args: Any, retries: int = 3,
                               isolation_level: IsolationLevel | None = None, **kwargs: Any) -> T:
        """`await fn(*args, **kwargs)` in atransaction(), run again after a retryable failure."""
        if retries < 0:
            raise ActiveRecordError(f'arun_transaction(retries={retries}): expected 0 or more')
        if self.is_active:
            # As in run_transaction: inside an outer transaction there is nothing to retry.
            async with self.atransaction(isolation_level):
                return await fn(*args, **kwargs)
        attempt = 0
        while True:
            try:
                async with self.atransaction(isolation_level):
                    return await fn(*args, **kwargs)
            except DatabaseError as error:
                if not error.retryable or isinstance(error, AmbiguousCommitError) or attempt >= retries:
                    raise
            attempt += 1
            await asyncio.sleep(backoff_delay(attempt))


def _connection_of(state: _Transaction) -> PooledConnection:
    """The connection of a transaction its caller knows to be open (refused once it ended)."""
    pooled = state.connection
    if pooled is None:
        raise ActiveRecordError('this transaction has already ended (committed or rolled back); '
                                'open a new one with `with Model.transaction():`')
    return pooled


def _drop_block(state: _Transaction, name: str) -> None:
    """Forget a nested block's savepoint in the bookkeeping (idempotent)."""
    if name in state.blocks:
        state.blocks.remove(name)
    if name in state.savepoints:
        del state.savepoints[state.savepoints.index(name):]
