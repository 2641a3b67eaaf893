"""PostgreSQL backend (pg8000): connection, session, SQL dialect, types, errors, isolation, streaming.

These tests talk to the PostgreSQL server of the test matrix through the backend's public verbs;
model- and query-level behaviour runs on PostgreSQL through the `db` matrix fixture elsewhere.
"""
from __future__ import annotations

import datetime
import decimal
import socket
import subprocess
import sys
import tracemalloc
import uuid
from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.types import ColumnSpec
from activerecord.backend.typing import ConnectionConfig
from tests.conftest import require_server
from tests.support.servers import free_port

UTC = datetime.timezone.utc


@pytest.fixture(scope='module')
def pg_url() -> str:
    return require_server('postgresql')


def make_backend(url: str, **changes: object) -> PostgreSQLBackend:
    return PostgreSQLBackend(ConnectionConfig.from_url(url, **changes))


@pytest.fixture
def backend(pg_url: str) -> Iterator[PostgreSQLBackend]:
    live = make_backend(pg_url, pool_size=3)
    yield live
    live.close()


@pytest.fixture
def other(pg_url: str) -> Iterator[PostgreSQLBackend]:
    """A second backend: its own pool and its own transactions, even in the same thread."""
    live = make_backend(pg_url, pool_size=2)
    yield live
    live.close()


@pytest.fixture
def accounts(backend: PostgreSQLBackend) -> Iterator[str]:
    backend.execute('DROP TABLE IF EXISTS ar_pg_accounts')
    backend.execute('CREATE TABLE ar_pg_accounts (id INTEGER PRIMARY KEY, owner TEXT UNIQUE, n INTEGER NOT NULL)')
    backend.executemany('INSERT INTO ar_pg_accounts (id, owner, n) VALUES (?, ?, ?)',
                        [(1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30)])
    yield 'ar_pg_accounts'
    backend.execute('DROP TABLE IF EXISTS ar_pg_accounts')


# -- connecting and the session ---------------------------------------------------------

def test_session_is_utc_autocommit_and_reports_the_server_version(backend: PostgreSQLBackend,
                                                                  other: PostgreSQLBackend,
                                                                  accounts: str) -> None:
    assert backend.ping() is True
    assert backend.fetch_value('SHOW TimeZone') == 'UTC'
    assert backend.fetch_value('SHOW client_encoding') == 'UTF8'
    assert backend.fetch_value('SHOW application_name') == 'activerecord'
    assert backend.server_version()[0] >= 10
    assert backend.server_version_text().startswith('PostgreSQL ')
    assert backend.tls_in_use() is False
    # Outside a transaction every statement commits by itself: another pool sees it at once.
    assert backend.execute('UPDATE ar_pg_accounts SET n = 11 WHERE id = 1') == 1
    assert other.fetch_value('SELECT n FROM ar_pg_accounts WHERE id = 1') == 11
    assert backend.pool.status()['checked_out'] == 0


def test_tcp_connections_send_without_waiting_for_acks(backend: PostgreSQLBackend) -> None:
    # pg8000 leaves Nagle's algorithm on; a statement longer than its 8 KB write buffer would
    # then end in a ~40 ms wait for the server's delayed ACK. The backend turns it off.
    with backend.connection() as pooled:
        sock = pooled.raw._usock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    long_text = 'x' * 50_000            # a statement of several write buffers still goes through
    assert backend.fetch_value('SELECT length(?)', (long_text,)) == 50_000


def test_options_go_to_the_server_at_startup(pg_url: str) -> None:
    live = make_backend(pg_url, options={'application_name': 'ar-tests', 'search_path': 'pg_catalog, public',
                                         'statement_timeout': 150})
    try:
        assert live.fetch_value('SHOW application_name') == 'ar-tests'
        assert live.fetch_value('SHOW search_path') == 'pg_catalog, public'
        with pytest.raises(errors.OperationalError) as caught:
            live.execute('SELECT pg_sleep(2)')
        assert caught.value.sqlstate == '57014'           # query_canceled, not a disconnect
        assert live.pool.status()['open'] == 1            # so the connection is kept
        assert live.fetch_value('SELECT 1') == 1
    finally:
        live.close()


def test_unknown_or_malformed_options_are_refused_before_connecting(pg_url: str) -> None:
    with pytest.raises(errors.ConfigurationError, match="'sslmode' is not an option of PostgreSQLBackend"):
        make_backend(pg_url, options={'sslmode': 'require'})
    with pytest.raises(errors.ConfigurationError, match=r"options\['ssl'\]: 'maybe'"):
        make_backend(pg_url, options={'ssl': 'maybe'})
    with pytest.raises(errors.ConfigurationError, match=r"options\['read_timeout'\]: -1"):
        make_backend(pg_url, options={'read_timeout': -1})
    with pytest.raises(errors.ConfigurationError, match='database'):
        PostgreSQLBackend(ConnectionConfig(host='127.0.0.1'))


def test_a_long_statement_outlives_connect_timeout_but_not_read_timeout(pg_url: str) -> None:
    patient = make_backend(pg_url, connect_timeout=0.3)
    impatient = make_backend(pg_url, options={'read_timeout': 0.3})
    try:
        assert patient.fetch_value('SELECT 7 FROM pg_sleep(0.6)') == 7
        with pytest.raises(errors.OperationalError):
            impatient.execute('SELECT pg_sleep(1)')
        assert impatient.pool.status()['open'] == 0      # a timed-out socket is never reused
        assert impatient.fetch_value('SELECT 2') == 2
    finally:
        patient.close()
        impatient.close()


def test_connect_failure_names_host_and_port_and_hides_the_password() -> None:
    port = free_port()
    live = PostgreSQLBackend(ConnectionConfig(host='127.0.0.1', port=port, database='test',
                                              username='postgres', password='pw-never-shown',
                                              connect_timeout=2))
    with pytest.raises(errors.OperationalError) as caught:
        live.ping()
    assert f'127.0.0.1:{port}' in str(caught.value)
    assert 'pw-never-shown' not in str(caught.value) and 'pw-never-shown' not in repr(live)
    live.close()


def test_missing_driver_names_the_extra() -> None:
    code = ('import sys; sys.modules["pg8000"] = None\n'
            'try:\n'
            '    import activerecord.backend.impl.pgsql.backend\n'
            'except ImportError as error:\n'
            '    print(type(error).__name__, error)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith('MissingDriverError'), result.stderr
    assert 'activerecord[pgsql]' in result.stdout


# -- placeholders -----------------------------------------------------------------------

def test_jsonb_question_mark_operators_and_percent_signs_are_not_placeholders(backend: PostgreSQLBackend) -> None:
    row = backend.fetch_one(
        "SELECT ?::jsonb ? 'a' AS has_a, ?::jsonb ?| array['x', 'a'] AS has_any, "
        "?::jsonb ?& array['a', 'b'] AS has_all, '?' AS mark, 'it''s ?' AS quoted, "
        "17 % 5 AS modulo, ? LIKE 'a%' AS percent_like /* ? */",
        ('{"a": 1}', '{"a": 1}', '{"a": 1}', 'abc'))
    assert row == {'has_a': True, 'has_any': True, 'has_all': False, 'mark': '?', 'quoted': "it's ?",
                   'modulo': 2, 'percent_like': True}
    with pytest.raises(errors.ProgrammingError, match='1 `\\?` placeholder'):
        backend.fetch_one('SELECT ? AS a', (1, 2))


def test_values_are_always_bound_never_spliced(backend: PostgreSQLBackend) -> None:
    hostile = "x'); DROP TABLE pg_class; --"
    assert backend.fetch_value('SELECT ? AS v', (hostile,)) == hostile
    assert backend.fetch_value('SELECT length(?) AS n', ('$1 %s %(a)s :1 ?',)) == len('$1 %s %(a)s :1 ?')


# -- types ------------------------------------------------------------------------------

TYPE_CASES = [
    # name, spec, value, column type in the DDL, type as the server reports it
    ('at', ColumnSpec(datetime.datetime),
     datetime.datetime(2024, 3, 1, 23, 30, 15, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
     'TIMESTAMPTZ', 'timestamp with time zone'),
    ('wall', ColumnSpec(datetime.datetime, timezone=False), datetime.datetime(2024, 3, 1, 8, 0, 0, 1),
     'TIMESTAMP', 'timestamp without time zone'),
    ('price', ColumnSpec(decimal.Decimal, max_digits=12, decimal_places=3), decimal.Decimal('123456789.125'),
     'NUMERIC(12, 3)', 'numeric(12,3)'),
    ('huge', ColumnSpec(decimal.Decimal), decimal.Decimal('12345678901234567890123456789.000000000123'),
     'NUMERIC', 'numeric'),
    ('blob', ColumnSpec(bytes), bytes(range(256)), 'BYTEA', 'bytea'),
    ('doc', ColumnSpec(dict), {'k': 'v', 'n': [1, 2.5, None], 'deep': {'x': True}, 'u': 'é ☃'},
     'JSONB', 'jsonb'),
    ('key', ColumnSpec(uuid.UUID), uuid.UUID('12345678-1234-5678-1234-567812345678'), 'UUID', 'uuid'),
    ('span', ColumnSpec(datetime.timedelta), datetime.timedelta(days=-3, seconds=4000, microseconds=7),
     'INTERVAL', 'interval'),
    ('flag', ColumnSpec(bool), True, 'BOOLEAN', 'boolean'),
    ('ints', ColumnSpec(list, item_type=int), [3, -1, 2**62], 'BIGINT[]', 'bigint[]'),
    ('strs', ColumnSpec(list, item_type=str), ['plain', 'with space', 'a,b', '{brace}', 'quote"s', 'back\\slash',
                                              'NULL', ''], 'TEXT[]', 'text[]'),
    ('empty', ColumnSpec(list, item_type=int), [], 'BIGINT[]', 'bigint[]'),
    ('docs', ColumnSpec(list, item_type=dict), [{'a': 1}, {'b': [2]}], 'JSONB', 'jsonb'),
    ('day', ColumnSpec(datetime.date), datetime.date(1999, 12, 31), 'DATE', 'date'),
    ('clock', ColumnSpec(datetime.time), datetime.time(13, 14, 15, 16), 'TIME', 'time without time zone'),
]


def test_type_map_round_trips_every_kind_through_native_columns(backend: PostgreSQLBackend) -> None:
    type_map = backend.dialect.type_map
    assert [type_map.column_type(spec) for _, spec, _, _, _ in TYPE_CASES] == [case[3] for case in TYPE_CASES]
    columns = ', '.join(f'{name} {type_map.column_type(spec)}' for name, spec, _, _, _ in TYPE_CASES)
    backend.execute('DROP TABLE IF EXISTS ar_pg_types')
    backend.execute(f'CREATE TABLE ar_pg_types (id INTEGER PRIMARY KEY, {columns})')
    try:
        names = [name for name, *_ in TYPE_CASES]
        values = []
        for _, spec, value, _, _ in TYPE_CASES:
            to_db = type_map.to_db(spec)
            values.append(to_db(value) if to_db else value)
        backend.execute(f'INSERT INTO ar_pg_types (id, {", ".join(names)}) VALUES (1, {", ".join("?" * len(names))})',
                        values)
        backend.execute('INSERT INTO ar_pg_types (id) VALUES (2)')  # every column NULL
        labels, rows = backend.query_rows(f'SELECT {", ".join(names)} FROM ar_pg_types ORDER BY id')
        assert labels == names
        for (name, spec, value, _, _), stored, missing in zip(TYPE_CASES, rows[0], rows[1]):
            from_db = type_map.from_db(spec)
            read = from_db(stored) if from_db else stored
            assert read == value, name
            assert type(read) is type(value), name
            assert missing is None, name
        at = type_map.from_db(TYPE_CASES[0][1])
        assert (at or (lambda v: v))(rows[0][0]).utcoffset() == datetime.timedelta(0)
        server_types = backend.fetch_all(
            "SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
            "WHERE attrelid = 'ar_pg_types'::regclass AND attnum > 1 ORDER BY attnum")
        assert [row['type'] for row in server_types] == [case[4] for case in TYPE_CASES]
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_pg_types')


def test_raw_parameters_bind_by_python_type(backend: PostgreSQLBackend) -> None:
    # A list is a PostgreSQL array, a dict is JSON, a UUID and a timedelta keep their types.
    row = backend.fetch_one(
        'SELECT ?::bigint[] && ARRAY[2, 9]::bigint[] AS overlaps, (?::jsonb) ->> ? AS field, '
        '?::uuid AS key, ?::interval AS span, ?::numeric * 2 AS doubled',
        ([1, 2, 3], {'k': 'v'}, 'k', uuid.UUID(int=5), datetime.timedelta(hours=36), decimal.Decimal('0.1')))
    assert row == {'overlaps': True, 'field': 'v', 'key': uuid.UUID(int=5),
                   'span': datetime.timedelta(days=1, hours=12), 'doubled': decimal.Decimal('0.2')}


def test_generated_keys_come_back_through_returning(backend: PostgreSQLBackend) -> None:
    dialect = backend.dialect
    backend.execute('DROP TABLE IF EXISTS ar_pg_keys')
    backend.execute('DROP TABLE IF EXISTS ar_pg_ukeys')
    backend.execute('CREATE TABLE ar_pg_keys (' + dialect.column_definition(
        'id', '', nullable=False, primary_key=True, autoincrement=True, inline_primary_key=True)
        + ', name TEXT NOT NULL)')
    backend.execute('CREATE TABLE ar_pg_ukeys (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), name TEXT)')
    try:
        first = backend.insert_returning_key(dialect.insert_sql('ar_pg_keys', ['name'], returning=['id']), ('a',))
        second = backend.insert_returning_key(dialect.insert_sql('ar_pg_keys', ['name'], returning=['id']), ('b',))
        assert isinstance(first, int) and second == first + 1
        generated = backend.insert_returning_key(dialect.insert_sql('ar_pg_ukeys', ['name'], returning=['id']), ('u',))
        assert isinstance(generated, uuid.UUID)
        assert backend.fetch_value('SELECT name FROM ar_pg_ukeys WHERE id = ?', (generated,)) == 'u'
        defaults = backend.insert_returning_key(dialect.insert_sql('ar_pg_ukeys', [], returning=['id']), ())
        assert isinstance(defaults, uuid.UUID) and defaults != generated
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_pg_keys')
        backend.execute('DROP TABLE IF EXISTS ar_pg_ukeys')


def test_on_conflict_upsert_updates_or_skips(backend: PostgreSQLBackend, accounts: str) -> None:
    dialect = backend.dialect
    update = dialect.upsert_sql(accounts, ['id', 'owner', 'n'], 2, conflict=['owner'], update=['n'])
    assert backend.execute(update, (9, 'ann', 100, 4, 'dee', 40)) == 2
    skip = dialect.upsert_sql(accounts, ['id', 'owner', 'n'], 1, conflict=['owner'], update=[])
    assert backend.execute(skip, (5, 'bob', 0)) == 0
    assert backend.fetch_all(f'SELECT id, owner, n FROM {accounts} ORDER BY id') == [
        {'id': 1, 'owner': 'ann', 'n': 100}, {'id': 2, 'owner': 'bob', 'n': 20},
        {'id': 3, 'owner': 'cy', 'n': 30}, {'id': 4, 'owner': 'dee', 'n': 40}]


def test_ilike_and_explain_are_native(backend: PostgreSQLBackend, accounts: str) -> None:
    assert backend.features.ilike and backend.features.explain
    assert backend.fetch_all(f'SELECT owner FROM {accounts} WHERE owner ILIKE ? ORDER BY id', ('A%',)) == [
        {'owner': 'ann'}]
    plan = backend.fetch_all(f'EXPLAIN SELECT * FROM {accounts} WHERE id = ?', (1,))
    assert 'ar_pg_accounts' in ' '.join(str(value) for row in plan for value in row.values())


# -- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize('sql, params, error_class, sqlstate', [
    ('INSERT INTO ar_pg_accounts (id, owner, n) VALUES (?, ?, ?)', (9, 'ann', 1), errors.IntegrityError, '23505'),
    ('INSERT INTO ar_pg_accounts (id, owner, n) VALUES (?, ?, ?)', (9, 'zed', None), errors.IntegrityError, '23502'),
    ('SELEKT 1', (), errors.ProgrammingError, '42601'),
    ('SELECT * FROM ar_pg_no_such_table', (), errors.ProgrammingError, '42P01'),
    ('SELECT 1 / (n - n) FROM ar_pg_accounts', (), errors.DataError, '22012'),
    ('SELECT ?::int', ('twelve',), errors.DataError, '22P02'),
])
def test_server_errors_map_to_the_error_family(backend: PostgreSQLBackend, accounts: str, sql: str,
                                               params: tuple, error_class: type, sqlstate: str) -> None:
    with pytest.raises(error_class) as caught:
        backend.execute(sql, params)
    assert caught.value.sqlstate == sqlstate
    assert f'SQLSTATE {sqlstate}' in str(caught.value)
    assert type(caught.value.__cause__).__module__.startswith('pg8000')
    # A statement error is not a broken connection: the connection goes back to the pool.
    assert backend.pool.status() == {**backend.pool.status(), 'open': 1, 'idle': 1, 'checked_out': 0}


def test_error_messages_never_show_the_password(pg_url: str) -> None:
    # Trust authentication ignores the password, so it can be anything here.
    live = make_backend(pg_url, password='hunter2-secret')
    try:
        with pytest.raises(errors.DataError) as caught:
            live.execute('SELECT ?::int', ('hunter2-secret',))
        assert 'hunter2-secret' not in str(caught.value) and '***' in str(caught.value)
    finally:
        live.close()


def test_serialization_failure_is_operational_with_its_sqlstate(backend: PostgreSQLBackend,
                                                               other: PostgreSQLBackend, accounts: str) -> None:
    # Write skew: both read the total, each updates a different row; SERIALIZABLE refuses one.
    with pytest.raises(errors.OperationalError) as caught:
        with backend.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
            backend.fetch_value(f'SELECT sum(n) FROM {accounts}')
            with other.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
                other.fetch_value(f'SELECT sum(n) FROM {accounts}')
                other.execute(f'UPDATE {accounts} SET n = n + 1 WHERE id = 2')
            backend.execute(f'UPDATE {accounts} SET n = n + 1 WHERE id = 1')
    assert caught.value.sqlstate == '40001'
    assert not backend.in_transaction
    assert backend.fetch_all(f'SELECT n FROM {accounts} WHERE id IN (1, 2) ORDER BY id') == [{'n': 10}, {'n': 21}]


def test_for_update_nowait_and_skip_locked(backend: PostgreSQLBackend, other: PostgreSQLBackend,
                                           accounts: str) -> None:
    assert backend.features.for_update_nowait and backend.features.for_update_skip_locked
    with backend.transaction():
        backend.fetch_all(f'SELECT * FROM {accounts} WHERE id = 1 FOR UPDATE')
        with pytest.raises(errors.OperationalError) as caught:
            other.fetch_all(f'SELECT * FROM {accounts} WHERE id = 1 FOR UPDATE NOWAIT')
        assert caught.value.sqlstate == '55P03'
        free = other.fetch_all(f'SELECT id FROM {accounts} ORDER BY id FOR UPDATE SKIP LOCKED')
        assert free == [{'id': 2}, {'id': 3}]


# -- broken connections -----------------------------------------------------------------

def test_a_connection_killed_under_a_statement_is_discarded(backend: PostgreSQLBackend,
                                                           other: PostgreSQLBackend) -> None:
    pid = backend.fetch_value('SELECT pg_backend_pid()')
    assert other.fetch_value('SELECT pg_terminate_backend(?)', (pid,)) is True
    with pytest.raises(errors.OperationalError):
        backend.fetch_value('SELECT 1')
    assert backend.pool.status()['open'] == 0
    # The failed statement is not re-run behind our back; the next one gets a new connection.
    assert backend.fetch_value('SELECT pg_backend_pid()') != pid


def test_a_connection_killed_inside_a_transaction_is_discarded(backend: PostgreSQLBackend,
                                                              other: PostgreSQLBackend) -> None:
    with pytest.raises(errors.OperationalError):
        with backend.transaction():
            pid = backend.fetch_value('SELECT pg_backend_pid()')
            other.execute('SELECT pg_terminate_backend(?)', (pid,))
            backend.execute('SELECT 1')
    assert not backend.in_transaction
    assert backend.pool.status()['open'] == 0
    assert backend.fetch_value('SELECT 1') == 1


# -- transactions and isolation ---------------------------------------------------------

@pytest.mark.parametrize('level, shown', [
    (IsolationLevel.READ_UNCOMMITTED, 'read committed'),    # nothing weaker exists: the next level up
    (IsolationLevel.READ_COMMITTED, 'read committed'),
    (IsolationLevel.REPEATABLE_READ, 'repeatable read'),
    (IsolationLevel.SNAPSHOT, 'repeatable read'),           # PostgreSQL's REPEATABLE READ is snapshot isolation
    (IsolationLevel.SERIALIZABLE, 'serializable'),
])
def test_isolation_levels_are_given_as_asked_or_stronger(backend: PostgreSQLBackend, level: IsolationLevel,
                                                         shown: str) -> None:
    with backend.transaction(isolation_level=level):
        assert backend.fetch_value('SHOW transaction_isolation') == shown
        assert backend.fetch_value('SHOW transaction_read_only') == 'off'
    assert backend.fetch_value('SHOW transaction_isolation') == 'read committed'


def test_repeatable_read_keeps_its_snapshot_and_read_committed_does_not(backend: PostgreSQLBackend,
                                                                        other: PostgreSQLBackend,
                                                                        accounts: str) -> None:
    query = f'SELECT n FROM {accounts} WHERE id = 1'
    with backend.transaction(isolation_level=IsolationLevel.REPEATABLE_READ):
        assert backend.fetch_value(query) == 10
        other.execute(f'UPDATE {accounts} SET n = 50 WHERE id = 1')
        assert backend.fetch_value(query) == 10
    with backend.transaction(isolation_level=IsolationLevel.READ_COMMITTED):
        assert backend.fetch_value(query) == 50
        other.execute(f'UPDATE {accounts} SET n = 60 WHERE id = 1')
        assert backend.fetch_value(query) == 60


def test_read_only_transactions_refuse_writes(backend: PostgreSQLBackend, accounts: str) -> None:
    with backend.transaction(isolation_level=IsolationLevel.SERIALIZABLE, read_only=True):
        assert backend.fetch_value('SHOW transaction_read_only') == 'on'
        assert backend.fetch_value('SHOW transaction_isolation') == 'serializable'
    with pytest.raises(errors.ReadOnlyError) as caught:
        with backend.transaction(read_only=True):
            backend.execute(f'UPDATE {accounts} SET n = 0')
    assert caught.value.sqlstate == '25006'
    assert backend.fetch_value(f'SELECT sum(n) FROM {accounts}') == 60
    assert backend.fetch_value('SHOW transaction_read_only') == 'off'


def test_savepoints_and_rollback(backend: PostgreSQLBackend, accounts: str) -> None:
    with backend.transaction():
        backend.execute(f'UPDATE {accounts} SET n = 1 WHERE id = 1')
        with pytest.raises(errors.IntegrityError):
            with backend.transaction():
                backend.execute(f'UPDATE {accounts} SET n = 2 WHERE id = 2')
                backend.execute(f'INSERT INTO {accounts} (id, owner, n) VALUES (1, ?, 0)', ('dup',))
        # The failed savepoint was rolled back; the outer transaction is usable again.
        assert backend.fetch_all(f'SELECT n FROM {accounts} ORDER BY id') == [{'n': 1}, {'n': 20}, {'n': 30}]
    with pytest.raises(RuntimeError):
        with backend.transaction():
            backend.execute(f'DELETE FROM {accounts}')
            raise RuntimeError('undo')
    assert backend.fetch_value(f'SELECT count(*) FROM {accounts}') == 3


def test_transactional_ddl_rolls_back(backend: PostgreSQLBackend) -> None:
    assert backend.features.transactional_ddl
    with pytest.raises(RuntimeError):
        with backend.transaction():
            backend.execute('CREATE TABLE ar_pg_ddl_probe (id INTEGER)')
            raise RuntimeError('undo')
    assert backend.fetch_value("SELECT to_regclass('ar_pg_ddl_probe') IS NULL") is True


# -- streaming --------------------------------------------------------------------------

# The unnamed portal is the asking query itself; named ones are DECLAREd cursors.
OPEN_CURSORS = "SELECT count(*) FROM pg_cursors WHERE name <> ''"
STREAM_SQL = "SELECT g AS n, repeat('x', 200) || g AS payload FROM generate_series(1, ?) AS g"


def test_iter_rows_streams_from_a_server_side_cursor(backend: PostgreSQLBackend) -> None:
    total = 20_000
    tracemalloc.start()
    try:
        labels, rows = backend.query_rows(STREAM_SQL, (total,))
        assert len(rows) == total
        del rows
        buffered_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        count = checksum = 0
        for labels, batch in backend.iter_rows(STREAM_SQL, (total,), batch_size=500):
            assert labels == ['n', 'payload'] and 0 < len(batch) <= 500
            count += len(batch)
            checksum += sum(row[0] for row in batch)
        streamed_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == total and checksum == total * (total + 1) // 2
    print(f'\nPostgreSQL peak memory for {total} rows: buffered {buffered_peak / 1e6:.1f} MB, '
          f'streamed {streamed_peak / 1e6:.2f} MB')
    assert streamed_peak < buffered_peak / 10
    # Its own transaction ended with the stream: the connection went back clean.
    assert backend.pool.status()['checked_out'] == 0
    assert backend.fetch_value(OPEN_CURSORS) == 0


def test_abandoned_stream_and_stream_inside_a_transaction(backend: PostgreSQLBackend, accounts: str) -> None:
    stream = backend.iter_rows(STREAM_SQL, (10_000,), batch_size=100)
    _, first = next(stream)
    assert [row[0] for row in first] == list(range(1, 101))
    stream.close()
    assert backend.pool.status()['checked_out'] == 0
    assert backend.fetch_value(OPEN_CURSORS) == 0
    with backend.transaction():
        backend.execute(f'UPDATE {accounts} SET n = 99 WHERE id = 3')
        streamed = [row for _, batch in backend.iter_rows(f'SELECT id, n FROM {accounts} ORDER BY id',
                                                          batch_size=2) for row in batch]
        assert [tuple(row) for row in streamed] == [(1, 10), (2, 20), (3, 99)]
        assert backend.in_transaction and backend.fetch_value(OPEN_CURSORS) == 0
    assert backend.fetch_value(f'SELECT n FROM {accounts} WHERE id = 3') == 99
    with pytest.raises(errors.ProgrammingError):
        for _ in backend.iter_rows('SELECT * FROM ar_pg_no_such_table'):
            pass
    assert backend.pool.status()['checked_out'] == 0 and backend.fetch_value('SELECT 1') == 1
