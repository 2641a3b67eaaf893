"""scripts/bench.py: the smoke run works on every live backend, and its verdicts are right.

The smoke run (`--quick`) is checked for completeness, correct counts and a well-formed report,
never for its timings: speed is the benchmark's business, not the test suite's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.benchmarks import cli, common, targets
from scripts.benchmarks.report import peers_report
from scripts.benchmarks.workloads import METRICS
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'scripts' / 'bench.py'
ASYNC_METRICS = ('async_a', 'async_d', 'load_async', 'load_threads')


@pytest.mark.backends('sqlite', 'postgresql', 'mysql')
def test_quick_run_measures_every_figure(db, tmp_path):
    # The peers are an optional extra ([bench]); raw and activerecord are what every ratio
    # and target needs, so the smoke run uses those two.
    env = dict(os.environ)
    if db.name != 'sqlite':             # this run's private database on that server
        env[f'BENCH_{db.name.upper()}_URL'] = db.url
    report = tmp_path / 'bench.json'
    workloads = 'a,b,c,d,e,e2,f,async,load' if db.name == 'sqlite' else 'a,c,d,e2,f,async,load'
    completed = subprocess.run(
        [sys.executable, str(BENCH), '--quick', '--backends', db.name, '--impls', 'raw,activerecord',
         '--workloads', workloads, '--json', str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    document = json.loads(report.read_text())

    assert document['backends'] == {db.name: {'status': 'measured'}}
    results = {(r['impl'], r['metric']): r for r in document['results']}
    expected_metrics = [m.key for m in METRICS if m.workload in workloads.split(',')]
    for impl in ('raw', 'activerecord'):
        for metric in expected_metrics:
            result = results[impl, metric]
            assert result['error'] is None, (impl, metric, result['error'])
            if impl == 'raw' and metric in ASYNC_METRICS:
                continue                # n/a: checked below
            assert len(result['runs']) == 2 and result['median'] > 0, (impl, metric)
    assert results['raw', 'd']['ratio'] == 1.0
    # e2 (eager loading): raw runs the same three statements, so its ratio is to a like-for-like figure
    assert results['activerecord', 'e2']['ratio'] == pytest.approx(
        results['activerecord', 'e2']['median'] / results['raw', 'e2']['median'])
    assert results['activerecord', 'd']['ratio'] == pytest.approx(
        results['activerecord', 'd']['median'] / results['raw', 'd']['median'])
    # every timed run also carries the client's CPU time
    assert len(results['activerecord', 'd']['client_cpu_runs']) == 2
    assert {row['metric'] for row in document['targets']} >= {'a', 'c_objects', 'c_dicts', 'd'}
    assert all(row['status'] in ('met', 'MISSED') for row in document['targets'])
    memory = [row for row in document['targets'] if row['metric'].startswith('c_memory')]
    assert memory and memory[0]['ratio'] == pytest.approx(
        results['activerecord', 'c_memory']['median']
        / (results['raw', 'c_memory']['median'] + results['activerecord', 'c_kept']['median']))

    table = completed.stdout
    assert f'## {db.name}' in table and '## activerecord targets' in table
    if db.name != 'sqlite':
        assert f'## {db.name}: client CPU time per run' in table

    # the async figures: activerecord's only (no other library has an async API), each with its
    # ratio to the sync figure of the same run, and the loop's lag beside the load's throughput
    for metric in ASYNC_METRICS:
        assert results['raw', metric]['not_applicable'] == 'no async API'
    for metric, sync_metric in (('async_a', 'a'), ('async_d', 'd'), ('load_async', 'load_threads')):
        assert results['activerecord', metric]['ratio'] == pytest.approx(
            results['activerecord', metric]['median'] / results['activerecord', sync_metric]['median']
            if metric != 'load_async' else
            results['activerecord', sync_metric]['median'] / results['activerecord', metric]['median'])
    lags = results['activerecord', 'load_async']
    assert set(lags['extras']) == {'lag_p50_ms', 'lag_p99_ms', 'lag_max_ms'}
    assert all(len(runs) == 2 for runs in lags['extra_runs'].values())
    assert 0 <= lags['extras']['lag_p50_ms'] <= lags['extras']['lag_p99_ms'] <= lags['extras']['lag_max_ms']
    assert '## activerecord async API against its sync API (same run)' in table
    assert f'| {db.name} | load: event loop lag p50 / p99 / max |' in table


def test_async_workload_brings_its_yardsticks():
    # async's ratios are to a and d of the same run, so selecting it measures those too
    assert cli.parse_args(['--workloads', 'async']).workloads == ['a', 'd', 'async']
    assert cli.parse_args(['--workloads', 'load,f']).workloads == ['f', 'load']


def test_an_unreachable_server_is_reported_not_fatal(tmp_path):
    port = free_port()
    env = dict(os.environ, BENCH_POSTGRESQL_URL=f'postgresql://postgres@127.0.0.1:{port}/test')
    completed = subprocess.run(
        [sys.executable, str(BENCH), '--quick', '--backends', 'postgresql',
         '--impls', 'raw,activerecord', '--workloads', 'd', '--json', str(tmp_path / 'b.json')],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert 'Skipped: server unreachable' in completed.stdout
    document = json.loads((tmp_path / 'b.json').read_text())
    assert document['backends']['postgresql']['status'] == 'skipped'


def result(impl: str, metric: str, median: float, unit: str = 's', backend: str = 'mysql'):
    return common.Result(backend, impl, metric, unit, runs=[median], median=median)


def test_peer_rows_compare_in_the_right_direction():
    results = [
        result('activerecord', 'e', 1.0), result('sqlalchemy_orm', 'e', 1.2),
        result('peewee', 'e', 0.9),
        # throughput: higher is better
        result('activerecord', 'f_throughput', 5000, 'q/s'),
        result('sqlalchemy_orm', 'f_throughput', 1000, 'q/s'),
        result('peewee', 'f_throughput', 6000, 'q/s'),
        # memory is not a speed figure
        result('activerecord', 'c_memory', 9.0, 'MiB'), result('peewee', 'c_memory', 1.0, 'MiB'),
    ]
    verdicts = {(row['metric'], row['peer']): row['faster']
                for row in targets.peer_rows(results, ['mysql'])}
    assert verdicts == {('e', 'sqlalchemy_orm'): True, ('e', 'peewee'): False,
                        ('f_throughput', 'sqlalchemy_orm'): True,
                        ('f_throughput', 'peewee'): False}
    report = '\n'.join(peers_report(results, {}, ['mysql']))
    assert 'faster in 2 of 4 comparisons' in report
    assert '| mysql | e | 1,000 ms | peewee | 900 ms |' in report


def test_target_rows_say_met_and_missed():
    # issue 22's PostgreSQL limits: d <= 0.6x, a <= 0.6x
    results = [result('activerecord', 'd', 0.59, backend='postgresql'),
               result('activerecord', 'a', 0.61, backend='postgresql')]
    for item in results:
        item.ratio = item.median            # as if raw took exactly 1 s
    status = {row['metric']: row['status'] for row in targets.target_rows(results, ['postgresql'])}
    assert status['d'] == 'met' and status['a'] == 'MISSED'


@pytest.mark.backends('sqlite', 'postgresql', 'mysql')
def test_schema_introspection_benchmark_smoke_run(db):
    # scripts/benchmarks/schema_introspection.py on a few tables: it runs and reports, whatever the time
    env = dict(os.environ)
    if db.name != 'sqlite':             # this run's private database on that server
        env[f'BENCH_{db.name.upper()}_URL'] = db.url
    completed = subprocess.run(
        [sys.executable, '-m', 'scripts.benchmarks.schema_introspection', '--tables', '4', '--runs', '1',
         '--backends', db.name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    (row,) = [line for line in completed.stdout.splitlines() if line.startswith(f'| {db.name} |')]
    assert row.split('|')[2].strip() == '4'
