"""SQLite: two processes writing one WAL database, with busy_timeout, lose no row and no update.

Each process runs the same mix through the ORM at the same moment: single INSERTs, INSERTs in
transactions, batches with insert_many, and read-modify-write increments of one shared counter
in SERIALIZABLE transactions (BEGIN IMMEDIATE on SQLite). Locks are waited for (busy_timeout),
never turned into errors or lost writes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from activerecord import ActiveRecord

from .conftest import record

ROOT = Path(__file__).resolve().parents[2]
ROWS_PER_WRITER = 1000
INCREMENTS_PER_WRITER = 40
BATCH = 20

WORKER = r'''
import json, os, sys, time
from activerecord import ActiveRecord
from activerecord.backend.transaction import IsolationLevel

class Row(ActiveRecord):
    __table_name__ = 'ar_rel_mp_rows'
    id: int
    writer: str
    seq: int

class Counter(ActiveRecord):
    __table_name__ = 'ar_rel_mp_counter'
    id: int
    n: int

url, writer, rows, increments, batch, go = sys.argv[1:7]
rows, increments, batch = int(rows), int(increments), int(batch)
ActiveRecord.configure(url)
Row.query().count()                    # connected and warm
open(go + '.' + writer, 'w').close()   # ready
deadline = time.monotonic() + 30
while not os.path.exists(go):          # both writers start together
    if time.monotonic() > deadline:
        sys.exit('the start signal never came')
    time.sleep(0.005)
seq = 0
step = 0
Row.create(writer=writer, seq=seq)
seq += 1
# Go on only once the other writer has written too: on two cores one process can otherwise
# finish all its rows before the other is scheduled, and nothing would be written concurrently.
deadline = time.monotonic() + 30
while not Row.query().where(Row.c.writer != writer).exists():
    if time.monotonic() > deadline:
        sys.exit('the other writer never wrote')
    time.sleep(0.001)
while seq < rows:
    kind = step % 4
    if kind == 0:
        Row.create(writer=writer, seq=seq)
        seq += 1
    elif kind == 1:
        with Row.transaction():
            for _ in range(min(2, rows - seq)):
                Row.create(writer=writer, seq=seq)
                seq += 1
    elif kind == 2:
        size = min(batch, rows - seq)
        Row.insert_many([{'writer': writer, 'seq': seq + n} for n in range(size)])
        seq += size
    else:
        Row.create(writer=writer, seq=seq)
        seq += 1
    step += 1
for _ in range(increments):
    with Counter.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
        counter = Counter.find_one(1)
        counter.n += 1
        counter.save()
print(json.dumps({'writer': writer, 'rows': seq, 'increments': increments,
                  'pool': Row.backend().pool.status()}))
'''


class Row(ActiveRecord):
    __table_name__ = 'ar_rel_mp_rows'
    id: int
    writer: str
    seq: int


class Counter(ActiveRecord):
    __table_name__ = 'ar_rel_mp_counter'
    id: int
    n: int


def test_two_processes_writing_one_wal_database_lose_nothing(tmp_path: Path) -> None:
    url = f'sqlite:///{tmp_path}/shared.db?journal_mode=WAL&busy_timeout=20000&synchronous=NORMAL'
    backend = Row.configure(url)
    Counter.configure(url)
    try:
        Row.create_table()
        Counter.create_table()
        Counter.create(id=1, n=0)
        go = tmp_path / 'go'
        env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])}
        writers = [subprocess.Popen([sys.executable, '-c', WORKER, url, name, str(ROWS_PER_WRITER),
                                     str(INCREMENTS_PER_WRITER), str(BATCH), str(go)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                   for name in ('first', 'second')]
        # Both writers start when both are connected, so that they really write at the same time.
        deadline = time.monotonic() + 60
        while not all(Path(f'{go}.{name}').exists() for name in ('first', 'second')):
            assert time.monotonic() < deadline and all(w.poll() is None for w in writers), 'a writer did not start'
            time.sleep(0.01)
        go.touch()
        reports = []
        for writer in writers:
            out, err = writer.communicate(timeout=120)
            assert writer.returncode == 0, f'a writer failed:\n{err}'
            reports.append(json.loads(out))
        assert [report['rows'] for report in reports] == [ROWS_PER_WRITER, ROWS_PER_WRITER]

        rows = Row.query().all()
        stored = {(row.writer, row.seq) for row in rows}
        # The writers really wrote at the same time: their rows interleave.
        ids = {writer: sorted(row.id for row in rows if row.writer == writer) for writer in ('first', 'second')}
        assert ids['first'][0] < ids['second'][-1] and ids['second'][0] < ids['first'][-1], ids
        expected = {(writer, seq) for writer in ('first', 'second') for seq in range(ROWS_PER_WRITER)}
        record('rows_lost', len(expected - stored))
        assert stored == expected
        assert Row.query().count() == len(expected)          # and no row twice
        # Every increment of the shared counter survived the other process's increments.
        assert Counter.find_one(1).n == 2 * INCREMENTS_PER_WRITER
        assert backend.fetch_value('PRAGMA journal_mode') == 'wal'
        record('rows_checked', len(expected))
        record('load_operations', 2 * (ROWS_PER_WRITER + INCREMENTS_PER_WRITER))
        record('faults')   # lock contention between processes, waited out
    finally:
        backend.close()
