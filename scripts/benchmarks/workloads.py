"""The measurements: a timed workload run, peak and kept memory, and the pool under threads."""

import gc
import statistics
import threading
import time
import tracemalloc
from dataclasses import dataclass
from time import perf_counter, process_time
from typing import Callable

from .async_workloads import async_find_by_pk, async_save_each, load_async, load_threads
from .common import Figures, Sample, Sizes, WorkData
from .impls import Implementation

THREAD_TIMEOUT = 600.0    # a pool workload that takes longer than this is reported as hung


def expect(what: str, got: int, wanted: int) -> None:
    """Fail the run when a workload did not do all of its work."""
    if got != wanted:
        raise AssertionError(f'{what}: got {got}, expected {wanted}')


def timed(method: str, args: Callable[[WorkData], tuple], wanted: Callable[[WorkData], int],
          seed: bool) -> Callable[[Implementation, WorkData], float]:
    """A run of one workload method on fresh tables, timed; seconds."""
    def run(impl: Implementation, data: WorkData) -> float:
        impl.reset(data if seed else None)
        call_args = args(data)
        gc.collect()
        cpu_start = process_time()
        start = perf_counter()
        count = getattr(impl, method)(*call_args)
        elapsed = perf_counter() - start
        cpu = process_time() - cpu_start
        expect(method, count, wanted(data))
        return Sample(elapsed, cpu)
    return run


def eager_loading(impl: Implementation, data: WorkData) -> Sample:
    """(e2) Users with their posts and the posts' comments, loaded and walked; timed."""
    impl.reset_eager()
    sizes = data.sizes
    gc.collect()
    cpu_start = process_time()
    start = perf_counter()
    count = impl.eager_load()
    elapsed = perf_counter() - start
    cpu = process_time() - cpu_start
    expect('eager_load', count,
           sizes.eager_users * sizes.eager_posts_per_user * sizes.eager_comments_per_post)
    return Sample(elapsed, cpu)


def peak_memory_of_objects(impl: Implementation, data: WorkData) -> float:
    """(c) Peak traced memory while reading every row as objects; MiB."""
    impl.reset(data)
    gc.collect()
    tracemalloc.start()
    try:
        count = impl.query_objects()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expect('query_objects', count, data.sizes.rows)
    return peak / 2**20


def memory_kept_by_objects(impl: Implementation, data: WorkData) -> float:
    """(c) Traced memory the loaded objects still hold once the query is done; MiB. With the
    raw driver's tuples and activerecord's peak this gives the memory target's yardstick."""
    impl.reset(data)
    gc.collect()
    tracemalloc.start()
    try:
        objects = impl.load_objects()
        gc.collect()                   # what the query left behind is not the objects' own
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    expect('load_objects', len(objects), data.sizes.rows)
    del objects
    return kept / 2**20


def pool_throughput(impl: Implementation, data: WorkData) -> float:
    """(f) Queries per second from all threads together."""
    impl.prepare_pool()
    per_thread = data.sizes.queries_per_thread

    def work() -> None:
        for _ in range(per_thread):
            impl.pooled_query()

    elapsed = run_in_threads(data.sizes.threads, work)
    return data.sizes.threads * per_thread / elapsed


def pool_checkout_cost(impl: Implementation, data: WorkData) -> float:
    """(f) Median wall time of one checkout + return under the same threads; microseconds."""
    impl.prepare_pool()
    samples: list[float] = []
    per_thread = data.sizes.queries_per_thread

    def work() -> None:
        local = []
        for _ in range(per_thread):
            start = perf_counter()
            with impl.pool_checkout():
                pass
            local.append(perf_counter() - start)
        samples.extend(local)

    run_in_threads(data.sizes.threads, work)
    return statistics.median(samples) * 1e6


def run_in_threads(count: int, target: Callable[[], None]) -> float:
    """Run target() in `count` threads started together; wall time until all are done."""
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def body() -> None:
        barrier.wait()
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=body, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = perf_counter()
    deadline = time.monotonic() + THREAD_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    elapsed = perf_counter() - start
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f'pool workload still running after {THREAD_TIMEOUT:.0f}s')
    if errors:
        raise errors[0]
    return elapsed


@dataclass(frozen=True)
class Metric:
    """One row of the results table."""
    key: str
    workload: str
    label: Callable[[Sizes], str]
    unit: str
    run: Callable[[Implementation, WorkData], float | Sample | Figures]
    higher_is_better: bool = False
    #: the figure of the same implementation this one's ratio is to (None: the raw driver's)
    ratio_to: str | None = None


def rows_of(data: WorkData) -> int:
    """The number of rows each run works on."""
    return data.sizes.rows


METRICS = [
    Metric('a', 'a', lambda s: f'a. {s.rows:,} × save(), one transaction', 's',
           timed('save_each', lambda d: (d.fresh_rows(),), rows_of, seed=False)),
    Metric('b', 'b', lambda s: f'b. insert_many, {s.rows:,} rows (raw: executemany)', 's',
           timed('insert_many', lambda d: (d.fresh_rows(),), rows_of, seed=False)),
    Metric('b2', 'b2', lambda s: f'b2. insert_many, {s.bulk_rows:,} rows (raw: COPY FROM STDIN on '
                                 'PostgreSQL, executemany elsewhere)', 's',
           timed('bulk_load', lambda d: (d.fresh_bulk_rows(),), lambda d: d.sizes.bulk_rows, seed=False)),
    Metric('c_objects', 'c', lambda s: f'c. query {s.rows:,} rows → objects (raw: tuples)', 's',
           timed('query_objects', lambda d: (), rows_of, seed=True)),
    Metric('c_dicts', 'c', lambda s: f'c. query {s.rows:,} rows → dicts', 's',
           timed('query_dicts', lambda d: (), rows_of, seed=True)),
    Metric('c_memory', 'c', lambda s: f'c. peak memory, {s.rows:,} objects (raw: tuples)',
           'MiB', peak_memory_of_objects),
    Metric('c_kept', 'c', lambda s: f'c. memory the {s.rows:,} objects keep (raw: tuples)',
           'MiB', memory_kept_by_objects),
    Metric('d', 'd', lambda s: f'd. {s.lookups:,} × find_one(pk)', 's',
           timed('find_by_pk', lambda d: (d.keys,), lambda d: d.sizes.lookups, seed=True)),
    Metric('e', 'e', lambda s: f'e. join + group by + aggregates × {s.aggregate_reps}', 's',
           timed('aggregate', lambda d: (d.sizes.aggregate_reps,),
                 lambda d: d.sizes.categories, seed=True)),
    Metric('e2', 'e2', lambda s: f"e2. {s.eager_users:,} users × {s.eager_posts_per_user} posts × "
                                 f"{s.eager_comments_per_post} comments, with_('posts.comments')", 's',
           eager_loading),
    Metric('f_throughput', 'f',
           lambda s: f'f. pool of {s.pool_size}: {s.threads} threads × '
                     f'{s.queries_per_thread} SELECT 1', 'q/s', pool_throughput,
           higher_is_better=True),
    Metric('f_checkout', 'f', lambda s: f'f. median checkout + return ({s.threads} threads)',
           'µs', pool_checkout_cost),
    Metric('async_a', 'async', lambda s: f'async a. {s.rows:,} × await asave(), one transaction '
                                         '(ratio: to a)', 's', async_save_each, ratio_to='a'),
    Metric('async_d', 'async', lambda s: f'async d. {s.lookups:,} × await afind_one(pk) '
                                         '(ratio: to d)', 's', async_find_by_pk, ratio_to='d'),
    Metric('load_async', 'load',
           lambda s: f'load. {s.load_tasks} tasks × {s.load_operations} ops, async, pool '
                     f'{s.load_pool_size}+{s.load_max_overflow} (ratio: to threads)', 'ops/s',
           load_async, higher_is_better=True, ratio_to='load_threads'),
    Metric('load_threads', 'load',
           lambda s: f'load. the same work, {s.load_threads} threads × sync API', 'ops/s',
           load_threads, higher_is_better=True),
]
