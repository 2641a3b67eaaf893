"""The async core on every live backend: arun, the raw twins, atransaction, arun_transaction,
streams, the shared pool limits, cancellation, and async hooks awaited from worker threads.

Each test drives its own loop with asyncio.run. Where a test must catch a task at a point
(waiting for the pool, inside a statement) it waits for a signal the task gives just before, and
uses a statement slow enough to still be running when the cancel lands; the assertions hold
whichever side of that point the cancel falls.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from typing import Any, Awaitable, TypeVar

import pytest

from activerecord.backend.aio import run_awaitable
from activerecord.backend.base import StorageBackend
from activerecord.errors import ActiveRecordError, AmbiguousCommitError, OperationalError, PoolTimeout

T = TypeVar('T')

#: a statement that runs for about half a second on each backend, on the server's side
SLOW_SQL = {
    'postgresql': 'SELECT pg_sleep(0.6)',
    'mysql': 'SELECT SLEEP(0.6)',
    'sqlite': 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) '
              'SELECT count(*) FROM c',
}


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine
    return asyncio.run(main())


def idle(backend: StorageBackend) -> bool:
    status = backend.pool.status()
    return status['checked_out'] == 0 and status['idle'] == status['open']


def ids(backend: StorageBackend, table: str) -> list[int]:
    return [row['id'] for row in backend.fetch_all(f'SELECT id FROM {table} ORDER BY id')]


class Ticker:
    """A task that counts loop turns: it advances only while the loop is not blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._tick())

    async def stop(self) -> int:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return self.ticks


# -- raw twins ---------------------------------------------------------------------------------

def test_the_raw_twins_give_the_same_answers_as_the_sync_calls(live) -> None:
    backend = live.backend
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(1, 'a'), (2, 'b')])
    select = f'SELECT id, name FROM {table} ORDER BY id'

    async def twins() -> dict[str, Any]:
        return {
            'fetch_all': await backend.afetch_all(select),
            'fetch_one': await backend.afetch_one(select),
            'fetch_value': await backend.afetch_value(f'SELECT name FROM {table} WHERE id = ?', (2,)),
            'query_rows': await backend.aquery_rows(select),
            'ping': await backend.aping(),
            'in_transaction': backend.in_transaction,
        }

    assert run(twins()) == {
        'fetch_all': backend.fetch_all(select), 'fetch_one': backend.fetch_one(select),
        'fetch_value': backend.fetch_value(f'SELECT name FROM {table} WHERE id = ?', (2,)),
        'query_rows': backend.query_rows(select), 'ping': True, 'in_transaction': False}

    async def writes() -> tuple[int, int, int]:
        many = await backend.aexecutemany(f'INSERT INTO {table} VALUES (?, ?)', [(3, 'c'), (4, 'd')])
        one = await backend.aexecute(f'UPDATE {table} SET name = ? WHERE id > ?', ('z', 2))
        await backend.aexecute_script(f'INSERT INTO {table} VALUES (5, \'e\'); INSERT INTO {table} VALUES (6, \'f\');')
        return many, one, await backend.aexecute(f'DELETE FROM {table} WHERE id = ?', (6,))

    assert run(writes()) == (2, 2, 1)
    assert backend.fetch_all(f'SELECT name FROM {table} ORDER BY id') == [
        {'name': name} for name in ('a', 'b', 'z', 'z', 'e')]
    assert idle(backend)


def test_a_failed_statement_raises_the_translated_error_and_gives_the_connection_back(live) -> None:
    backend = live.backend
    table = live.table()
    backend.execute(f'INSERT INTO {table} VALUES (1, ?)', ('a',))

    async def duplicate() -> None:
        await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('again',))

    with pytest.raises(Exception) as caught:
        run(duplicate())
    assert type(caught.value).__name__ == 'IntegrityError'
    assert idle(backend)


def test_arun_lends_one_connection_to_every_statement_of_fn(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=2)

    def several() -> list[Any]:
        lent = backend.lent_connection()
        values = [backend.fetch_value('SELECT 1'), backend.fetch_value('SELECT 2')]
        assert backend.lent_connection() is lent is not None
        assert backend.pool.status()['checked_out'] == 1   # the lent one: no second checkout
        return values

    assert run(backend.arun(several)) == [1, 2]
    assert backend.lent_connection() is None
    assert idle(backend)


# -- transactions ------------------------------------------------------------------------------

def test_atransaction_commits_rolls_back_and_nests_with_savepoints(live) -> None:
    backend = live.backend
    table = live.table()
    insert = f'INSERT INTO {table} VALUES (?, ?)'

    class Undo(Exception):
        pass

    async def scenario() -> list[int]:
        async with backend.atransaction():
            await backend.aexecute(insert, (1, 'kept'))
            assert backend.in_transaction and backend.transaction_manager.depth == 1
            with pytest.raises(Undo):
                async with backend.atransaction():
                    assert backend.transaction_manager.depth == 2
                    await backend.aexecute(insert, (2, 'undone by the savepoint'))
                    raise Undo
            async with backend.atransaction():
                await backend.aexecute(insert, (3, 'released'))
            seen_inside = [row['id'] for row in await backend.afetch_all(f'SELECT id FROM {table} ORDER BY id')]
        assert not backend.in_transaction
        with pytest.raises(Undo):
            async with backend.atransaction():
                await backend.aexecute(insert, (4, 'rolled back'))
                raise Undo
        return seen_inside

    assert run(scenario()) == [1, 3]
    assert ids(backend, table) == [1, 3]
    assert idle(backend)


def test_two_tasks_transactions_do_not_see_each_others_writes_before_commit(live) -> None:
    backend = live.backend
    table = live.table()
    a_wrote, b_looked = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('a',))
            a_wrote.set()
            await b_looked.wait()        # suspended inside its transaction

    async def reader() -> list[Any]:
        await a_wrote.wait()
        async with backend.atransaction():
            before = await backend.afetch_all(f'SELECT id FROM {table}')
        b_looked.set()
        return before

    async def main() -> list[Any]:
        _, before = await asyncio.gather(writer(), reader())
        return before

    assert run(main()) == []
    assert ids(backend, table) == [1]
    assert idle(backend)


def test_a_tasks_statements_run_in_its_own_transaction_while_another_is_suspended_in_another(live) -> None:
    backend = live.backend
    table = live.table()
    insert = f'INSERT INTO {table} VALUES (?, ?)'
    # SQLite has one writer at a time: a task there writes only after the other one committed.
    writes_across_await = live.name != 'sqlite'
    a_inside, b_done = asyncio.Event(), asyncio.Event()

    class Abandon(Exception):
        pass

    async def task_a() -> None:
        with pytest.raises(Abandon):
            async with backend.atransaction():
                if writes_across_await:
                    await backend.aexecute(insert, (1, 'a'))
                a_inside.set()
                await b_done.wait()
                if not writes_across_await:
                    await backend.aexecute(insert, (1, 'a'))
                raise Abandon

    async def task_b() -> None:
        await a_inside.wait()
        assert not backend.in_transaction          # A's transaction is not B's
        async with backend.atransaction():
            await backend.aexecute(insert, (2, 'b'))
            inside = await backend.afetch_all(f'SELECT id FROM {table}')
            assert [row['id'] for row in inside] == [2]
        b_done.set()

    async def main() -> None:
        await asyncio.gather(task_a(), task_b())

    run(main())
    assert ids(backend, table) == [2]
    assert idle(backend)


def test_a_child_task_shares_the_transaction_but_cannot_nest_in_it(live) -> None:
    backend = live.backend
    table = live.table()

    async def child(number: int) -> None:
        await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (number, 'child'))

    async def nesting_child() -> None:
        async with backend.atransaction():
            pass

    async def main() -> None:
        with pytest.raises(RuntimeError):
            async with backend.atransaction():
                await asyncio.gather(*(child(number) for number in range(1, 6)))
                with pytest.raises(ActiveRecordError, match='opened by another task'):
                    await asyncio.ensure_future(nesting_child())
                assert len(await backend.afetch_all(f'SELECT id FROM {table}')) == 5
                raise RuntimeError('roll it all back')

    run(main())
    assert ids(backend, table) == []
    assert idle(backend)


def test_arun_transaction_retries_a_retryable_error_and_never_an_ambiguous_commit(live) -> None:
    backend = live.backend
    table = live.table()
    calls: list[int] = []

    async def flaky(name: str) -> int:
        calls.append(len(calls))
        await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (len(calls), name))
        if len(calls) < 3:
            raise OperationalError('serialization failure (simulated)', sqlstate='40001', retryable=True)
        return len(calls)

    assert run(backend.arun_transaction(flaky, 'x', retries=3)) == 3
    assert ids(backend, table) == [3]      # the failed attempts were rolled back

    ambiguous: list[int] = []

    async def lost_commit() -> None:
        ambiguous.append(1)
        raise AmbiguousCommitError('the connection was lost while COMMIT was in flight', retryable=True)

    with pytest.raises(AmbiguousCommitError):
        run(backend.arun_transaction(lost_commit, retries=5))
    assert ambiguous == [1]

    exhausted: list[int] = []

    async def always() -> None:
        exhausted.append(1)
        raise OperationalError('deadlock (simulated)', retryable=True)

    with pytest.raises(OperationalError, match='deadlock'):
        run(backend.arun_transaction(always, retries=1))
    assert exhausted == [1, 1]
    assert idle(backend)


# -- the pool's limits are shared with sync code -------------------------------------------------

def test_an_async_call_waits_for_the_pool_on_the_loop_and_times_out_like_a_sync_one(live) -> None:
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=0.4)
    held = [backend.pool.checkout(), backend.pool.checkout()]

    async def main() -> tuple[PoolTimeout, int]:
        ticker = Ticker()
        ticker.start()
        with pytest.raises(PoolTimeout) as caught:
            await backend.afetch_value('SELECT 1')
        return caught.value, await ticker.stop()

    error, ticks = run(main())
    assert ticks > 5, 'the loop stopped turning while the call waited for the pool'
    assert 'no connection became free within 0.4s' in str(error)
    assert error.status['checked_out'] == 2
    with pytest.raises(PoolTimeout) as sync_error:
        backend.pool.checkout()
    assert str(sync_error.value).split('(')[0] == str(error).split('(')[0]
    for pooled in held:
        backend.pool.release(pooled)
    assert idle(backend)


def test_a_connection_released_by_a_thread_wakes_a_waiting_task(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=10)
    held = backend.pool.checkout()

    async def main() -> Any:
        waiting = asyncio.ensure_future(backend.afetch_value('SELECT 7'))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        threading.Thread(target=backend.pool.release, args=(held,)).start()
        return await waiting

    assert run(main()) == 7
    assert idle(backend)


def test_a_task_cancelled_while_waiting_for_the_pool_takes_nothing(live) -> None:
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=10)
    held = [backend.pool.checkout(), backend.pool.checkout()]

    async def main() -> None:
        waiting = asyncio.ensure_future(backend.afetch_value('SELECT 1'))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert backend.pool.status()['checked_out'] == 2
        backend.pool.release(held.pop())
        # the freed connection is not promised to the cancelled waiter: the next call gets it
        assert await backend.afetch_value('SELECT 2') == 2

    run(main())
    backend.pool.release(held.pop())
    assert idle(backend)


# -- cancellation --------------------------------------------------------------------------------

def test_a_task_cancelled_mid_statement_in_atransaction_rolls_back_and_returns_its_connection(live) -> None:
    backend = live.backend
    table = live.table()
    started = asyncio.Event()
    finished: list[bool] = []

    async def victim() -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('doomed',))
            started.set()
            await backend.afetch_value(SLOW_SQL[live.name])
            finished.append(True)      # never reached: the cancel lands during the statement

    async def main() -> None:
        task = asyncio.ensure_future(victim())
        await started.wait()
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert idle(backend)           # at once: the statement ended and ROLLBACK ran before

    run(main())
    assert finished == []
    assert ids(backend, table) == []
    assert idle(backend)


def test_a_second_cancel_does_not_stop_the_rollback(live) -> None:
    backend = live.backend
    table = live.table()
    started = asyncio.Event()

    async def victim() -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('doomed',))
            started.set()
            await backend.afetch_value(SLOW_SQL[live.name])

    async def main() -> None:
        task = asyncio.ensure_future(victim())
        await started.wait()
        await asyncio.sleep(0.1)
        for _ in range(5):
            task.cancel()
            await asyncio.sleep(0.05)
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert ids(backend, table) == []
    assert idle(backend)


def test_a_task_cancelled_mid_autocommit_statement_lets_it_finish_and_frees_the_connection(live) -> None:
    backend = live.backend
    table = live.table()

    def slow_then_insert() -> None:
        backend.fetch_value(SLOW_SQL[live.name])
        backend.execute(f'INSERT INTO {table} VALUES (1, ?)', ('whole',))

    async def main() -> None:
        task = asyncio.ensure_future(backend.arun(slow_then_insert))
        await asyncio.sleep(0.15)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert ids(backend, table) == [1]     # fn ran to its end: nothing is left half-done
    assert idle(backend)


@pytest.mark.backends('postgresql')
def test_a_task_cancelled_during_commit_gets_the_databases_outcome_then_cancelled_error(live) -> None:
    backend = live.backend
    table = live.table()
    name = table.strip('"')
    # A deferred constraint trigger runs at COMMIT: it makes COMMIT last long enough to cancel in.
    backend.execute('CREATE OR REPLACE FUNCTION ar_slow_commit() RETURNS trigger AS '
                    '$$ BEGIN PERFORM pg_sleep(0.6); RETURN NULL; END $$ LANGUAGE plpgsql')
    backend.execute(f'CREATE CONSTRAINT TRIGGER {name}_slow AFTER INSERT ON {table} '
                    'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar_slow_commit()')
    body_done = asyncio.Event()

    async def committer() -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('committed',))
            body_done.set()

    async def main() -> None:
        task = asyncio.ensure_future(committer())
        await body_done.wait()
        await asyncio.sleep(0.15)      # COMMIT is running (its trigger sleeps)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not backend.in_transaction

    run(main())
    assert ids(backend, table) == [1]
    assert idle(backend)


# -- streams ------------------------------------------------------------------------------------

def test_aiter_rows_streams_batches_and_an_early_close_gives_the_connection_back(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=5)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, f'n{n}') for n in range(1, 8)])
    select = f'SELECT id FROM {table} ORDER BY id'

    async def main() -> tuple[list[list[int]], list[int]]:
        batches = [[row[0] for row in batch] async for _, batch in backend.aiter_rows(select, batch_size=3)]
        assert idle(backend)
        first: list[int] = []
        async with contextlib.aclosing(backend.aiter_rows(select, batch_size=2)) as rows:
            async for labels, batch in rows:
                assert [label.lower() for label in labels] == ['id']
                first = [row[0] for row in batch]
                assert backend.pool.status()['checked_out'] == 1
                break
        assert idle(backend)             # closed on leaving the block
        return batches, first

    assert run(main()) == ([[1, 2, 3], [4, 5, 6], [7]], [1, 2])


def test_a_stream_left_by_break_is_closed_by_the_loop_and_its_connection_returns(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=5)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(n, 'x') for n in range(1, 6)])

    async def main() -> Any:
        async for _ in backend.aiter_rows(f'SELECT id FROM {table}', batch_size=1):
            break
        # the abandoned generator is finalized by the loop; the next call then gets the connection
        return await backend.afetch_value(f'SELECT COUNT(*) FROM {table}')

    assert run(main()) == 5
    assert idle(backend)


def test_astream_runs_a_sync_iterator_inside_the_tasks_transaction(live) -> None:
    backend = live.backend
    table = live.table()

    def numbers() -> Any:
        for number in range(1, 4):
            backend.execute(f'INSERT INTO {table} VALUES (?, ?)', (number, 'streamed'))
            yield number

    async def main() -> list[int]:
        with pytest.raises(KeyError):
            async with backend.atransaction():
                seen = [number async for number in backend.astream(numbers)]
                assert seen == [1, 2, 3]
                assert len(await backend.afetch_all(f'SELECT id FROM {table}')) == 3
                raise KeyError('roll back what the stream wrote')
        return seen

    assert run(main()) == [1, 2, 3]
    assert ids(backend, table) == []
    assert idle(backend)


# -- async hooks awaited from a worker thread ------------------------------------------------------

def test_run_awaitable_awaits_on_the_callers_loop_and_its_calls_reuse_the_callers_connection(live) -> None:
    # One connection and one worker thread: the hook's own a-call must run on the thread that
    # waits for it, with the connection lent to the call, or it would wait forever.
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=2)
    table = live.table()

    async def hook(number: int) -> Any:
        await asyncio.sleep(0)
        await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (number, 'from the hook'))
        return await backend.afetch_value(f'SELECT COUNT(*) FROM {table}')

    def save_with_hook() -> Any:
        backend.execute(f'INSERT INTO {table} VALUES (1, ?)', ('sync',))
        return run_awaitable(hook(2))

    async def main() -> Any:
        plain = await backend.arun(save_with_hook)
        async with backend.atransaction():
            await backend.arun(lambda: run_awaitable(hook(3)))
        return plain

    assert run(main()) == 2
    assert ids(backend, table) == [1, 2, 3]
    assert idle(backend)


def test_run_awaitable_outside_an_async_call_is_refused_and_closes_the_coroutine(live) -> None:
    async def hook() -> None:
        pass

    coroutine = hook()
    with pytest.raises(ActiveRecordError, match='async twin'):
        run_awaitable(coroutine)                  # plain sync code
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED

    async def on_the_loop() -> None:
        inner = hook()
        with pytest.raises(ActiveRecordError, match='async twin'):
            run_awaitable(inner)                  # sync code called straight from a coroutine
        assert inspect.getcoroutinestate(inner) == inspect.CORO_CLOSED

    run(on_the_loop())



def test_a_task_a_hook_starts_that_outlives_the_call_does_not_use_the_calls_connection(live) -> None:
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=5)
    later: list[asyncio.Future[Any]] = []
    hook_done = asyncio.Event()

    async def outliving() -> Any:
        await hook_done.wait()
        await asyncio.sleep(0.05)       # the call has ended and given its connection back
        return await backend.afetch_value('SELECT 3')

    async def hook() -> None:
        later.append(asyncio.ensure_future(outliving()))
        hook_done.set()

    async def main() -> Any:
        await backend.arun(lambda: run_awaitable(hook()))
        assert idle(backend)
        return await asyncio.wait_for(later[0], 10)

    assert run(main()) == 3
    assert idle(backend)


def test_an_async_hook_may_stream_on_a_connection_of_its_own(live) -> None:
    # outside a transaction a stream has its connection to itself, as in sync code (two here)
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=2)
    table = live.table()
    backend.executemany(f'INSERT INTO {table} VALUES (?, ?)', [(1, 'a'), (2, 'b')])

    async def hook() -> list[int]:
        return [row[0] async for _, batch in backend.aiter_rows(f'SELECT id FROM {table} ORDER BY id')
                for row in batch]

    assert run(backend.arun(lambda: run_awaitable(hook()))) == [1, 2]
    assert idle(backend)


def test_a_call_cancelled_before_a_worker_thread_took_it_never_runs(live) -> None:
    # One connection, so one worker thread: inside the transaction the second child's call
    # queues behind the first one's slow statement, and is cancelled there.
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=5)
    table = live.table()

    async def main() -> None:
        async with backend.atransaction():
            slow = asyncio.ensure_future(backend.afetch_value(SLOW_SQL[live.name]))
            await asyncio.sleep(0.05)
            queued = asyncio.ensure_future(backend.aexecute(f'INSERT INTO {table} VALUES (1, ?)', ('never',)))
            await asyncio.sleep(0.05)
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
            await slow
            await backend.aexecute(f'INSERT INTO {table} VALUES (2, ?)', ('committed',))

    run(main())
    assert ids(backend, table) == [2]
    assert idle(backend)


def test_waiting_threads_and_tasks_are_all_served_as_connections_come_back(live) -> None:
    backend = live.open(pool_size=2, max_overflow=0, pool_timeout=10)
    held = [backend.pool.checkout(), backend.pool.checkout()]
    thread_results: list[Any] = []
    waiting_thread = threading.Thread(target=lambda: thread_results.append(backend.fetch_value('SELECT 1')))

    async def main() -> list[Any]:
        waiting_thread.start()
        tasks = [asyncio.ensure_future(backend.afetch_value(f'SELECT {n}')) for n in (2, 3, 4)]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in tasks)
        for pooled in held:
            backend.pool.release(pooled)
        return list(await asyncio.gather(*tasks))

    assert run(main()) == [2, 3, 4]
    waiting_thread.join(10)
    assert thread_results == [1]
    assert idle(backend)


def test_closing_the_backend_wakes_a_waiting_task_with_a_clear_error(live) -> None:
    backend = live.open(pool_size=1, max_overflow=0, pool_timeout=10)
    held = backend.pool.checkout()

    async def main() -> None:
        waiting = asyncio.ensure_future(backend.afetch_value('SELECT 1'))
        await asyncio.sleep(0.05)
        backend.close()
        with pytest.raises(ActiveRecordError, match='the pool is closed'):
            await asyncio.wait_for(waiting, 5)

    run(main())
    backend.pool.release(held)
    assert backend.pool.status()['open'] == 0


@pytest.mark.backends('postgresql')
def test_arun_transaction_runs_again_after_a_real_serialization_failure(live) -> None:
    from activerecord.backend.transaction import IsolationLevel
    backend, other = live.backend, live.open()   # two pools: two sessions
    table = live.table('id INTEGER PRIMARY KEY, n INTEGER')
    backend.execute(f'INSERT INTO {table} VALUES (1, 0)')
    attempts: list[int] = []

    async def bump() -> Any:
        attempts.append(1)
        await backend.afetch_value(f'SELECT n FROM {table} WHERE id = 1')    # the snapshot is taken
        if len(attempts) == 1:   # another session commits a change to the row meanwhile
            await other.aexecute(f'UPDATE {table} SET n = n + 1 WHERE id = 1')
        await backend.aexecute(f'UPDATE {table} SET n = n + 10 WHERE id = 1')
        return await backend.afetch_value(f'SELECT n FROM {table} WHERE id = 1')

    assert run(backend.arun_transaction(bump, isolation_level=IsolationLevel.REPEATABLE_READ)) == 11
    assert len(attempts) == 2
    assert idle(backend)
