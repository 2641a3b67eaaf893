"""Migration operations on the live backends: every op applied, then read back through backend.schema.

Steps are run as the migrator runs them (tests/migrate/test_migrator.py covers the migrator
itself): consecutive in-transaction steps in one transaction where DDL is transactional, an
`outside_transaction` step on its own, all on one connection (a pool of one).
"""
from __future__ import annotations

import datetime
from dataclasses import replace
from decimal import Decimal
from typing import Any, Callable, Iterator

import pytest

from activerecord import raw
from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import IntegrityError, ProgrammingError
from activerecord.migrate.operations import Operations, column
from activerecord.migrate.steps import Step
from tests.conftest import LiveDatabase

TABLES = ('mig_children', 'mig_parents', 'mig_grand', 'mig_widgets', 'mig_gadgets', 'mig_renamed')


class Harness:
    """An Operations whose steps run right after each call (so the next call sees the schema)."""

    def __init__(self, backend: StorageBackend) -> None:
        self.backend = backend
        self.op = Operations(backend)
        self.ran: list[Step] = []

    def __call__(self, call: Callable[[Operations], None]) -> list[Step]:
        start = len(self.op.steps)
        call(self.op)
        steps = self.op.steps[start:]
        group: list[Step] = []
        for step in steps + [Step('', outside_transaction=True)]:   # a sentinel flushes the last group
            if not step.outside_transaction:
                group.append(step)
                continue
            if group:
                if self.backend.features.transactional_ddl:
                    with self.backend.transaction():
                        self._run(group)
                else:
                    self._run(group)
                group = []
            if step.sql:
                self._run([step])
        self.ran += steps
        return steps

    def _run(self, steps: list[Step]) -> None:
        for step in steps:
            if step.kind == 'python':
                assert step.fn is not None
                step.fn(self.backend)
            else:
                self.backend.execute(step.sql, step.params)


def _drop_all(backend: StorageBackend) -> None:
    existing = {name.lower() for name in backend.schema.tables()}
    for table in TABLES:
        if table in existing:
            backend.execute(backend.dialect.drop_table_sql(table))


@pytest.fixture
def run(db: LiveDatabase) -> Iterator[Harness]:
    config = ConnectionConfig.from_url(db.url)
    assert config.scheme is not None
    backend = backend_class_for(config.scheme)(replace(config, pool_size=1, max_overflow=0))
    _drop_all(backend)
    try:
        yield Harness(backend)
    finally:
        _drop_all(backend)
        backend.close()


def _rows(backend: StorageBackend, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row.values()) for row in backend.fetch_all(sql)]


def _column(backend: StorageBackend, table: str, name: str) -> Any:
    return next(info for info in backend.schema.columns(table) if info.name == name)


def _widgets(run: Harness) -> None:
    run(lambda op: op.create_table('mig_widgets', column('id', int, primary_key=True, autoincrement=True),
                                   column('name', str, nullable=False, max_length=20)))
    for name in ('a', 'b', 'c'):
        run.backend.execute('INSERT INTO mig_widgets (name) VALUES (?)', (name,))


def test_contract_example_add_column_then_index(run: Harness) -> None:
    """API.md's revision: a NOT NULL str column with a default, then an index on it (a LONGTEXT
    on MariaDB, indexed by a prefix), and back down; the rows keep their values throughout."""
    backend = run.backend
    _widgets(run)
    run(lambda op: op.add_column('mig_widgets', 'colour', str, nullable=False, default='red'))
    run(lambda op: op.create_index('mig_widgets', ['colour']))
    colour = _column(backend, 'mig_widgets', 'colour')
    assert (colour.kind, colour.nullable, colour.default) == ('str', False, "'red'")
    assert [(index.name, index.columns, index.unique) for index in backend.schema.indexes('mig_widgets')] == [
        ('ix_mig_widgets_colour', ('colour',), False)]
    assert _rows(backend, 'SELECT name, colour FROM mig_widgets ORDER BY id') == [
        ('a', 'red'), ('b', 'red'), ('c', 'red')]
    run(lambda op: op.drop_index('mig_widgets', ['colour']))
    run(lambda op: op.drop_column('mig_widgets', 'colour'))
    assert backend.schema.indexes('mig_widgets') == []
    assert [info.name for info in backend.schema.columns('mig_widgets')] == ['id', 'name']
    assert _rows(backend, 'SELECT name FROM mig_widgets ORDER BY id') == [('a',), ('b',), ('c',)]


def test_alter_column_keeps_rows(run: Harness) -> None:
    """Widen a string, change a Decimal's precision, NULL -> NOT NULL with a default (NULLs filled),
    drop the default, rename; each read back through backend.schema."""
    backend = run.backend
    run(lambda op: op.create_table(
        'mig_gadgets', ('id', int, {'primary_key': True, 'nullable': False}), ('label', str, {'max_length': 5}),
        ('price', Decimal, {'max_digits': 6, 'decimal_places': 2}), ('size', int)))
    backend.execute('INSERT INTO mig_gadgets (id, label, price, size) VALUES (?, ?, ?, ?)', (1, 'abcde', Decimal('12.5'), None))
    backend.execute('INSERT INTO mig_gadgets (id, label, price, size) VALUES (?, ?, ?, ?)', (2, 'xy', Decimal('3'), 7))
    run(lambda op: op.alter_column('mig_gadgets', 'label', str, max_length=40))
    backend.execute('UPDATE mig_gadgets SET label = ? WHERE id = 2', ('a label longer than five',))
    run(lambda op: op.alter_column('mig_gadgets', 'price', Decimal, max_digits=12, decimal_places=3))
    run(lambda op: op.alter_column('mig_gadgets', 'size', nullable=False, default=1))
    size = _column(backend, 'mig_gadgets', 'size')
    assert (size.nullable, size.default) == (False, '1')
    if backend.name != 'sqlite':   # SQLite keeps the declared type as written: no widths enforced
        assert '40' in _column(backend, 'mig_gadgets', 'label').sql_type
    assert _column(backend, 'mig_gadgets', 'price').kind == 'decimal'
    run(lambda op: op.alter_column('mig_gadgets', 'size', default=None, new_name='quantity'))
    quantity = _column(backend, 'mig_gadgets', 'quantity')
    assert (quantity.nullable, quantity.default) == (False, None)
    assert 'size' not in [info.name for info in backend.schema.columns('mig_gadgets')]
    rows = _rows(backend, 'SELECT id, label, price, quantity FROM mig_gadgets ORDER BY id')
    assert [(row[0], row[1], Decimal(str(row[2])), row[3]) for row in rows] == [
        (1, 'abcde', Decimal('12.5'), 1), (2, 'a label longer than five', Decimal('3'), 7)]


def test_foreign_keys_and_unique_indexes(run: Harness) -> None:
    """add_foreign_key / drop_foreign_key by columns, a unique index (refusing a duplicate), a
    unique column added with add_column."""
    backend = run.backend
    run(lambda op: op.create_table('mig_parents', column('id', int, primary_key=True), column('code', str, max_length=10)))
    run(lambda op: op.create_table('mig_children', column('id', int, primary_key=True), column('parent_id', int)))
    backend.execute('INSERT INTO mig_parents (id, code) VALUES (1, ?)', ('p1',))
    backend.execute('INSERT INTO mig_children (id, parent_id) VALUES (10, 1)')
    run(lambda op: op.add_foreign_key('mig_children', ['parent_id'], 'mig_parents', ['id'], on_delete='CASCADE'))
    [key] = backend.schema.foreign_keys('mig_children')
    assert (key.columns, key.ref_table, key.ref_columns, key.on_delete) == (('parent_id',), 'mig_parents', ('id',), 'CASCADE')
    with pytest.raises(IntegrityError):
        backend.execute('INSERT INTO mig_children (id, parent_id) VALUES (11, 99)')
    run(lambda op: op.create_index('mig_parents', ['code'], unique=True))
    assert [(index.columns, index.unique) for index in backend.schema.indexes('mig_parents')] == [(('code',), True)]
    with pytest.raises(IntegrityError):
        backend.execute('INSERT INTO mig_parents (id, code) VALUES (2, ?)', ('p1',))
    run(lambda op: op.add_column('mig_parents', 'serial', str, max_length=30, unique=True))
    assert (('serial',), True) in [(index.columns, index.unique) for index in backend.schema.indexes('mig_parents')]
    run(lambda op: op.drop_foreign_key('mig_children', ['parent_id']))
    assert backend.schema.foreign_keys('mig_children') == []
    backend.execute('INSERT INTO mig_children (id, parent_id) VALUES (11, 99)')
    assert _rows(backend, 'SELECT id, parent_id FROM mig_children ORDER BY id') == [(10, 1), (11, 99)]


def test_tables_data_steps_and_concurrent_index(run: Harness) -> None:
    """rename_table, drop_table, execute with parameters, run_python, and concurrently=True."""
    backend = run.backend
    _widgets(run)
    run(lambda op: op.rename_table('mig_widgets', 'mig_renamed'))
    assert 'mig_renamed' in backend.schema.tables() and 'mig_widgets' not in backend.schema.tables()
    run(lambda op: op.execute('UPDATE mig_renamed SET name = ? WHERE name = ?', ('z', 'a')))
    seen: list[int] = []
    run(lambda op: op.run_python(lambda backend: seen.append(backend.fetch_value('SELECT COUNT(*) FROM mig_renamed'))))
    assert seen == [3]
    [step] = run(lambda op: op.create_index('mig_renamed', ['name'], concurrently=True))
    assert step.outside_transaction is (backend.name == 'postgresql')
    assert not step.blocks_writes or backend.name == 'sqlite'
    assert [index.columns for index in backend.schema.indexes('mig_renamed')] == [('name',)]
    assert _rows(backend, 'SELECT name FROM mig_renamed ORDER BY id') == [('z',), ('b',), ('c',)]
    run(lambda op: op.drop_table('mig_renamed'))
    assert 'mig_renamed' not in backend.schema.tables()


def test_create_table_with_references_defaults_and_composite_key(run: Harness) -> None:
    """create_table with a reference, typed defaults and a composite key; add_column with a reference."""
    backend = run.backend
    run(lambda op: op.create_table('mig_parents', column('id', int, primary_key=True, autoincrement=True),
                                   column('active', bool, nullable=False, default=True),
                                   column('since', datetime.date, default=datetime.date(2020, 1, 2))))
    run(lambda op: op.create_table('mig_children', ('parent_id', int, {'references': 'mig_parents.id'}),
                                   ('slot', int), ('note', str, {'default': 'n/a'}),
                                   primary_key=['parent_id', 'slot']))
    assert [info.name for info in backend.schema.columns('mig_children') if info.primary_key] == ['parent_id', 'slot']
    assert [key.ref_table for key in backend.schema.foreign_keys('mig_children')] == ['mig_parents']
    assert _column(backend, 'mig_parents', 'active').default == 'TRUE'
    run(lambda op: op.create_table('mig_grand', column('id', int, primary_key=True)))
    run(lambda op: op.add_column('mig_parents', 'grand_id', int, references='mig_grand.id', on_delete='SET NULL'))
    [key] = backend.schema.foreign_keys('mig_parents')
    assert (key.columns, key.ref_table, key.on_delete) == (('grand_id',), 'mig_grand', 'SET NULL')


@pytest.mark.backends('sqlite')
def test_sqlite_rebuild_keeps_rows_indexes_and_foreign_keys(run: Harness) -> None:
    """With foreign_keys on, a rebuild of a referenced table keeps the rows of the tables that
    reference it (a CASCADE would have deleted them), its indexes, unique constraints and its
    own foreign keys; foreign keys are on again afterwards."""
    backend = run.backend
    assert backend.fetch_value('PRAGMA foreign_keys') == 1
    backend.execute('CREATE TABLE mig_grand (id INTEGER PRIMARY KEY)')
    backend.execute('CREATE TABLE mig_parents (id INTEGER PRIMARY KEY AUTOINCREMENT, code VARCHAR(10) UNIQUE, '
                    "rank INTEGER, note TEXT DEFAULT 'x', score INTEGER DEFAULT (40 + 2), grand_id INTEGER REFERENCES mig_grand (id) ON DELETE CASCADE)")
    backend.execute('CREATE INDEX ix_parents_rank ON mig_parents (rank) WHERE rank > 0')
    backend.execute('CREATE TABLE mig_children (id INTEGER PRIMARY KEY, '
                    'parent_id INTEGER REFERENCES mig_parents (id) ON DELETE CASCADE)')
    backend.execute('INSERT INTO mig_grand (id) VALUES (1)')
    backend.execute('INSERT INTO mig_parents (id, code, rank, grand_id) VALUES (1, ?, NULL, 1), (2, ?, 5, 1)', ('a', 'b'))
    backend.execute('INSERT INTO mig_children (id, parent_id) VALUES (10, 1), (11, 2)')
    backend.execute("INSERT INTO mig_parents (code) VALUES ('gone')")
    backend.execute("DELETE FROM mig_parents WHERE code = 'gone'")   # key 3 was used once
    steps = run(lambda op: op.alter_column('mig_parents', 'rank', nullable=False, default=0))
    assert steps[0].sql == 'PRAGMA foreign_keys = OFF' and steps[-1].sql == 'PRAGMA foreign_keys = ON'
    assert all(step.rewrites_table and step.blocks_writes for step in steps)
    assert backend.fetch_value('PRAGMA foreign_keys') == 1
    assert _rows(backend, 'SELECT id, parent_id FROM mig_children ORDER BY id') == [(10, 1), (11, 2)]
    assert _rows(backend, 'SELECT id, code, rank, note, grand_id FROM mig_parents ORDER BY id') == [
        (1, 'a', 0, 'x', 1), (2, 'b', 5, 'x', 1)]
    rank = _column(backend, 'mig_parents', 'rank')
    assert (rank.nullable, rank.default) == (False, '0')
    # (a partial index: backend.schema.indexes() leaves it out, so it is read from sqlite_master)
    assert backend.fetch_value("SELECT sql FROM sqlite_master WHERE name = 'ix_parents_rank'") == (
        'CREATE INDEX ix_parents_rank ON mig_parents (rank) WHERE rank > 0')
    assert (('code',), True) in [(index.columns, index.unique) for index in backend.schema.indexes('mig_parents')]
    [key] = backend.schema.foreign_keys('mig_parents')
    assert (key.columns, key.ref_table, key.on_delete) == (('grand_id',), 'mig_grand', 'CASCADE')
    assert 'AUTOINCREMENT' in backend.fetch_value("SELECT sql FROM sqlite_master WHERE name = 'mig_parents'")
    assert backend.fetch_value("SELECT seq FROM sqlite_sequence WHERE name = 'mig_parents'") == 3
    # the keys still hold after the rebuild: a cascade from the rebuilt table reaches the children
    backend.execute('DELETE FROM mig_parents WHERE id = 1')
    assert _rows(backend, 'SELECT id FROM mig_children') == [(11,)]
    backend.execute("INSERT INTO mig_parents (code, rank) VALUES ('d', 1)")   # the expression default holds
    assert backend.fetch_value("SELECT score FROM mig_parents WHERE code = 'd'") == 42
    backend.execute("DELETE FROM mig_parents WHERE code = 'd'")
    # dropping an indexed column rebuilds too, and takes its index along
    run(lambda op: op.drop_column('mig_parents', 'rank'))
    assert 'ix_parents_rank' not in [index.name for index in backend.schema.indexes('mig_parents')]
    assert _rows(backend, 'SELECT id, code FROM mig_parents') == [(2, 'b')]


@pytest.mark.backends('sqlite')
def test_sqlite_rebuild_refuses_rows_breaking_a_new_foreign_key(run: Harness) -> None:
    """A foreign key added over rows that break it fails the rebuild's check (and the transaction)."""
    backend = run.backend
    run(lambda op: op.create_table('mig_parents', column('id', int, primary_key=True)))
    run(lambda op: op.create_table('mig_children', column('id', int, primary_key=True), column('parent_id', int)))
    backend.execute('INSERT INTO mig_children (id, parent_id) VALUES (1, 42)')
    with pytest.raises(IntegrityError, match='mig_children'):
        run(lambda op: op.add_foreign_key('mig_children', ['parent_id'], 'mig_parents', ['id']))
    assert backend.schema.foreign_keys('mig_children') == []
    assert _rows(backend, 'SELECT id, parent_id FROM mig_children') == [(1, 42)]


def test_effects_per_backend(run: Harness) -> None:
    """What a step costs on this backend, as the dialect's data says."""
    backend = run.backend
    _widgets(run)
    steps = run(lambda op: op.alter_column('mig_widgets', 'name', str, max_length=60))
    assert steps and all(step.rewrites_table for step in steps)
    steps = run(lambda op: op.add_column('mig_widgets', 'stamp', datetime.datetime, default=raw('CURRENT_TIMESTAMP')))
    assert steps[0].rewrites_table   # an expression default (SQLite: a rebuild, as ADD COLUMN refuses it)
    assert _rows(backend, 'SELECT COUNT(*) FROM mig_widgets WHERE stamp IS NOT NULL') == [(3,)]
    # the key stays generated after its column is restated (MySQL's MODIFY)
    run(lambda op: op.alter_column('mig_widgets', 'id', int, nullable=False))
    backend.execute('INSERT INTO mig_widgets (name) VALUES (?)', ('d',))
    assert _rows(backend, "SELECT id FROM mig_widgets WHERE name = 'd'") == [(4,)]
    with pytest.raises(ProgrammingError, match='nosuch'):
        run(lambda op: op.alter_column('mig_widgets', 'nosuch', nullable=False))


def test_drop_the_index_of_a_unique_column(run: Harness) -> None:
    """A unique column's index belongs to its UNIQUE constraint (PostgreSQL refuses DROP INDEX,
    SQLite cannot drop it at all): drop_index by its columns drops the constraint, rows kept."""
    backend = run.backend
    run(lambda op: op.create_table('mig_gadgets', column('id', int, primary_key=True),
                                   column('code', str, max_length=10, unique=True)))
    backend.execute('INSERT INTO mig_gadgets (id, code) VALUES (1, ?)', ('a',))
    assert [(index.columns, index.unique) for index in backend.schema.indexes('mig_gadgets')] == [(('code',), True)]
    run(lambda op: op.drop_index('mig_gadgets', ['code']))
    assert backend.schema.indexes('mig_gadgets') == []
    backend.execute('INSERT INTO mig_gadgets (id, code) VALUES (2, ?)', ('a',))
    assert _rows(backend, 'SELECT id, code FROM mig_gadgets ORDER BY id') == [(1, 'a'), (2, 'a')]


def test_a_dropped_foreign_key_leaves_no_index_behind(run: Harness) -> None:
    """InnoDB makes an index for a key no index covers and keeps it after the key is dropped:
    drop_foreign_key drops it with the key, a user's index on the same columns stays, and an
    index a key relies on can be dropped (the key gets its own first). Every backend ends alike."""
    backend = run.backend

    def indexes() -> set[tuple[tuple[str, ...], bool]]:
        return {(index.columns, index.unique) for index in backend.schema.indexes('mig_children')}
    run(lambda op: op.create_table('mig_parents', column('id', int, primary_key=True)))
    run(lambda op: op.create_table('mig_children', column('id', int, primary_key=True), column('parent_id', int),
                                   column('other_id', int), column('note', str, max_length=20)))
    run(lambda op: op.add_foreign_key('mig_children', ['parent_id'], 'mig_parents', ['id']))
    run(lambda op: op.drop_foreign_key('mig_children', ['parent_id']))
    assert indexes() == set()
    # a user's index on the key's columns is the user's: it stays
    run(lambda op: op.create_index('mig_children', ['other_id']))
    run(lambda op: op.add_foreign_key('mig_children', ['other_id'], 'mig_parents', ['id']))
    run(lambda op: op.drop_foreign_key('mig_children', ['other_id']))
    assert indexes() == {(('other_id',), False)}
    # the only index a key can use is dropped: the key keeps working on an index of its own
    run(lambda op: op.create_index('mig_children', ['parent_id', 'note']))
    run(lambda op: op.add_foreign_key('mig_children', ['parent_id'], 'mig_parents', ['id']))
    run(lambda op: op.drop_index('mig_children', ['parent_id', 'note']))
    assert (('parent_id', 'note'), False) not in indexes()
    run(lambda op: op.drop_foreign_key('mig_children', ['parent_id']))
    assert indexes() == {(('other_id',), False)}
    assert backend.schema.foreign_keys('mig_children') == []
