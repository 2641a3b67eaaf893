"""Review findings on the migrator and autogenerate, on the live backends: the lock timeout of a
step outside the transaction (PostgreSQL CREATE INDEX CONCURRENTLY), the MariaDB migrator lock
per database, parameters inlined as literals in the offline script, and datetime / time /
escaped-string defaults that compare equal to what the database reads back, and reflect-then-make
on a MariaDB YEAR, an untyped SQLite column and partial / expression indexes."""
from __future__ import annotations

import datetime
import importlib
import logging
import sys
import textwrap
import threading
from pathlib import Path
from typing import Annotated, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from pydantic import Field, NaiveDatetime

from activerecord import ActiveRecord, Column
from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import MigrationError
from activerecord.migrate import Migrator
from activerecord.migrate.autogenerate import compare, models_in
from activerecord.migrate.reflect import model_source

from conftest import LiveDatabase, parametrize_matrix, require_server

TABLES = ('mf_widgets', 'ar_schema_migrations')


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_matrix(metafunc, 'live')   # (`db` is parametrized by conftest)


def open_backend(url: str) -> StorageBackend:
    config = ConnectionConfig.from_url(url)
    assert config.scheme is not None
    return backend_class_for(config.scheme)(config)


class Live:
    """A live database, a migrations folder, and a backend to look at the result."""

    def __init__(self, name: str, url: str, folder: Path) -> None:
        self.name, self.url, self.folder = name, url, folder
        self.backend = open_backend(url)

    def drop_tables(self) -> None:
        for table in TABLES:
            self.backend.execute(self.backend.dialect.drop_table_sql(table, if_exists=True))

    def write(self, revision: str, down_revision: str | None, up: str) -> None:
        source = (f'revision = {revision!r}\ndown_revision = {down_revision!r}\n\n'
                  f'def up(op):\n{textwrap.indent(textwrap.dedent(up).strip(), "    ")}\n\n'
                  'def down(op):\n    pass\n')
        (self.folder / f'{revision}.py').write_text(source, encoding='utf-8')

    def history(self) -> list[str]:
        rows = self.backend.fetch_all('SELECT revision FROM ar_schema_migrations ORDER BY revision')
        return [str(row['revision']) for row in rows]


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    name = request.param
    url = require_server(name)
    if name == 'sqlite':
        url = f'sqlite:///{tmp_path}/app.db'
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


def in_thread(work: Callable[[], object]) -> list[BaseException | object]:
    """Run `work` in a thread; its result or error (a hang guard: a broken lock timeout would wait
    for the blocker forever, and the blocker is released only after this returns)."""
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:   # handed to the test
            outcome.append(error)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    return outcome


@pytest.mark.backends('postgresql')
def test_a_concurrent_index_behind_a_lock_fails_within_the_lock_timeout(live: Live,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE mf_widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')")
    live.write('0002_index', '0001_widgets', "op.create_index('mf_widgets', ['name'], concurrently=True)")
    with Migrator(live.url, live.folder, lock_timeout=0.2) as migrator:
        migrator.up(to='0001_widgets')
        blocker = open_backend(live.url)
        try:
            with blocker.transaction():
                # SHARE ROW EXCLUSIVE conflicts with the SHARE UPDATE EXCLUSIVE the build needs
                blocker.execute('LOCK TABLE mf_widgets IN SHARE ROW EXCLUSIVE MODE')
                outcome = in_thread(migrator.up)
        finally:
            blocker.close()
        assert len(outcome) == 1 and isinstance(outcome[0], MigrationError), outcome
        error = outcome[0]
        assert error.revision == '0002_index' and 'lock timeout' in str(error)
        assert error.statement is not None and error.statement.startswith('CREATE INDEX CONCURRENTLY')
        assert live.history() == ['0001_widgets'] and live.backend.schema.indexes('mf_widgets') == []
        # the session's timeout was reset: the migrator lock and the build wait as long as needed
        with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
            assert migrator.up() == ['0002_index']
    ran = [str(record.args[0]) for record in caplog.records  # type: ignore[index]
           if record.name == 'activerecord.sql' and record.args and record.thread == threading.get_ident()]
    create = next(index for index, sql in enumerate(ran) if sql.startswith('CREATE INDEX CONCURRENTLY'))
    assert ran[create - 2:create + 2] == ['COMMIT', "SET lock_timeout = '200ms'", ran[create], 'RESET lock_timeout']
    assert [index.columns for index in live.backend.schema.indexes('mf_widgets')] == [('name',)]


@pytest.mark.backends('mariadb', 'mysql')
def test_the_mysql_migrator_lock_is_per_database(live: Live) -> None:
    """A migrator of another database on the same server holding its lock does not hold this one's."""
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE mf_widgets (id INTEGER NOT NULL PRIMARY KEY)')")
    # a session on another database of the same server, taking the lock as its migrator would
    other = open_backend(urlunsplit(urlsplit(live.url)._replace(path='/information_schema')))
    acquire, release = other.dialect.migration_lock_sql or ('', '')
    try:
        with other.transaction():   # one connection: the session lock stays with it
            assert other.fetch_value(acquire) == 1
            with Migrator(live.url, live.folder) as migrator:
                outcome = in_thread(migrator.up)
            other.fetch_value(release)
    finally:
        other.close()
    assert outcome == [['0001_widgets']]
    assert live.history() == ['0001_widgets']


def test_offline_sql_inlines_parameters_as_literals(live: Live) -> None:
    live.write('0001_widgets', None,
               "op.execute('CREATE TABLE mf_widgets (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))')")
    live.write('0002_rows', '0001_widgets',
               """
               op.execute("INSERT INTO mf_widgets (id, name) VALUES (?, ?) /* what? */", [7, "it's a ? mark"])
               op.execute("INSERT INTO mf_widgets (id, name) VALUES (?, ?)", [8, {'k': 1}])
               """)
    with Migrator(live.url, live.folder) as migrator:
        migrator.up(to='0001_widgets')
        script = migrator.sql()
    assert '-- parameters' not in script
    insert = next(line for line in script.splitlines() if line.startswith('INSERT INTO mf_widgets'))
    assert insert == "INSERT INTO mf_widgets (id, name) VALUES (7, 'it''s a ? mark') /* what? */;"
    # a value is written as `up` binds it (a dict as its JSON text)
    second = next(line for line in script.splitlines() if line.startswith('INSERT INTO mf_widgets (id, name) VALUES (8'))
    assert second == """INSERT INTO mf_widgets (id, name) VALUES (8, '{"k":1}');"""
    for statement in (insert, second):
        live.backend.execute(statement[:-1])   # the script's statements run as they are, nothing to bind
    rows = live.backend.fetch_all('SELECT id, name FROM mf_widgets ORDER BY id')
    assert [tuple(row.values()) for row in rows] == [(7, "it's a ? mark"), (8, '{"k":1}')]


def test_offline_sql_refuses_a_parameter_with_no_literal_form(live: Live) -> None:
    live.write('0001_widgets', None, "op.execute('SELECT ?', [b'raw'])")
    with Migrator(live.url, live.folder) as migrator, pytest.raises(MigrationError) as caught:
        migrator.sql()
    assert 'parameter 1 (bytes' in str(caught.value) and 'offline' in str(caught.value)


NAIVE = datetime.datetime(2020, 1, 2, 3, 4, 5)
AWARE = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))


class MfDefaults(ActiveRecord):
    __table_name__ = 'mf_defaults'
    id: int | None = None
    when: Annotated[NaiveDatetime, Column(default=NAIVE)] = NAIVE
    whentz: Annotated[datetime.datetime, Column(default=AWARE)] = AWARE
    alarm: Annotated[datetime.time, Column(default=datetime.time(7, 30))] = datetime.time(7, 30)
    day: Annotated[datetime.date, Column(default=datetime.date(2020, 1, 2))] = datetime.date(2020, 1, 2)
    text: Annotated[str, Column(default='line\nnext \\ back')] = 'line\nnext \\ back'
    short: Annotated[str, Field(max_length=20), Column(default='a\\b\'c')] = 'a\\b\'c'


def test_datetime_time_and_escaped_string_defaults_compare_equal(db: LiveDatabase) -> None:
    db.use(MfDefaults)
    assert [call.source() for call in compare([MfDefaults], MfDefaults.backend(),
                                              lambda table: table == 'mf_defaults').up] == []


# -- reflect then make: a MariaDB YEAR, an untyped SQLite column, partial and expression indexes --

SPECIAL_DDL = {
    'sqlite': ['CREATE TABLE mf_special (id INTEGER PRIMARY KEY, anything, active INTEGER, email VARCHAR(50))'],
    'mariadb': ['CREATE TABLE mf_special (id INTEGER PRIMARY KEY, y YEAR, active INTEGER, email VARCHAR(50))'],
    'mysql': ['CREATE TABLE mf_special (id INTEGER PRIMARY KEY, y YEAR, active INTEGER, email VARCHAR(50))'],
    'postgresql': ['CREATE TABLE mf_special (id INTEGER PRIMARY KEY, active INTEGER, email VARCHAR(50))'],
}
PARTIAL_AND_EXPRESSION = ['CREATE INDEX mf_special_part ON mf_special (active) WHERE active = 1',
                          'CREATE UNIQUE INDEX mf_special_lower ON mf_special (lower(email))']


def test_reflect_then_make_finds_nothing_for_special_columns_and_indexes(db: LiveDatabase, tmp_path: Path) -> None:
    db.use(MfDefaults, create=False)   # (a configured model gives the test its backend)
    backend = MfDefaults.backend()
    backend.execute('DROP TABLE IF EXISTS mf_special')
    statements = SPECIAL_DDL.get(db.name, SPECIAL_DDL['postgresql'])
    partial = db.name in ('sqlite', 'postgresql')   # MariaDB has neither partial nor expression indexes
    for statement in statements + (PARTIAL_AND_EXPRESSION if partial else []):
        backend.execute(statement)
    module_name = f'mf_special_{db.name}'
    try:
        if partial:   # neither reads as an index over plain columns; both are named
            assert backend.schema.indexes('mf_special') == []
            assert [(index.name, index.unique) for index in backend.schema.expression_indexes('mf_special')] == \
                [('mf_special_lower', True), ('mf_special_part', False)]
        source = model_source(backend.schema, backend.dialect, ['mf_special'])
        if partial:
            assert "# unique index 'mf_special_lower' is over an expression or partial" in source
            assert "# index 'mf_special_part' is over an expression or partial" in source
        (tmp_path / f'{module_name}.py').write_text(source, encoding='utf-8')
        sys.path.insert(0, str(tmp_path))
        try:
            importlib.import_module(module_name)
        finally:
            sys.path.remove(str(tmp_path))
        models = models_in([module_name])
        changes = compare(models, backend, lambda table: table == 'mf_special')
        assert [call.source() for call in changes.up] == [], source
    finally:
        sys.modules.pop(module_name, None)
        backend.execute('DROP TABLE IF EXISTS mf_special')
