"""Cancellation (issue 19): 100 tasks, each a transaction of several writes plus some plain
statements, cancelled at seeded-random points on a pool small enough that they queue.

The points: while waiting for the pool, inside a statement (a slow one, on the server), between
statements of a transaction, during COMMIT (cancelled right after the block's exit began), and
at random times. Afterwards: the pool is clean, no row of a transaction whose block did not
complete is present (one cancelled during COMMIT may have committed: all of it or none of it,
never a part), an autocommit statement either happened whole or not at all, and the server
holds no session beyond the pool's size.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from activerecord import ActiveRecord
from activerecord.backend.transaction import IsolationLevel

TASKS = 100
POOL_SIZE, MAX_OVERFLOW = 2, 1
CAPACITY = POOL_SIZE + MAX_OVERFLOW
WRITES = (0, 1, 2)               # the seq of each row a task's transaction writes
PLAIN = 100                      # the seq of the row its autocommit write adds before that
SLOW_STATEMENT = {               # about 0.1 s of work on the server
    'sqlite': 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) '
              'SELECT COUNT(*) FROM c',
    'postgresql': 'SELECT pg_sleep(0.1)',
    'mysql': 'SELECT SLEEP(0.1)',
}
OTHER_SESSIONS = {
    'postgresql': 'SELECT COUNT(*) FROM pg_stat_activity '
                  'WHERE datname = current_database() AND pid <> pg_backend_pid()',
    'mysql': 'SELECT COUNT(*) FROM information_schema.PROCESSLIST '
             'WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
}
PLANS = ('pool', 'statement', 'between', 'commit', 'random')
RANDOM_HORIZON = 2.0             # seconds: a 'random' task is cancelled within this


class CancelRow(ActiveRecord):
    __table_name__ = 'aio_cancel_rows'
    id: int
    task: int
    seq: int


@dataclass
class Run:
    """Where each task was when it ended (its last stage), and what each cancel interrupted."""
    stage: dict[int, str] = field(default_factory=dict[int, str])
    pool_full_at_cancel: list[bool] = field(default_factory=list[bool])


async def worker(task: int, plan: str, run: Run, slow_sql: str, isolation: Any) -> None:
    me = asyncio.current_task()
    assert me is not None
    loop = asyncio.get_running_loop()
    backend = CancelRow.backend()
    run.stage[task] = 'plain write'
    await CancelRow.acreate(task=task, seq=PLAIN)
    run.stage[task] = 'plain statements'
    assert await CancelRow.query().where(CancelRow.c.task == task).acount() == 1
    if plan == 'random':
        await backend.afetch_value(slow_sql)
    if plan == 'pool':
        # The cancel lands on the next suspension: the wait for a connection when the pool is
        # full (recorded), else the BEGIN on its worker thread.
        run.pool_full_at_cancel.append(backend.pool.status()['checked_out'] == CAPACITY)
        loop.call_soon(me.cancel)
    run.stage[task] = 'begin'
    async with CancelRow.atransaction(isolation_level=isolation):
        run.stage[task] = 'body'
        await CancelRow.acreate(task=task, seq=WRITES[0])
        if plan == 'statement':
            loop.call_later(0.03, me.cancel)    # lands while the slow statement runs
        if plan in ('statement', 'random'):
            await backend.afetch_value(slow_sql)
        await CancelRow.acreate(task=task, seq=WRITES[1])
        if plan == 'between':
            me.cancel()
        await asyncio.sleep(0)                  # the application's own work between statements
        await CancelRow.acreate(task=task, seq=WRITES[2])
        if plan == 'commit':
            loop.call_soon(me.cancel)           # lands while COMMIT runs on its worker thread
        run.stage[task] = 'commit'
    run.stage[task] = 'done'


async def sessions_settle(backend: Any, sql: str) -> int:
    """The database's sessions other than the asking one, once closed ones have ended."""
    deadline = time.monotonic() + 10
    while True:
        others = int(await backend.afetch_value(sql))
        if others + 1 <= POOL_SIZE or time.monotonic() > deadline:
            return others
        await asyncio.sleep(0.1)


@pytest.mark.backends('sqlite', 'postgresql', 'mysql')
def test_100_tasks_cancelled_at_random_points_leave_no_partial_transaction_and_a_clean_pool(db: Any) -> None:
    db.url = f'{db.url}?pool_size={POOL_SIZE}&max_overflow={MAX_OVERFLOW}'
    db.use(CancelRow)
    backend = CancelRow.backend()
    rng = random.Random(19)
    plans = [rng.choice(PLANS) for _ in range(TASKS)]
    # SQLite: BEGIN IMMEDIATE, so a transaction waits for the write lock (busy_timeout) instead
    # of failing when it would upgrade a read lock another writer blocks
    isolation = IsolationLevel.SERIALIZABLE if db.name == 'sqlite' else None

    async def scenario() -> None:
        run = Run()
        loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(worker(task, plan, run, SLOW_STATEMENT[db.name], isolation))
                 for task, plan in enumerate(plans)]
        for running, plan in zip(tasks, plans):
            if plan == 'random':
                loop.call_later(rng.uniform(0, RANDOM_HORIZON), running.cancel)
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)

        rows = await backend.afetch_all('SELECT task, seq FROM aio_cancel_rows')
        written: dict[int, list[int]] = {}
        for row in rows:
            written.setdefault(row['task'], []).append(row['seq'])
        ended: Counter[str] = Counter()
        for task, (plan, outcome) in enumerate(zip(plans, outcomes)):
            stage = run.stage[task]
            seqs = sorted(written.get(task, []))
            plain = [seq for seq in seqs if seq == PLAIN]
            in_transaction = [seq for seq in seqs if seq != PLAIN]
            if outcome is None:
                assert stage == 'done' and seqs == [*WRITES, PLAIN], (task, plan, seqs)
                ended['completed'] += 1
                continue
            assert isinstance(outcome, asyncio.CancelledError), (task, plan, repr(outcome))
            ended[f'cancelled at {stage}'] += 1
            # an autocommit statement happened whole or not at all
            assert plain == ([PLAIN] if stage != 'plain write' else plain), (task, stage, seqs)
            assert len(plain) <= 1, (task, seqs)
            if stage == 'commit':   # COMMIT ran to its end: what the database says, never a part
                assert in_transaction in ([], list(WRITES)), (task, plan, seqs)
                ended['of which committed'] += bool(in_transaction)
            else:                   # the block did not complete: nothing of it is there
                assert in_transaction == [], (task, plan, stage, seqs)

        status = backend.pool.status()
        assert status['checked_out'] == 0, status
        assert status['open'] <= POOL_SIZE, status
        if db.name in OTHER_SESSIONS:
            others = await sessions_settle(backend, OTHER_SESSIONS[db.name])
            assert others + 1 <= POOL_SIZE, others
        # the run really cancelled at each kind of point
        assert any(run.pool_full_at_cancel), run.pool_full_at_cancel
        for stage in ('begin', 'body', 'commit'):
            assert ended[f'cancelled at {stage}'] > 0, ended
        print(f'\n[{db.name}] {dict(Counter(plans))}; ended: {dict(ended)}; '
              f'pool full at {sum(run.pool_full_at_cancel)} of {len(run.pool_full_at_cancel)} '
              f'pool cancels; pool {status}')

    asyncio.run(scenario())
