"""Replica routing without replicas running: statement classification, positions, config errors, roles."""
from __future__ import annotations

import asyncio
import threading

import pytest

from activerecord import ActiveRecord, errors
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.registry import backend_for_url
from activerecord.backend.replication import (gtid_set_merged, gtid_set_reached, lsn_merged, lsn_reached,
                                              lsn_value, mariadb_merged, mariadb_reached)
from activerecord.backend.routing import classify
from activerecord.backend.sql_lexer import MYSQL, POSTGRESQL

READS = [
    'SELECT * FROM users WHERE id = ?',
    'select count(*) from users',
    "WITH recent AS (SELECT * FROM posts WHERE title = 'insert into x') SELECT * FROM recent",
    'VALUES (1), (2)',
    'TABLE users',
    'EXPLAIN SELECT 1',
    'EXPLAIN ANALYZE SELECT * FROM users',
    "SELECT 'FOR UPDATE', \"delete\" FROM t",           # a literal and a quoted identifier
    'SELECT 1 /* UPDATE users SET x = 1 */',             # a comment
    'SELECT 1 -- DELETE FROM users',
    'SELECT replace(name, ?, ?) FROM users',
    'SELECT substring(name from 1 for 2) FROM users',
    "SELECT $$ nextval('s') $$",                         # dollar-quoted text
    'SELECT copy, "do" FROM t',                          # words that are statements elsewhere
    'SELECT next_run FROM jobs',
    'SELECT lo_price, "lo_import" FROM t',              # lo_ counts only as a call
    'SELECT "nextval", "currval" FROM t',                # quoted columns of those names
    "SELECT * FROM docs WHERE body @@ to_tsquery('cat')",  # text search, not a system variable
]
WRITES = [
    'INSERT INTO users (name) VALUES (?)',
    'UPDATE users SET name = ?',
    'DELETE FROM users',
    'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE',
    'CREATE TABLE t (id int)',
    'WITH moved AS (DELETE FROM a RETURNING *) SELECT * FROM moved',
    'SELECT * FROM users FOR UPDATE',
    'SELECT * FROM users FOR SHARE',
    'SELECT * FROM users FOR NO KEY UPDATE',
    'SELECT * FROM users FOR KEY SHARE',
    'SELECT * FROM users LOCK IN SHARE MODE',
    'SELECT * INTO copy FROM users',
    "SELECT nextval('users_id_seq')",
    'SELECT pg_advisory_lock(1)',
    'SELECT pg_try_advisory_xact_lock(1)',
    "SELECT GET_LOCK('x', 1)",
    "SELECT set_config('a.b', 'c', false)",
    "SELECT pg_notify('c', 'x')",
    'SELECT LAST_INSERT_ID()',
    'SELECT NEXT VALUE FOR s',
    'SELECT PREVIOUS VALUE FOR s',
    'SELECT txid_current()',
    'SELECT pg_current_wal_lsn()',
    'EXPLAIN ANALYZE DELETE FROM users',
    'EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1',       # EXPLAIN ANALYZE runs what it explains
    'EXPLAIN (ANALYZE) CREATE MATERIALIZED VIEW v AS SELECT 1',
    'EXPLAIN ANALYZE REFRESH MATERIALIZED VIEW v',
    'EXPLAIN ANALYZE EXECUTE prepared_insert(1)',
    'SELECT "nextval"(\'s\')',                           # quoted function names
    'SELECT pg_catalog."nextval"(\'s\')',
    'SELECT pg_catalog."setval" (\'s\', 1)',
    'SELECT "NextVal"(\'s\')',                           # another function on PostgreSQL: primary is safe
    'SELECT "pg_advisory_lock"(1)',
    'SELECT pg_cancel_backend(123)',
    'SELECT pg_terminate_backend(123)',
    'SELECT pg_stat_reset()',
    'SELECT pg_stat_reset_shared(\'bgwriter\')',
    'SELECT pg_reload_conf()',
    'SELECT pg_rotate_logfile()',
    "SELECT lo_import('/tmp/x')",
    'SELECT lo_unlink(42)',
    "SELECT lo_from_bytea(0, 'x')",
    'SELECT pg_is_in_recovery()',
    'SELECT pg_switch_wal()',
    "SELECT pg_create_restore_point('r')",
    'SELECT txid_current_if_assigned()',
    'SELECT pg_backend_pid()',
    'SHOW transaction_read_only',                        # session/server state is the primary's
    'SHOW MASTER STATUS',
    'SELECT @@read_only',                                # system variables too
    'SELECT 1 FROM t WHERE @@global.gtid_mode = 1',
    'SELECT 1; DELETE FROM users',
    "SELECT 'unterminated",
    '',
]


@pytest.mark.parametrize('sql', READS)
def test_reads_are_reads(sql: str) -> None:
    assert classify(sql, POSTGRESQL) is True


@pytest.mark.parametrize('sql', WRITES)
def test_everything_else_is_a_write(sql: str) -> None:
    assert classify(sql, POSTGRESQL) is False


def test_mysql_comments_and_executable_comments() -> None:
    assert classify('SELECT 1 # DELETE FROM users', MYSQL) is True
    assert classify('SELECT 1 /*!50000 FOR UPDATE */', MYSQL) is False   # MySQL runs that


@pytest.mark.parametrize('sql', [
    "SELECT `get_lock`('x', 1)", "SELECT `last_insert_id`()", "SELECT IS_FREE_LOCK('x')",
    "SELECT is_used_lock('x')", "SELECT MASTER_POS_WAIT('f', 4)", "SELECT MASTER_GTID_WAIT('0-1-1', 1)",
    'SHOW SLAVE STATUS', 'SELECT @@gtid_slave_pos', 'SELECT @@SESSION.transaction_read_only'])
def test_mysql_side_effects_and_server_state(sql: str) -> None:
    assert classify(sql, MYSQL) is False


def test_mysql_backtick_names_that_are_not_functions_still_read() -> None:
    assert classify('SELECT `update`, `name` FROM `users`', MYSQL) is True


def test_wal_positions_compare_as_64_bit_numbers() -> None:
    assert lsn_value('1/0') == 1 << 32
    assert lsn_value('0/FFFFFFFF') < lsn_value('1/0')
    assert lsn_reached('1/10', '0/FFFFFFFF') and not lsn_reached('0/9', '0/10')
    assert lsn_merged('0/A0', '0/9F') == '0/A0'


def test_mariadb_gtids_compare_per_domain() -> None:
    assert mariadb_reached('0-1-100,1-2-5', '0-1-100')
    assert not mariadb_reached('0-1-99', '0-1-100')
    assert not mariadb_reached('0-1-100', '1-2-1')            # a domain the replica never saw
    assert mariadb_merged('0-1-5,1-1-3', '0-1-4,2-1-1') == '0-1-5,1-1-3,2-1-1'


def test_mysql_gtid_sets_compare_by_containment() -> None:
    uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562'
    assert gtid_set_reached(f'{uuid}:1-10:12', f'{uuid}:5-10')
    assert gtid_set_reached(f'{uuid}:1-10:12', f'{uuid}:12')
    assert not gtid_set_reached(f'{uuid}:1-10', f'{uuid}:11')
    assert not gtid_set_reached('', f'{uuid}:1')
    assert gtid_set_reached(gtid_set_merged(f'{uuid}:1-3', f'{uuid}:5'), f'{uuid}:5')


def test_the_dialects_name_their_positions() -> None:
    assert PostgreSQLDialect.replication is not None
    mysql, mariadb = MySQLDialect((8, 0, 36), mariadb=False), MySQLDialect((10, 11), mariadb=True)
    assert mysql.replication is not None and 'gtid_executed' in mysql.replication.written_sql
    assert mariadb.replication is not None and 'last_gtid' in mariadb.replication.written_sql


class Account(ActiveRecord):
    id: int | None = None
    name: str = ''


def test_sqlite_refuses_replicas_with_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(errors.ConfigurationError, match='replication positions.*Data Guard'):
        Account.configure('sqlite://', replicas=['sqlite:///copy.db'])


def test_a_replica_of_another_kind_is_refused() -> None:
    with pytest.raises(errors.ConfigurationError, match='same kind of database'):
        Account.configure('postgresql://app:secret@127.0.0.1:1/app', replicas=['mysql://app@127.0.0.1:1/app'])


def test_one_url_instead_of_a_list_is_refused() -> None:
    with pytest.raises(errors.ConfigurationError, match='expected a list'):
        Account.configure('postgresql://app@127.0.0.1:1/app',
                          replicas='postgresql://app@127.0.0.1:2/app')  # type: ignore[arg-type]


def test_one_primary_is_one_backend_and_other_replica_sets_are_refused() -> None:
    url = 'postgresql://app:secret@127.0.0.1:1/app'
    plain = Account.configure(url)
    with pytest.raises(errors.ConfigurationError, match=r'already in use with no replicas; now configured with '
                       r'replicas=\[postgresql://app:\*\*\*@127.0.0.1:2/app\].*base class'):
        Account.configure(url, replicas=['postgresql://app:secret@127.0.0.1:2/app'])
    plain.close()
    routed = Account.configure(url, replicas=['postgresql://app:secret@127.0.0.1:2/app'])
    try:
        assert routed is not plain and routed.router is not None
        assert 'secret' not in repr(routed) and 'secret' not in repr(routed.router.replicas[0].backend)
        assert Account.configure(url, replicas=['postgresql://app:secret@127.0.0.1:2/app']) is routed
        for other in ({'replicas': ['postgresql://app:secret@127.0.0.1:3/app']}, {'replicas': None},
                      {'replicas': ['postgresql://app:secret@127.0.0.1:2/app'], 'max_replica_lag': 9}):
            with pytest.raises(errors.ConfigurationError, match=r'already in use with '
                               r'replicas=\[postgresql://app:\*\*\*@127.0.0.1:2/app\], max_replica_lag=5'):
                Account.configure(url, **other)  # type: ignore[arg-type]
        assert Account.backend() is routed   # a refused configure() leaves the binding as it was
    finally:
        routed.close()


@pytest.mark.parametrize('bad', [-0.1, -1, 'soon', None, True, float('nan'), float('inf')])
def test_replica_wait_must_be_seconds(bad: object) -> None:
    with pytest.raises(errors.ConfigurationError, match=r"replica_wait=.*expected a number of seconds >= 0"):
        Account.configure('postgresql://app@127.0.0.1:1/app', replicas=['postgresql://app@127.0.0.1:2/app'],
                          replica_wait=bad)  # type: ignore[arg-type]


def test_replica_wait_reaches_the_router_and_keys_the_backend() -> None:
    url, replicas = 'postgresql://app@127.0.0.1:1/app', ['postgresql://app@127.0.0.1:2/app']
    never = Account.configure(url, replicas=replicas)
    assert never.router is not None and never.router.wait == 0
    never.close()   # the same primary with other routing settings only once the first is closed
    waiting = Account.configure(url, replicas=replicas, replica_wait=0.25)
    try:
        assert waiting.router is not None and waiting.router.wait == 0.25 and waiting is not never
        assert Account.configure(url, replicas=replicas, replica_wait=0.25) is waiting
        assert waiting.router.wait_counts() == {'waits': 0, 'timeouts': 0}
    finally:
        never.close()
        waiting.close()


def test_the_dialects_name_their_waits() -> None:
    mysql, mariadb = MySQLDialect((8, 0, 36), mariadb=False), MySQLDialect((10, 11), mariadb=True)
    assert mariadb.replication is not None and mariadb.replication.wait_sql == 'SELECT MASTER_GTID_WAIT(?, ?)'
    assert mysql.replication is not None and 'WAIT_FOR_EXECUTED_GTID_SET' in (mysql.replication.wait_sql or '')
    assert PostgreSQLDialect.replication is not None and PostgreSQLDialect.replication.wait_sql is None   # polled


def test_role_reading_without_replicas_refuses_writes_and_reads_here() -> None:
    backend = backend_for_url('sqlite://')
    try:
        backend.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)')
        backend.execute("INSERT INTO t (name) VALUES ('a')")
        with backend.connected_to('reading'):
            assert backend.fetch_value('SELECT count(*) FROM t') == 1
            with pytest.raises(errors.ReadOnlyError):
                backend.execute("INSERT INTO t (name) VALUES ('b')")
            with pytest.raises(errors.ReadOnlyError):
                list(backend.iter_rows("INSERT INTO t (name) VALUES ('b') RETURNING id"))
            with backend.connected_to('writing'):   # nested: the inner role wins
                backend.execute("INSERT INTO t (name) VALUES ('c')")
            with pytest.raises(errors.ReadOnlyError):
                backend.execute('DELETE FROM t')
        backend.execute('DELETE FROM t')   # the role ended with its block
        assert backend.fetch_value('SELECT count(*) FROM t') == 0
        with pytest.raises(errors.ConfigurationError, match='expected one of reading, writing'):
            with backend.connected_to('replica'):
                pass
    finally:
        backend.close()


def test_roles_are_per_thread_and_per_task() -> None:
    backend = backend_for_url('sqlite://')
    try:
        backend.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)')
        results: list[str] = []

        def other_thread() -> None:
            backend.execute('INSERT INTO t DEFAULT VALUES')   # not under this thread's role
            results.append('wrote')

        with backend.connected_to('reading'):
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()

            async def reader() -> None:
                with pytest.raises(errors.ReadOnlyError):
                    await backend.aexecute('INSERT INTO t DEFAULT VALUES')   # inherited by the task

            asyncio.run(reader())
        assert results == ['wrote']

        async def two_tasks() -> list[str]:
            async def write() -> str:
                await asyncio.sleep(0.01)
                await backend.aexecute('INSERT INTO t DEFAULT VALUES')
                return 'wrote'

            async def refuse() -> str:
                with backend.connected_to('reading'):
                    await asyncio.sleep(0.02)
                    try:
                        await backend.aexecute('INSERT INTO t DEFAULT VALUES')
                    except errors.ReadOnlyError:
                        return 'refused'
                return 'wrote'
            return list(await asyncio.gather(write(), refuse()))
        assert asyncio.run(two_tasks()) == ['wrote', 'refused']
    finally:
        backend.close()


def test_model_connected_to() -> None:
    backend = Account.configure('sqlite://')
    try:
        Account.create_table()
        Account.create(name='a')
        with Account.connected_to(role='reading'):
            assert [account.name for account in Account.query().all()] == ['a']
            with pytest.raises(errors.ReadOnlyError):
                Account.create(name='b')
        assert Account.query().count() == 1
    finally:
        backend.close()
