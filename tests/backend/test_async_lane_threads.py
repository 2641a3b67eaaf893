"""Lane threads are reused: a transaction or stream lane is served by an idle thread left by an
earlier lane when there is one, idle threads exit after their timeout, and no lane is ever left
unserved when a thread's timeout and a new lane meet (each test uses a pool of its own, so
threads left idle by other tests do not count).

A lane left unserved would hang its job: the waits below have a generous limit so such a bug
fails the test instead of hanging the suite; they assert no timing.
"""
from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any, Callable

import pytest

from activerecord.backend import aio
from activerecord.backend.aio import IDLE_LANE_THREAD, Lane, LaneThreads
from activerecord.backend.base import StorageBackend

HANG_LIMIT = 30.0   # seconds: only a lane left unserved takes this long


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'still waiting for {what}')
        time.sleep(0.001)


def idle_lane_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == IDLE_LANE_THREAD]


@pytest.fixture
def own_threads(monkeypatch: pytest.MonkeyPatch) -> LaneThreads:
    threads = LaneThreads(idle_timeout=60.0)
    monkeypatch.setattr(aio, 'lane_threads', threads)
    return threads


def test_transactions_and_streams_one_after_another_run_on_one_reused_thread(live: Any, own_threads: LaneThreads) -> None:
    backend: StorageBackend = live.backend
    table: str = live.table()
    before = {thread.ident for thread in threading.enumerate()}
    idle_before = len(idle_lane_threads())
    served: list[threading.Thread] = []

    async def scenario() -> None:
        for n in range(40):
            async with backend.atransaction():
                await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (n, 'row'))
                served.append(await backend.arun(threading.current_thread))
            # the lane's thread turns idle just after the transaction's COMMIT comes back
            await asyncio.to_thread(wait_until, lambda: len(idle_lane_threads()) > idle_before,
                                    'the lane thread to turn idle')
        for _ in range(5):
            async for _labels, rows in backend.aiter_rows(f'SELECT id FROM {table}', batch_size=10):
                assert rows
            await asyncio.to_thread(wait_until, lambda: len(idle_lane_threads()) > idle_before,
                                    'the stream thread to turn idle')

    asyncio.run(scenario())
    assert len(set(served)) == 1   # 40 transactions, one thread
    lane_thread = served[0]
    assert lane_thread.ident not in before and lane_thread.daemon and lane_thread.is_alive()
    assert lane_thread.name == IDLE_LANE_THREAD   # waiting for the next lane
    new_threads = [thread for thread in threading.enumerate()
                   if thread.ident not in before and thread.name.startswith('activerecord-')]
    assert new_threads == [lane_thread]   # the streams ran on it too
    assert sorted(row['id'] for row in backend.fetch_all(f'SELECT id FROM {table}')) == list(range(40))


def test_a_lane_is_named_for_its_work_while_served_and_its_thread_exits_when_idle_too_long() -> None:
    threads = LaneThreads(idle_timeout=0.05)
    lane = Lane()
    threads.serve(lane, 'activerecord-test-transaction')
    future = lane.submit(threading.current_thread)
    assert future is not None
    thread = future.result(timeout=HANG_LIMIT)
    assert thread.name == 'activerecord-test-transaction' and thread.daemon
    lane.finish()
    thread.join(timeout=HANG_LIMIT)
    assert not thread.is_alive()


def test_lanes_started_while_idle_threads_time_out_are_all_served() -> None:
    # A timeout far below a job's hand-off: lanes are queued exactly as idle threads give up.
    threads = LaneThreads(idle_timeout=0.0002)
    seen: set[threading.Thread] = set()
    seen_lock = threading.Lock()
    failures: list[BaseException] = []

    def starter(seed: int) -> None:
        chance = random.Random(seed)
        try:
            for _ in range(300):
                lanes = [Lane() for _ in range(chance.randint(1, 4))]
                futures: list[Any] = []
                for lane in lanes:
                    threads.serve(lane, 'activerecord-test-stress')
                    futures.append(lane.submit(threading.current_thread))
                    lane.finish()
                for future in futures:
                    thread = future.result(timeout=HANG_LIMIT)   # unserved: TimeoutError
                    with seen_lock:
                        seen.add(thread)
                if chance.random() < 0.3:
                    time.sleep(chance.choice((0.0, 0.0001, 0.0003)))
        except BaseException as error:
            failures.append(error)

    starters = [threading.Thread(target=starter, args=(seed,)) for seed in range(4)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join()
    assert failures == []
    assert all(thread.daemon for thread in seen)
    for thread in seen:   # every thread ends once nothing more comes
        thread.join(timeout=HANG_LIMIT)
    assert not any(thread.is_alive() for thread in seen)


def test_concurrent_transactions_with_a_tiny_idle_timeout_all_commit(live: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aio, 'lane_threads', LaneThreads(idle_timeout=0.0002))
    backend: StorageBackend = live.open(pool_size=4, max_overflow=2, pool_timeout=HANG_LIMIT)
    table: str = live.table()

    async def one(n: int) -> None:
        async with backend.atransaction():
            await backend.aexecute(f'INSERT INTO {table} VALUES (?, ?)', (n, 'row'))

    async def scenario() -> None:
        for start in range(0, 120, 12):
            await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(start, start + 12))), HANG_LIMIT)

    asyncio.run(scenario())
    assert sorted(row['id'] for row in backend.fetch_all(f'SELECT id FROM {table}')) == list(range(120))
    status = backend.pool.status()
    assert status['checked_out'] == 0
