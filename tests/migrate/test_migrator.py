"""The migrator on every live backend: the chain up and down, history, status, offline SQL equal
to what `up` runs, two processes at once, a failing migration, and (PostgreSQL) lock timeouts
and CREATE INDEX CONCURRENTLY under writes."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Iterator

import pytest

from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.cli import main
from activerecord.errors import ActiveRecordError, MigrationError
from activerecord.migrate import Migrator

from conftest import parametrize_matrix, require_server

ROOT = Path(__file__).resolve().parents[2]
TABLES = ('gadgets', 'widgets', 'ar_schema_migrations')


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_matrix(metafunc, 'live')


def open_backend(url: str) -> StorageBackend:
    config = ConnectionConfig.from_url(url)
    assert config.scheme is not None
    return backend_class_for(config.scheme)(config)


def script_statements(script: str) -> list[str]:
    """The statements of an offline script (comment lines left out; a statement ends with `;`)."""
    statements: list[str] = []
    lines: list[str] = []
    for line in script.splitlines():
        if not lines and (not line or line.startswith('--')):
            continue
        lines.append(line)
        if line.endswith(';'):
            statements.append('\n'.join(lines)[:-1])
            lines = []
    assert not lines, f'unterminated statement: {lines}'
    return statements


def logged_statements(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The SQL this thread sent while caplog captured the activerecord.sql log."""
    return [str(record.args[0]) for record in caplog.records  # type: ignore[index]
            if record.name == 'activerecord.sql' and record.args and record.thread == threading.get_ident()]


class Live:
    """A database of the matrix, a migrations folder, and a backend to look at the result."""

    def __init__(self, name: str, url: str, folder: Path) -> None:
        self.name = name
        self.url = url
        self.folder = folder
        self.backend = open_backend(url)

    def drop_tables(self) -> None:
        for table in TABLES:
            self.backend.execute(self.backend.dialect.drop_table_sql(table, if_exists=True))

    def write(self, revision: str, down_revision: str | None, up: str, down: str = 'pass',
              header: str = '') -> None:
        """A revision file named after its revision."""
        source = (f'{header}\nrevision = {revision!r}\ndown_revision = {down_revision!r}\n\n'
                  f'def up(op):\n{textwrap.indent(textwrap.dedent(up).strip(), "    ")}\n\n'
                  f'def down(op):\n{textwrap.indent(textwrap.dedent(down).strip(), "    ")}\n')
        (self.folder / f'{revision}.py').write_text(source, encoding='utf-8')

    def history(self) -> list[str]:
        rows = self.backend.fetch_all('SELECT revision FROM ar_schema_migrations ORDER BY revision')
        return [str(row['revision']) for row in rows]

    def columns(self, table: str) -> list[str]:
        return [column.name for column in self.backend.schema.columns(table)]

    def migrator(self, lock_timeout: float = 5.0) -> Migrator:
        return Migrator(self.url, self.folder, lock_timeout=lock_timeout)

    def write_chain(self) -> None:
        """Three revisions: a table, a column with an index, a second table."""
        self.write('0001_widgets', None,
                   "op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')",
                   "op.drop_table('widgets')")
        self.write('0002_colour', '0001_widgets',
                   """
                   op.add_column('widgets', 'colour', str, nullable=True)
                   op.create_index('widgets', ['name'])
                   """,
                   """
                   op.drop_index('widgets', ['name'])
                   op.drop_column('widgets', 'colour')
                   """)
        self.write('0003_gadgets', '0002_colour',
                   "op.execute('CREATE TABLE gadgets (id INTEGER NOT NULL PRIMARY KEY)')",
                   "op.drop_table('gadgets')")


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    name = request.param
    url = require_server(name)
    if name == 'sqlite':
        url = f'sqlite:///{tmp_path}/app.db'   # a file: a second process must see the same database
    folder = tmp_path / 'migrations'
    folder.mkdir()
    database = Live(name, url, folder)
    database.drop_tables()
    try:
        yield database
    finally:
        try:
            database.drop_tables()
        finally:
            database.backend.close()


def test_the_chain_goes_up_and_down_by_target_and_steps(live: Live) -> None:
    live.write_chain()
    with live.migrator() as migrator:
        assert migrator.up(to='0002_colour') == ['0001_widgets', '0002_colour']
        assert live.history() == ['0001_widgets', '0002_colour']
        assert 'colour' in live.columns('widgets') and 'gadgets' not in live.backend.schema.tables()
        states = migrator.status()
        assert [(state.revision, state.applied) for state in states] == [
            ('0001_widgets', True), ('0002_colour', True), ('0003_gadgets', False)]
        assert all(state.applied_at is not None for state in states[:2])

        assert migrator.up() == ['0003_gadgets']
        assert migrator.up() == []   # nothing pending: nothing runs
        assert live.history() == ['0001_widgets', '0002_colour', '0003_gadgets']

        assert migrator.down() == ['0003_gadgets']   # one step by default
        assert 'gadgets' not in live.backend.schema.tables()
        assert migrator.down(to='0001_widgets') == ['0002_colour']
        assert live.columns('widgets') == ['id', 'name'] and live.backend.schema.indexes('widgets') == []
        assert live.history() == ['0001_widgets']
        migrator.up()
        assert migrator.down(steps=2) == ['0003_gadgets', '0002_colour']
        assert migrator.down(to='base') == ['0001_widgets']
        assert 'widgets' not in live.backend.schema.tables() and live.history() == []


def test_a_fork_is_an_error_naming_both_heads(live: Live) -> None:
    live.write_chain()
    live.write('0003_other', '0002_colour', "op.execute('SELECT 1')")
    live.write('0004_more', '0003_other', "op.execute('SELECT 1')")
    with live.migrator() as migrator:
        with pytest.raises(MigrationError) as caught:
            migrator.up()
    message = str(caught.value)
    assert "'0003_gadgets'" in message and "'0004_more'" in message and "after revision '0002_colour'" in message
    assert 'ar_schema_migrations' not in live.backend.schema.tables()   # nothing ran


def test_an_unknown_target_names_the_known_revisions(live: Live) -> None:
    live.write_chain()
    with live.migrator() as migrator:
        with pytest.raises(MigrationError, match=r"unknown revision '0009'.*0001_widgets, 0002_colour"):
            migrator.up(to='0009')


def test_offline_sql_is_what_up_runs(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    live.write_chain()
    with live.migrator() as migrator:
        migrator.up(to='0001_widgets')
        script = migrator.sql()
        assert '-- up 0002_colour' in script and '-- up 0001_widgets' not in script
        with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
            migrator.up()
    offline = script_statements(script)
    ran = logged_statements(caplog)
    # reads are left out of the script: the lock, the history and the constraint check
    changes = [sql for sql in ran if not sql.lstrip().upper().startswith(('SELECT', 'PRAGMA FOREIGN_KEY_CHECK'))]
    assert changes == offline
    assert any(sql.startswith('INSERT INTO') and "'0003_gadgets'" in sql for sql in offline)
    assert live.history() == ['0001_widgets', '0002_colour', '0003_gadgets']

    with live.migrator() as migrator:
        back = migrator.sql('down', to='0001_widgets')
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
            assert migrator.down(to='0001_widgets') == ['0003_gadgets', '0002_colour']
    assert [line for line in back.splitlines() if line.startswith('-- down')] == [
        '-- down 0003_gadgets (0003_gadgets.py)', '-- down 0002_colour (0002_colour.py)']
    reads = ('SELECT', 'PRAGMA FOREIGN_KEY_CHECK')
    assert [sql for sql in logged_statements(caplog) if not sql.lstrip().upper().startswith(reads)] == \
        script_statements(back)


def test_status_and_sql_mark_steps_that_rewrite_or_block(live: Live) -> None:
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')")
    live.write('0002_not_null', '0001_widgets', "op.alter_column('widgets', 'name', nullable=False)")
    with Migrator(live.backend, live.folder) as migrator:   # a backend instead of a URL: its database
        migrator.up(to='0001_widgets')
        pending = migrator.status()[1]
        script = migrator.sql()
    assert not pending.applied and pending.notes, pending
    assert any('blocks writes' in note or 'rewrites the table' in note for note in pending.notes)
    assert '-- blocks writes' in script or '-- rewrites the table' in script


def test_a_failing_migration_leaves_database_and_history_as_documented(live: Live) -> None:
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')")
    live.write('0002_broken', '0001_widgets',
               """
               op.add_column('widgets', 'colour', str, nullable=True)
               op.execute("INSERT INTO widgets (id, name) VALUES (1, 'first')")
               op.execute('THIS IS NOT SQL')
               op.execute("INSERT INTO widgets (id, name) VALUES (2, 'second')")
               """)
    with live.migrator() as migrator:
        with pytest.raises(MigrationError) as caught:
            migrator.up()
    error = caught.value
    assert error.revision == '0002_broken' and error.statement == 'THIS IS NOT SQL'
    assert "revision '0002_broken'" in str(error) and 'THIS IS NOT SQL' in str(error)
    assert live.history() == ['0001_widgets']   # the failed revision is not recorded either way
    names = [str(row['name']) for row in live.backend.fetch_all('SELECT name FROM widgets ORDER BY id')]
    if live.backend.features.transactional_ddl:
        # SQLite, PostgreSQL: the revision's transaction rolled back whole
        assert error.statements_run == ()
        assert live.columns('widgets') == ['id', 'name'] and names == []
        assert 'rolled back' in str(error)
    else:
        # MariaDB: DDL committed as it ran; the error lists what stayed, and the data shows it
        assert len(error.statements_run) == 2
        assert error.statements_run[0].startswith('ALTER TABLE') and 'INSERT INTO' in error.statements_run[1]
        assert all(statement in str(error) for statement in error.statements_run)
        assert live.columns('widgets') == ['id', 'name', 'colour'] and names == ['first']


def test_two_processes_apply_each_revision_once(live: Live) -> None:
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')")
    # The second revision is slow and not idempotent: applied twice, it fails on the key or
    # leaves two rows.
    live.write('0002_rows', '0001_widgets',
               """
               op.run_python(lambda backend: time.sleep(0.5))
               op.execute("INSERT INTO widgets (id, name) VALUES (1, 'once')")
               op.add_column('widgets', 'colour', str, nullable=True)
               """, header='import time')
    live.write('0003_more', '0002_rows', "op.execute(\"INSERT INTO widgets (id, name) VALUES (2, 'more')\")")
    command = [sys.executable, '-m', 'activerecord', 'migrate', 'up', '--url', live.url, '--dir', str(live.folder)]
    environment = {**os.environ, 'PYTHONPATH': str(ROOT)}
    processes = [subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    applied = ''.join(out for out, _ in outputs)
    for revision in ('0001_widgets', '0002_rows', '0003_more'):
        assert applied.count(f'applied {revision}') == 1, outputs
    assert live.history() == ['0001_widgets', '0002_rows', '0003_more']
    rows = live.backend.fetch_all('SELECT id, name FROM widgets ORDER BY id')
    assert [(row['id'], row['name']) for row in rows] == [(1, 'once'), (2, 'more')]


def test_cli_status_sql_and_errors(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    live.write_chain()
    common = ['--url', live.url, '--dir', str(live.folder)]
    assert main(['migrate', 'up', '--to', '0001_widgets', *common]) == 0
    assert capsys.readouterr().out == 'applied 0001_widgets\n'
    assert main(['migrate', 'status', *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('0001_widgets  applied ') and lines[1].startswith('0002_colour   pending')
    assert main(['migrate', 'sql', 'up', '--to', '0002_colour', *common]) == 0
    script = capsys.readouterr().out
    assert '-- up 0002_colour' in script and '0003_gadgets' not in script
    assert live.history() == ['0001_widgets']   # sql ran nothing
    assert main(['migrate', 'down', '--steps', '1', *common]) == 0
    assert capsys.readouterr().out == 'reverted 0001_widgets\n'

    live.write('0004_fork', '0002_colour', "op.execute('SELECT 1')")
    assert main(['migrate', 'up', *common]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith('error: the migrations fork after') and 'Traceback' not in captured.err
    (live.folder / '0004_fork.py').unlink()
    live.write('0004_bad', '0003_gadgets', "op.execute('THIS IS NOT SQL')")
    assert main(['migrate', 'up', *common]) == 1
    captured = capsys.readouterr()
    assert 'applied 0003_gadgets' in captured.out
    assert captured.err.startswith("error: applying revision '0004_bad'") and 'Traceback' not in captured.err


@pytest.mark.backends('sqlite')
def test_sqlite_checks_foreign_keys_before_a_revision_commits(live: Live) -> None:
    # The migrator's connection runs with foreign keys off (a table rebuild drops the old table),
    # so a revision that breaks one must be caught before it commits.
    live.write('0001_tables', None,
               """
               op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')
               op.execute('CREATE TABLE gadgets (id INTEGER NOT NULL PRIMARY KEY, '
                          'widget_id INTEGER REFERENCES widgets (id))')
               op.execute("INSERT INTO widgets (id, name) VALUES (1, 'w')")
               op.execute('INSERT INTO gadgets (id, widget_id) VALUES (1, 1)')
               """)
    live.write('0002_orphan', '0001_tables', "op.execute('DELETE FROM widgets')")
    with live.migrator() as migrator:
        with pytest.raises(MigrationError, match='breaking a constraint') as caught:
            migrator.up()
    assert caught.value.revision == '0002_orphan'
    assert live.history() == ['0001_tables']
    assert live.backend.fetch_value('SELECT COUNT(*) FROM widgets') == 1   # rolled back


@pytest.mark.backends('postgresql')
def test_a_migration_behind_an_open_transaction_fails_within_its_lock_timeout(live: Live) -> None:
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')")
    live.write('0002_colour', '0001_widgets', "op.add_column('widgets', 'colour', str, nullable=True)")
    with live.migrator(lock_timeout=0.2) as migrator:
        migrator.up(to='0001_widgets')
        reader = open_backend(live.url)
        try:
            with reader.transaction():
                reader.fetch_all('SELECT * FROM widgets')   # holds ACCESS SHARE until the block ends
                with pytest.raises(MigrationError) as caught:
                    migrator.up()
        finally:
            reader.close()
        assert caught.value.revision == '0002_colour'
        assert 'lock timeout' in str(caught.value) and 'ALTER TABLE' in str(caught.value)
        assert live.history() == ['0001_widgets'] and live.columns('widgets') == ['id', 'name']
        assert migrator.up() == ['0002_colour']   # once the transaction is gone it goes through


@pytest.mark.backends('postgresql')
def test_a_concurrent_index_is_built_while_another_connection_writes(live: Live,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')")
    live.write('0002_index', '0001_widgets', "op.create_index('widgets', ['name'], concurrently=True)")
    with live.migrator() as migrator:
        migrator.up(to='0001_widgets')
        live.backend.executemany('INSERT INTO widgets (id, name) VALUES (?, ?)',
                                 [(number, f'w{number}') for number in range(1, 5001)])
        writer = open_backend(live.url)
        stop = threading.Event()
        written: list[int] = []
        failures: list[ActiveRecordError] = []

        def write() -> None:
            number = 100000
            while not stop.is_set():
                number += 1
                try:
                    writer.execute('INSERT INTO widgets (id, name) VALUES (?, ?)', (number, f'w{number}'))
                except ActiveRecordError as error:
                    failures.append(error)
                    return
                written.append(number)
        thread = threading.Thread(target=write)
        thread.start()
        try:
            while len(written) < 20:   # the writer is under way before the index starts
                threading.Event().wait(0.01)
            before = len(written)
            with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
                assert migrator.up() == ['0002_index']
            after = len(written)
        finally:
            stop.set()
            thread.join()
            writer.close()
    assert failures == []
    assert after > before   # rows went in while the migrator ran
    ran = logged_statements(caplog)   # this thread's: the migrator's, not the writer's
    create = next(sql for sql in ran if sql.startswith('CREATE INDEX CONCURRENTLY'))
    # run outside the revision's transaction, under a session lock timeout reset after it
    assert ran[ran.index(create) - 2:ran.index(create)] == ['COMMIT', "SET lock_timeout = '5000ms'"]
    valid = live.backend.fetch_all("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                   "WHERE i.indrelid = 'widgets'::regclass AND NOT i.indisprimary")
    assert [row['indisvalid'] for row in valid] == [True]
    assert [index.columns for index in live.backend.schema.indexes('widgets')] == [('name',)]


@pytest.mark.backends('sqlite')
def test_offline_sql_of_a_rebuild_after_an_add_in_the_same_revision_is_what_up_runs(
        live: Live, caplog: pytest.LogCaptureFixture) -> None:
    """The rebuild is rendered from the live table plus the columns the revision added (and less
    those it dropped) before it, so the script keeps them as `up` does."""
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50), "
               "old TEXT)')")
    live.write('0002_colour', '0001_widgets', """
        op.add_column('widgets', 'colour', str, max_length=10)
        op.drop_column('widgets', 'old')
        op.alter_column('widgets', 'colour', nullable=False, default='red')
        op.alter_column('widgets', 'name', str, max_length=80)
        """)
    with live.migrator() as migrator:
        migrator.up(to='0001_widgets')
        migrator.backend.execute("INSERT INTO widgets (id, name, old) VALUES (1, 'bolt', 'x')")
        script = migrator.sql()
        with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
            migrator.up()
    rebuilds = [sql for sql in script_statements(script) if sql.startswith('CREATE TABLE "_ar_rebuild_widgets"')]
    assert len(rebuilds) == 2 and all('"colour"' in sql and '"old"' not in sql for sql in rebuilds)
    # reads are left out of the script (the rebuild asks whether foreign keys are enforced)
    ran = [sql for sql in logged_statements(caplog) if not sql.lstrip().upper().startswith(
        ('SELECT', 'PRAGMA FOREIGN_KEY_CHECK')) and sql != 'PRAGMA foreign_keys']
    assert ran == script_statements(script)
    assert live.backend.fetch_all('SELECT id, name, colour FROM widgets') == [
        {'id': 1, 'name': 'bolt', 'colour': 'red'}]
