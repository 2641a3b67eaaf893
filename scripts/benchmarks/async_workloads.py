"""The async workloads: activerecord's async API beside its own sync API, in the same run.

async  workload a's single-row saves (one transaction) and d's find_one(pk), through the awaitable
       twins, one task awaiting them one after another. Each figure's ratio is to the sync
       figure (a, d) of the same run, so selecting `async` measures a and d too.
load   issue 19's load scenario: `load_tasks` tasks x `load_operations` mixed operations (reads by
       key, small queries, single-row writes outside transactions, transactions of 2-3 writes of
       which a quarter fail on purpose, and a 0.3 s server-side sleep in ten tasks) on its own
       pool of pool_size=5, max_overflow=5, run with asyncio.gather while a 1 ms ticker task
       records the event loop's lag; then the same work by `load_threads` threads through the
       sync API on the same pool. Figures: operations per second of each, the event loop's lag
       p50/p99/max (target: p99 under 50 ms).

Only activerecord has an async API: every other implementation is reported as n/a. The load
scenario's pieces (plan, workers, ledger, ticker) are shared with tests/async_api/test_async_load.py,
which checks the same run for lost rows and leaked connections.
"""

import asyncio
import contextlib
import functools
import gc
import itertools
import random
import statistics
import threading
from collections import Counter
from dataclasses import dataclass, field
from time import perf_counter, process_time
from typing import Any, Callable, Coroutine, Generator

from .common import Figures, NotApplicable, Sample, WorkData

#: tasks whose first operation is a server-side sleep, and the statement on each server
SLEEPERS = 10
SERVER_SLEEP = {'postgresql': 'SELECT pg_sleep({seconds})', 'mysql': 'SELECT SLEEP({seconds})'}
#: rows the reads by key look up, written before the timed part (task -1)
SEEDED = 50
#: the operation mix, by weight
MIX = (('key', 30), ('query', 20), ('write', 25), ('transaction', 25))
#: the loop lag target of issue 19, milliseconds at p99
LAG_P99_TARGET_MS = 50.0


# -- the load scenario, shared with the load test ---------------------------------------------

class PlannedFailure(Exception):
    """Raised at the end of a transaction on purpose: it must leave nothing behind."""


@dataclass
class Ledger:
    """What a load run did: the (task, seq) of every committed write, recorded once it committed,
    and how many operations of each kind ran. Thread-safe (the sync run shares one)."""
    committed: set[tuple[int, int]] = field(default_factory=set[tuple[int, int]])
    per_task: dict[int, int] = field(default_factory=dict[int, int])
    operations: Counter[str] = field(default_factory=Counter[str])
    _transactions: 'itertools.count[int]' = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def did(self, kind: str) -> None:
        with self._lock:
            self.operations[kind] += 1

    def next_transaction_fails(self) -> bool:
        """Every fourth transaction of the run fails on purpose."""
        with self._lock:
            return next(self._transactions) % 4 == 3

    def commit(self, task: int, numbers: list[int]) -> None:
        with self._lock:
            self.committed.update((task, number) for number in numbers)
            self.per_task[task] = self.per_task.get(task, 0) + len(numbers)

    def committed_by(self, task: int) -> int:
        return self.per_task.get(task, 0)


def plan(task: int, operations: int, has_sleep: bool) -> list[tuple[str, int]]:
    """The task's operations, the same for the async and the sync run: (kind, argument), where
    the argument is the index of the seeded row to read, or the number of writes of a transaction."""
    rng = random.Random(task)
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    steps: list[tuple[str, int]] = []
    for operation in range(operations):
        if operation == 0 and task < SLEEPERS and has_sleep:
            steps.append(('sleep', 0))
            continue
        kind = rng.choices(kinds, weights)[0]
        argument = 0
        if kind == 'key':
            argument = rng.randrange(SEEDED)
        elif kind == 'transaction':
            argument = rng.choice((2, 3))
        steps.append((kind, argument))
    return steps


def seed(model: Any) -> list[int]:
    """Fresh rows for the reads by key; their ids."""
    model.insert_many([{'task': -1, 'seq': number} for number in range(SEEDED)])
    return [row.id for row in model.query().where(model.c.task == -1).order_by('id').all()]


def check_found(found: Any, key: int) -> None:
    if found is None or found.id != key or found.task != -1:
        raise AssertionError(f'find_one({key}) returned {found!r}, expected seeded row {key}')


def check_own_count(task: int, mine: int, ledger: Ledger) -> None:
    if mine != ledger.committed_by(task):
        raise AssertionError(f'task {task} sees {mine} rows of its own, '
                             f'{ledger.committed_by(task)} committed')


async def async_worker(model: Any, task: int, steps: list[tuple[str, int]], seed_ids: list[int],
                       ledger: Ledger, sleep_sql: str | None) -> None:
    """One task's operations through the async API."""
    seq = itertools.count()
    for operation, (kind, argument) in enumerate(steps):
        if kind == 'sleep':
            await model.backend().afetch_value(sleep_sql)
        elif kind == 'key':
            check_found(await model.afind_one(seed_ids[argument]), seed_ids[argument])
        elif kind == 'query':   # the task's own committed rows are visible to its next statement
            check_own_count(task, await model.query().where(model.c.task == task).acount(), ledger)
        elif kind == 'write':
            number = next(seq)
            await model.acreate(task=task, seq=number, value=operation)
            ledger.commit(task, [number])
        else:
            numbers = [next(seq) for _ in range(argument)]
            try:
                async with model.atransaction():
                    for number in numbers:
                        await model.acreate(task=task, seq=number, value=operation)
                    if ledger.next_transaction_fails():
                        raise PlannedFailure(f'task {task}, operation {operation}')
            except PlannedFailure:
                ledger.did('failed transaction')
            else:
                ledger.commit(task, numbers)
        ledger.did(kind)


def sync_worker(model: Any, task: int, steps: list[tuple[str, int]], seed_ids: list[int],
                ledger: Ledger, sleep_sql: str | None) -> None:
    """The same operations through the sync API."""
    seq = itertools.count()
    for operation, (kind, argument) in enumerate(steps):
        if kind == 'sleep':
            model.backend().fetch_value(sleep_sql)
        elif kind == 'key':
            check_found(model.find_one(seed_ids[argument]), seed_ids[argument])
        elif kind == 'query':
            check_own_count(task, model.query().where(model.c.task == task).count(), ledger)
        elif kind == 'write':
            number = next(seq)
            model.create(task=task, seq=number, value=operation)
            ledger.commit(task, [number])
        else:
            numbers = [next(seq) for _ in range(argument)]
            try:
                with model.transaction():
                    for number in numbers:
                        model.create(task=task, seq=number, value=operation)
                    if ledger.next_transaction_fails():
                        raise PlannedFailure(f'task {task}, operation {operation}')
            except PlannedFailure:
                ledger.did('failed transaction')
            else:
                ledger.commit(task, numbers)
        ledger.did(kind)


async def ticker(stop: asyncio.Event, lags: list[float]) -> None:
    """Every 1 ms: how late (seconds) the loop woke this task up."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(0.001)
        lags.append(loop.time() - start - 0.001)


@dataclass
class LoadRun:
    """One load run: what it did, how long it took (s), and the loop's lags (s; async run only)."""
    ledger: Ledger
    elapsed: float
    lags: list[float] = field(default_factory=list[float])


def sleep_statement(model: Any, seconds: float) -> str | None:
    """The backend's server-side sleep of `seconds`, or None where it has none."""
    template = SERVER_SLEEP.get(model.backend().name)
    return None if template is None else template.format(seconds=seconds)


async def run_async_load(model: Any, tasks: int, operations: int, sleep_seconds: float = 0.3) -> LoadRun:
    """The scenario through the async API: every task at once (asyncio.gather), ticker beside."""
    sleep_sql = sleep_statement(model, sleep_seconds)
    seed_ids = await model.backend().arun(seed, model)
    steps = [plan(task, operations, sleep_sql is not None) for task in range(tasks)]
    ledger, stop = Ledger(), asyncio.Event()
    lags: list[float] = []
    gc.collect()   # what the setup left is not the run's garbage (a full collection stops the loop)
    tick = asyncio.create_task(ticker(stop, lags))
    start = perf_counter()
    try:
        await asyncio.gather(*(async_worker(model, task, steps[task], seed_ids, ledger, sleep_sql)
                               for task in range(tasks)))
    finally:
        stop.set()
        await tick
    return LoadRun(ledger, perf_counter() - start, lags)


def run_threaded_load(model: Any, tasks: int, operations: int, threads: int,
                      sleep_seconds: float = 0.3) -> LoadRun:
    """The same scenario through the sync API: `threads` threads share the tasks."""
    sleep_sql = sleep_statement(model, sleep_seconds)
    seed_ids = seed(model)
    steps = [plan(task, operations, sleep_sql is not None) for task in range(tasks)]
    ledger = Ledger()
    errors: list[BaseException] = []

    def body(first: int) -> None:
        try:
            for task in range(first, tasks, threads):
                sync_worker(model, task, steps[task], seed_ids, ledger, sleep_sql)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    workers = [threading.Thread(target=body, args=(first,), daemon=True) for first in range(threads)]
    start = perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = perf_counter() - start
    if errors:
        raise errors[0]
    return LoadRun(ledger, elapsed)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def lag_figures(lags: list[float]) -> dict[str, float]:
    """p50, p99 and max of the loop's lag, in milliseconds."""
    return {'lag_p50_ms': statistics.median(lags) * 1e3, 'lag_p99_ms': percentile(lags, 0.99) * 1e3,
            'lag_max_ms': max(lags) * 1e3}


# -- the benchmark's side: models, checks, the metrics' run functions ------------------------

@functools.cache
def load_model() -> Any:
    """The load scenario's table (a model of the public API; both runs write it)."""
    from activerecord import ActiveRecord

    class BenchLoadRow(ActiveRecord):
        __table_name__ = 'bench_load_rows'
        id: int
        task: int
        seq: int
        value: int = 0

    return BenchLoadRow


def item_model(impl: Any) -> Any:
    """activerecord's benchmark model of workloads a and d; other libraries have no async API."""
    if impl.name != 'activerecord':
        raise NotApplicable('no async API')
    return impl.Item


@contextlib.contextmanager
def load_model_on(impl: Any) -> Generator[Any, None, None]:
    """The load model on a pool of its own (pool_size=5, max_overflow=5) with a fresh empty
    table; afterwards the table is dropped and the pool closed (the next run starts cold too)."""
    item_model(impl)
    sizes = impl.sizes
    model = load_model()
    separator = '&' if '?' in impl.url else '?'
    model.configure(f'{impl.url}{separator}pool_size={sizes.load_pool_size}'
                    f'&max_overflow={sizes.load_max_overflow}')
    try:
        model.drop_table(if_exists=True)
        model.create_table()
        yield model
    finally:
        try:
            model.drop_table(if_exists=True)
        finally:
            model.backend().close()


def check_committed(model: Any, run: LoadRun) -> None:
    """Exactly the committed rows are there, and the pool is idle again."""
    rows = model.backend().fetch_all('SELECT task, seq FROM bench_load_rows WHERE task >= 0')
    found = {(row['task'], row['seq']) for row in rows}
    if len(rows) != len(found) or found != run.ledger.committed:
        raise AssertionError(f'load run: {len(rows)} rows written, {len(run.ledger.committed)} '
                             f'committed ({len(found - run.ledger.committed)} extra, '
                             f'{len(run.ledger.committed - found)} lost)')
    status = model.backend().pool.status()
    if status['checked_out']:
        raise AssertionError(f'load run left connections checked out: {status}')


def in_new_loop(work: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[Any, float, float]:
    """Run a coroutine on a fresh event loop, timing only the coroutine: (result, wall, cpu)."""
    loop = asyncio.new_event_loop()
    try:
        gc.collect()
        cpu_start = process_time()
        start = perf_counter()
        outcome = loop.run_until_complete(work())
        return outcome, perf_counter() - start, process_time() - cpu_start
    finally:
        loop.close()


def async_save_each(impl: Any, data: WorkData) -> Sample:
    """(async a) One `await item.asave()` per row, all in one async transaction; seconds."""
    model = item_model(impl)
    impl.reset(None)
    rows = data.fresh_rows()

    async def work() -> int:
        saved = 0
        async with model.atransaction():
            for row in rows:
                item = model(**row)
                await item.asave()
                saved += item.id is not None
        return saved

    saved, wall, cpu = in_new_loop(work)
    if saved != data.sizes.rows:
        raise AssertionError(f'async save_each: got {saved}, expected {data.sizes.rows}')
    return Sample(wall, cpu)


def async_find_by_pk(impl: Any, data: WorkData) -> Sample:
    """(async d) One `await Model.afind_one(pk)` per key, outside any transaction; seconds."""
    model = item_model(impl)
    impl.reset(data)

    async def work() -> int:
        return sum([await model.afind_one(key) is not None for key in data.keys])

    found, wall, cpu = in_new_loop(work)
    if found != data.sizes.lookups:
        raise AssertionError(f'async find_by_pk: got {found}, expected {data.sizes.lookups}')
    return Sample(wall, cpu)


def load_async(impl: Any, data: WorkData) -> Figures:
    """(load) Operations per second of the async run, with the loop's lag during it."""
    sizes = data.sizes
    with load_model_on(impl) as model:
        run, _, _ = in_new_loop(lambda: run_async_load(model, sizes.load_tasks, sizes.load_operations))
        check_committed(model, run)
    return Figures(sizes.load_tasks * sizes.load_operations / run.elapsed, lag_figures(run.lags))


def load_threads(impl: Any, data: WorkData) -> float:
    """(load) Operations per second of the same work by threads through the sync API."""
    sizes = data.sizes
    with load_model_on(impl) as model:
        gc.collect()
        run = run_threaded_load(model, sizes.load_tasks, sizes.load_operations, sizes.load_threads)
        check_committed(model, run)
    return sizes.load_tasks * sizes.load_operations / run.elapsed


# -- the report's section ------------------------------------------------------------------------

#: the async figures and the sync figures they are compared with, as the report names them
COMPARED = (('async_a', 'a', 'a. single-row saves, one transaction'),
            ('async_d', 'd', 'd. find_one(pk)'),
            ('load_async', 'load_threads', 'load: operations per second (sync: threads)'))


def _value(value: float, unit: str) -> str:
    if unit == 's':
        return f'{value * 1e3:,.2f} ms'
    return f'{value:,.0f} {unit}'


def async_report(results: list[Any], backends: list[str]) -> list[str]:
    """Markdown lines: each async figure beside its sync twin of the same run, and the event
    loop's lag under load against its target."""
    cells = {(r.backend, r.metric): r for r in results if r.impl == 'activerecord'}
    rows: list[str] = []
    for backend in backends:
        for metric, sync_metric, label in COMPARED:
            measured, sync = cells.get((backend, metric)), cells.get((backend, sync_metric))
            if measured is None or measured.median is None or sync is None or sync.median is None:
                continue
            ratio = f'{measured.ratio:.2f}x' if measured.ratio is not None else '—'
            rows.append(f'| {backend} | {label} | {_value(measured.median, measured.unit)} | '
                        f'{_value(sync.median, sync.unit)} | {ratio} |')
        load = cells.get((backend, 'load_async'))
        if load is not None and load.extras:
            p99 = load.extras['lag_p99_ms']
            verdict = 'met' if p99 < LAG_P99_TARGET_MS else 'MISSED'
            rows.append(f'| {backend} | load: event loop lag p50 / p99 / max | '
                        f'{load.extras["lag_p50_ms"]:.2f} / {p99:.2f} / '
                        f'{load.extras["lag_max_ms"]:.1f} ms | target p99 < '
                        f'{LAG_P99_TARGET_MS:g} ms | {verdict} |')
    if not rows:
        return []
    return ['## activerecord async API against its sync API (same run)', '',
            'Ratio: the async cost over the sync one (for throughput, the sync rate over the '
            'async rate); 1.00x = as fast as the sync API, lower is better.', '',
            '| backend | figure | async | sync | ratio |', '|---|---|---|---|---|', *rows, '']
