"""The deterministic interrupt harness (issue 16): KeyboardInterrupt at every function entry.

For each scenario the harness first records every Python function entry inside the
`activerecord` package (sys.setprofile 'call' events, generator resumptions included), then runs
the scenario again once per recorded entry, raising KeyboardInterrupt at exactly that entry.
After every run the backend must be usable and clean: nothing checked out of the pool, no
transaction left open for this thread, and a new transaction commits a row that can be read back.
Each run happens in a fresh `contextvars.Context`, and the checks run in that same context, so a
stale transaction left behind by one run is seen by its own checks and does not leak into the next.
"""
from __future__ import annotations

import contextvars
import itertools
import os
import sys
from collections import Counter
from types import CodeType
from typing import Callable, Optional

import pytest

import activerecord
from activerecord import ActiveRecord

PACKAGE_DIR = os.path.dirname(activerecord.__file__) + os.sep
#: at most this many occurrences of one function are interrupted (the first ones): later calls
#: of the same function run the same code in the same state as an earlier one
OCCURRENCES_PER_FUNCTION = 3
_markers = itertools.count(1)


class Stroke(ActiveRecord):
    __table_name__ = 'ar_interrupt_strokes'
    id: int
    label: str


def scenario_transaction(backend) -> None:
    """A transaction with a nested savepoint and statements inside both levels."""
    table = backend.dialect.quote(Stroke.__table_name__)
    with backend.transaction():
        backend.execute(f'INSERT INTO {table} (label) VALUES (?)', ('outer',))
        with backend.transaction():
            backend.execute(f'INSERT INTO {table} (label) VALUES (?)', ('inner',))
            backend.fetch_all(f'SELECT label FROM {table} WHERE label = ?', ('inner',))
        backend.fetch_one(f'SELECT COUNT(*) AS n FROM {table}')


def scenario_plain_statements(backend) -> None:
    """Pool checkout and release around autocommitted statements."""
    table = backend.dialect.quote(Stroke.__table_name__)
    backend.execute(f'INSERT INTO {table} (label) VALUES (?)', ('plain',))
    backend.fetch_one(f'SELECT label FROM {table} WHERE label = ?', ('plain',))
    backend.fetch_all(f'SELECT label FROM {table} WHERE label = ?', ('plain',))


def scenario_model_statements(backend) -> None:
    """Statement execution through the model layer (INSERT returning a key, SELECT to models)."""
    stroke = Stroke.create(label='model')
    Stroke.find_one(stroke.id)
    Stroke.query().where(label='model').first()


SCENARIOS = {'transaction': scenario_transaction, 'plain_statements': scenario_plain_statements,
             'model_statements': scenario_model_statements}


def record_entries(run: Callable[[], None]) -> list[tuple[CodeType, int]]:
    """(code object, occurrence) of every package function entry while `run` runs."""
    seen: Counter = Counter()
    entries: list[tuple[CodeType, int]] = []

    def profile(frame, event, arg) -> None:
        code = frame.f_code
        if event == 'call' and code.co_filename.startswith(PACKAGE_DIR):
            seen[code] += 1
            if seen[code] <= OCCURRENCES_PER_FUNCTION:
                entries.append((code, seen[code]))

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return entries


def run_interrupted(run: Callable[[], None], target: CodeType, occurrence: int) -> bool:
    """Run with KeyboardInterrupt raised at the `occurrence`-th entry of `target`; whether it fired."""
    calls = 0
    fired = False

    def profile(frame, event, arg) -> None:
        nonlocal calls, fired
        if event == 'call' and frame.f_code is target:
            calls += 1
            if calls == occurrence:
                sys.setprofile(None)
                fired = True
                raise KeyboardInterrupt(f'injected at {describe(target, occurrence)}')

    sys.setprofile(profile)
    try:
        run()
    except KeyboardInterrupt:
        pass
    finally:
        sys.setprofile(None)
    return fired


def describe(code: CodeType, occurrence: int) -> str:
    return f'{os.path.relpath(code.co_filename, PACKAGE_DIR)}:{code.co_firstlineno} {code.co_name} #{occurrence}'


def problems_after(backend) -> Optional[str]:
    """What is wrong with the backend after an interrupted run, in this context (None if nothing)."""
    wrong = []
    if backend.in_transaction:
        wrong.append('still in a transaction')
    checked_out = backend.pool.status()['checked_out']
    if checked_out != 0:
        wrong.append(f'checked_out={checked_out}')
    if not wrong:
        marker = f'check-{next(_markers)}'
        table = backend.dialect.quote(Stroke.__table_name__)
        try:
            with backend.transaction():
                backend.execute(f'INSERT INTO {table} (label) VALUES (?)', (marker,))
            row = backend.fetch_one(f'SELECT label FROM {table} WHERE label = ?', (marker,))
            if row is None:
                wrong.append('a new transaction committed a row that cannot be read')
        except Exception as error:   # reported with the entry, not raised: list every failure
            wrong.append(f'a new transaction failed: {type(error).__name__}: {error}')
        if backend.pool.status()['checked_out'] != 0:
            wrong.append('the check transaction left a connection checked out')
    return '; '.join(wrong) or None


@pytest.mark.parametrize('scenario', sorted(SCENARIOS))
def test_keyboard_interrupt_at_any_function_entry_leaves_the_backend_clean(db, scenario) -> None:
    db.use(Stroke)
    run = lambda: SCENARIOS[scenario](Stroke.backend())   # noqa: E731
    run()   # warm up: first-use work (schema check, SQL caches) is not the path under test
    entries = record_entries(run)
    assert len(entries) > 20, entries   # the harness sees the package's code
    failures, fired = [], 0
    for code, occurrence in entries:
        context = contextvars.Context()
        fired += context.run(run_interrupted, run, code, occurrence)
        problem = context.run(problems_after, Stroke.backend())
        if problem is not None:
            failures.append(f'{describe(code, occurrence)}: {problem}')
            # the next run starts on a new backend, whatever this one left behind
            Stroke.backend().close()
            db.use(Stroke)
    assert fired >= len(entries) * 0.9, (fired, len(entries))
    assert not failures, f'{len(failures)} of {len(entries)} interrupt points left a mess:\n' + '\n'.join(failures)
