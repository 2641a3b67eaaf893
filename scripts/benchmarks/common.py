"""What every part of the benchmark shares: settings, sizes, the work data and the results."""

import os
import random
import sys
from dataclasses import dataclass, field, replace
from decimal import Decimal

DEFAULT_URLS = {
    'sqlite': 'sqlite://',
    'postgresql': os.environ.get('BENCH_POSTGRESQL_URL',
                                 'postgresql://postgres@127.0.0.1:5432/test'),
    'mysql': os.environ.get('BENCH_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
}
POOL_TIMEOUT = 30.0       # seconds a pooled checkout may wait
ALL_BACKENDS = ('sqlite', 'postgresql', 'mysql')
ALL_WORKLOADS = ('a', 'b', 'b2', 'c', 'd', 'e', 'e2', 'f', 'async', 'load')
#: workloads whose ratios are to other workloads' figures, which are then measured too
WORKLOAD_NEEDS = {'async': ('a', 'd')}


class NotApplicable(Exception):
    """The implementation has no way to do this measurement (reported as n/a, not an error)."""


@dataclass(frozen=True)
class Sizes:
    """How much work each workload does."""
    rows: int = 10_000
    bulk_rows: int = 100_000   # b2: a bulk load big enough for COPY's speed to show
    lookups: int = 1_000
    aggregate_reps: int = 200
    threads: int = 16
    queries_per_thread: int = 500
    pool_size: int = 8
    categories: int = 20
    # the async load scenario (issue 19): tasks x operations on its own pool, against threads
    load_tasks: int = 500
    load_operations: int = 20
    load_threads: int = 10
    load_pool_size: int = 5
    load_max_overflow: int = 5
    # e2, eager loading (issue 22): users, each with posts, each post with comments
    eager_users: int = 1_000
    eager_posts_per_user: int = 5
    eager_comments_per_post: int = 2

    def scaled(self, factor: int) -> 'Sizes':
        """The same shape with the counts divided by `factor` (threads and pool unchanged)."""
        return replace(self, rows=self.rows // factor, bulk_rows=self.bulk_rows // factor, lookups=self.lookups // factor,
                       aggregate_reps=self.aggregate_reps // factor,
                       queries_per_thread=self.queries_per_thread // factor,
                       load_tasks=self.load_tasks // factor,
                       eager_users=self.eager_users // factor)


@dataclass
class WorkData:
    """The rows and keys every implementation is given, identical for all of them."""
    sizes: Sizes
    rows: list[dict]
    keys: list[int]

    @classmethod
    def generate(cls, sizes: Sizes) -> 'WorkData':
        """Build deterministic rows and a deterministic sample of distinct primary keys."""
        rows = [{'name': f'item {i:06d}', 'qty': i % 97,
                 'price': Decimal((i * 7919) % 100_000).scaleb(-2),
                 'category_id': i % sizes.categories + 1} for i in range(sizes.rows)]
        keys = random.Random(42).sample(range(1, sizes.rows + 1), sizes.lookups)
        return cls(sizes, rows, keys)

    def fresh_rows(self) -> list[dict]:
        """Copies of the rows, so no implementation can see another one's mutations."""
        return [dict(row) for row in self.rows]

    def fresh_bulk_rows(self) -> list[dict]:
        """(b2) sizes.bulk_rows new rows of the same shape as `rows`, built anew for each run."""
        categories = self.sizes.categories
        return [{'name': f'item {i:06d}', 'qty': i % 97, 'price': Decimal((i * 7919) % 100_000).scaleb(-2),
                 'category_id': i % categories + 1} for i in range(self.sizes.bulk_rows)]


@dataclass
class Result:
    """One figure: an implementation's runs of one metric on one backend."""
    backend: str
    impl: str
    metric: str
    unit: str
    runs: list[float] = field(default_factory=list)
    median: float | None = None
    ratio: float | None = None
    error: str | None = None
    not_applicable: str | None = None
    #: CPU seconds this process spent in each timed run, and their median: against a
    #: server, the wall time includes the server's work, this is the client's share alone
    client_cpu_runs: list[float] = field(default_factory=list)
    client_cpu_median: float | None = None
    #: figures measured beside the main one in each run (e.g. the event loop's lag), and medians
    extra_runs: dict[str, list[float]] = field(default_factory=dict)
    extras: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """What one timed run measured: wall-clock seconds and this process's CPU seconds."""
    wall: float
    client_cpu: float


@dataclass(frozen=True)
class Figures:
    """What one run of a metric with companion figures measured: the metric's value and the
    others (name -> value), kept beside it in Result.extras."""
    value: float
    extras: dict[str, float]


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays a clean report."""
    print(message, file=sys.stderr, flush=True)


def describe(exc: BaseException) -> str:
    """An exception as one line for a table cell."""
    return f'{type(exc).__name__}: {exc}'
