"""The async API under load (issue 19): 500 tasks x 20 operations on pool_size=5, max_overflow=5.

Every write that committed is counted as it commits, so the table must hold exactly those rows
(nothing lost, nothing extra); afterwards the pool is idle and the server holds no session the
pool does not know of. A 1 ms ticker measures the event loop's lag throughout: a few statements
sleep 1 s on the server, so a statement run on the loop would show a lag of 1 s or more.
The lag percentiles are printed; the 50 ms p99 target is the benchmark's business
(`scripts/bench.py --workloads load` runs the same scenario, beside threads on the sync API).
"""
from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import pytest

from activerecord import ActiveRecord
from scripts.benchmarks.async_workloads import SEEDED, SLEEPERS, percentile, run_async_load

TASKS = 500
OPERATIONS = 20
POOL_SIZE, MAX_OVERFLOW = 5, 5
#: the database's sessions other than the asking one (the asking one is the pool's, too)
OTHER_SESSIONS = {
    'postgresql': 'SELECT COUNT(*) FROM pg_stat_activity '
                  'WHERE datname = current_database() AND pid <> pg_backend_pid()',
    'mysql': 'SELECT COUNT(*) FROM information_schema.PROCESSLIST '
             'WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
}
#: the server-side sleep of a few statements, and a lag that means the loop was blocked by one:
#: far apart, so that a busy machine's scheduling (GC, GIL hand-offs) cannot be mistaken for it
SERVER_SLEEP_SECONDS = 1.0
BLOCKED_LOOP_LAG = 0.7


class LoadRow(ActiveRecord):
    __table_name__ = 'aio_load_rows'
    id: int
    task: int
    seq: int
    value: int = 0


async def sessions_settle(backend: Any, sql: str) -> tuple[int, int]:
    """(other sessions on the database, the pool's open connections), once the server has seen
    the closed ones go (a closed connection's session ends a moment after the client left)."""
    deadline = time.monotonic() + 10
    while True:
        others = int(await backend.afetch_value(sql))
        open_connections = backend.pool.status()['open']
        # the asking session is one of the pool's open connections
        if others + 1 <= open_connections or time.monotonic() > deadline:
            return others, open_connections
        await asyncio.sleep(0.1)


@pytest.mark.backends('postgresql', 'mysql')
def test_500_tasks_x_20_operations_lose_nothing_leak_nothing_and_never_block_the_loop(db: Any) -> None:
    db.url = f'{db.url}?pool_size={POOL_SIZE}&max_overflow={MAX_OVERFLOW}'
    db.use(LoadRow)
    backend = LoadRow.backend()

    async def scenario() -> None:
        # the scenario (scripts/benchmarks/async_workloads.py, shared with the benchmark): every
        # task at once through asyncio.gather, a 1 ms ticker beside them; each task checks its
        # reads by key, and that its count of its own rows equals what it committed so far
        run = await run_async_load(LoadRow, TASKS, OPERATIONS, sleep_seconds=SERVER_SLEEP_SECONDS)
        ledger, lags = run.ledger, run.lags
        assert ledger.operations['sleep'] == SLEEPERS
        assert sum(ledger.operations.values()) - ledger.operations['failed transaction'] \
            == TASKS * OPERATIONS
        assert ledger.operations['failed transaction'] == ledger.operations['transaction'] // 4 > 0

        # exactly the committed rows: none lost, none extra (failed transactions left nothing)
        rows = await backend.afetch_all('SELECT task, seq FROM aio_load_rows WHERE task >= 0')
        found = [(row['task'], row['seq']) for row in rows]
        assert len(found) == len(set(found)) == len(ledger.committed)
        assert set(found) == ledger.committed
        assert await LoadRow.query().acount() == SEEDED + len(ledger.committed)

        status = backend.pool.status()
        assert status['checked_out'] == 0, status
        assert status['open'] <= POOL_SIZE + MAX_OVERFLOW, status
        others, open_connections = await sessions_settle(backend, OTHER_SESSIONS[db.name])
        assert others + 1 <= open_connections <= POOL_SIZE + MAX_OVERFLOW

        # a statement run on the loop would have stopped the ticker for 300 ms
        assert max(lags) < BLOCKED_LOOP_LAG
        print(f'\n[{db.name}] {TASKS} tasks x {OPERATIONS} operations in {run.elapsed:.2f} s '
              f'({TASKS * OPERATIONS / run.elapsed:,.0f} ops/s); {dict(ledger.operations)}; '
              f'{len(ledger.committed)} rows committed; loop lag over {len(lags)} ticks: '
              f'p50 {statistics.median(lags) * 1e3:.2f} ms, p99 {percentile(lags, 0.99) * 1e3:.2f} ms, '
              f'max {max(lags) * 1e3:.2f} ms; pool {status}')

    asyncio.run(scenario())
    assert backend.pool.status()['checked_out'] == 0
