"""A pool inherited across os.fork(): the child never uses, nor closes, the parent's connections.

Before the fix, a child that inherited an idle pooled connection used the parent's socket:
on MariaDB and on PostgreSQL's simple-query path each process read the other's answers, and a
child's close() ended the parent's session. Every process here is bounded by a deadline (an
alarm), and a child reports through a pipe and leaves with os._exit, so no test can hang.
"""
from __future__ import annotations

import gc
import json
import multiprocessing
import os
import select
import signal
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest

from activerecord import ActiveRecord
from activerecord.errors import OperationalError

from .conftest import record

STATEMENTS = 2000
DEADLINE = 90   # seconds for one process's statements; a hang fails the test instead
SESSION_ID_SQL = {'postgresql': 'SELECT pg_backend_pid()', 'mysql': 'SELECT CONNECTION_ID()'}

pytestmark = pytest.mark.skipif(not hasattr(os, 'fork'), reason='os.fork() is POSIX only')


class ParentRow(ActiveRecord):
    __table_name__ = 'ar_rel_fork_parent'
    id: int
    tag: str


class ChildRow(ActiveRecord):
    __table_name__ = 'ar_rel_fork_child'
    id: int
    tag: str


class Hung(BaseException):
    """A process's statements did not finish before the deadline."""


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Raise Hung in this (main) thread if the block runs longer than `seconds`."""
    def expire(signum: int, frame: Any) -> None:
        raise Hung(f'no answer within {seconds}s')
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fork_child(work: Callable[[], dict]) -> tuple[int, int]:
    """Run work() in a forked child that writes its JSON report to a pipe; (pid, read end)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    status = 1
    report: dict = {}
    try:
        os.close(read_end)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)   # a hung child is killed by its alarm
        signal.alarm(DEADLINE)
        report = work()
        status = 0
    except BaseException as error:  # reported to the parent, which fails the test
        report = {'crashed': f'{type(error).__name__}: {error}'}
    finally:
        try:
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(status)


def child_report(pid: int, read_end: int) -> dict:
    """The child's report; fails the test (after killing the child) if none comes in time."""
    chunks: list[bytes] = []
    ends = time.monotonic() + DEADLINE + 10
    try:
        while True:
            remaining = ends - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                pytest.fail('the child did not finish in time (hung on an inherited connection?)')
            if select.select([read_end], [], [], remaining)[0]:
                chunk = os.read(read_end, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert chunks, 'the child died without a report'
    report = json.loads(b''.join(chunks))
    assert 'crashed' not in report, report
    return report


def tagged_statements(model: type, tag: str, rows: int, statements: int) -> dict:
    """Run `statements` statements whose answers name this process; count answers that do not."""
    backend = model.backend()
    table = model.__table_name__
    wrong, errors, first_problem = 0, 0, None
    for n in range(statements):
        kind = n % 6
        try:
            if kind == 0:
                ok = model.query().count() == rows                                  # no parameters
            elif kind == 1:
                ok = sorted(row.tag for row in model.find_all()) == [f'{tag}-{i}' for i in range(1, rows + 1)]
            elif kind == 2:
                ok = backend.fetch_value(f"SELECT '{tag}-{n}'") == f'{tag}-{n}'       # tag in the SQL text
            elif kind == 3:
                ok = backend.fetch_value('SELECT ?', (f'{tag}-{n}',)) == f'{tag}-{n}'
            elif kind == 4:
                key = 1 + n % rows
                found = model.find_one(key)
                ok = found is not None and found.tag == f'{tag}-{key}'
            else:
                ok = backend.fetch_value(f'SELECT COUNT(*) FROM {table} WHERE tag LIKE ?', (f'{tag}-%',)) == rows
        except Exception as error:
            errors += 1
            first_problem = first_problem or f'statement {n}: {type(error).__name__}: {error}'
            continue
        if not ok:
            wrong += 1
            first_problem = first_problem or f'statement {n} (kind {kind}) got another answer'
    return {'wrong': wrong, 'errors': errors, 'first_problem': first_problem,
            'status': backend.pool.status()}


def seed(bind: Callable[..., Any]) -> Any:
    """Both tables on one backend: the parent's 3 rows and the child's 5, tagged by owner."""
    backend = bind(ParentRow, ChildRow)
    assert ParentRow.backend() is ChildRow.backend()
    ParentRow.insert_many([{'id': i, 'tag': f'parent-{i}'} for i in range(1, 4)])
    ChildRow.insert_many([{'id': i, 'tag': f'child-{i}'} for i in range(1, 6)])
    return backend


def test_parent_and_child_each_get_only_their_own_answers(bind, db):
    backend = seed(bind)
    assert ParentRow.query().count() == 3
    assert backend.pool.status()['idle'] >= 1   # an idle connection is inherited by the child
    pid, read_end = fork_child(lambda: tagged_statements(ChildRow, 'child', 5, STATEMENTS))
    try:
        with deadline(DEADLINE):
            mine = tagged_statements(ParentRow, 'parent', 3, STATEMENTS)
    finally:
        theirs = child_report(pid, read_end)
    for who, report in (('parent', mine), ('child', theirs)):
        assert report['wrong'] == 0 and report['errors'] == 0, (who, report)
        assert report['status']['checked_out'] == 0, (who, report)
    record('faults', 2 * STATEMENTS)


def _multiprocessing_worker(connection: Any) -> None:
    connection.send(tagged_statements(ChildRow, 'child', 5, 300))
    connection.close()


def test_multiprocessing_fork_workers_get_only_their_own_answers(bind, db):
    seed(bind)
    assert ParentRow.query().count() == 3
    context = multiprocessing.get_context('fork')
    workers = []
    for _ in range(2):
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=_multiprocessing_worker, args=(sending,))
        process.start()
        workers.append((process, receiving))
    try:
        with deadline(DEADLINE):
            mine = tagged_statements(ParentRow, 'parent', 3, 600)
        reports = []
        for process, receiving in workers:
            assert receiving.poll(DEADLINE), 'a worker did not report in time'
            reports.append(receiving.recv())
    finally:
        for process, _ in workers:
            process.join(10)
            if process.is_alive():
                process.kill()
    for report in [mine, *reports]:
        assert report['wrong'] == 0 and report['errors'] == 0, report


@pytest.mark.backends('postgresql', 'mysql')
def test_a_child_closing_its_pool_leaves_the_parents_session_alone(bind, db):
    backend = seed(bind)
    session = backend.fetch_value(SESSION_ID_SQL[db.name])

    def child() -> dict:
        answer = ChildRow.query().count()
        backend.close()   # closes the child's own connections only
        gc.collect()      # and whatever the child let go of is finalized here
        return {'count': answer}

    pid, read_end = fork_child(child)
    assert child_report(pid, read_end) == {'count': 5}
    with deadline(30):
        assert backend.fetch_value(SESSION_ID_SQL[db.name]) == session   # the same, still alive
        assert ParentRow.query().count() == 3
    assert backend.pool.status()['open'] == 1


def test_a_transaction_open_at_the_fork_fails_clearly_in_the_child_and_commits_in_the_parent(bind, db):
    backend = seed(bind)
    with ParentRow.transaction():
        ParentRow.create(id=10, tag='parent-10')
        pid, read_end = fork_child(lambda: _inside_the_inherited_transaction(db.name != 'sqlite'))
        theirs = child_report(pid, read_end)
        ParentRow.create(id=11, tag='parent-11')
    assert 'fork' in theirs['refused'], theirs
    assert theirs['status']['checked_out'] == 0, theirs
    if db.name != 'sqlite':
        # Another thread of the child, outside the transaction, gets a connection of its own.
        # (Not on SQLite: the child's copy of the in-memory database still holds the write
        # lock of the parent's open transaction.)
        assert theirs['elsewhere'] == 5, theirs
    assert sorted(row.id for row in ParentRow.find_all()) == [1, 2, 3, 10, 11]
    assert backend.pool.status()['checked_out'] == 0


def _inside_the_inherited_transaction(other_thread: bool) -> dict:
    report: dict = {'refused': '', 'elsewhere': None}
    try:
        ChildRow.query().count()
    except OperationalError as error:
        report['refused'] = str(error)
    answers: list = []

    def elsewhere() -> None:
        try:
            answers.append(ChildRow.query().count())
        except Exception as error:
            answers.append(f'{type(error).__name__}: {error}')

    if other_thread:
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join(DEADLINE)
        report['elsewhere'] = answers[0] if answers else None
    report['status'] = ChildRow.backend().pool.status()
    return report


@pytest.mark.backends('postgresql', 'mysql')
def test_a_stream_open_at_the_fork_is_refused_in_the_child_and_read_whole_by_the_parent(bind, db):
    seed(bind)
    stream = ChildRow.query().order_by('id').iter(batch_size=2)
    first = next(stream)

    def child() -> dict:
        try:
            rest = [row.tag for row in stream]
        except OperationalError as error:
            return {'refused': str(error)}
        return {'read': rest}

    pid, read_end = fork_child(child)
    theirs = child_report(pid, read_end)
    with deadline(30):
        rest = [row.tag for row in stream]
    assert 'fork' in theirs.get('refused', ''), theirs
    assert [first.tag, *rest] == [f'child-{i}' for i in range(1, 6)]
    assert ChildRow.backend().pool.status()['checked_out'] == 0
