"""The markdown report: one table per backend, client CPU time, targets and peers."""

from .async_workloads import async_report
from .common import Result, Sizes
from .targets import EMBEDDED_BACKENDS, PEERS, TARGET_TABLE, peer_rows, target_rows
from .workloads import Metric


def format_value(value: float, unit: str) -> str:
    """A measured value in a readable unit."""
    if unit == 's':
        return f'{value * 1e3:.2f} ms' if value < 0.1 else f'{value * 1e3:,.0f} ms'
    if unit in ('q/s', 'ops/s'):
        return f'{value:,.0f} {unit}'
    if unit == 'µs':
        return f'{value:.1f} µs'
    return f'{value:.2f} {unit}'


def format_cell(result: Result) -> str:
    """A table cell: median and ratio, or n/a, or the error."""
    if result.error:
        text = result.error.replace('\n', ' ').replace('|', '/')
        return f'ERROR {text[:90]}{"…" if len(text) > 90 else ""}'
    if result.not_applicable:
        return f'n/a ({result.not_applicable})'
    text = format_value(result.median, result.unit)
    return f'{text} ({result.ratio:.2f}x)' if result.ratio is not None else text


def markdown_report(results: list[Result], skipped: dict[str, str], backends: list[str],
                    impls: list[str], metrics: list[Metric], sizes: Sizes, runs: int) -> str:
    """The whole report as markdown: one table per backend, then the targets."""
    lines = [f'# activerecord benchmark — median of {runs} runs after a warm-up', '',
             'Cells: median (ratio to the raw driver on the same backend; 1.00x = raw, '
             'lower is better).', '']
    cells = {(r.backend, r.impl, r.metric): r for r in results}
    for backend in backends:
        lines.append(f'## {backend}')
        lines.append('')
        if backend in skipped:
            lines += [f'Skipped: server unreachable ({skipped[backend].rstrip(".")}).', '']
            continue
        lines.append('| workload | ' + ' | '.join(impls) + ' |')
        lines.append('|---|' + '---|' * len(impls))
        for metric in metrics:
            row = [format_cell(cells[backend, impl, metric.key]) for impl in impls]
            lines.append(f'| {metric.label(sizes)} | ' + ' | '.join(row) + ' |')
        lines.append('')
    lines += client_cpu_report(results, skipped, backends, impls, metrics, sizes)
    if 'activerecord' in impls:
        lines += async_report(results, [backend for backend in backends if backend not in skipped])
        lines += targets_report(results, skipped, backends)
        lines += peers_report(results, skipped, backends)
    return '\n'.join(lines)


def client_cpu_report(results: list[Result], skipped: dict[str, str], backends: list[str],
                      impls: list[str], metrics: list[Metric], sizes: Sizes) -> list[str]:
    """Markdown lines: the client process's CPU time per run against each server.

    Against a server, a wall-clock figure also holds the server's work and the waits for
    it, which are the same for every implementation and vary from run to run; the client's
    CPU time is the part an ORM adds, measured without that noise."""
    cells = {(r.backend, r.impl, r.metric): r for r in results}
    timed_metrics = [metric for metric in metrics if metric.unit == 's']
    lines: list[str] = []
    for backend in backends:
        if backend in EMBEDDED_BACKENDS or backend in skipped or not timed_metrics:
            continue
        lines += [f'## {backend}: client CPU time per run', '',
                  'Cells: median CPU seconds of the benchmark process (ratio to the raw '
                  "driver's); the server's own work is not in these figures.", '',
                  '| workload | ' + ' | '.join(impls) + ' |', '|---|' + '---|' * len(impls)]
        for metric in timed_metrics:
            baseline = cells.get((backend, 'raw', metric.key))
            row = []
            for impl in impls:
                result = cells.get((backend, impl, metric.key))
                cpu = result.client_cpu_median if result else None
                if cpu is None:
                    row.append('—')
                    continue
                text = format_value(cpu, 's')
                if baseline is not None and baseline.client_cpu_median:
                    text += f' ({cpu / baseline.client_cpu_median:.2f}x)'
                row.append(text)
            lines.append(f'| {metric.label(sizes)} | ' + ' | '.join(row) + ' |')
        lines.append('')
    return lines


def peers_report(results: list[Result], skipped: dict[str, str],
                 backends: list[str]) -> list[str]:
    """Markdown lines: how many peer comparisons activerecord won, and the ones it lost."""
    rows = peer_rows(results, [backend for backend in backends if backend not in skipped])
    if not rows:
        return []
    lost = [row for row in rows if not row['faster']]
    lines = ['## activerecord against its peers', '',
             f'activerecord was faster in {len(rows) - len(lost)} of {len(rows)} comparisons, '
             f'each against one of {", ".join(PEERS)} on one speed figure of one backend.', '']
    if lost:
        lines += ['| backend | figure | activerecord | peer | peer figure |', '|---|---|---|---|---|']
        lines += [f'| {row["backend"]} | {row["metric"]} | '
                  f'{format_value(row["activerecord"], row["unit"])} | {row["peer"]} | '
                  f'{format_value(row["peer_value"], row["unit"])} |' for row in lost]
        lines.append('')
    return lines


def targets_report(results: list[Result], skipped: dict[str, str],
                   backends: list[str]) -> list[str]:
    """Markdown lines for the targets table and the PostgreSQL bulk-insert comparison."""
    measured = [backend for backend in backends if backend not in skipped]
    lines = ['## activerecord targets (ratio to the raw driver)', '',
             '| backend | figure | target | measured | status |', '|---|---|---|---|---|']
    for row in target_rows(results, measured):
        measured_ratio = f'{row["ratio"]:.2f}x' if row['ratio'] is not None else '—'
        limit = row['max_ratio']
        goal = f'≤ {limit:g}x' if limit >= 1 else f'≤ {limit:g}x (≥ {1 / limit:.3g}× faster)'
        lines.append(f'| {row["backend"]} | {row["metric"]} | {goal} '
                     f'| {measured_ratio} | {row["status"]} |')
    lines.append('')
    lines += postgresql_bulk_insert_report(results)
    return lines


def postgresql_bulk_insert_report(results: list[Result]) -> list[str]:
    """The explicit comparison the issue asks for: pg8000 executemany vs insert_many."""
    cells = {(r.impl, r.metric): r for r in results if r.backend == 'postgresql'}
    raw, orm = cells.get(('raw', 'b')), cells.get(('activerecord', 'b'))
    if raw is None or orm is None or raw.median is None:
        return []
    line = (f'PostgreSQL bulk insert (b): pg8000 executemany {format_value(raw.median, "s")}; '
            'activerecord insert_many ')
    if orm.median is None:
        return [line + format_cell(orm) + '.', '']
    floor = 1 / TARGET_TABLE['postgresql']['b']
    return [line + f'{format_value(orm.median, "s")}, {raw.median / orm.median:.1f}× faster '
                   f'(target ≥ {floor:g}×).', '']
