"""The async twins of the backend's raw verbs, each one line over `arun` (see base.py).

A mixin of StorageBackend: `AsyncHost` names what the twins use of it.
"""
from __future__ import annotations

import functools
from contextlib import AbstractAsyncContextManager
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Protocol, Sequence, TypeVar

from .transaction import IsolationLevel, TransactionManager

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
    """aexecute, afetch_all, ..., aiter_rows, atransaction, arun_transaction."""

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
