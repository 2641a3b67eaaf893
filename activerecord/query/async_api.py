"""Awaitable twins of the query methods that run SQL: `await q.aall()`, `async for r in q.aiter()`.

Each twin runs its sync method, whole, through the model's `backend.arun` (docs/async.md): the
first query of a model checks its table, eager loading reads its relations, and errors are
those of the sync call, all on a worker thread while the event loop keeps running. Streaming
goes through `backend.astream`, which keeps one worker thread and one connection for the
stream's length.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator

from ..backend.base import StorageBackend
from .fetching import Fetching, T


class AsyncFetching(Fetching[T]):
    """The twins of the result methods a Query and a CompoundQuery share."""

    __slots__ = ()

    if TYPE_CHECKING:  # each query class defines its own pluck()
        def pluck(self, *items: Any) -> list[Any]: ...

    def _async_backend(self) -> StorageBackend:
        # only the configured backend, found without I/O: the table check runs inside arun
        return self.model.backend()

    async def aall(self) -> list[T]:
        """Awaitable all(): every row, as model instances or dicts."""
        return await self._async_backend().arun(self.all)

    async def afirst(self) -> T | None:
        """Awaitable first(): the first row (by primary key unless ordered), or None."""
        return await self._async_backend().arun(self.first)

    async def aone(self) -> T:
        """Awaitable one(): the only row; RecordNotFound or MultipleRecordsFound otherwise."""
        return await self._async_backend().arun(self.one)

    async def acount(self) -> int:
        """Awaitable count(): the number of rows the query returns."""
        return await self._async_backend().arun(self.count)

    async def aexists(self) -> bool:
        """Awaitable exists(): whether the query returns at least one row."""
        return await self._async_backend().arun(self.exists)

    async def asum(self, expression: Any) -> Any:
        """Awaitable sum(expression)."""
        return await self._async_backend().arun(self.sum, expression)

    async def aavg(self, expression: Any) -> Any:
        """Awaitable avg(expression)."""
        return await self._async_backend().arun(self.avg, expression)

    async def amin(self, expression: Any) -> Any:
        """Awaitable min(expression)."""
        return await self._async_backend().arun(self.min, expression)

    async def amax(self, expression: Any) -> Any:
        """Awaitable max(expression)."""
        return await self._async_backend().arun(self.max, expression)

    async def apluck(self, *items: Any) -> list[Any]:
        """Awaitable pluck(): values of one column, or tuples of several, for every row."""
        return await self._async_backend().arun(self.pluck, *items)

    async def aexplain(self) -> str:
        """Awaitable explain(): the database's plan for this query."""
        return await self._async_backend().arun(self.explain)

    def aiter(self, batch_size: int = 1000) -> AsyncIterator[T]:
        """Stream the rows, `batch_size` at a time, on one worker thread: `async for row in q.aiter()`."""
        return self._async_backend().astream(lambda: self.iter(batch_size))

    def __aiter__(self) -> AsyncIterator[T]:
        """`async for row in query`: aiter() with its default batch size."""
        return self.aiter()


class AsyncWriting(AsyncFetching[T]):
    """The twins of Query's bulk writes."""

    __slots__ = ()

    if TYPE_CHECKING:  # defined by Query
        def update_all(self, values: dict[str, Any] | None = None, **more: Any) -> int: ...
        def delete_all(self) -> int: ...

    async def aupdate_all(self, values: dict[str, Any] | None = None, **more: Any) -> int:
        """Awaitable update_all(): UPDATE every row the query selects; the affected row count."""
        return await self._async_backend().arun(self.update_all, values, **more)

    async def adelete_all(self) -> int:
        """Awaitable delete_all(): DELETE every row the query selects; the deleted row count."""
        return await self._async_backend().arun(self.delete_all)


__all__ = ['AsyncFetching', 'AsyncWriting']
