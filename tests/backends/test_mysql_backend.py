"""MySQL/MariaDB backend (pymysql): session, dialect, type map, errors, isolation, locking, streaming.

These tests talk to the MariaDB server of the test matrix through the backend's public verbs;
model- and query-level behaviour runs on MariaDB through the `db` matrix fixture elsewhere.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import gc
import logging
import threading
import time
import tracemalloc
import uuid
from typing import Iterator

import pytest

from activerecord import errors
from activerecord.backend.impl.mysql.backend import DEFAULT_SQL_MODE, MySQLBackend
from activerecord.backend.impl.mysql.dialect import MySQLDialect, features_for
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.types import ColumnSpec
from activerecord.backend.typing import ConnectionConfig
from tests.conftest import require_server
from tests.support.servers import free_port

UTC = datetime.timezone.utc


@pytest.fixture(scope='module')
def mysql_url() -> str:
    return require_server('mysql')


def make_backend(url: str, **changes: object) -> MySQLBackend:
    return MySQLBackend(ConnectionConfig.from_url(url, **changes))


@pytest.fixture
def backend(mysql_url: str) -> Iterator[MySQLBackend]:
    live = make_backend(mysql_url, pool_size=3)
    yield live
    live.close()


@pytest.fixture
def other(mysql_url: str) -> Iterator[MySQLBackend]:
    """A second backend: its own pool and its own transactions, even in the same thread."""
    live = make_backend(mysql_url, pool_size=2, options={'init_command': 'SET SESSION innodb_lock_wait_timeout = 1'})
    yield live
    live.close()


@pytest.fixture
def accounts(backend: MySQLBackend) -> Iterator[str]:
    backend.execute('DROP TABLE IF EXISTS ar_my_accounts')
    backend.execute('CREATE TABLE ar_my_accounts (id INT PRIMARY KEY, owner VARCHAR(20) UNIQUE, '
                    'n INT NOT NULL, CONSTRAINT n_small CHECK (n < 1000)) ENGINE=InnoDB')
    backend.executemany('INSERT INTO ar_my_accounts (id, owner, n) VALUES (?, ?, ?)',
                        [(1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30)])
    yield 'ar_my_accounts'
    backend.execute('DROP TABLE IF EXISTS ar_my_accounts')


class SQLLog(logging.Handler):
    """Collects the statements the backend logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage().split(' -- ')[0])


@pytest.fixture
def sql_log() -> Iterator[SQLLog]:
    logger = logging.getLogger('activerecord.sql')
    handler, level = SQLLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


# -- connecting and the session ---------------------------------------------------------

def test_session_is_utc_utf8mb4_strict_and_autocommit(backend: MySQLBackend, other: MySQLBackend,
                                                      accounts: str) -> None:
    row = backend.fetch_one('SELECT @@session.time_zone AS tz, @@session.sql_mode AS mode, '
                            '@@character_set_client AS client, @@character_set_results AS results, '
                            '@@character_set_connection AS conn, @@autocommit AS autocommit')
    assert row['tz'] == '+00:00'
    assert set(row['mode'].split(',')) == set(DEFAULT_SQL_MODE.split(','))
    assert (row['client'], row['results'], row['conn']) == ('utf8mb4', 'utf8mb4', 'utf8mb4')
    assert row['autocommit'] == 1
    # NOW() is UTC, so it agrees with the UTC wall times the DATETIME columns hold.
    now = backend.fetch_value('SELECT NOW(6)')
    assert abs((now.replace(tzinfo=UTC) - datetime.datetime.now(UTC)).total_seconds()) < 5
    # Outside a transaction every statement commits by itself: another pool sees it at once.
    assert backend.execute('UPDATE ar_my_accounts SET n = 11 WHERE id = 1') == 1
    assert other.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 1') == 11
    assert backend.tls_in_use() is False
    assert backend.pool.status()['checked_out'] == 0


def test_an_idle_connection_does_not_keep_the_last_result_alive(backend: MySQLBackend) -> None:
    # PyMySQL's connection holds its last result until its next query; the backend lets go of
    # it once the rows are taken, so rows the caller dropped are freed at once.
    backend.query_rows('SELECT 1')                  # the connection exists before tracing
    tracemalloc.start()
    try:
        labels, rows = backend.query_rows("SELECT seq, REPEAT('x', 40) FROM seq_1_to_20000")
        assert len(rows) == 20_000
        held = tracemalloc.get_traced_memory()[0]
        del rows
        gc.collect()
        left = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert left < held / 10, (held, left)
    assert backend.execute('DO 1') == 0             # the connection still works
    assert backend.fetch_value('SELECT 2') == 2


def test_the_server_version_tunes_the_feature_flags(backend: MySQLBackend) -> None:
    text = backend.server_version_text()
    assert backend.server_version() >= (10, 3) if 'MariaDB' in text else backend.server_version() >= (8, 0)
    assert backend.is_mariadb is ('mariadb' in text.lower())
    assert backend.dialect.flavor == ('MariaDB' if backend.is_mariadb else 'MySQL')
    assert backend.features == features_for(backend.server_version(), backend.is_mariadb)
    if backend.is_mariadb and backend.server_version() >= (10, 6):
        assert backend.features.for_update_skip_locked and backend.features.intersect
        assert backend.dialect.returning_statements == {'INSERT', 'DELETE'}
    # The flags are data per server: what an older server or the other product lacks is off.
    assert features_for((10, 5, 9), True).for_update_skip_locked is False
    assert features_for((10, 5, 9), True).for_update_nowait is True
    assert features_for((10, 2, 30), True).intersect is False
    assert features_for((8, 0, 30), False).intersect is False
    assert features_for((8, 0, 31), False).except_ is True
    assert features_for((5, 7, 44), False).cte is False
    assert features_for((5, 7, 44), False).window_functions is False
    # Another backend on an unknown server keeps the class's flags: the tuning is per backend.
    assert MySQLDialect.features.for_update_skip_locked is True


def test_a_pinned_server_version_sets_features_without_connecting(mysql_url: str) -> None:
    pinned = make_backend(mysql_url, options={'server_version': '5.7.44-log'})
    try:
        assert pinned.features.cte is False and pinned.features.for_update_nowait is False
        assert pinned.dialect.flavor == 'MySQL'
        assert pinned.pool.status()['open'] == 0
    finally:
        pinned.close()


def test_options_are_checked_when_the_backend_is_made(mysql_url: str) -> None:
    with pytest.raises(errors.ConfigurationError, match="'journal_mode' is not an option of MySQLBackend"):
        make_backend(mysql_url, options={'journal_mode': 'WAL'})
    with pytest.raises(errors.ConfigurationError, match=r"options\['read_timeout'\]: 'soon'"):
        make_backend(mysql_url, options={'read_timeout': 'soon'})
    with pytest.raises(errors.ConfigurationError, match=r"options\['sql_mode'\]"):
        make_backend(mysql_url, options={'sql_mode': "ANSI'; DROP TABLE x; --"})
    with pytest.raises(errors.ConfigurationError, match=r"options\['engine'\]"):
        make_backend(mysql_url, options={'engine': 'InnoDB; DROP'})
    with pytest.raises(errors.ConfigurationError, match='ConnectionConfig.charset'):
        make_backend(mysql_url, charset="utf8mb4'")


def test_options_from_the_url_reach_the_session(mysql_url: str) -> None:
    live = make_backend(mysql_url + '?read_timeout=30&init_command=SET SESSION lock_wait_timeout = 7'
                        '&sql_mode=STRICT_ALL_TABLES,ANSI_QUOTES')
    try:
        row = live.fetch_one('SELECT @@session.lock_wait_timeout AS lwt, @@session.sql_mode AS mode')
        assert int(row['lwt']) == 7
        assert 'ANSI_QUOTES' in row['mode'] and 'NO_ZERO_DATE' not in row['mode']
        # Backticks quote identifiers whatever the sql_mode says about double quotes.
        assert live.fetch_value('SELECT 1 AS `one`') == 1
    finally:
        live.close()


def test_a_wrong_password_fails_without_showing_it(mysql_url: str) -> None:
    secret = 'hunter2-very-secret'
    live = make_backend(mysql_url, username='ar_no_such_user', password=secret)
    try:
        with pytest.raises(errors.OperationalError) as raised:
            live.ping()
        assert secret not in str(raised.value) and secret not in repr(live.config)
        assert raised.value.code in (1045, 1698) and 'Access denied' in str(raised.value)
        assert f'cannot connect to mysql at {live.where()}' in str(raised.value)
    finally:
        live.close()


def test_an_unreachable_server_names_host_and_port() -> None:
    port = free_port()
    live = MySQLBackend(ConnectionConfig(host='127.0.0.1', port=port, database='test', username='root',
                                         connect_timeout=2))
    try:
        started = time.monotonic()
        with pytest.raises(errors.OperationalError, match=f'127.0.0.1:{port}') as raised:
            live.fetch_all('SELECT 1')
        assert time.monotonic() - started < 5
        assert raised.value.code == 2003
        assert live.pool.status()['open'] == 0
    finally:
        live.close()


# -- SQL text: placeholders, percent signs, quoting -------------------------------------

def test_percent_signs_and_question_marks_reach_the_server_as_written(backend: MySQLBackend) -> None:
    # pymysql %-formats the SQL: a literal % must survive with and without parameters.
    assert backend.fetch_one("SELECT 'a%b' AS x, '%%' AS y, '%s' AS z") == {'x': 'a%b', 'y': '%%', 'z': '%s'}
    assert backend.fetch_one("SELECT 'a%b' AS x, ? AS y, '?' AS z", ('%s',)) == {'x': 'a%b', 'y': '%s', 'z': '?'}
    assert backend.fetch_value("SELECT 'x' LIKE ? AS m", ('%',)) == 1
    assert backend.fetch_value('SELECT 7 % ? AS m', (4,)) == 3
    with pytest.raises(errors.ProgrammingError, match='1 `\\?` placeholder'):
        backend.fetch_all('SELECT ?', (1, 2))


def test_identifiers_are_quoted_with_backticks(backend: MySQLBackend) -> None:
    dialect = backend.dialect
    table = 'ar my `odd` table'
    assert dialect.quote(table) == '`ar my ``odd`` table`'
    column_sql = [dialect.column_definition('select', 'VARCHAR(10)', nullable=False),
                  dialect.column_definition('order`by', 'INT', nullable=True)]
    backend.execute(dialect.drop_table_sql(table, if_exists=True))
    backend.execute(dialect.create_table_sql(table, column_sql, ['select']))
    try:
        backend.execute(dialect.insert_sql(table, ['select', 'order`by'], 2), ('a', 1, 'b', 2))
        rows = backend.fetch_all(f'SELECT {dialect.quote("select")}, {dialect.quote("order`by")} '
                                 f'FROM {dialect.quote(table)} ORDER BY 1')
        assert rows == [{'select': 'a', 'order`by': 1}, {'select': 'b', 'order`by': 2}]
        with pytest.raises(errors.ProgrammingError, match='longer than 64'):
            dialect.quote('x' * 65)
    finally:
        backend.execute(dialect.drop_table_sql(table, if_exists=True))


# -- DDL, keys, upsert ------------------------------------------------------------------

def test_tables_are_innodb_utf8mb4_and_auto_increment_keys_come_back(backend: MySQLBackend) -> None:
    dialect = backend.dialect
    columns = [dialect.column_definition('id', '', nullable=False, primary_key=True, autoincrement=True),
               dialect.column_definition('name', 'VARCHAR(20)', nullable=False, unique=True)]
    backend.execute(dialect.drop_table_sql('ar_my_keys', if_exists=True))
    backend.execute(dialect.create_table_sql('ar_my_keys', columns, ['id'], if_not_exists=True))
    try:
        info = backend.fetch_one('SELECT ENGINE AS engine, TABLE_COLLATION AS collation FROM information_schema.TABLES '
                                 'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', ('ar_my_keys',))
        assert info['engine'] == 'InnoDB' and info['collation'].startswith('utf8mb4_')
        first = backend.insert_returning_key(dialect.insert_sql('ar_my_keys', ['name'], 1), ('a',))
        # A multi-row INSERT reports the first id it generated; the rest follow it.
        batch_first = backend.insert_returning_key(dialect.insert_sql('ar_my_keys', ['name'], 3), ('b', 'c', 'd'))
        assert batch_first == first + 1
        ids = [row['id'] for row in backend.fetch_all('SELECT id FROM ar_my_keys ORDER BY id')]
        assert ids == [first, first + 1, first + 2, first + 3]
        # NO_AUTO_VALUE_ON_ZERO: an explicit key is stored as given, 0 included.
        backend.execute(dialect.insert_sql('ar_my_keys', ['id', 'name'], 1), (0, 'zero'))
        assert backend.fetch_value('SELECT name FROM ar_my_keys WHERE id = 0') == 'zero'
        # A row of defaults only.
        backend.execute('CREATE TABLE IF NOT EXISTS ar_my_defaults (id BIGINT AUTO_INCREMENT PRIMARY KEY, '
                        'n INT DEFAULT 5)')
        key = backend.insert_returning_key(dialect.insert_sql('ar_my_defaults', [], 1), ())
        assert backend.fetch_value('SELECT n FROM ar_my_defaults WHERE id = ?', (key,)) == 5
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_my_keys, ar_my_defaults')


def test_upsert_is_on_duplicate_key_update(backend: MySQLBackend, accounts: str) -> None:
    dialect = backend.dialect
    sql = dialect.upsert_sql(accounts, ['id', 'owner', 'n'], 2, conflict=['owner'], update=['n'])
    assert 'ON DUPLICATE KEY UPDATE `n` = VALUES(`n`)' in sql
    backend.execute(sql, (9, 'ann', 100, 4, 'dee', 40))
    rows = backend.fetch_all(f'SELECT id, owner, n FROM {accounts} ORDER BY id')
    assert rows[0] == {'id': 1, 'owner': 'ann', 'n': 100}      # updated in place, id kept
    assert rows[-1] == {'id': 4, 'owner': 'dee', 'n': 40}      # inserted
    # Nothing to update: the existing row stays as it is, new rows go in.
    keep = dialect.upsert_sql(accounts, ['id', 'owner', 'n'], 2, conflict=['owner'], update=[])
    backend.execute(keep, (7, 'bob', 999, 5, 'eve', 50))
    assert backend.fetch_one(f'SELECT id, n FROM {accounts} WHERE owner = ?', ('bob',)) == {'id': 2, 'n': 20}
    assert backend.fetch_value(f'SELECT n FROM {accounts} WHERE owner = ?', ('eve',)) == 50
    # Unlike INSERT IGNORE, the no-op upsert still refuses bad data.
    with pytest.raises(errors.IntegrityError):
        backend.execute(keep, (8, 'fay', None, 9, 'gus', 1))


def test_ddl_defaults_are_literals_and_text_defaults_are_expressions(backend: MySQLBackend) -> None:
    dialect = backend.dialect
    tricky = "it's a \\ backslash"
    columns = [dialect.column_definition('id', 'INT', nullable=False),
               dialect.column_definition('label', 'VARCHAR(40)', nullable=False, default=tricky, has_default=True),
               dialect.column_definition('body', 'LONGTEXT', nullable=False, default=tricky, has_default=True),
               dialect.column_definition('flag', 'TINYINT(1)', nullable=False, default=True, has_default=True),
               dialect.column_definition('at', 'DATETIME(6)', nullable=False, has_default=True,
                                         default=datetime.datetime(2024, 1, 2, 5, 0, tzinfo=datetime.timezone(
                                             datetime.timedelta(hours=2))))]
    backend.execute('DROP TABLE IF EXISTS ar_my_defaults2')
    backend.execute(dialect.create_table_sql('ar_my_defaults2', columns, ['id']))
    try:
        backend.execute('INSERT INTO ar_my_defaults2 (id) VALUES (1)')
        row = backend.fetch_one('SELECT label, body, flag, at FROM ar_my_defaults2')
        assert row == {'label': tricky, 'body': tricky, 'flag': 1, 'at': datetime.datetime(2024, 1, 2, 3, 0)}
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_my_defaults2')


# -- the type map -----------------------------------------------------------------------

class Color(enum.Enum):
    RED = 'red'
    GREEN = 'green'


TYPE_CASES = [
    # (spec, column type, a value that must round-trip)
    (ColumnSpec(int), 'BIGINT', 2**62),
    (ColumnSpec(bool), 'TINYINT(1)', True),
    (ColumnSpec(float), 'DOUBLE', 0.1),
    (ColumnSpec(str, max_length=20), 'VARCHAR(20)', 'emoji 😀 ünïcode'),
    (ColumnSpec(str), 'LONGTEXT', 'x' * 70000 + ' 😀'),
    (ColumnSpec(str, max_length=20000), 'LONGTEXT', 'long'),
    (ColumnSpec(decimal.Decimal, max_digits=12, decimal_places=4), 'DECIMAL(12, 4)', decimal.Decimal('-12345678.1234')),
    (ColumnSpec(decimal.Decimal), 'DECIMAL(65, 30)', decimal.Decimal('12345678901234567890.123456789012345678901234567891')),
    (ColumnSpec(decimal.Decimal), 'DECIMAL(65, 30)', decimal.Decimal('1.5')),
    (ColumnSpec(datetime.datetime), 'DATETIME(6)',
     datetime.datetime(2024, 3, 31, 1, 30, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))),
    (ColumnSpec(datetime.datetime, timezone=False), 'DATETIME(6)', datetime.datetime(2024, 3, 31, 1, 30, 0, 5)),
    (ColumnSpec(datetime.date), 'DATE', datetime.date(1999, 12, 31)),
    (ColumnSpec(datetime.time), 'TIME(6)', datetime.time(23, 59, 58, 999999)),
    (ColumnSpec(datetime.timedelta), 'BIGINT', datetime.timedelta(days=-3, microseconds=7)),
    (ColumnSpec(bytes), 'LONGBLOB', bytes(range(256)) * 3),
    (ColumnSpec(bytes, max_length=16), 'VARBINARY(16)', b'\x00\xff\x80abc'),
    (ColumnSpec(uuid.UUID), 'CHAR(36)', uuid.UUID('12345678-1234-5678-1234-567812345678')),
    (ColumnSpec(dict), 'JSON', {'name': 'ünï 😀', 'n': [1, 2.5, None, True], 'nested': {'a': {}}}),
    (ColumnSpec(list, item_type=int), 'JSON', [3, 1, 2]),
    (ColumnSpec(Color), 'VARCHAR(50)', Color.GREEN),
]


def test_every_type_round_trips_through_its_column(backend: MySQLBackend) -> None:
    type_map = backend.dialect.type_map
    dialect = backend.dialect
    columns = [dialect.column_definition('id', 'INT', nullable=False)]
    for index, (spec, column_type, _) in enumerate(TYPE_CASES):
        assert type_map.column_type(spec) == column_type, spec
        columns.append(dialect.column_definition(f'c{index}', column_type, nullable=True))
    backend.execute('DROP TABLE IF EXISTS ar_my_types')
    backend.execute(dialect.create_table_sql('ar_my_types', columns, ['id']))
    try:
        values = []
        for spec, _, value in TYPE_CASES:
            to_db = type_map.to_db(spec)
            values.append(to_db(value) if to_db else value)
        names = [f'c{index}' for index in range(len(TYPE_CASES))]
        backend.execute(dialect.insert_sql('ar_my_types', ['id', *names], 1), (1, *values))
        row = backend.fetch_one(f'SELECT {", ".join(names)} FROM ar_my_types WHERE id = 1')
        for index, (spec, _, value) in enumerate(TYPE_CASES):
            from_db = type_map.from_db(spec)
            back = row[f'c{index}'] if from_db is None else from_db(row[f'c{index}'])
            assert back == value and type(back) is type(value), (spec, back)
            if isinstance(value, decimal.Decimal):
                assert str(back) == str(value)       # exact, and no padding zeros
            if isinstance(value, datetime.datetime) and value.tzinfo is not None:
                assert back.tzinfo is UTC            # the same instant, read back in UTC
        # The aware datetime is stored as its UTC wall time.
        assert row['c9'] == datetime.datetime(2024, 3, 30, 20, 0, 0, 123456)
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_my_types')


def test_raw_parameters_are_adapted(backend: MySQLBackend) -> None:
    aware = datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    row = backend.fetch_one('SELECT ? AS at, ? AS j, ? AS u, ? AS c, ? AS d',
                            (aware, {'k': [1]}, uuid.UUID(int=1), Color.RED, decimal.Decimal('1.10')))
    assert row['at'] == '2024-01-01 17:00:00' or row['at'] == datetime.datetime(2024, 1, 1, 17, 0)
    assert row['j'] == '{"k":[1]}' and row['u'] == '00000000-0000-0000-0000-000000000001'
    assert row['c'] == 'red' and row['d'] == decimal.Decimal('1.10')


def test_sizes_beyond_decimal_limits_are_refused(backend: MySQLBackend) -> None:
    with pytest.raises(errors.ConfigurationError, match='at most 65 digits'):
        backend.dialect.type_map.column_type(ColumnSpec(decimal.Decimal, max_digits=70, decimal_places=2))
    with pytest.raises(errors.ConfigurationError, match='at most 30 digits after the point'):
        backend.dialect.type_map.column_type(ColumnSpec(decimal.Decimal, max_digits=40, decimal_places=31))


# -- errors -----------------------------------------------------------------------------

def test_server_errors_map_to_the_error_family(backend: MySQLBackend, accounts: str) -> None:
    cases = [
        ('INSERT INTO ar_my_accounts (id, owner, n) VALUES (9, ?, 1)', ('ann',), errors.IntegrityError, 1062),
        ('INSERT INTO ar_my_accounts (id, owner, n) VALUES (9, ?, NULL)', ('x',), errors.IntegrityError, 1048),
        ('INSERT INTO ar_my_accounts (id, owner) VALUES (9, ?)', ('x',), errors.IntegrityError, 1364),
        ('INSERT INTO ar_my_accounts (id, owner, n) VALUES (9, ?, 5000)', ('x',), errors.IntegrityError, None),
        ('INSERT INTO ar_my_accounts (id, owner, n) VALUES (9, ?, 1)', ('x' * 30,), errors.DataError, 1406),
        ('INSERT INTO ar_my_accounts (id, owner, n) VALUES (9, ?, ?)', ('x', 'abc'), errors.DataError, 1366),
        ('SELECT nope FROM ar_my_accounts', (), errors.ProgrammingError, 1054),
        ('SELECT * FROM ar_my_no_such_table', (), errors.ProgrammingError, 1146),
        ('SELEKT 1', (), errors.ProgrammingError, 1064),
    ]
    for sql, params, kind, code in cases:
        with pytest.raises(kind) as raised:
            backend.execute(sql, params)
        if code is not None:
            assert raised.value.code == code, sql
        else:  # CHECK: 4025 on MariaDB, 3819 on MySQL
            assert raised.value.code in (4025, 3819)
        assert raised.value.sqlstate and len(raised.value.sqlstate) == 5
        assert type(raised.value.__cause__).__module__.startswith('pymysql')
        assert f'error {raised.value.code}' in str(raised.value)
    assert backend.pool.status()['open'] == 1   # errors of statements keep the connection


def test_a_lock_wait_timeout_is_operational_and_keeps_the_code(backend: MySQLBackend, other: MySQLBackend,
                                                               accounts: str) -> None:
    with backend.transaction():
        backend.execute('UPDATE ar_my_accounts SET n = n + 1 WHERE id = 1')
        started = time.monotonic()
        with pytest.raises(errors.OperationalError) as raised:
            other.execute('UPDATE ar_my_accounts SET n = n + 1 WHERE id = 1')
        assert raised.value.code == 1205 and 'Lock wait timeout' in str(raised.value)
        assert time.monotonic() - started < 5
    assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 1') == 11


def test_a_deadlock_is_operational_and_the_victim_is_rolled_back(backend: MySQLBackend, accounts: str) -> None:
    both_locked = threading.Barrier(2, timeout=10)
    outcomes: dict[str, object] = {}

    def worker(name: str, first: int, second: int) -> None:
        try:
            with backend.transaction():
                backend.execute('UPDATE ar_my_accounts SET n = n + 1 WHERE id = ?', (first,))
                both_locked.wait()
                backend.execute('UPDATE ar_my_accounts SET n = n + 1 WHERE id = ?', (second,))
            outcomes[name] = 'committed'
        except errors.OperationalError as error:
            outcomes[name] = error

    threads = [threading.Thread(target=worker, args=('a', 1, 2)), threading.Thread(target=worker, args=('b', 2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    failures = [value for value in outcomes.values() if isinstance(value, errors.OperationalError)]
    assert len(failures) == 1 and list(outcomes.values()).count('committed') == 1, outcomes
    assert failures[0].code == 1213 and failures[0].sqlstate == '40001'
    # The winner's two updates are in; the victim's are gone.
    assert backend.fetch_value('SELECT SUM(n) FROM ar_my_accounts WHERE id IN (1, 2)') == 10 + 20 + 2
    assert backend.pool.status()['checked_out'] == 0


def test_a_killed_connection_is_discarded_and_the_next_statement_works(backend: MySQLBackend,
                                                                       other: MySQLBackend) -> None:
    victim = backend.fetch_value('SELECT CONNECTION_ID()')
    assert backend.pool.status()['idle'] == 1
    other.execute(f'KILL CONNECTION {int(victim)}')
    with pytest.raises(errors.OperationalError) as raised:
        backend.fetch_value('SELECT 1')
    assert raised.value.code in (2006, 2013, 4031, 1927)
    assert backend.pool.status()['open'] == 0          # the dead connection left the pool
    assert backend.fetch_value('SELECT CONNECTION_ID()') != victim   # a fresh one, not re-run
    assert backend.pool.status()['open'] == 1


def test_a_connection_closed_by_the_server_for_idleness_is_discarded(backend: MySQLBackend) -> None:
    backend.execute('SET SESSION wait_timeout = 1')
    time.sleep(2.5)
    with pytest.raises(errors.OperationalError):
        backend.fetch_value('SELECT 1')
    assert backend.pool.status()['open'] == 0
    assert backend.fetch_value('SELECT 2') == 2


def test_pre_ping_replaces_a_dead_idle_connection_before_use(mysql_url: str, other: MySQLBackend) -> None:
    live = make_backend(mysql_url, pool_pre_ping=True)
    try:
        victim = live.fetch_value('SELECT CONNECTION_ID()')
        other.execute(f'KILL CONNECTION {int(victim)}')
        assert live.fetch_value('SELECT 41 + 1') == 42
        assert live.pool.status()['open'] == 1
    finally:
        live.close()


# -- transactions, isolation, locking ---------------------------------------------------

def _isolation_inside(backend: MySQLBackend) -> str:
    # The transaction's own level (the session variable shows the session's default).
    backend.fetch_all('SELECT n FROM ar_my_accounts WHERE id = 1')  # makes InnoDB start the transaction
    time.sleep(0.12)  # INNODB_TRX is a snapshot InnoDB refreshes at most every 0.1 s
    return backend.fetch_value('SELECT trx_isolation_level FROM information_schema.INNODB_TRX '
                               'WHERE trx_mysql_thread_id = CONNECTION_ID()')


def test_each_isolation_level_is_given_exactly(backend: MySQLBackend, accounts: str, sql_log: SQLLog) -> None:
    for level in (IsolationLevel.READ_UNCOMMITTED, IsolationLevel.READ_COMMITTED,
                  IsolationLevel.REPEATABLE_READ, IsolationLevel.SERIALIZABLE):
        with backend.transaction(isolation_level=level):
            assert _isolation_inside(backend) == level.value
        assert f'SET TRANSACTION ISOLATION LEVEL {level.value}' in sql_log.statements
    # Only the next transaction got the level: the session default is untouched.
    variable = '@@tx_isolation' if backend.is_mariadb else '@@transaction_isolation'  # renamed in MySQL 8
    assert backend.fetch_value(f'SELECT {variable}') == 'REPEATABLE-READ'
    with pytest.raises(errors.NotSupportedError, match='SNAPSHOT'):
        with backend.transaction(isolation_level=IsolationLevel.SNAPSHOT):
            pass
    assert backend.pool.status()['checked_out'] == 0


def test_read_committed_sees_new_commits_and_repeatable_read_does_not(backend: MySQLBackend, other: MySQLBackend,
                                                                      accounts: str) -> None:
    for level, expected in ((IsolationLevel.READ_COMMITTED, 'sees'), (IsolationLevel.REPEATABLE_READ, 'keeps')):
        before = backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 3')
        with backend.transaction(isolation_level=level):
            assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 3') == before
            other.execute('UPDATE ar_my_accounts SET n = n + 1 WHERE id = 3')
            seen = backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 3')
        assert seen == (before + 1 if expected == 'sees' else before), level


def test_read_uncommitted_sees_uncommitted_rows(backend: MySQLBackend, other: MySQLBackend, accounts: str) -> None:
    with other.transaction():
        other.execute('UPDATE ar_my_accounts SET n = 555 WHERE id = 2')
        with backend.transaction(isolation_level=IsolationLevel.READ_UNCOMMITTED):
            assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 2') == 555
        with backend.transaction(isolation_level=IsolationLevel.READ_COMMITTED):
            assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 2') == 20
        other.transaction_manager.rollback()
        other.transaction_manager.begin()  # the `with` block commits an empty transaction
    assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 2') == 20


def test_serializable_reads_lock_rows_against_writers(backend: MySQLBackend, other: MySQLBackend,
                                                      accounts: str) -> None:
    with backend.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
        assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 2') == 20
        with pytest.raises(errors.OperationalError) as raised:
            other.execute('UPDATE ar_my_accounts SET n = 0 WHERE id = 2')
        assert raised.value.code == 1205
    other.execute('UPDATE ar_my_accounts SET n = 0 WHERE id = 2')


def test_read_only_transactions_refuse_writes(backend: MySQLBackend, accounts: str, sql_log: SQLLog) -> None:
    with backend.transaction(isolation_level=IsolationLevel.SERIALIZABLE, read_only=True):
        assert backend.fetch_value('SELECT COUNT(*) FROM ar_my_accounts') == 3
        with pytest.raises(errors.OperationalError) as raised:
            backend.execute('UPDATE ar_my_accounts SET n = 0')
        assert raised.value.code == 1792
    assert sql_log.statements[:2] == ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'START TRANSACTION READ ONLY']
    # The next transaction is read-write again.
    with backend.transaction():
        assert backend.execute('UPDATE ar_my_accounts SET n = 1 WHERE id = 1') == 1


def test_savepoints_undo_part_of_a_transaction(backend: MySQLBackend, accounts: str) -> None:
    with backend.transaction():
        backend.execute('UPDATE ar_my_accounts SET n = 100 WHERE id = 1')
        with pytest.raises(ZeroDivisionError):
            with backend.transaction():
                backend.execute('UPDATE ar_my_accounts SET n = 200 WHERE id = 2')
                1 / 0
        assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 2') == 20
    assert backend.fetch_value('SELECT n FROM ar_my_accounts WHERE id = 1') == 100


def test_the_server_status_tells_whether_a_transaction_is_open(backend: MySQLBackend, accounts: str,
                                                              sql_log: SQLLog) -> None:
    with backend.transaction():
        assert backend.transaction_open(backend.transaction_manager.connection.raw) is True
    with backend.connection() as pooled:
        assert backend.transaction_open(pooled.raw) is False
        pooled.raw.cursor().execute('START TRANSACTION')
        assert backend.transaction_open(pooled.raw) is True
    # Released with a rollback because the flag said a transaction was open.
    with backend.connection() as pooled:
        assert backend.transaction_open(pooled.raw) is False


def test_for_update_nowait_and_skip_locked(backend: MySQLBackend, other: MySQLBackend, accounts: str) -> None:
    assert backend.features.for_update_nowait and backend.features.for_update_skip_locked
    with backend.transaction():
        backend.fetch_all('SELECT id FROM ar_my_accounts WHERE id = 1 FOR UPDATE')
        with other.transaction():
            started = time.monotonic()
            with pytest.raises(errors.OperationalError) as raised:
                other.fetch_all('SELECT id FROM ar_my_accounts WHERE id = 1 FOR UPDATE NOWAIT')
            assert time.monotonic() - started < 0.9   # immediately, not after the 1 s lock wait
            assert raised.value.code in (1205, 3572)
            rows = other.fetch_all('SELECT id FROM ar_my_accounts ORDER BY id FOR UPDATE SKIP LOCKED')
            assert [row['id'] for row in rows] == [2, 3]


# -- streaming --------------------------------------------------------------------------

_BIG = ('SELECT a.n + 10 * b.n + 100 * c.n + 1000 * d.n AS n, REPEAT(?, 1000) AS pad '
        'FROM {t} a CROSS JOIN {t} b CROSS JOIN {t} c CROSS JOIN {t} d')
_DIGITS = '(SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 ' \
          'UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)'


def test_iter_rows_streams_with_flat_memory(backend: MySQLBackend) -> None:
    sql = _BIG.format(t=_DIGITS)
    tracemalloc.start()
    try:
        count = total = 0
        for _, batch in backend.iter_rows(sql, ('x',), batch_size=200):
            count += len(batch)
            total += sum(row[0] for row in batch)
        _, streamed_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_000 and total == sum(range(10_000))
    # 10k rows of ~1 kB are over 10 MB buffered; streaming holds one batch (~0.2 MB) at a time.
    assert streamed_peak < 2_000_000, streamed_peak
    assert backend.pool.status()['checked_out'] == 0


def test_a_stream_stopped_early_leaves_the_connection_usable(backend: MySQLBackend) -> None:
    rows = backend.iter_rows(_BIG.format(t=_DIGITS), ('y',), batch_size=100)
    next(rows)
    rows.close()
    assert backend.fetch_value('SELECT 5') == 5
    assert backend.pool.status() | {} == {**backend.pool.status(), 'checked_out': 0}


def test_iterating_inside_a_transaction_can_run_statements_in_the_loop(backend: MySQLBackend,
                                                                       accounts: str) -> None:
    with backend.transaction():
        for _, batch in backend.iter_rows('SELECT id FROM ar_my_accounts ORDER BY id', batch_size=1):
            backend.execute('UPDATE ar_my_accounts SET n = n * 2 WHERE id = ?', (batch[0][0],))
    assert [row['n'] for row in backend.fetch_all('SELECT n FROM ar_my_accounts ORDER BY id')] == [20, 40, 60]
