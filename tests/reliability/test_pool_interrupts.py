"""KeyboardInterrupt at every function entry along the pool and statement paths, one run per entry.

A profile hook raises KeyboardInterrupt at the N-th Python function entry inside the pool, the
backend (generic and per-database) and the driver, for N = 1, 2, ... until the operation runs
through without reaching N. After every run: the interrupt came out as KeyboardInterrupt (not
as another error), the pool's accounting is exact (checked_out 0, open == idle), and the next
statements get their own answers (no connection was handed out again in an unknown state).
A small pool with a short timeout turns any leaked slot into a PoolTimeout within a few runs.
"""
from __future__ import annotations

import gc
import importlib
import itertools
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import pytest

from activerecord import ActiveRecord
from activerecord.backend import base, pool

from .conftest import record

# An interrupt injected inside a driver object's constructor leaves it half built, and its
# finalizer then fails: Python reports that as an unraisable exception, expected here.
pytestmark = pytest.mark.filterwarnings('ignore::pytest.PytestUnraisableExceptionWarning')

DRIVER_PACKAGES = {'sqlite': 'sqlite3', 'postgresql': 'pg8000', 'mysql': 'pymysql'}


class Tally(ActiveRecord):
    __table_name__ = 'ar_rel_interrupts'
    id: int
    label: str


class Interrupter:
    """Raises KeyboardInterrupt at the `target`-th function entry in the watched files."""

    def __init__(self, target: int, watched: tuple[str, ...]) -> None:
        self.target = target
        self.watched = watched
        self.calls = 0
        self.fired = False
        self.where = ''

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event != 'call' or not frame.f_code.co_filename.startswith(self.watched):
            return
        if frame.f_code.co_name == '__del__':
            return   # Python swallows an exception raised in a finalizer: no caller ever sees it
        self.calls += 1
        if self.calls == self.target:
            self.fired = True
            self.where = f'{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name}:{frame.f_lineno})'
            raise KeyboardInterrupt(f'injected at {frame.f_code.co_name}')  # also unsets the hook


def watched_files(backend: Any, name: str, driver: bool = True) -> tuple[str, ...]:
    """The pool, the generic backend, this database's backend module (and its driver package)."""
    files = (pool.__file__, base.__file__, sys.modules[type(backend).__module__].__file__)
    if not driver:
        return files
    package = importlib.import_module(DRIVER_PACKAGES[name])
    return files + (str(Path(package.__file__).parent) + os.sep,)


def operations(backend: Any) -> dict[str, Callable[[], Any]]:
    """Pool verbs and statement paths, each ending with the connection back in the pool."""
    def rollback_on_return() -> None:
        with backend.connection() as pooled:
            backend.run_control(pooled, ['BEGIN'])   # left open: the return rolls it back

    return {
        'count': lambda: Tally.query().count(),                    # query_rows
        'find_one': lambda: Tally.find_one(1),                      # fetch_one
        'create': lambda: Tally.create(label='made'),               # insert_returning_key
        'execute': lambda: backend.execute('UPDATE ar_rel_interrupts SET label = ? WHERE id = ?', ('one', 1)),
        'stream': lambda: [row for row in Tally.query().iter(batch_size=2)],
        'ping': backend.ping,
        'rollback_on_return': rollback_on_return,
    }


def assert_clean(backend: Any, where: str) -> None:
    """Exact accounting, and every idle connection answers its own questions."""
    status = backend.pool.status()
    assert status['checked_out'] == 0 and status['open'] == status['idle'], (where, status)
    assert not backend.in_transaction, where
    for tag in ('first', 'second'):
        assert backend.fetch_value('SELECT ?', (f'{where}/{tag}',)) == f'{where}/{tag}', where
    assert Tally.query().count() >= 3, where


def sweep(backend: Any, watched: tuple[str, ...], label: str, operation: Callable[[], Any]) -> int:
    """Interrupt `operation` at each function entry in turn; returns how many runs were interrupted."""
    for target in itertools.count(1):
        hook = Interrupter(target, watched)
        sys.setprofile(hook)
        try:
            operation()
        except KeyboardInterrupt:
            pass
        except BaseException:
            pytest.fail(f'{label}: the interrupt at function entry {target} came out as another error:\n'
                        f'{traceback.format_exc()}')
        finally:
            sys.setprofile(None)
        if not hook.fired:
            # Driver objects cut off mid-construction fail in their finalizers: collect them now
            # rather than inside some later, unrelated code.
            gc.collect()
            return target - 1
        assert_clean(backend, f'{label}@{target}: {hook.where}')
    raise AssertionError('unreachable')


def test_an_interrupt_at_any_function_entry_leaves_the_pool_exact(bind, db):
    """Every statement path and pool verb, interrupted at each entry into our code and the driver's."""
    backend = bind(Tally, pool_size=2, max_overflow=0, pool_timeout=2)
    for label in ('a', 'b', 'c'):
        Tally.create(label=label)
    watched = watched_files(backend, db.name)
    interrupted = sum(sweep(backend, watched, label, operation)
                      for label, operation in operations(backend).items())
    assert interrupted >= 50, interrupted   # the sweep really reached inside the paths
    record('faults', interrupted)


@pytest.mark.parametrize('settings', [{'pool_pre_ping': True}, {'pool_recycle': 0.000001}],
                         ids=['pre_ping', 'recycle'])
def test_an_interrupted_ping_or_reconnect_at_checkout_leaves_the_pool_exact(bind, db, settings):
    """Checkout's own work (the pre-ping, replacing a connection past pool_recycle) interrupted
    at each entry into our code: the connection is closed, never handed out half checked."""
    backend = bind(Tally, pool_size=2, max_overflow=0, pool_timeout=2, **settings)
    for label in ('a', 'b', 'c'):
        Tally.create(label=label)
    watched = watched_files(backend, db.name, driver=False)
    interrupted = sum(sweep(backend, watched, label, operation)
                      for label, operation in operations(backend).items() if label in ('count', 'ping'))
    assert interrupted >= 20, interrupted
    record('faults', interrupted)


def test_a_thousand_interrupts_never_end_in_pool_timeout(bind, db):
    backend = bind(Tally, pool_size=1, max_overflow=0, pool_timeout=2)
    Tally.create(label='a')
    watched = watched_files(backend, db.name)
    steps = [lambda: Tally.query().count(), lambda: Tally.find_one(1),
             lambda: backend.fetch_value('SELECT ?', ('x',))]
    # how many watched entries each step makes on a warm pool (a cold path makes more), so that
    # every run is interrupted somewhere along its path
    entries = []
    for step in steps:
        counter = Interrupter(0, watched)
        sys.setprofile(counter)
        try:
            step()
        finally:
            sys.setprofile(None)
        entries.append(counter.calls)
    interrupted = 0
    for run in range(1000):
        hook = Interrupter(1 + (run // len(steps)) % entries[run % len(steps)], watched)
        sys.setprofile(hook)
        try:
            steps[run % len(steps)]()
        except KeyboardInterrupt:
            pass
        finally:
            sys.setprofile(None)
        interrupted += hook.fired
    gc.collect()
    assert interrupted == 1000, interrupted
    status = backend.pool.status()
    assert status['checked_out'] == 0 and status['open'] == status['idle'] <= 1, status
    assert backend.fetch_value('SELECT ?', ('after',)) == 'after'
    record('faults', interrupted)


def test_a_connection_its_holder_lost_is_given_back_when_collected(bind, db):
    """The last resort when an interrupt took the only reference before the return."""
    backend = bind(Tally, pool_size=1, max_overflow=0, pool_timeout=0.5)
    pooled = backend.pool.checkout()
    del pooled   # never released
    gc.collect()
    assert backend.pool.status()['checked_out'] == 0
    assert Tally.query().count() == 0   # the pool's only slot is free again: no PoolTimeout
