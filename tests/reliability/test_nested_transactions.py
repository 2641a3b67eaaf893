"""An exception at any point inside nested transactions leaves exactly what savepoints promise.

One program of nested `with Model.transaction():` blocks is run again and again on every live
backend: each time an exception is raised at another point (before each statement, at the end
of each block), of another kind (a Python exception, a database error, a KeyboardInterrupt),
and caught at another level (just outside the failing block, or further out). The rows the
database holds afterwards must equal those of a model of the promise: a block that exits
normally keeps its work (as part of its parent), a block left by an exception loses its own
work and that of every block inside it, and nothing is committed until the outermost block
commits.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Callable, ContextManager, Iterator, Union

import pytest

from activerecord import ActiveRecord, Column
from activerecord.errors import ActiveRecordError, IntegrityError

from .conftest import record

#: a block is a list of steps; a step is a row to insert (str) or a nested block (list)
Block = list[Union[str, 'Block']]
PROGRAM: Block = ['a', ['b', ['c'], 'd'], ['e'], 'f']
TAKEN = 'taken'   # a committed row whose unique label a 'database' fault inserts again
KINDS = ('python', 'database', 'interrupt')


class Entry(ActiveRecord):
    __table_name__ = 'ar_rel_entries'
    id: int
    label: Annotated[str, Column(unique=True)]


class Fault(Exception):
    """The Python exception a step raises."""


@dataclass(frozen=True)
class Case:
    point: int        # which point of the program raises
    level: int        # the nesting level whose block the exception is caught just outside of
    kind: str         # python | database | interrupt

    def __str__(self) -> str:
        return f'{self.kind} fault at point {self.point}, caught outside level {self.level}'


class Promise:
    """The savepoint semantics as a stack of lists: what should be committed."""

    def __init__(self) -> None:
        self.stack: list[list[str]] = [[TAKEN]]

    @contextmanager
    def block(self) -> Iterator[None]:
        self.stack.append([])
        try:
            yield
        except BaseException:
            self.stack.pop()          # the block's work, and its inner blocks', is undone
            raise
        work = self.stack.pop()
        self.stack[-1].extend(work)   # kept as part of the parent (committed at the outermost)

    def insert(self, label: str) -> None:
        self.stack[-1].append(label)

    def fail(self, kind: str) -> None:
        raise _exception(kind)

    def committed(self) -> list[str]:
        return sorted(self.stack[0])


class Database:
    """The same verbs on the ORM."""

    def block(self) -> ContextManager[object]:
        return Entry.transaction()

    def insert(self, label: str) -> None:
        Entry.create(label=label)

    def fail(self, kind: str) -> None:
        if kind == 'database':
            Entry.create(label=TAKEN)   # raises IntegrityError from the database
            raise AssertionError('a duplicate label was accepted')
        raise _exception(kind)

    def committed(self) -> list[str]:
        return sorted(entry.label for entry in Entry.query().all())


def _exception(kind: str) -> BaseException:
    return {'python': Fault('step failed'), 'database': IntegrityError('duplicate label'),
            'interrupt': KeyboardInterrupt()}[kind]


CAUGHT = (Fault, IntegrityError, KeyboardInterrupt)


def run(program: Block, store: Promise | Database, case: Case | None) -> None:
    """Run the program on `store`, raising and catching as `case` says."""
    points = itertools.count()

    def at_point() -> None:
        if case is not None and next(points) == case.point:
            store.fail(case.kind)

    def block(steps: Block, level: int) -> None:
        def body() -> None:
            with store.block():
                for step in steps:
                    at_point()
                    if isinstance(step, str):
                        store.insert(step)
                    else:
                        block(step, level + 1)
                at_point()   # the end of the block, just before it commits or releases
        if case is not None and case.level == level:
            try:
                body()
            except CAUGHT:
                pass
        else:
            body()

    block(program, 1)


def points_and_levels(program: Block) -> list[tuple[int, int]]:
    """(point, nesting level of that point) for every point of the program, in order."""
    found: list[tuple[int, int]] = []

    def walk(steps: Block, level: int) -> None:
        for step in steps:
            found.append((len(found), level))
            if not isinstance(step, str):
                walk(step, level + 1)
        found.append((len(found), level))

    walk(program, 1)
    return found


def all_cases(program: Block) -> list[Case]:
    """Every point x every kind x every level from the point's own block out to the outermost."""
    return [Case(point, catch_level, kind)
            for point, level in points_and_levels(program)
            for kind in KINDS
            for catch_level in range(1, level + 1)]


def test_the_cases_cover_every_point_kind_and_level() -> None:
    cases = all_cases(PROGRAM)
    # 5 points in the outer block, 4 + 2 in the two blocks inside it, 2 in the innermost one
    assert [level for _, level in points_and_levels(PROGRAM)] == [1, 1, 2, 2, 3, 3, 2, 2, 1, 2, 2, 1, 1]
    assert len(cases) == len(set(cases)) == 3 * (5 * 1 + 6 * 2 + 2 * 3)
    # Wherever a block fails, all of its work goes and the rest stays: the outcome depends on
    # which block the exception is caught outside of, never on where in the block it was raised.
    outcomes = {}
    for case in cases:
        promise = Promise()
        run(PROGRAM, promise, case)
        outcomes.setdefault(' '.join(promise.committed()), set()).add(case.level)
    assert outcomes == {'taken': {1}, 'a e f taken': {2}, 'a b c d f taken': {2}, 'a b d e f taken': {3}}


def test_an_exception_anywhere_leaves_exactly_what_savepoints_promise(db, bind) -> None:
    backend = bind(Entry)
    manager = backend.transaction_manager
    mismatches: list[str] = []
    cases = [None, *all_cases(PROGRAM)]
    for case in cases:
        Entry.query().delete_all()
        Entry.create(label=TAKEN)
        promise = Promise()
        run(PROGRAM, promise, case)
        run(PROGRAM, Database(), case)
        got, expected = Database().committed(), promise.committed()
        if got != expected:
            mismatches.append(f'{case}: committed {got}, expected {expected}')
        # Whatever happened, the thread is out of the transaction and the connection is back.
        assert manager.depth == 0 and not backend.in_transaction, case
        assert backend.pool.status()['checked_out'] == 0, case
    assert not mismatches, '\n'.join(mismatches)
    record('savepoint_cases', len(cases))


def test_explicit_savepoints_inside_a_failing_block_go_with_it(db, bind) -> None:
    backend = bind(Entry)
    manager = backend.transaction_manager
    with Entry.transaction():
        Entry.create(label='outer')
        with pytest.raises(Fault):
            with Entry.transaction():
                Entry.create(label='inner')
                manager.savepoint('mine')
                Entry.create(label='after-mine')
                raise Fault()
        # The block's savepoint went with the block, and so did the explicit one inside it.
        with pytest.raises(ActiveRecordError, match="no open savepoint named 'mine'"):
            manager.rollback_to('mine')
        manager.savepoint('again')
        Entry.create(label='undone')
        manager.rollback_to('again')
        manager.release('again')
        Entry.create(label='last')
    assert Database().committed() == ['last', 'outer']
    assert backend.pool.status()['checked_out'] == 0
    record('savepoint_cases')


@pytest.mark.backends('postgresql')
def test_a_commit_that_fails_commits_nothing_and_ends_the_transaction(db, bind) -> None:
    """A deferred constraint makes COMMIT itself fail: the last point an exception can occur."""
    backend = bind(Entry)
    backend.execute('DROP TABLE IF EXISTS ar_rel_deferred')
    backend.execute('CREATE TABLE ar_rel_deferred (n INTEGER, CONSTRAINT ar_rel_deferred_n UNIQUE (n) '
                    'DEFERRABLE INITIALLY DEFERRED)')
    try:
        with pytest.raises(IntegrityError):
            with Entry.transaction():
                Entry.create(label='in-failed-commit')
                backend.execute('INSERT INTO ar_rel_deferred (n) VALUES (?), (?)', (1, 1))
        assert not backend.in_transaction
        assert backend.pool.status()['checked_out'] == 0
        assert Database().committed() == []
        assert backend.fetch_value('SELECT count(*) FROM ar_rel_deferred') == 0
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_rel_deferred')
    record('savepoint_cases')
