"""Load: 32 threads x 1,000 mixed reads and writes through a pool of 8, on every live backend.

Each thread keeps its own ledger of what it committed and checks its reads against it as it
goes (a thread must read its own writes). Afterwards the table must hold exactly the committed
rows with their last values, none of the rolled-back ones, and the pool must be idle.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated

from activerecord import ActiveRecord, Column

from .conftest import record

THREADS = 32
OPERATIONS = 1_000
POOL_SIZE = 8
#: the bound on one backend's run: far above what it takes, far below "hangs"
TIME_LIMIT = 240.0

#: operation -> share of the mix (in tenths of a percent, summing to 1000)
MIX = {'insert': 300, 'read': 350, 'update': 150, 'count': 50, 'transaction': 100, 'rollback': 50}


class LoadRow(ActiveRecord):
    __table_name__ = 'ar_rel_load'
    id: int
    worker: Annotated[int, Column(index=True)]
    seq: int
    value: int = 0


class Rollback(Exception):
    """Raised inside a transaction on purpose."""


@dataclass
class Worker:
    """One thread's operations and its record of what it committed."""

    number: int
    committed: dict[int, tuple[int, int]] = field(default_factory=dict)   # id -> (seq, value)
    rolled_back: list[int] = field(default_factory=list)                 # seqs never committed
    done: int = 0
    errors: list[str] = field(default_factory=list)
    seq: int = 0

    def run(self, start: threading.Barrier) -> None:
        rng = random.Random(self.number)
        operations = [name for name, share in MIX.items() for _ in range(share)]
        start.wait()
        for _ in range(OPERATIONS):
            name = rng.choice(operations)
            if name in ('read', 'update') and not self.committed:
                name = 'insert'
            try:
                getattr(self, name)(rng)
            except Exception as error:  # counted: the test demands zero
                self.errors.append(f'{name}: {type(error).__name__}: {error}')
            self.done += 1

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def insert(self, rng: random.Random) -> None:
        row = LoadRow.create(worker=self.number, seq=self._next_seq())
        self.committed[row.id] = (row.seq, 0)

    def read(self, rng: random.Random) -> None:
        key = rng.choice(list(self.committed))
        row = LoadRow.find_one(key)
        if row is None or (row.worker, row.seq, row.value) != (self.number, *self.committed[key]):
            self.errors.append(f'read {key}: got {row!r}, committed {self.committed[key]}')

    def update(self, rng: random.Random) -> None:
        key = rng.choice(list(self.committed))
        seq, value = self.committed[key]
        changed = LoadRow.query().where(LoadRow.c.id == key).update_all(value=value + 1)
        if changed != 1:
            self.errors.append(f'update {key}: {changed} rows changed')
        self.committed[key] = (seq, value + 1)

    def count(self, rng: random.Random) -> None:
        counted = LoadRow.query().where(worker=self.number).count()
        if counted != len(self.committed):
            self.errors.append(f'count: {counted} rows, committed {len(self.committed)}')

    def transaction(self, rng: random.Random) -> None:
        key = rng.choice(list(self.committed)) if self.committed else None
        staged = {}
        with LoadRow.transaction():
            row = LoadRow.create(worker=self.number, seq=self._next_seq())
            staged[row.id] = (row.seq, 0)
            if key is not None:
                seq, value = self.committed[key]
                LoadRow.query().where(LoadRow.c.id == key).update_all(value=value + 10)
                staged[key] = (seq, value + 10)
        self.committed.update(staged)   # only once the commit returned

    def rollback(self, rng: random.Random) -> None:
        seq = self._next_seq()
        try:
            with LoadRow.transaction():
                LoadRow.create(worker=self.number, seq=seq)
                raise Rollback()
        except Rollback:
            self.rolled_back.append(seq)


def test_32_threads_of_mixed_reads_and_writes_through_a_pool_of_8(db, bind) -> None:
    backend = bind(LoadRow, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=60)
    workers = [Worker(number) for number in range(THREADS)]
    start = threading.Barrier(THREADS)
    threads = [threading.Thread(target=worker.run, args=(start,), name=f'load-{worker.number}')
               for worker in workers]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, TIME_LIMIT - (time.monotonic() - began)))
    elapsed = time.monotonic() - began
    assert not any(thread.is_alive() for thread in threads), f'threads still running after {elapsed:.0f}s'
    assert elapsed < TIME_LIMIT

    errors = [f'thread {worker.number}: {error}' for worker in workers for error in worker.errors]
    assert not errors, f'{len(errors)} errors, first ones:\n' + '\n'.join(errors[:10])
    assert sum(worker.done for worker in workers) == THREADS * OPERATIONS

    stored = {row.id: (row.worker, row.seq, row.value) for row in LoadRow.query().all()}
    expected = {key: (worker.number, seq, value)
                for worker in workers for key, (seq, value) in worker.committed.items()}
    missing = expected.keys() - stored.keys()
    record('rows_lost', len(missing))
    assert not missing, f'{len(missing)} committed rows are missing'
    wrong = {key: (stored[key], expected[key]) for key in expected if stored[key] != expected[key]}
    assert not wrong, f'{len(wrong)} rows hold other values than committed, e.g. {list(wrong.items())[:3]}'
    rolled_back = {(worker.number, seq) for worker in workers for seq in worker.rolled_back}
    assert rolled_back and not rolled_back & {(w, s) for w, s, _ in stored.values()}
    assert len(stored) == len(expected)

    status = backend.pool.status()
    assert status['checked_out'] == 0 and status['idle'] == status['open'] <= POOL_SIZE, status
    record('load_operations', THREADS * OPERATIONS)
    record('rows_checked', len(expected))
