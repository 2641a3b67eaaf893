"""Runs the metrics: implementations opened once per backend, rounds interleaved, ratios to raw."""

import contextlib
import statistics
import traceback

from .common import Figures, NotApplicable, Result, Sample, Sizes, WorkData, describe, log
from .impls import IMPLEMENTATIONS, Implementation
from .report import format_cell
from .tables import drop_bench_tables
from .workloads import Metric


def open_implementations(names: list[str], backend: str, url: str, metrics: list[Metric],
                         sizes: Sizes, verbose: bool) -> tuple[list[Implementation],
                                                               list[Result]]:
    """Open every implementation; one that cannot start gets its error in every cell."""
    opened, failed = [], []
    for name in names:
        impl = IMPLEMENTATIONS[name](backend, url, sizes)
        try:
            impl.open()
        except Exception as exc:  # noqa: BLE001 - reported in the table; the run goes on
            if verbose:
                traceback.print_exc()
            log(f'  [{backend}] {name}: cannot start: {describe(exc)}')
            with contextlib.suppress(Exception):
                impl.close()
            failed += [Result(backend, name, metric.key, metric.unit, error=describe(exc))
                       for metric in metrics]
        else:
            opened.append(impl)
    return opened, failed


def measure(impls: list[Implementation], metric: Metric, data: WorkData, runs: int,
            verbose: bool) -> list[Result]:
    """A warm-up round, then `runs` rounds of one metric. Each round runs every
    implementation once, in a rotating order, so that a slow spell of a shared machine
    lands on all of them rather than on whichever happened to be running."""
    results = {impl.name: Result(impl.backend, impl.name, metric.key, metric.unit)
               for impl in impls}
    for round_number in range(1 + runs):
        shift = round_number % len(impls)
        for impl in impls[shift:] + impls[:shift]:
            result = results[impl.name]
            if result.error or result.not_applicable:
                continue
            try:
                value = metric.run(impl, data)
            except NotApplicable as exc:
                result.not_applicable = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported in the table; the run goes on
                result.error = describe(exc)
                if verbose:
                    traceback.print_exc()
                impl.recover()
            else:
                if round_number > 0:      # round 0 is the warm-up
                    if isinstance(value, Sample):
                        result.runs.append(value.wall)
                        result.client_cpu_runs.append(value.client_cpu)
                    elif isinstance(value, Figures):
                        result.runs.append(value.value)
                        for name, extra in value.extras.items():
                            result.extra_runs.setdefault(name, []).append(extra)
                    else:
                        result.runs.append(value)
    for result in results.values():
        if result.runs and not (result.error or result.not_applicable):
            result.median = statistics.median(result.runs)
            if result.client_cpu_runs:
                result.client_cpu_median = statistics.median(result.client_cpu_runs)
            result.extras = {name: statistics.median(runs)
                             for name, runs in result.extra_runs.items()}
        log(f'  [{result.backend}] {result.impl:<16} {metric.key:<13} {format_cell(result)}')
    return list(results.values())


def bench_backend(backend: str, url: str, names: list[str], metrics: list[Metric],
                  data: WorkData, runs: int, verbose: bool) -> list[Result]:
    """Every metric of every implementation on one backend, with ratios to raw."""
    impls, results = open_implementations(names, backend, url, metrics, data.sizes, verbose)
    try:
        if impls:
            for metric in metrics:
                results += measure(impls, metric, data, runs, verbose)
    finally:
        for impl in impls:
            try:
                impl.close()
            except Exception as exc:  # noqa: BLE001
                log(f'  [{backend}] {impl.name}: close failed: {describe(exc)}')
        drop_bench_tables(backend, url)
    add_ratios(results, metrics)
    return results


def add_ratios(results: list[Result], metrics: list[Metric]) -> None:
    """Each figure divided by the raw driver's figure for the same backend and metric (or, for
    a metric with ratio_to, by the same implementation's figure of that metric)."""
    higher_is_better = {metric.key: metric.higher_is_better for metric in metrics}
    ratio_to = {metric.key: metric.ratio_to for metric in metrics}
    raw = {(r.backend, r.metric): r.median for r in results if r.impl == 'raw'}
    own = {(r.backend, r.impl, r.metric): r.median for r in results}
    for result in results:
        yardstick = ratio_to.get(result.metric)
        baseline = (raw.get((result.backend, result.metric)) if yardstick is None
                    else own.get((result.backend, result.impl, yardstick)))
        if not baseline or not result.median:
            continue
        if higher_is_better[result.metric]:
            result.ratio = baseline / result.median
        else:
            result.ratio = result.median / baseline
