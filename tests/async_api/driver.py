"""The driver of the shared scenarios: one scenario, written once, runs through the sync API or
through its awaitable twins.

`await api.call(User, 'create', username='a')` is `User.create(username='a')` on the sync run and
`await User.acreate(username='a')` on the async run. A scenario is an `async def`; on the sync run
it never suspends (every call returns at once), so it can also be driven without an event loop,
which is how a sync `run_transaction` runs a scenario's function.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine

#: sync name -> its twin, where the twin is not simply 'a' + name
TWIN_NAMES = {'__call__': 'aload', 'iter': 'aiter'}


def twin_name(name: str) -> str:
    """The name of the awaitable twin of a sync method."""
    return TWIN_NAMES.get(name, 'a' + name)


def drive(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends to its end, without an event loop; its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError('a sync-run scenario suspended: it awaited something other than the API')


class Api:
    """Calls the sync API (mode 'sync') or its twins (mode 'async')."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    @property
    def is_async(self) -> bool:
        return self.mode == 'async'

    def __repr__(self) -> str:
        return f'<Api {self.mode}>'

    async def call(self, target: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """target.name(*args, **kwargs), or await target.<twin>(*args, **kwargs)."""
        if self.is_async:
            return await getattr(target, twin_name(name))(*args, **kwargs)
        return getattr(target, name)(*args, **kwargs)

    async def rows(self, query: Any, batch_size: int) -> list[Any]:
        """Every row of query.iter(batch_size) / query.aiter(batch_size)."""
        if self.is_async:
            return [row async for row in query.aiter(batch_size)]
        return list(query.iter(batch_size))

    @asynccontextmanager
    async def transaction(self, model: Any, **options: Any) -> AsyncIterator[None]:
        """`with model.transaction(...)` / `async with model.atransaction(...)`."""
        if self.is_async:
            async with model.atransaction(**options):
                yield
        else:
            with model.transaction(**options):
                yield

    async def run_transaction(self, model: Any, fn: Callable[..., Awaitable[Any]], /, *args: Any,
                              **kwargs: Any) -> Any:
        """model.run_transaction / arun_transaction of a scenario function (an async def)."""
        if self.is_async:
            return await model.arun_transaction(fn, *args, **kwargs)
        retries = kwargs.pop('retries', 3)
        return model.run_transaction(lambda: drive(fn(*args, **kwargs)), retries=retries)

    def run(self, scenario: Coroutine[Any, Any, Any]) -> Any:
        """Run a scenario to its end: on an event loop (async), or driven directly (sync)."""
        if self.is_async:
            return asyncio.run(scenario)
        return drive(scenario)
