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


def test_a_stream_an_async_hook_opens_outside_a_transaction_has_a_connection_of_its_own(live) -> None:
    # As in sync code: the stream does not read on the call's connection, so it outlives the hook
    # and nothing the hook or another task does later runs inside its (PostgreSQL cursor's)
    # transaction or cuts it short.
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=3)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'seed') for n in range(1, 6)])
    kept: list[AsyncIterator[Any]] = []
    during: list[dict[str, int]] = []

    async def hook() -> Any:
        rows = backend.aiter_rows(f'SELECT id FROM {table} ORDER BY id', batch_size=1)
        kept.append(rows)
        first = (await rows.__anext__())[1]
        during.append(backend.pool.status())
        return first

    async def other_task() -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (10, ?)', ('B',))
            assert [tuple(row) for row in (await kept[0].__anext__())[1]] == [(2,)]
            raise KeyError('B rolls back')

    async def main() -> Any:
        first = await backend.arun(lambda: run_awaitable(hook()))
        with pytest.raises(KeyError):
            await other_task()
        rest = [tuple(row) async for _, batch in kept[0] for row in batch]
        return first, rest

    first, rest = run(main())
    assert [tuple(row) for row in first] == [(1,)] and rest == [(3,), (4,), (5,)]
    assert during[0]['checked_out'] == 2      # the call's connection and the stream's own
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

def test_a_stream_in_a_sync_call_on_its_lent_connection_is_read_whole_with_statements_between_its_reads(live) -> None:
    # Every statement of an async call's sync code runs on its lent connection: one between a
    # stream's reads must not cut the stream short (MySQL buffers there, as in a transaction).
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

    assert run(backend.arun(sync_call)) == [1, 2, 3, 4, 5]
    assert [row['name'] for row in backend.fetch_all(f'SELECT name FROM {table} ORDER BY id')] == ['call'] * 5
    assert idle(backend)


def test_a_stream_outside_a_transaction_reads_on_a_connection_of_its_own(live, monkeypatch) -> None:
    # As sync iter(): the cursor has its connection to itself (so MySQL streams unbuffered, and
    # a PostgreSQL cursor's transaction holds nothing else); statements between its reads, in the
    # iterator or in an async hook's loop body, run on another connection and autocommit.
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=3)
    table = live.table()
    other = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'seed') for n in range(1, 4)])
    select = f'SELECT id FROM {table} ORDER BY id'
    cursors: list[str] = []
    open_stream = backend.open_stream

    def spy(pooled: Any, sql: str, bound: Any, count: int) -> Any:
        cursor = open_stream(pooled, sql, bound, count)
        cursors.append(type(cursor).__name__)
        return cursor
    monkeypatch.setattr(backend, 'open_stream', spy)

    def stream_with_statements() -> Any:
        for labels, batch in backend.iter_rows(select, batch_size=1):
            backend.execute(f'INSERT INTO {other} VALUES (?, ?)', (batch[0][0], 'iterator'))
            yield labels, batch

    async def hook() -> list[int]:
        seen: list[int] = []
        async for _, batch in backend.aiter_rows(select, batch_size=1):
            seen.append(batch[0][0])
            await backend.aexecute(f'INSERT INTO {other} VALUES (?, ?)', (10 + batch[0][0], 'hook'))
            with pytest.raises(ActiveRecordError):     # a failure caught in the body costs nothing
                await backend.aexecute(f'INSERT INTO {other} VALUES (?, ?)', (1, 'duplicate'))
        return seen

    async def main() -> tuple[list[int], list[int]]:
        streamed = [row[0] async for _, batch in backend.astream(stream_with_statements) for row in batch]
        return streamed, await backend.arun(lambda: run_awaitable(hook()))

    assert run(main()) == ([1, 2, 3], [1, 2, 3])
    assert ids(backend, other) == [1, 2, 3, 11, 12, 13]
    if live.name == 'mysql':
        assert cursors == ['SSCursor', 'SSCursor']    # unbuffered, as sync iter() outside a transaction
    assert idle(backend)


# -- tasks an async hook creates are other tasks ----------------------------------------------------

def test_tasks_an_async_hook_creates_outside_a_transaction_each_get_a_transaction_of_their_own(live) -> None:
    # Not BEGIN twice on the call's one connection: y's rollback must not undo x's commit.
    backend = live.open(pool_size=3, max_overflow=0, pool_timeout=3)
    table = live.table()
    connections: list[int] = []

    async def x() -> str:
        async with backend.atransaction():
            connections.append(backend.transaction_manager.connection.id)   # type: ignore[union-attr]
            await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('x',))
            await asyncio.sleep(0.02)
        return 'x committed'

    async def y() -> str:
        async with backend.atransaction():
            connections.append(backend.transaction_manager.connection.id)   # type: ignore[union-attr]
            await backend.aexecute(f'INSERT INTO {table} VALUES (2, ?)', ('y',))
            await asyncio.sleep(0.01)
            raise KeyError('y rolls back')

    async def hook() -> list[Any]:
        async with backend.atransaction():       # the hook's own coroutine acts as its call
            await backend.aexecute(f'INSERT INTO {table} VALUES (3, ?)', ('hook',))
        return await asyncio.gather(x(), y(), return_exceptions=True)

    def call() -> list[Any]:
        return run_awaitable(hook())

    outcome = run(backend.arun(call))
    assert outcome[0] == 'x committed' and isinstance(outcome[1], KeyError)
    assert len(set(connections)) == 2       # each task's transaction on a connection of its own
    assert ids(backend, table) == [1, 3]
    assert idle(backend)


def test_tasks_an_async_hook_creates_inside_a_transaction_may_run_statements_but_not_nest(live) -> None:
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=3)
    table = live.table()

    async def child(row: int) -> None:
        await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (row, 'child'))
        with pytest.raises(ActiveRecordError, match='opened by another task'):
            async with backend.atransaction():
                await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (row + 10, 'nested'))

    async def hook() -> None:
        async with backend.atransaction():       # a savepoint: the hook acts as its call
            await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('hook',))
        await asyncio.gather(child(2), child(3))

    async def main() -> None:
        async with backend.atransaction():
            await backend.arun(lambda: run_awaitable(hook()))

    run(main())
    assert ids(backend, table) == [1, 2, 3]
    assert idle(backend)


def test_concurrent_writes_with_nested_blocks_in_one_transaction_are_refused_with_the_way_out(live) -> None:
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=3)
    table = live.table()

    def save(row: int) -> None:              # a write with hooks opens a savepoint, as this does
        with backend.transaction():
            backend.execute(f'INSERT INTO {table} VALUES (?, ?)', (row, 'saved'))

    async def main() -> list[Any]:
        async with backend.atransaction():
            await backend.arun(save, 1)
            return await asyncio.gather(backend.arun(save, 2), backend.arun(save, 3), return_exceptions=True)

    outcome = run(main())
    assert all(isinstance(error, ActiveRecordError) for error in outcome)
    assert 'asave()' in str(outcome[0]) and 'one after another' in str(outcome[0])
    assert ids(backend, table) == [1]


def test_a_hook_of_another_task_on_a_lane_awaiting_a_hook_is_refused_instead_of_hanging(live) -> None:
    # Hooks awaited on one thread end last-in first-out: B's hook, nested inside A's, waits for
    # a lock A holds until its own write returns, which would wait for B's hook: forever.
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=3)
    table = live.table()
    lock: list[asyncio.Lock] = []

    async def hook_a() -> None:
        await asyncio.sleep(0.1)

    async def hook_b() -> None:
        async with lock[0]:
            pass

    def save(row: int, hook: Any) -> None:       # a write with a before-hook
        run_awaitable(hook())
        backend.execute(f'INSERT INTO {table} VALUES (?, ?)', (row, 'saved'))

    async def a() -> None:
        async with lock[0]:
            await backend.arun(save, 1, hook_a)

    async def b() -> None:
        await asyncio.sleep(0.02)
        with pytest.raises(ActiveRecordError, match='awaiting an async hook of another task'):
            await backend.arun(save, 2, hook_b)

    async def main() -> None:
        lock.append(asyncio.Lock())
        async with backend.atransaction():
            await asyncio.gather(a(), b())
            await backend.arun(save, 3, hook_b)     # one after another: fine

    run(main())
    assert ids(backend, table) == [1, 3]
    assert idle(backend)
