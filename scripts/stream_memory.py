"""Measure the memory growth of streaming 1,000,000 rows from SQLite with Query.iter().

    python scripts/stream_memory.py [--rows 1000000] [--batch-size 1000] [--limit-mb 50]

The database is seeded in this process; the measurement runs in a fresh child process so that
its memory numbers hold nothing but the stream. The child records its resident set size (RSS)
after everything is imported and the first batch is read, then samples RSS every 10,000 rows
while it walks the whole result as model instances, and reports the peak growth over that
baseline (plus the kernel's own peak, ru_maxrss). Exit status 1 when growth reaches the limit.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from activerecord import ActiveRecord  # noqa: E402


class StreamEvent(ActiveRecord):
    __table_name__ = 'stream_events'
    id: int
    name: str
    amount: int
    score: float
    flag: bool


def rss_bytes() -> int:
    """The current resident set size of this process."""
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def seed(path: str, rows: int) -> float:
    """Create the table and insert `rows` rows; returns the seconds it took."""
    started = time.perf_counter()
    StreamEvent.configure(f'sqlite:///{path}')
    StreamEvent.drop_table(if_exists=True)
    StreamEvent.create_table()
    backend = StreamEvent.backend()
    chunk = 50_000
    with backend.transaction():
        for start in range(1, rows + 1, chunk):
            stop = min(start + chunk, rows + 1)
            backend.executemany(
                'INSERT INTO stream_events (id, name, amount, score, flag) VALUES (?, ?, ?, ?, ?)',
                [(key, f'event number {key:07d}', key * 3, key / 7, key % 2) for key in range(start, stop)])
    backend.close()
    return time.perf_counter() - started


def measure(path: str, batch_size: int, expected: int) -> dict:
    """Stream every row as a model instance and report the memory growth (runs in the child)."""
    StreamEvent.configure(f'sqlite:///{path}')
    stream = StreamEvent.query().order_by('id').iter(batch_size=batch_size)
    first = next(stream)           # connection open, statement prepared, first batch read
    baseline = rss_bytes()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = baseline
    count, checksum, last_id = 1, first.amount, first.id
    started = time.perf_counter()
    for record in stream:
        count += 1
        checksum += record.amount
        last_id = record.id
        if count % 10_000 == 0:
            peak = max(peak, rss_bytes())
    elapsed = time.perf_counter() - started
    peak = max(peak, rss_bytes())
    if count != expected or last_id != expected or checksum != 3 * expected * (expected + 1) // 2:
        raise SystemExit(f'streamed {count} rows (last id {last_id}); expected {expected}')
    return {
        'rows': count, 'batch_size': batch_size, 'seconds': round(elapsed, 2),
        'rss_baseline_mb': round(baseline / 2**20, 1), 'rss_peak_mb': round(peak / 2**20, 1),
        'rss_growth_mb': round((peak - baseline) / 2**20, 2),
        # the kernel's peak before and after the stream (before includes start-up and imports)
        'ru_maxrss_before_mb': round(maxrss_before / 1024, 1),
        'ru_maxrss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rows', type=int, default=1_000_000)
    parser.add_argument('--batch-size', type=int, default=1000)
    parser.add_argument('--limit-mb', type=float, default=50.0)
    parser.add_argument('--measure', metavar='PATH', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.batch_size, args.rows)))
        return 0
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, 'stream.db')
        seconds = seed(path, args.rows)
        print(f'seeded {args.rows:,} rows in {seconds:.1f} s')
        child = subprocess.run([sys.executable, os.path.abspath(__file__), '--measure', path,
                                '--rows', str(args.rows), '--batch-size', str(args.batch_size)],
                               capture_output=True, text=True)
        if child.returncode != 0:
            print(child.stdout, child.stderr, file=sys.stderr)
            return child.returncode
        result = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"streamed {result['rows']:,} rows with iter(batch_size={result['batch_size']}) in "
          f"{result['seconds']} s")
    print(f"RSS: baseline {result['rss_baseline_mb']} MB, peak {result['rss_peak_mb']} MB, "
          f"growth {result['rss_growth_mb']} MB (limit {args.limit_mb} MB); kernel peak (ru_maxrss) "
          f"{result['ru_maxrss_before_mb']} MB before the stream, {result['ru_maxrss_mb']} MB after")
    return 0 if result['rss_growth_mb'] < args.limit_mb else 1


if __name__ == '__main__':
    sys.exit(main())
