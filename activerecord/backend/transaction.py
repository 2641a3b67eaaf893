"""Transactions: one pinned connection per thread, depth 0 is BEGIN, deeper is SAVEPOINT."""
from __future__ import annotations

import enum
import itertools
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import ActiveRecordError, NotSupportedError

if TYPE_CHECKING:  # pragma: no cover
    from .base import StorageBackend
    from .pool import PooledConnection


class IsolationLevel(enum.Enum):
    """SQL-standard isolation levels (plus SNAPSHOT where a database has it), weakest first."""
    READ_UNCOMMITTED = 'READ UNCOMMITTED'
    READ_COMMITTED = 'READ COMMITTED'
    REPEATABLE_READ = 'REPEATABLE READ'
    SNAPSHOT = 'SNAPSHOT'
    SERIALIZABLE = 'SERIALIZABLE'

    @property
    def strength(self) -> int:
        """Rank for 'this level or a stronger one'."""
        return _STRENGTH[self]


_STRENGTH = {IsolationLevel.READ_UNCOMMITTED: 0, IsolationLevel.READ_COMMITTED: 1,
             IsolationLevel.REPEATABLE_READ: 2, IsolationLevel.SNAPSHOT: 3,
             IsolationLevel.SERIALIZABLE: 4}


def effective_level(requested: IsolationLevel, available: frozenset, backend_name: str) -> IsolationLevel:
    """The requested level or the weakest stronger one the database gives; never a weaker one."""
    if requested in available:
        return requested
    stronger = sorted((level for level in available if level.strength > requested.strength),
                      key=lambda level: level.strength)
    if requested is IsolationLevel.SNAPSHOT or not stronger:
        # SNAPSHOT is not on the standard's ladder: nothing else gives exactly its guarantees.
        raise NotSupportedError(f'{backend_name} cannot give isolation level {requested.value}')
    return stronger[0]


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.connection: PooledConnection | None = None
        self.savepoints: list[str] = []   # names of open savepoints, innermost last
        self.blocks: list[str] = []       # the savepoint of each nested `with` block, innermost last
        self.depth = 0                    # 0 = no transaction


class TransactionManager:
    """Begin/commit/rollback and savepoints for one backend; state is per thread."""

    _names = itertools.count(1)

    def __init__(self, backend: 'StorageBackend') -> None:
        self._backend = backend
        self._state = _ThreadState()

    # -- state --------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        """True while this thread is inside a transaction on this backend."""
        return self._state.depth > 0

    @property
    def depth(self) -> int:
        """0 outside a transaction, 1 in the outer one, +1 per nested block."""
        return self._state.depth

    @property
    def connection(self) -> 'PooledConnection | None':
        """The connection this thread's transaction holds, if any."""
        return self._state.connection

    # -- explicit verbs -----------------------------------------------------------------

    def begin(self, isolation_level: IsolationLevel | None = None, read_only: bool = False) -> None:
        """Start a transaction (depth 0) or a savepoint (deeper)."""
        state = self._state
        if state.depth:
            if isolation_level is not None or read_only:
                raise ActiveRecordError('isolation_level and read_only apply to the outermost transaction only')
            state.blocks.append(self.savepoint(f'ar_sp_{next(self._names)}'))
            state.depth += 1
            return
        backend = self._backend
        statements = backend.dialect.begin_statements(isolation_level, read_only, backend.features)
        pooled = backend.pool.checkout()
        try:
            backend.run_control(pooled, statements)
        except BaseException:
            backend.pool.release(pooled)
            raise
        pooled.in_transaction = True
        pooled.read_only = read_only
        state.connection, state.depth, state.savepoints, state.blocks = pooled, 1, [], []

    def commit(self) -> None:
        """Commit the transaction, or release the innermost savepoint."""
        state = self._state
        if state.depth == 0:
            raise ActiveRecordError('commit() outside a transaction')
        if state.depth > 1:
            # The block's own savepoint, not the innermost one: an explicit savepoint made
            # inside the block is released with it.
            self.release(state.blocks[-1])
            state.blocks.pop()
            state.depth -= 1
            return
        pooled = state.connection
        try:
            self._backend.run_control(pooled, self._backend.dialect.commit_statements(pooled.read_only))
        finally:
            self._end(pooled)

    def rollback(self) -> None:
        """Roll back the transaction, or back to the innermost savepoint."""
        state = self._state
        if state.depth == 0:
            raise ActiveRecordError('rollback() outside a transaction')
        if state.depth > 1:
            name = state.blocks.pop()
            try:
                self.rollback_to(name)
                self.release(name)
            finally:
                state.depth -= 1
            return
        pooled = state.connection
        try:
            self._backend.run_control(pooled, self._backend.dialect.rollback_statements(pooled.read_only))
        finally:
            self._end(pooled)

    def _end(self, pooled: 'PooledConnection') -> None:
        state = self._state
        state.connection, state.depth, state.savepoints, state.blocks = None, 0, [], []
        pooled.in_transaction = False
        self._backend.pool.release(pooled)

    def savepoint(self, name: str) -> str:
        """Create a savepoint inside the current transaction."""
        state = self._require_transaction('savepoint')
        self._backend.features.require('savepoints', self._backend.name)
        self._backend.run_control(state.connection, [self._backend.dialect.savepoint_sql(name)])
        state.savepoints.append(name)
        return name

    def rollback_to(self, name: str) -> None:
        """Undo everything since savepoint `name` (which stays open)."""
        state = self._require_transaction('rollback_to')
        self._known(name)
        self._backend.run_control(state.connection, [self._backend.dialect.rollback_to_sql(name)])
        del state.savepoints[state.savepoints.index(name) + 1:]

    def release(self, name: str) -> None:
        """Forget savepoint `name`, keeping its work (a no-op statement where the SQL has none)."""
        state = self._require_transaction('release')
        self._known(name)
        sql = self._backend.dialect.release_sql(name)
        if sql is not None:
            self._backend.run_control(state.connection, [sql])
        del state.savepoints[state.savepoints.index(name):]

    def _require_transaction(self, verb: str) -> _ThreadState:
        if self._state.depth == 0:
            raise ActiveRecordError(f'{verb}() needs an open transaction; use `with Model.transaction():`')
        return self._state

    def _known(self, name: str) -> None:
        if name not in self._state.savepoints:
            raise ActiveRecordError(f'no open savepoint named {name!r}; open: {self._state.savepoints}')

    # -- the context manager ------------------------------------------------------------

    @contextmanager
    def transaction(self, isolation_level: IsolationLevel | None = None,
                    read_only: bool = False) -> Iterator['TransactionManager']:
        """BEGIN ... COMMIT, ROLLBACK on exception; nested blocks use savepoints."""
        self.begin(isolation_level, read_only)
        try:
            yield self
        except BaseException:
            self._rollback_after_error()
            raise
        else:
            try:
                self.commit()
            except BaseException:
                # A failed commit leaves the transaction open on some databases: end it.
                if self._state.depth:
                    self._rollback_after_error()
                raise

    def _rollback_after_error(self) -> None:
        """Roll back after the block failed; a broken connection must not mask the block's error."""
        state = self._state
        depth = state.depth
        try:
            self.rollback()
        except Exception:
            # At depth 1 rollback() has ended the transaction (in its `finally`). Deeper, the
            # block's savepoint could not be rolled back, so an outer block must not commit its
            # work nor go on autocommitting: the connection is dropped (the server rolls the
            # whole transaction back) and stays pinned, so every later statement of the
            # transaction fails until its outermost block exits.
            if depth > 1 and state.connection is not None:
                self._backend.pool.invalidate(state.connection)

