"""activerecord's goals against the raw driver, and its standing against the peer ORMs."""

from dataclasses import dataclass

from .common import Result
from .workloads import METRICS


@dataclass(frozen=True)
class Target:
    """A goal for activerecord's ratio to the raw driver."""
    backend: str
    metric: str
    max_ratio: float


#: activerecord's peak memory in (c) may be this many times the tuples plus the records
MEMORY_TARGET = 2.0
#: the ORMs activerecord is to be faster than, on every speed figure of every backend
PEERS = ('sqlalchemy_orm', 'peewee')
#: backends that run inside the benchmark's process: their CPU time is the wall time
EMBEDDED_BACKENDS = frozenset({'sqlite'})
#: the units of speed figures (peak memory is a size, not a speed)
SPEED_UNITS = ('s', 'q/s', 'µs')

#: issue 22's targets (the floor from here on): backend -> {metric: largest ratio to the raw driver}
TARGET_TABLE: dict[str, dict[str, float]] = {
    'sqlite': {'a': 4.0, 'b': 1.3, 'c_objects': 2.5, 'c_dicts': 1.0, 'd': 3.0},
    # b: to pg8000's executemany; b2: to pg8000's COPY FROM STDIN of the same rows
    'postgresql': {'a': 0.6, 'b': 0.05, 'b2': 2.0, 'c_objects': 1.3, 'c_dicts': 1.1, 'd': 0.6},
    'mysql': {'a': 1.2, 'b': 1.1, 'c_objects': 1.5, 'c_dicts': 1.1, 'd': 1.15},
}
TARGETS = [Target(backend, metric, limit)
           for backend, limits in TARGET_TABLE.items() for metric, limit in limits.items()]


def target_rows(results: list[Result], backends: list[str]) -> list[dict]:
    """activerecord's ratios against the targets, for every measured backend and metric."""
    cells = {(r.backend, r.metric): r for r in results if r.impl == 'activerecord'}
    rows = []
    for target in TARGETS:
        result = cells.get((target.backend, target.metric))
        if target.backend not in backends or result is None:
            continue
        status = 'not measured'
        if result.ratio is not None:
            status = 'met' if result.ratio <= target.max_ratio else 'MISSED'
        rows.append({'backend': target.backend, 'metric': target.metric,
                     'max_ratio': target.max_ratio, 'ratio': result.ratio, 'status': status})
    return rows + memory_target_rows(results, backends)


def memory_target_rows(results: list[Result], backends: list[str]) -> list[dict]:
    """activerecord's peak memory in (c) against the raw driver's tuples plus the records
    themselves: the objects must cost no more than twice what they hold."""
    cells = {(r.backend, r.impl, r.metric): r.median for r in results}
    rows = []
    for backend in backends:
        peak = cells.get((backend, 'activerecord', 'c_memory'))
        tuples = cells.get((backend, 'raw', 'c_memory'))
        records = cells.get((backend, 'activerecord', 'c_kept'))
        if peak is None and tuples is None and records is None:
            continue
        ratio = peak / (tuples + records) if peak and tuples and records else None
        status = 'not measured' if ratio is None else (
            'met' if ratio <= MEMORY_TARGET else 'MISSED')
        # the tuples and the records share the row's values, so the yardstick counts them
        # twice; peak ÷ records kept is the stricter view, reported beside it
        rows.append({'backend': backend, 'metric': 'c_memory ÷ (raw tuples + records kept)',
                     'max_ratio': MEMORY_TARGET, 'ratio': ratio, 'status': status,
                     'peak_over_records_kept': peak / records if peak and records else None})
    return rows


def peer_rows(results: list[Result], backends: list[str]) -> list[dict]:
    """activerecord against each peer ORM on every speed figure both measured."""
    cells = {(r.backend, r.impl, r.metric): r for r in results}
    higher_is_better_metrics = {metric.key for metric in METRICS if metric.higher_is_better}
    rows = []
    for result in results:
        if (result.impl != 'activerecord' or result.backend not in backends
                or result.unit not in SPEED_UNITS or result.median is None):
            continue
        higher_is_better = result.metric in higher_is_better_metrics
        for peer in PEERS:
            other = cells.get((result.backend, peer, result.metric))
            if other is None or other.median is None:
                continue
            faster = (result.median > other.median if higher_is_better
                      else result.median < other.median)
            rows.append({'backend': result.backend, 'metric': result.metric, 'peer': peer,
                         'activerecord': result.median, 'peer_value': other.median,
                         'unit': result.unit, 'faster': faster})
    return rows
