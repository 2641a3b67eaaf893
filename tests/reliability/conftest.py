"""Shared by the reliability suite: the figures it reports (faults survived, operations under
load, inputs tried, rows lost), printed at the end of every run that includes it."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Callable, Iterator

import pytest

#: what the suite proved in this run; tests add to it only after their assertions passed
FIGURES: Counter[str] = Counter()
_lock = threading.Lock()

_LABELS = (
    ('faults', 'faults survived'),
    ('savepoint_cases', 'nested-transaction failure cases'),
    ('load_operations', 'operations under load'),
    ('inputs', 'hostile/bad inputs tried'),
    ('round_trips', 'property-based round trips'),
    ('rows_checked', 'committed rows checked'),
    ('rows_lost', 'rows lost'),
)


def record(figure: str, amount: int = 1) -> None:
    """Count something the suite has just shown (call after the assertions that show it)."""
    if figure not in dict(_LABELS):
        raise KeyError(f'unknown reliability figure {figure!r}')
    with _lock:
        FIGURES[figure] += amount


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line with the figures, when any reliability test ran."""
    if not FIGURES:
        return
    parts = [f'{label}: {FIGURES.get(key, 0):,}' for key, label in _LABELS]
    terminalreporter.write_sep('-', 'reliability figures')
    terminalreporter.write_line('; '.join(parts))


def with_query(url: str, **settings: object) -> str:
    """The URL with `settings` added to its query string (booleans as true/false)."""
    words = [f'{key}={str(value).lower() if isinstance(value, bool) else value}' for key, value in settings.items()]
    if not words:
        return url
    return url + ('&' if '?' in url else '?') + '&'.join(words)


@pytest.fixture
def bind(db: Any) -> Iterator[Callable[..., Any]]:
    """bind(Model, ..., pool_size=8, ...): configure models on the matrix backend with these
    settings, recreate their tables, and drop them and close the backend afterwards."""
    bound: list[tuple[type, Any]] = []

    def configure(*models: type, url: str | None = None, **settings: object) -> Any:
        backend = None
        for model in models:
            backend = model.configure(with_query(url or db.url, **settings))
            bound.append((model, backend))
        for model in reversed(models):
            model.drop_table(if_exists=True)
        for model in models:
            model.create_table()
        return backend

    yield configure
    for model, _ in reversed(bound):
        try:
            model.drop_table(if_exists=True)
        except Exception:  # a test that broke its connection must not hide its own failure
            pass
    for backend in {id(backend): backend for _, backend in bound}.values():
        backend.close()
