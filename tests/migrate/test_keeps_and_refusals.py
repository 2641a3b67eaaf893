"""What a migration keeps of a table it changes, and what it refuses instead of losing:
SQLite's rebuild (table options, COLLATE, DEFERRABLE, views and triggers naming the table),
SQLite's constraint check and migrator lock, MariaDB's MODIFY (COLLATE, COMMENT, ON UPDATE)
and unique indexes on unbounded text."""
from __future__ import annotations

import sqlite3
import textwrap
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import MigrationError, ProgrammingError
from activerecord.migrate import Migrator
from activerecord.migrate.operations import Operations, column
from activerecord.migrate.sqlite_table_sql import parse_create_table
from activerecord.migrate.steps import Step

from conftest import require_server


def write(folder: Path, revision: str, down_revision: str | None, up: str, header: str = '') -> None:
    """A revision file whose down does nothing."""
    (folder / f'{revision}.py').write_text(
        f'{header}\nrevision = {revision!r}\ndown_revision = {down_revision!r}\n\n'
        f'def up(op):\n{textwrap.indent(textwrap.dedent(up).strip(), "    ")}\n\n'
        'def down(op):\n    pass\n', encoding='utf-8')


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / 'migrations'
    path.mkdir()
    return path


def master_sql(path: Path, name: str) -> str:
    with sqlite3.connect(path) as connection:
        row = connection.execute('SELECT sql FROM sqlite_master WHERE name = ?', (name,)).fetchone()
    connection.close()
    assert row is not None, name
    return str(row[0])


def test_sqlite_rebuild_keeps_table_options_collations_and_deferrable_keys(tmp_path: Path, folder: Path) -> None:
    database = tmp_path / 'app.db'
    write(folder, '0001', None, """
        op.execute('CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE UNIQUE, code TEXT)')
        op.execute('CREATE TABLE w (k TEXT PRIMARY KEY, n INT) WITHOUT ROWID')
        op.execute('CREATE TABLE s (id INTEGER PRIMARY KEY, n INT) STRICT')
        op.execute('CREATE TABLE c (id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED, '
                   'v TEXT)')
        op.execute("INSERT INTO p VALUES (1, 'Ann', 'a')")
        op.execute("INSERT INTO w VALUES ('k1', 1)")
        op.execute("INSERT INTO s VALUES (1, 2)")
        op.execute("INSERT INTO c VALUES (1, 1, 'x')")
    """)
    write(folder, '0002', '0001', """
        op.alter_column('p', 'code', nullable=False, default='z')
        op.alter_column('w', 'n', nullable=False, default=0)
        op.alter_column('s', 'n', nullable=False, default=0)
        op.alter_column('c', 'v', nullable=False, default='q')
    """)
    with Migrator(f'sqlite:///{database}', folder) as migrator:
        assert migrator.up() == ['0001', '0002']
    assert master_sql(database, 'w').endswith(') WITHOUT ROWID')
    assert master_sql(database, 's').endswith(') STRICT')
    assert 'DEFERRABLE INITIALLY DEFERRED' in master_sql(database, 'c')
    connection = sqlite3.connect(database, isolation_level=None)   # autocommit: the test says BEGIN
    try:
        assert connection.execute('SELECT * FROM p').fetchall() == [(1, 'Ann', 'a')]
        assert connection.execute('SELECT * FROM w').fetchall() == [('k1', 1)]
        with pytest.raises(sqlite3.IntegrityError):   # the unique column still compares case-blind
            connection.execute("INSERT INTO p VALUES (2, 'ANN', 'b')")
        with pytest.raises(sqlite3.IntegrityError):   # STRICT still refuses text in an INT column
            connection.execute("INSERT INTO s VALUES (2, 'text')")
        connection.execute('PRAGMA foreign_keys = ON')
        connection.execute('BEGIN')   # deferred: an orphan is allowed until COMMIT
        connection.execute("INSERT INTO c VALUES (2, 99, 'y')")
        connection.execute("INSERT INTO p VALUES (99, NULL, 'c')")
        connection.execute('COMMIT')
    finally:
        connection.close()


def test_sqlite_rebuild_with_views_and_triggers_naming_the_table(tmp_path: Path, folder: Path) -> None:
    database = tmp_path / 'app.db'
    write(folder, '0001', None, """
        op.execute('CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, code TEXT)')
        op.execute('CREATE TABLE log (what TEXT)')
        op.execute('CREATE VIEW names AS SELECT name FROM p')
        op.execute('CREATE INDEX ix_p_name ON p (name)')
        op.execute("CREATE TRIGGER log_p AFTER INSERT ON log BEGIN UPDATE p SET code = 'logged'; END")
        op.execute("INSERT INTO p VALUES (1, 'Ann', NULL)")
    """)
    write(folder, '0002', '0001', "op.alter_column('p', 'code', nullable=False, default='z')")
    write(folder, '0003', '0002', "op.drop_column('p', 'name')")   # indexed: a rebuild
    with Migrator(f'sqlite:///{database}', folder) as migrator:
        assert migrator.up(to='0002') == ['0001', '0002']
        connection = sqlite3.connect(database)
        try:
            assert connection.execute('SELECT * FROM names').fetchall() == [('Ann',)]
            connection.execute("INSERT INTO log VALUES ('x')")   # the other table's trigger still works
            connection.commit()
            assert connection.execute('SELECT code FROM p').fetchall() == [('logged',)]
        finally:
            connection.close()
        # the view reads the dropped column: refused, rolled back, named
        with pytest.raises(MigrationError, match="breaks view 'names'"):
            migrator.up()
        assert '0003' not in migrator.history()
    assert 'name' in master_sql(database, 'p')


def test_sqlite_rebuild_refuses_what_it_cannot_restate(tmp_path: Path, folder: Path) -> None:
    write(folder, '0001', None, """
        op.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL ON CONFLICT REPLACE, code TEXT)')
    """)
    write(folder, '0002', '0001', "op.alter_column('t', 'code', nullable=False, default='z')")
    with Migrator(f'sqlite:///{tmp_path}/app.db', folder) as migrator:
        with pytest.raises(MigrationError, match="table 't'.*ON CONFLICT clause of column 'v'"):
            migrator.up()
        assert list(migrator.history()) == ['0001']


def test_sqlite_an_orphan_already_there_does_not_block_a_migration(tmp_path: Path, folder: Path) -> None:
    database = tmp_path / 'app.db'
    connection = sqlite3.connect(database)
    connection.executescript('CREATE TABLE par (id INTEGER PRIMARY KEY); '
                             'CREATE TABLE kid (id INTEGER PRIMARY KEY, pid INT REFERENCES par(id), v TEXT); '
                             'INSERT INTO kid VALUES (1, 99, NULL);')
    connection.close()
    write(folder, '0001', None, "op.execute('CREATE TABLE other (id INTEGER PRIMARY KEY)')")
    # a rebuild of the very table holding the orphan keeps it as it was
    write(folder, '0002', '0001', "op.alter_column('kid', 'v', nullable=False, default='z')")
    # a new orphan is still refused
    write(folder, '0003', '0002', "op.execute('INSERT INTO kid VALUES (2, 98, 1)')")
    with Migrator(f'sqlite:///{database}', folder) as migrator:
        assert migrator.up(to='0002') == ['0001', '0002']
        with pytest.raises(MigrationError, match="breaking a constraint"):
            migrator.up()
        assert sorted(migrator.history()) == ['0001', '0002']


def test_sqlite_a_second_migrator_waits_for_the_first_then_sees_the_work_done(tmp_path: Path,
                                                                               folder: Path) -> None:
    # The first migrator's revision runs longer than the lock timeout (signalled by a file, so
    # that the second starts while it runs); the second waits for it rather than failing.
    started = tmp_path / 'started'
    write(folder, '0001', None, f"""
        op.execute('CREATE TABLE slow (id INTEGER PRIMARY KEY)')
        op.run_python(lambda backend: (pathlib.Path({str(started)!r}).touch(), time.sleep(1.5)))
    """, header='import pathlib\nimport time')
    url = f'sqlite:///{tmp_path}/app.db'
    results: dict[str, object] = {}

    def first() -> None:
        with Migrator(url, folder, lock_timeout=0.2) as migrator:
            results['first'] = migrator.up()
    thread = threading.Thread(target=first)
    thread.start()
    try:
        while not started.exists() and thread.is_alive():
            thread.join(0.01)
        with Migrator(url, folder, lock_timeout=0.2) as migrator:
            results['second'] = migrator.up()
    finally:
        thread.join()
    assert results == {'first': ['0001'], 'second': []}


def open_backend(url: str) -> StorageBackend:
    config = ConnectionConfig.from_url(url)
    assert config.scheme is not None
    return backend_class_for(config.scheme)(config)


def runner(backend: StorageBackend) -> Callable[[Step], None]:
    """A sink running each step as it comes."""
    def run(step: Step) -> None:
        backend.execute(step.sql, step.params or None)
    return run


@pytest.fixture
def mariadb() -> Iterator[StorageBackend]:
    backend = open_backend(require_server('mysql'))
    backend.execute('DROP TABLE IF EXISTS mig_keep')
    try:
        yield backend
    finally:
        backend.execute('DROP TABLE IF EXISTS mig_keep')
        backend.close()


def test_mariadb_modify_keeps_collation_comment_and_on_update(mariadb: StorageBackend) -> None:
    mariadb.execute("CREATE TABLE mig_keep (id INT AUTO_INCREMENT PRIMARY KEY COMMENT 'the key', "
                    "v VARCHAR(10) COLLATE utf8mb4_bin COMMENT 'keep ''me'' \\\\ here', "
                    "u DATETIME NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, w VARCHAR(5))")
    op = Operations(mariadb, runner(mariadb))
    op.alter_column('mig_keep', 'v', nullable=False, default='x')
    op.alter_column('mig_keep', 'u', nullable=False)
    op.alter_column('mig_keep', 'w', type=int)   # text to a number: no collation to keep
    op.alter_column('mig_keep', 'id', type=int)   # MODIFY of an AUTO_INCREMENT column
    rows = {str(row['name']): row for row in mariadb.fetch_all(
        'SELECT column_name AS name, collation_name AS coll, column_comment AS comment, extra AS extra, '
        'is_nullable AS nullable FROM information_schema.columns '
        "WHERE table_schema = DATABASE() AND table_name = 'mig_keep'")}
    assert rows['v']['coll'] == 'utf8mb4_bin'
    assert rows['v']['comment'] == "keep 'me' \\ here"
    assert rows['v']['nullable'] == 'NO'
    assert 'on update' in str(rows['u']['extra']).lower()
    assert rows['u']['nullable'] == 'NO'
    assert rows['w']['coll'] is None
    assert 'auto_increment' in str(rows['id']['extra']).lower() and rows['id']['comment'] == 'the key'


def test_mariadb_refuses_a_unique_index_on_unbounded_text(mariadb: StorageBackend) -> None:
    op = Operations(mariadb, runner(mariadb))
    op.create_table('mig_keep', column('id', int, primary_key=True), column('body', str),
                    column('code', str, max_length=300))
    with pytest.raises(ProgrammingError, match="column 'body' is an unbounded LONGTEXT.*max_length"):
        op.create_index('mig_keep', ['code', 'body'], unique=True)
    op.create_index('mig_keep', ['code', 'body'])        # a plain index on a prefix is fine
    op.create_index('mig_keep', ['code'], unique=True)   # and a unique one on a bounded column
    assert sorted((index.columns, index.unique) for index in mariadb.schema.indexes('mig_keep')) == [
        (('code',), True), (('code', 'body'), False)]


def test_the_create_table_text_reader_on_quoted_names_and_table_constraints() -> None:
    text = parse_create_table(
        'CREATE TABLE "a ""b" ([x y] TEXT COLLATE "RTRIM" NOT NULL, "q""r" INT, -- a comment, (with parens\n'
        'CONSTRAINT fk FOREIGN KEY ([x y], "q""r") REFERENCES t (a, b) ON DELETE CASCADE '
        'NOT DEFERRABLE INITIALLY IMMEDIATE) STRICT, WITHOUT ROWID')
    assert text.collations == {'x y': 'RTRIM'}
    assert text.deferrable == {('x y', 'q"r'): 'NOT DEFERRABLE INITIALLY IMMEDIATE'}
    assert text.options == 'STRICT, WITHOUT ROWID'
    assert text.unsupported == []


def test_sqlite_a_failure_before_any_revision_runs_is_a_migration_error(tmp_path: Path, folder: Path) -> None:
    # a history table the migrator cannot read (not its own): no raw driver error, nothing applied
    database = tmp_path / 'app.db'
    connection = sqlite3.connect(database)
    connection.execute('CREATE VIEW ar_schema_migrations AS SELECT revision, applied_at FROM gone')
    connection.commit()
    connection.close()
    write(folder, '0001', None, "op.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)')")
    with Migrator(f'sqlite:///{database}', folder) as migrator:
        with pytest.raises(MigrationError, match='(?s)could not start the next migration.*nothing of it ran'):
            migrator.up()
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchall() == []
    connection.close()
