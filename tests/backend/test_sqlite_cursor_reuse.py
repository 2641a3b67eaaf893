"""SQLite runs a statement on the cursor its connection's last statement finished with: only a
cursor with nothing left to read is kept, so no statement (nor its lock) outlives its verb."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activerecord import errors
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig


def file_backend(path: Path, **options: Any) -> SQLiteBackend:
    return SQLiteBackend(ConnectionConfig(database=str(path), pool_size=1, options=options))


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    """Two backends on one database file (rollback journal): a reader left open blocks the writer."""
    path = tmp_path / 'shared.db'
    reader = file_backend(path, journal_mode='DELETE')
    writer = file_backend(path, journal_mode='DELETE', busy_timeout=0)   # a lock fails at once
    reader.execute('CREATE TABLE t (n INTEGER PRIMARY KEY, name TEXT)')
    reader.executemany('INSERT INTO t (name) VALUES (?)', [('a',), ('b',), ('c',)])
    yield reader, writer
    reader.close()
    writer.close()


def test_reads_that_leave_rows_unread_hold_no_lock_afterwards(pair: Any) -> None:
    reader, writer = pair
    assert reader.fetch_one('SELECT n, name FROM t ORDER BY n') == {'n': 1, 'name': 'a'}   # 2 rows unread
    writer.execute('INSERT INTO t (name) VALUES (?)', ('d',))
    assert reader.execute('SELECT n FROM t') in (-1, 0)   # a SELECT's rows, none of them read
    writer.execute('UPDATE t SET name = ? WHERE n = ?', ('e', 4))
    assert reader.fetch_value('SELECT name FROM t WHERE n = ?', (4,)) == 'e'


def test_lookups_and_inserts_one_after_another_see_each_others_rows(pair: Any) -> None:
    reader, writer = pair
    for number in range(5):
        key = reader.insert_returning_key('INSERT INTO t (name) VALUES (?)', (f'n{number}',))
        labels, rows = reader.query_rows('SELECT n, name FROM t WHERE n = ?', (key,))
        assert (labels, rows) == (['n', 'name'], [(key, f'n{number}')])
        writer.execute('UPDATE t SET name = ? WHERE n = ?', (f'w{number}', key))   # no lock left behind
        assert reader.fetch_value('SELECT name FROM t WHERE n = ?', (key,)) == f'w{number}'


def test_a_failed_statement_does_not_spoil_the_next_one(pair: Any) -> None:
    reader, _ = pair
    assert reader.query_rows('SELECT n FROM t WHERE n = ?', (1,)) == (['n'], [(1,)])
    with pytest.raises(errors.ProgrammingError):
        reader.query_rows('SELECT nope FROM t')
    with pytest.raises(errors.IntegrityError):
        reader.execute('INSERT INTO t (n, name) VALUES (?, ?)', (1, 'dup'))
    with pytest.raises(errors.ProgrammingError):
        reader.query_rows('SELECT n FROM t WHERE n = ?', (1, 2))   # too many parameters
    assert reader.query_rows('SELECT n FROM t WHERE n = ?', (2,)) == (['n'], [(2,)])
    assert reader.insert_returning_key('INSERT INTO t (name) VALUES (?)', ('ok',)) == 4


def test_a_stream_and_statements_share_a_transactions_connection(pair: Any) -> None:
    reader, _ = pair
    with reader.transaction():
        seen: list[tuple[Any, ...]] = []
        labels: list[str] = []
        for labels, batch in reader.iter_rows('SELECT n, name FROM t ORDER BY n', batch_size=1):
            seen.extend(batch)
            reader.execute('UPDATE t SET name = name || ? WHERE n = ?', ('!', batch[0][0]))
            assert reader.query_rows('SELECT name FROM t WHERE n = ?', (batch[0][0],))[1][0][0].endswith('!')
        assert labels == ['n', 'name'] and [n for n, _ in seen] == [1, 2, 3]
    assert reader.fetch_all('SELECT name FROM t ORDER BY n') == [{'name': 'a!'}, {'name': 'b!'}, {'name': 'c!'}]


def test_a_closed_backend_and_a_new_one_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / 'again.db'
    first = file_backend(path)
    first.execute('CREATE TABLE t (n INTEGER)')
    first.execute('INSERT INTO t (n) VALUES (?)', (1,))
    assert first.query_rows('SELECT n FROM t') == (['n'], [(1,)])
    first.close()
    with pytest.raises(errors.ActiveRecordError):
        first.query_rows('SELECT n FROM t')
    second = file_backend(path)
    try:
        assert second.query_rows('SELECT n FROM t') == (['n'], [(1,)])
    finally:
        second.close()
