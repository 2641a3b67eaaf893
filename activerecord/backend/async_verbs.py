"""The backend's async half: the entry points (`arun`, `astream`) that run blocking work on
worker threads, and the async twins of the raw verbs, each one line over them.

A mixin of StorageBackend (base.py): the class annotations of `AsyncVerbs` name the backend
state the entry points use, and `AsyncHost` what the twins use of the sync verbs.
"""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, AsyncIterator, Awaitable, Callable, ClassVar, Iterator, Protocol, Sequence, TypeVar

from .aio import Lane, LaneStream, Loan, Workers, serving_lane, task_context, wait_for_job
from .pool import ConnectionPool, PooledConnection
from .routing import ReplicaRouter
from .transaction import IsolationLevel, TransactionManager, current_owner

T = TypeVar('T')


class AsyncHost(Protocol):
    """The sync verbs and the async entry points the twins run them through."""

    transaction_manager: TransactionManager

    async def arun(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...
    def astream(self, make_iterator: Callable[[], Iterator[T]]) -> AsyncIterator[T]: ...
    def iter_rows(self, sql: str, params: Sequence[Any] | None = None,
                  batch_size: int = 1000) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]: ...
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> int: ...
    def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> int: ...
    def query_rows(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]: ...
    def fetch_all(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]: ...
    def fetch_one(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, Any] | None: ...
    def fetch_value(self, sql: str, params: Sequence[Any] | None = None) -> Any: ...
    def execute_script(self, script: str) -> None: ...
    def ping(self) -> bool: ...


class AsyncVerbs:
    """arun, astream, and the twins aexecute, afetch_all, ..., aiter_rows, atransaction, arun_transaction."""

    # The backend's, set by StorageBackend.__init__ (base.py).
    name: ClassVar[str]
    pool: ConnectionPool
    workers: Workers
    transaction_manager: TransactionManager
    router: ReplicaRouter | None
    #: the connection lent to the async call a worker thread is running (see arun())
    _lent: ContextVar[Loan | None]
    #: ends a statement's use of a connection (StorageBackend._give_back)
    _give_back: Callable[[PooledConnection, Any], None]

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
        if self.router is not None:
            self.router.prepare_task()   # before the copy: the worker's writes are the task's
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
        if self.router is not None:
            self.router.prepare_task()
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

    # -- the twins ----------------------------------------------------------------------

    def aiter_rows(self: AsyncHost, sql: str, params: Sequence[Any] | None = None,
                   batch_size: int = 1000) -> AsyncIterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """iter_rows() for async code: (labels, batch of rows), holding one connection meanwhile."""
        return self.astream(functools.partial(self.iter_rows, sql, params, batch_size))

    async def aexecute(self: AsyncHost, sql: str, params: Sequence[Any] | None = None) -> int:
        """execute() for async code."""
        return await self.arun(self.execute, sql, params)

    async def aexecutemany(self: AsyncHost, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> int:
        """executemany() for async code."""
        return await self.arun(self.executemany, sql, seq_of_params)

    async def aquery_rows(self: AsyncHost, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """query_rows() for async code."""
        return await self.arun(self.query_rows, sql, params)

    async def afetch_all(self: AsyncHost, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """fetch_all() for async code."""
        return await self.arun(self.fetch_all, sql, params)

    async def afetch_one(self: AsyncHost, sql: str, params: Sequence[Any] | None = None) -> dict[str, Any] | None:
        """fetch_one() for async code."""
        return await self.arun(self.fetch_one, sql, params)

    async def afetch_value(self: AsyncHost, sql: str, params: Sequence[Any] | None = None) -> Any:
        """fetch_value() for async code."""
        return await self.arun(self.fetch_value, sql, params)

    async def aexecute_script(self: AsyncHost, script: str) -> None:
        """execute_script() for async code."""
        await self.arun(self.execute_script, script)

    async def aping(self: AsyncHost) -> bool:
        """ping() for async code."""
        return await self.arun(self.ping)

    def atransaction(self: AsyncHost, isolation_level: IsolationLevel | None = None,
                     read_only: bool = False) -> AbstractAsyncContextManager[TransactionManager]:
        """`async with backend.atransaction():` BEGIN ... COMMIT, ROLLBACK on exception or cancellation."""
        return self.transaction_manager.atransaction(isolation_level, read_only)

    async def arun_transaction(self: AsyncHost, fn: Callable[..., Awaitable[T]], *args: Any, retries: int = 3,
                               isolation_level: IsolationLevel | None = None, **kwargs: Any) -> T:
        """`await fn(*args, **kwargs)` in a transaction, run again after a retryable failure; its result."""
        return await self.transaction_manager.arun_transaction(fn, *args, retries=retries,
                                                               isolation_level=isolation_level, **kwargs)


def _nothing() -> None:
    """A stream on its transaction's lane gives nothing back: the connection is the transaction's."""
