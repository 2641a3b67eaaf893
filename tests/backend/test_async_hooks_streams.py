"""Streams and transactions opened where the async core shares a thread: inside atransaction()
(the transaction's lane), and inside async hooks (the lane of the thread awaiting the hook, on
its call's connection). Also the parts of the core that must work on Python 3.10.

A hook is reached as the model layer reaches it: `backend.arun(fn)` where the sync fn calls
`run_awaitable(hook())` on its worker thread.
"""
from __future__ import annotations

import asyncio
import contextlib
import pathlib
import re
from typing import Any, AsyncIterator, Awaitable, TypeVar

import pytest

from activerecord.backend.aio import run_awaitable
from activerecord.backend.base import StorageBackend
from activerecord.errors import ActiveRecordError

T = TypeVar('T')


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine
    return asyncio.run(main())


def idle(backend: StorageBackend) -> bool:
    status = backend.pool.status()
    return status['checked_out'] == 0 and status['idle'] == status['open']


def ids(backend: StorageBackend, table: str) -> list[int]:
    return [row['id'] for row in backend.fetch_all(f'SELECT id FROM {table} ORDER BY id')]


def forbid_blocking_checkout(backend: StorageBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Async calls must wait for the pool on the loop (areserve), never in a thread's checkout()."""
    def checkout() -> Any:
        raise AssertionError('a thread waited for the pool in checkout() during an async call')
    monkeypatch.setattr(backend.pool, 'checkout', checkout)


# -- a stream inside atransaction() ----------------------------------------------------------------

def test_statements_in_the_body_of_a_stream_inside_atransaction_run_in_it(live) -> None:
    # As in sync code (one thread re-enters the transaction's turn): no wait for a turn.
    backend = live.open(pool_timeout=3)
    table = live.table('id INTEGER PRIMARY KEY, n INTEGER')
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(i, i) for i in range(1, 4)])

    async def main() -> list[int]:
        seen: list[int] = []
        async with backend.atransaction():
            async for _, batch in backend.aiter_rows(f'SELECT id FROM {table} ORDER BY id', batch_size=1):
                seen.append(batch[0][0])
                await backend.aexecute(f'UPDATE {table} SET n = n + 10 WHERE id = ?', (batch[0][0],))
        return seen

    assert run(main()) == [1, 2, 3]
    assert [row['n'] for row in backend.fetch_all(f'SELECT n FROM {table} ORDER BY id')] == [11, 12, 13]
    assert idle(backend)


def test_a_stream_left_open_in_atransaction_is_closed_before_the_commit(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=3)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'x') for n in range(1, 6)])
    kept: list[AsyncIterator[Any]] = []

    async def main() -> None:
        async with backend.atransaction():
            rows = backend.aiter_rows(f'SELECT id FROM {table} ORDER BY id', batch_size=1)
            kept.append(rows)
            await rows.__anext__()
            await backend.aexecute(f'INSERT INTO {table} VALUES (6, ?)', ('written beside it',))
        with pytest.raises(ActiveRecordError, match='transaction ended'):
            await rows.__anext__()
        await rows.aclose()      # a no-op now
        assert idle(backend)

    run(main())
    assert ids(backend, table) == [1, 2, 3, 4, 5, 6]
    assert idle(backend)


def test_tasks_sharing_a_transaction_and_a_stream_interleave_on_its_connection(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=3)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'seed') for n in range(1, 4)])

    async def writer(number: int) -> None:
        await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (number, 'child'))

    async def main() -> list[int]:
        seen: list[int] = []
        with pytest.raises(KeyError):
            async with backend.atransaction():
                async with contextlib.aclosing(backend.aiter_rows(
                        f'SELECT id FROM {table} WHERE id < 10 ORDER BY id', batch_size=1)) as rows:
                    async for _, batch in rows:
                        seen.append(batch[0][0])
                        await asyncio.gather(*(writer(100 * batch[0][0] + k) for k in range(2)))
                assert len(await backend.afetch_all(f'SELECT id FROM {table}')) == 9
                raise KeyError('roll it all back')
        return seen

    assert run(main()) == [1, 2, 3]
    assert ids(backend, table) == [1, 2, 3]
    assert idle(backend)


# -- async hooks: transactions and streams on the call's connection ------------------------------------

def test_atransaction_in_an_async_hook_runs_on_the_calls_connection(live, monkeypatch) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=2)
    table = live.table()
    forbid_blocking_checkout(backend, monkeypatch)
    inside: list[dict[str, int]] = []

    class Undo(Exception):
        pass

    async def hook() -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (2, ?)', ('hook',))
            inside.append(backend.pool.status())
            with pytest.raises(Undo):
                async with backend.atransaction():       # a savepoint in it
                    await backend.aexecute(f'INSERT INTO {table} VALUES (3, ?)', ('undone',))
                    raise Undo
        with pytest.raises(Undo):
            async with backend.atransaction():
                await backend.aexecute(f'INSERT INTO {table} VALUES (4, ?)', ('rolled back',))
                raise Undo

    def call() -> None:
        backend.execute(f'INSERT INTO {table} VALUES (1, ?)', ('call',))
        run_awaitable(hook())

    run(backend.arun(call))
    assert inside[0]['checked_out'] == 1       # the call's own connection: no second one
    monkeypatch.undo()
    assert ids(backend, table) == [1, 2]
    assert idle(backend)


def test_a_stream_an_async_hook_leaves_open_is_closed_before_the_call_gives_its_connection_back(live) -> None:
    # On PostgreSQL the stream's server-side cursor has a transaction of its own: a late close
    # would COMMIT in the middle of whatever the connection does next (another task's transaction).
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=3)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'seed') for n in range(1, 6)])
    kept: list[AsyncIterator[Any]] = []

    async def hook() -> Any:
        rows = backend.aiter_rows(f'SELECT id FROM {table} ORDER BY id', batch_size=1)
        kept.append(rows)
        return (await rows.__anext__())[1]

    async def other_task() -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (10, ?)', ('B',))
            with pytest.raises(ActiveRecordError, match='async hook that opened it returned'):
                await kept[0].__anext__()
            await kept[0].aclose()
            await backend.aexecute(f'INSERT INTO {table} VALUES (11, ?)', ('B',))
            raise KeyError('B rolls back')

    async def main() -> Any:
        first = await backend.arun(lambda: run_awaitable(hook()))
        assert idle(backend)
        with pytest.raises(KeyError):
            await other_task()
        return first

    assert [tuple(row) for row in run(main())] == [(1,)]
    assert ids(backend, table) == [1, 2, 3, 4, 5]     # none of B's rows: its transaction rolled back
    assert idle(backend)


def test_an_async_hook_may_run_statements_between_the_steps_of_its_stream(live, monkeypatch) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=3)
    table = live.table()
    other = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'seed') for n in range(1, 4)])
    forbid_blocking_checkout(backend, monkeypatch)

    async def hook() -> list[int]:
        seen: list[int] = []
        async with backend.atransaction():
            async for _, batch in backend.aiter_rows(f'SELECT id FROM {table} ORDER BY id', batch_size=1):
                seen.append(batch[0][0])
                await backend.aexecute(f'INSERT INTO {other} VALUES (?, ?)', (batch[0][0], 'copied'))
        return seen

    assert run(backend.arun(lambda: run_awaitable(hook()))) == [1, 2, 3]
    monkeypatch.undo()
    assert ids(backend, other) == [1, 2, 3]
    assert idle(backend)


def test_a_hook_in_atransaction_runs_its_calls_streams_and_savepoints_in_it(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=3)
    table = live.table()

    async def hook() -> int:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (2, ?)', ('hook',))
        return len([row async for _, batch in backend.aiter_rows(f'SELECT id FROM {table}') for row in batch])

    async def main() -> int:
        with pytest.raises(KeyError):
            async with backend.atransaction():
                await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('tx',))
                counted = await backend.arun(lambda: run_awaitable(hook()))
                raise KeyError('roll back what the hook wrote too')
        return counted

    assert run(main()) == 2
    assert ids(backend, table) == []
    assert idle(backend)


# -- Python 3.10 ---------------------------------------------------------------------------------------

def test_a_hook_whose_task_cannot_be_created_fails_the_call_instead_of_hanging(live, monkeypatch) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=2)

    async def hook() -> int:
        return 1

    class Refused(Exception):
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: None)   # the callback's error is expected

        create = loop.create_task

        def create_task(coroutine: Any, **kwargs: Any) -> Any:
            if coroutine.__qualname__ == '_awaited':   # the hook's task only
                coroutine.close()
                raise Refused('no task today')
            return create(coroutine, **kwargs)
        monkeypatch.setattr(loop, 'create_task', create_task)
        try:
            with pytest.raises(Refused):
                await asyncio.wait_for(backend.arun(lambda: run_awaitable(hook())), 10)
        finally:
            monkeypatch.undo()
        assert await backend.arun(lambda: run_awaitable(hook())) == 1

    run(main())
    assert idle(backend)


def test_the_async_core_uses_no_python_3_11_only_asyncio_api() -> None:
    # pyproject: requires-python >= 3.10
    root = pathlib.Path(__file__).resolve().parents[2] / 'activerecord'
    banned = re.compile(r'asyncio\.timeout\(|asyncio\.TaskGroup|\.cancelling\(\)|\.uncancel\(\)|'
                        r'ExceptionGroup|except\s*\*|create_task\([^)]*context=|from typing import[^\n]*\bSelf\b')
    found = [f'{path.relative_to(root)}:{number}: {line.strip()}'
             for path in sorted(root.rglob('*.py'))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if banned.search(line) and not line.lstrip().startswith('#')]
    assert found == []


# -- a stream whose connection other statements share -------------------------------------------------

def test_a_stream_on_an_async_calls_connection_is_read_whole_with_statements_between_its_reads(live) -> None:
    # Every statement of an async call runs on its lent connection: one between a stream's reads
    # (a query's preloads, a hook's writes) must not cut the stream short (MySQL's unbuffered one).
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=3)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'seed') for n in range(1, 6)])
    select = f'SELECT id FROM {table} ORDER BY id'
    update = f'UPDATE {table} SET name = ? WHERE id = ?'

    def sync_call() -> list[int]:
        seen: list[int] = []
        for _, batch in backend.iter_rows(select, batch_size=1):
            seen.append(batch[0][0])
            backend.execute(update, ('call', batch[0][0]))
        return seen

    def stream_with_statements() -> Any:
        for labels, batch in backend.iter_rows(select, batch_size=2):
            backend.execute(update, ('stream', batch[0][0]))
            yield labels, batch

    async def hook() -> list[int]:
        seen: list[int] = []
        async for _, batch in backend.aiter_rows(select, batch_size=1):
            seen.append(batch[0][0])
            await backend.aexecute(update, ('hook', batch[0][0]))
        return seen

    async def main() -> tuple[list[int], list[int], list[int]]:
        in_call = await backend.arun(sync_call)
        streamed = [row[0] async for _, batch in backend.astream(stream_with_statements) for row in batch]
        in_hook = await backend.arun(lambda: run_awaitable(hook()))
        return in_call, streamed, in_hook

    assert run(main()) == ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert [row['name'] for row in backend.fetch_all(f'SELECT name FROM {table} ORDER BY id')] == ['hook'] * 5
    assert idle(backend)
