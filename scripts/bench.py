#!/usr/bin/env python3
"""Benchmark activerecord against the raw DB-API driver under it and against peer ORMs.

One command runs the same workloads on SQLite (:memory:), PostgreSQL (pg8000) and
MariaDB/MySQL (pymysql) for every implementation, and prints the median of each figure with
its ratio to the raw driver measured in the same run:

    python scripts/bench.py                          # everything: warm-up + 5 runs per figure
    python scripts/bench.py --quick                  # 1/10 of the work, 2 runs (CI smoke run)
    python scripts/bench.py --backends sqlite --impls activerecord --workloads a,c
    python scripts/bench.py --json bench.json        # also write every run as JSON

Workloads (sizes are divided by 10 with --quick):
  a  10,000 single-object saves in one transaction (each fetches the generated id)
  b  insert_many of 10,000 rows (raw: the driver's executemany)
  c  query 10,000 rows into objects and into dicts; peak memory of the objects (tracemalloc)
  d  1,000 find_one(pk) on distinct keys
  e  join + group by + aggregates over 10,000 rows, 200 times
  f  16 threads x 500 `SELECT 1` through a pool of 8: throughput, and the median cost of
     one checkout + return
  async  a's saves and d's find_one(pk) through the async API, each with its ratio to the
         sync figure of the same run (selecting async also measures a and d)
  load   issue 19's async load: 500 tasks x 20 mixed operations (reads, writes, transactions,
         a quarter failing) on a pool of 5+5, against 10 threads doing it through the sync
         API: operations per second, and the event loop's lag p50/p99/max (target p99 < 50 ms)

A ratio is the implementation's cost divided by the raw driver's (for throughput, the raw
driver's rate divided by the implementation's), so 1.00x is as fast as raw and lower is better.
Every run gets fresh tables, and gc.collect() runs before each timed section. Runs are
interleaved (round r runs every implementation once, in rotating order), so a slow spell of a
shared machine is spread over all of them instead of skewing one ratio. When activerecord is
measured, a last table checks its ratios against the project's targets.

The peers are benchmark-only dependencies: pip install -e '.[bench]'. A server that cannot be
reached is reported as skipped; an implementation that raises has its error in the table cell
and the run goes on. Server URLs can be overridden with BENCH_POSTGRESQL_URL / BENCH_MYSQL_URL.
"""

import sys
from pathlib import Path

# Benchmark the working tree's package, not whatever copy happens to be installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cli import main  # noqa: E402 - the package sits beside this file

if __name__ == '__main__':
    sys.exit(main())
