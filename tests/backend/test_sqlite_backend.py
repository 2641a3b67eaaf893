"""The SQLite backend: PRAGMAs on every connection, a shared ':memory:' database, WAL files, scripts."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ConfigurationError, IntegrityError, NotSupportedError


def pragmas(raw: sqlite3.Connection) -> dict:
    return {name: raw.execute(f'PRAGMA {name}').fetchone()[0]
            for name in ('journal_mode', 'synchronous', 'foreign_keys', 'busy_timeout', 'cache_size')}


def test_options_become_pragmas_on_every_new_connection(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'app.db'), options={
        'journal_mode': 'wal', 'synchronous': 'NORMAL', 'foreign_keys': False,
        'busy_timeout': 1234, 'cache_size': -4000}))
    held = [backend.pool.checkout() for _ in range(3)]
    assert len({id(pooled.raw) for pooled in held}) == 3
    for pooled in held:
        assert pragmas(pooled.raw) == {'journal_mode': 'wal', 'synchronous': 1, 'foreign_keys': 0,
                                       'busy_timeout': 1234, 'cache_size': -4000}
    for pooled in held:
        backend.pool.release(pooled)
    backend.close()


def test_foreign_keys_and_a_busy_timeout_are_on_by_default(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'app.db')))
    with backend.connection() as pooled:
        values = pragmas(pooled.raw)
    assert (values['foreign_keys'], values['busy_timeout']) == (1, 5000)
    backend.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)')
    backend.execute('CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))')
    with pytest.raises(IntegrityError, match='FOREIGN KEY'):
        backend.execute('INSERT INTO child (parent_id) VALUES (?)', (1,))
    backend.close()


def test_options_from_a_url_are_checked_and_applied(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = SQLiteBackend(ConnectionConfig.from_url('sqlite:///relative.db?journal_mode=WAL&foreign_keys=off'))
    with backend.connection() as pooled:
        values = pragmas(pooled.raw)
    assert (values['journal_mode'], values['foreign_keys']) == ('wal', 0)
    backend.execute('CREATE TABLE t (n INTEGER)')
    assert (tmp_path / 'relative.db').exists()
    backend.close()
    with pytest.raises(ConfigurationError, match=r"options\['busy_timeout'\]: 'soon'"):
        SQLiteBackend(ConnectionConfig.from_url('sqlite:///x.db?busy_timeout=soon'))


def test_memory_database_is_one_database_for_the_whole_pool():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:', pool_size=3))
    held = [backend.pool.checkout() for _ in range(3)]
    held[0].raw.execute('CREATE TABLE shared (n INTEGER)')
    held[1].raw.execute('INSERT INTO shared VALUES (7)')
    assert [raw_rows(pooled.raw, 'SELECT n FROM shared') for pooled in held] == [[(7,)]] * 3
    for pooled in held:
        backend.pool.release(pooled)
    # Idle connections may all be closed: the database lives until backend.close().
    backend.pool.dispose_idle()
    assert backend.fetch_all('SELECT n FROM shared') == [{'n': 7}]
    backend.close()
    fresh = SQLiteBackend(ConnectionConfig(database=':memory:'))
    assert fresh.fetch_all("SELECT name FROM sqlite_master WHERE name = 'shared'") == []
    fresh.close()


def test_two_memory_backends_are_two_databases():
    first = SQLiteBackend(ConnectionConfig(database=':memory:'))
    second = SQLiteBackend(ConnectionConfig(database=':memory:'))
    first.execute('CREATE TABLE only_in_first (n INTEGER)')
    assert second.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'") == []
    first.close()
    second.close()


def test_memory_database_serves_concurrent_writers():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:', pool_size=4, max_overflow=0))
    backend.execute('CREATE TABLE hits (thread INTEGER)')
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for _ in range(25):
                with backend.transaction():
                    backend.execute('INSERT INTO hits VALUES (?)', (number,))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert backend.fetch_one('SELECT COUNT(*) AS n FROM hits') == {'n': 150}
    backend.close()


def test_wal_file_lets_readers_run_while_a_writer_holds_its_transaction(tmp_path):
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'wal.db'), options={'journal_mode': 'WAL'},
                                             pool_size=4))
    backend.execute('CREATE TABLE t (n INTEGER)')
    backend.execute('INSERT INTO t VALUES (?)', (1,))
    results = []
    with backend.transaction():
        backend.execute('INSERT INTO t VALUES (?)', (2,))
        readers = [threading.Thread(target=lambda: results.append(backend.fetch_all('SELECT n FROM t')))
                   for _ in range(3)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(10)
    assert results == [[{'n': 1}]] * 3  # committed data only, and nobody waited for the writer
    assert backend.fetch_all('SELECT n FROM t ORDER BY n') == [{'n': 1}, {'n': 2}]
    backend.close()


def test_execute_script_splits_statements_and_runs_them_as_one_transaction():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:'))
    backend.execute_script("""
        -- a comment; with a semicolon
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
        INSERT INTO notes (body) VALUES ('one; still one');
        /* another; comment */
        INSERT INTO notes (body) VALUES ('two');
    """)
    assert backend.fetch_all('SELECT body FROM notes ORDER BY id') == [{'body': 'one; still one'}, {'body': 'two'}]
    with pytest.raises(IntegrityError):
        backend.execute_script("INSERT INTO notes (id, body) VALUES (9, 'new'); INSERT INTO notes (id) VALUES (1);")
    assert backend.fetch_one('SELECT body FROM notes WHERE id = ?', (9,)) is None
    backend.close()


def test_fetch_helpers_and_streaming():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:'))
    backend.execute('CREATE TABLE n (v INTEGER)')
    assert backend.executemany('INSERT INTO n (v) VALUES (?)', [(value,) for value in range(10)]) == 10
    assert backend.executemany('INSERT INTO n (v) VALUES (?)', []) == 0
    assert backend.fetch_one('SELECT v FROM n WHERE v > ?', (100,)) is None
    assert backend.fetch_value('SELECT SUM(v) FROM n') == 45
    assert backend.execute('UPDATE n SET v = v + 1 WHERE v < ?', (3,)) == 3
    batches = list(backend.iter_rows('SELECT v FROM n ORDER BY v', batch_size=4))
    assert [len(rows) for _, rows in batches] == [4, 4, 2]
    assert batches[0][0] == ['v']
    key = backend.insert_returning_key('INSERT INTO n (v) VALUES (?)', (99,))
    assert backend.fetch_value('SELECT v FROM n WHERE rowid = ?', (key,)) == 99
    backend.close()


def test_server_version_and_named_feature_flags():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:'))
    assert backend.server_version() == sqlite3.sqlite_version_info
    assert backend.server_version_text() == sqlite3.sqlite_version
    flags = backend.features.as_dict()
    assert flags['savepoints'] is True and flags['generated_keys'] == 'lastrowid'
    assert flags['isolation_levels'] == ['SERIALIZABLE']
    backend.features.require('savepoints', backend.name)
    with pytest.raises(NotSupportedError, match='sqlite does not support for_update'):
        backend.features.require('for_update', backend.name)
    assert backend.ping() is True
    backend.close()


def test_a_database_is_required():
    with pytest.raises(ConfigurationError, match="ConnectionConfig.database: None .* ':memory:'"):
        SQLiteBackend(ConnectionConfig())


def raw_rows(raw: sqlite3.Connection, sql: str) -> list:
    return raw.execute(sql).fetchall()


def test_two_models_configured_on_memory_see_one_database():
    from activerecord import ActiveRecord

    class Author(ActiveRecord):
        __table_name__ = 'ar_memory_authors'
        id: int
        name: str

    class Book(ActiveRecord):
        __table_name__ = 'ar_memory_books'
        id: int
        author_id: int
        title: str

    memory = ConnectionConfig(database=':memory:')
    Author.configure(memory, backend_class=SQLiteBackend)
    Book.configure('sqlite://')   # the same config, by URL: the same backend and database
    try:
        assert Author.backend() is Book.backend()
        Author.create_table()
        Book.create_table()
        author = Author.create(name='Ursula')
        Book.create(author_id=author.id, title='The Dispossessed')
        rows = Author.backend().fetch_all('SELECT a.name, b.title FROM ar_memory_authors a '
                                          'JOIN ar_memory_books b ON b.author_id = a.id')
        assert rows == [{'name': 'Ursula', 'title': 'The Dispossessed'}]
    finally:
        Author.backend().close()
