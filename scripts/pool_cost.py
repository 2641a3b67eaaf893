#!/usr/bin/env python3
"""What one pool checkout + return costs, in microseconds (median and tails).

    python scripts/pool_cost.py                      # SQLite, plus PostgreSQL and MariaDB when reachable
    python scripts/pool_cost.py --backends sqlite --rounds 50000
    python scripts/pool_cost.py --json pool_cost.json

For each backend it times, on an idle pool that already holds its connections:
  checkout      pool.checkout()             (lock, pop the warmest idle connection)
  return        pool.release(pooled)        (asks the driver whether a transaction is open, keeps it)
  pair          both, as `with backend.connection():` does around every statement
  pair+ping     the same with pool_pre_ping=True (one round trip to the server per checkout)
  contended     the pair under 8 threads sharing a pool of 4 (includes waiting for a free connection)
Each figure is the median over --rounds timings after a warm-up; p90 and p99 follow it.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activerecord.backend.registry import backend_class_for  # noqa: E402
from activerecord.backend.typing import ConnectionConfig  # noqa: E402

URLS = {
    'sqlite': 'sqlite://',
    'postgresql': os.environ.get('AR_TEST_PG_URL', 'postgresql://postgres@127.0.0.1:5432/test'),
    'mysql': os.environ.get('AR_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
}


def reachable(url: str) -> bool:
    """Whether a server URL's host:port accepts TCP connections (SQLite always does)."""
    parts = urlsplit(url)
    if parts.scheme.startswith('sqlite'):
        return True
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return True
    except OSError:
        return False


def open_backend(url: str, **overrides):
    config = ConnectionConfig.from_url(url, **overrides)
    return backend_class_for(config.scheme)(config)


def time_pairs(backend, rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Per-round checkout, return and pair times in microseconds on one thread."""
    pool = backend.pool
    clock = time.perf_counter_ns
    checkouts, returns, pairs = [], [], []
    for _ in range(rounds // 10):  # warm-up: connections open, caches hot
        pool.release(pool.checkout())
    for _ in range(rounds):
        started = clock()
        pooled = pool.checkout()
        middle = clock()
        pool.release(pooled)
        ended = clock()
        checkouts.append((middle - started) / 1000)
        returns.append((ended - middle) / 1000)
        pairs.append((ended - started) / 1000)
    return checkouts, returns, pairs


def time_contended(backend, rounds: int, threads: int = 8) -> list[float]:
    """Pair times when `threads` threads share the pool (each does rounds // threads pairs)."""
    pool = backend.pool
    clock = time.perf_counter_ns
    samples: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def work(own: list[float]) -> None:
        barrier.wait()
        for _ in range(max(1, rounds // threads)):
            started = clock()
            pooled = pool.checkout()
            pool.release(pooled)
            own.append((clock() - started) / 1000)

    workers = [threading.Thread(target=work, args=(own,)) for own in samples]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [value for own in samples for value in own]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda fraction: ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]
    return {'median_us': round(statistics.median(ordered), 2), 'p90_us': round(pick(0.90), 2),
            'p99_us': round(pick(0.99), 2), 'n': len(ordered)}


def measure(name: str, url: str, rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    backend = open_backend(url, pool_size=4, max_overflow=0, pool_timeout=30)
    try:
        checkouts, returns, pairs = time_pairs(backend, rounds)
        results['checkout'] = summary(checkouts)
        results['return'] = summary(returns)
        results['pair'] = summary(pairs)
        results['contended'] = summary(time_contended(backend, rounds))
    finally:
        backend.close()
    pinging = open_backend(url, pool_size=4, max_overflow=0, pool_pre_ping=True)
    try:
        # A ping is a server round trip: fewer rounds keep the run short on servers.
        results['pair+ping'] = summary(time_pairs(pinging, max(100, rounds // 10))[2])
    finally:
        pinging.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--backends', default=','.join(URLS), help='comma-separated: sqlite,postgresql,mysql')
    parser.add_argument('--rounds', type=int, default=20000, help='timed checkout+return pairs per figure')
    parser.add_argument('--json', help='also write the figures to this file')
    args = parser.parse_args(argv)
    report: dict[str, object] = {'python': sys.version.split()[0], 'rounds': args.rounds, 'backends': {}}
    print(f'pool checkout + return cost, microseconds (median / p90 / p99), {args.rounds} rounds, '
          f'Python {report["python"]}')
    for name in args.backends.split(','):
        url = URLS[name]
        if not reachable(url):
            print(f'{name:<11} skipped: {urlsplit(url).hostname}:{urlsplit(url).port} is not reachable')
            continue
        results = measure(name, url, args.rounds)
        report['backends'][name] = results
        for figure, values in results.items():
            print(f'{name:<11} {figure:<10} {values["median_us"]:>9.2f} {values["p90_us"]:>9.2f} '
                  f'{values["p99_us"]:>9.2f}   (n={values["n"]})')
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
