"""The command line of scripts/bench.py and the JSON document it can write."""

import argparse
import json
import os
import platform
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from .common import (ALL_BACKENDS, ALL_WORKLOADS, DEFAULT_URLS, WORKLOAD_NEEDS, Result, Sizes,
                     WorkData, log)
from .harness import bench_backend
from .impls import IMPLEMENTATIONS
from .report import markdown_report
from .tables import unreachable_reason
from .targets import peer_rows, target_rows
from .workloads import METRICS


def environment(sizes: Sizes, runs: int, quick: bool) -> dict:
    """What the figures were measured on."""
    versions = {}
    for module in ('pg8000', 'pymysql', 'sqlalchemy', 'peewee', 'pydantic'):
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            versions[module] = None
    versions['sqlite'] = sqlite3.sqlite_version
    return {'python': platform.python_version(), 'platform': platform.platform(),
            'cpus': os.cpu_count(), 'time': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
            'quick': quick, 'runs': runs, 'warmup_runs': 1, 'sizes': asdict(sizes),
            'versions': versions}


def name_list(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    """An argparse type for a comma-separated subset of `allowed`, kept in `allowed` order."""
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(',') if name.strip()]
        unknown = sorted(set(names) - set(allowed))
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f'unknown {", ".join(unknown) or "(empty)"}; choose from {", ".join(allowed)}')
        return [name for name in allowed if name in names]
    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description='Benchmark activerecord against its raw drivers and peer ORMs.')
    parser.add_argument('--backends', type=name_list(ALL_BACKENDS), default=list(ALL_BACKENDS),
                        help='comma-separated: sqlite,postgresql,mysql (default: all)')
    parser.add_argument('--impls', type=name_list(tuple(IMPLEMENTATIONS)),
                        default=list(IMPLEMENTATIONS),
                        help=f'comma-separated: {",".join(IMPLEMENTATIONS)} (default: all; '
                             'raw is always measured, every ratio needs it)')
    parser.add_argument('--workloads', type=name_list(ALL_WORKLOADS),
                        default=list(ALL_WORKLOADS),
                        help=f'comma-separated: {",".join(ALL_WORKLOADS)} (async also measures a '
                             'and d: its ratios are to them)')
    parser.add_argument('--runs', type=int, help='measured runs per figure (default 5, '
                                                 '2 with --quick)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 1/10 of the work, 2 runs, every implementation')
    parser.add_argument('--json', metavar='FILE', help='also write all results to FILE')
    parser.add_argument('--verbose', action='store_true', help='print tracebacks of errors')
    args = parser.parse_args(argv)
    if 'raw' not in args.impls:
        args.impls = ['raw', *args.impls]
    needed = {need for name in args.workloads for need in WORKLOAD_NEEDS.get(name, ())}
    args.workloads = [name for name in ALL_WORKLOADS if name in args.workloads or name in needed]
    if args.runs is None:
        args.runs = 2 if args.quick else 5
    if args.runs < 1:
        parser.error('--runs must be at least 1')
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, print the markdown report, optionally write JSON."""
    args = parse_args(argv)
    sizes = Sizes().scaled(10) if args.quick else Sizes()
    data = WorkData.generate(sizes)
    metrics = [metric for metric in METRICS if metric.workload in args.workloads]
    results: list[Result] = []
    skipped: dict[str, str] = {}
    for backend in args.backends:
        url = DEFAULT_URLS[backend]
        reason = unreachable_reason(backend, url)
        if reason:
            skipped[backend] = reason
            log(f'[{backend}] skipped: {reason}')
            continue
        log(f'[{backend}] {url}')
        results += bench_backend(backend, url, args.impls, metrics, data, args.runs,
                                 args.verbose)
    print(markdown_report(results, skipped, args.backends, args.impls, metrics, sizes,
                          args.runs))
    if args.json:
        measured = [backend for backend in args.backends if backend not in skipped]
        document = {
            'environment': environment(sizes, args.runs, args.quick),
            'backends': {backend: {'status': 'skipped', 'reason': skipped[backend]}
                         if backend in skipped else {'status': 'measured'}
                         for backend in args.backends},
            'metrics': {metric.key: {'label': metric.label(sizes), 'unit': metric.unit,
                                     'higher_is_better': metric.higher_is_better}
                        for metric in metrics},
            'results': [asdict(result) for result in results],
            'targets': target_rows(results, measured) if 'activerecord' in args.impls else [],
            'peers': peer_rows(results, measured) if 'activerecord' in args.impls else [],
        }
        Path(args.json).write_text(json.dumps(document, indent=2, ensure_ascii=False) + '\n')
        log(f'wrote {args.json}')
    return 0
