"""The migrator's lock on Oracle and SQL Server (golden SQL, no server needed).

One migrator at a time takes a session-owned lock before it creates the history table (API.md):
SQL Server an application lock (`sp_getapplock`, @LockOwner = 'Session', T-SQL reference),
Oracle a DBMS_LOCK user lock in exclusive mode (PL/SQL Packages reference: REQUEST answers 0
once held, 4 when the session holds it already; release_on_commit defaults to FALSE, so the lock
outlives the commits Oracle's DDL makes). Each acquiring query answers 1 once it holds the lock,
as the migrator expects of every dialect; each statement must be read by sqlglot as what it is.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from activerecord.backend.dialect import Dialect
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.migrate import Migrator

MSSQL_LOCK = (
    "DECLARE @ar_lock INT; EXEC @ar_lock = sp_getapplock @Resource = N'ar_schema_migrations', "
    "@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 86400000; "
    'SELECT CASE WHEN @ar_lock >= 0 THEN 1 ELSE 0 END AS held',
    "DECLARE @ar_lock INT; EXEC @ar_lock = sp_releaseapplock @Resource = N'ar_schema_migrations', "
    "@LockOwner = 'Session'; SELECT @ar_lock AS released")
ORACLE_LOCK = (
    'SELECT CASE DBMS_LOCK.REQUEST(702177969, 6, 86400) WHEN 0 THEN 1 WHEN 4 THEN 1 ELSE 0 END AS held FROM DUAL',
    'SELECT DBMS_LOCK.RELEASE(702177969) AS released FROM DUAL')

CASES = [(SQLServerDialect, 'tsql', MSSQL_LOCK, ['Declare', 'Execute', 'Select']),
         (OracleDialect, 'oracle', ORACLE_LOCK, ['Select'])]


@pytest.mark.parametrize('dialect_class, read, expected, kinds', CASES)
def test_the_lock_statements_are_pinned_and_read_by_sqlglot(dialect_class: type[Dialect], read: str,
                                                             expected: tuple[str, str], kinds: list[str]) -> None:
    assert dialect_class.migration_lock_sql == expected
    for sql in expected:
        parsed = sqlglot.parse(sql, read=read)
        assert [type(statement).__name__ for statement in parsed] == kinds
        assert not any(isinstance(statement, exp.Command) for statement in parsed)
        # the last statement is the one query whose row the migrator reads
        select = parsed[-1]
        assert isinstance(select, exp.Select) and len(select.expressions) == 1


def test_sql_server_takes_a_session_owned_exclusive_applock() -> None:
    acquire, release = (sqlglot.parse(sql, read='tsql') for sql in MSSQL_LOCK)
    assert 'sp_getapplock' in acquire[1].sql('tsql') and 'sp_releaseapplock' in release[1].sql('tsql')
    for statements in (acquire, release):
        text = statements[1].sql('tsql')
        assert "@LockOwner = 'Session'" in text and "@Resource = N'ar_schema_migrations'" in text
    assert "@LockMode = 'Exclusive'" in acquire[1].sql('tsql')
    # sp_getapplock's negative answers (timeout, deadlock, error) are "not held"
    assert acquire[2].sql('tsql') == 'SELECT CASE WHEN @ar_lock >= 0 THEN 1 ELSE 0 END AS held'


def test_oracle_requests_and_releases_one_user_lock() -> None:
    acquire, release = (sqlglot.parse_one(sql, read='oracle') for sql in ORACLE_LOCK)
    request = next(node for node in acquire.find_all(exp.Dot) if 'REQUEST' in node.sql('oracle'))
    assert request.sql('oracle') == 'DBMS_LOCK.REQUEST(702177969, 6, 86400)'
    assert 'DBMS_LOCK.RELEASE(702177969)' in release.sql('oracle')
    assert 0 <= 702177969 <= 1073741823   # DBMS_LOCK's range of user lock ids


@pytest.mark.parametrize('url', ['oracle://app:secret@127.0.0.1:1/free', 'mssql://app:secret@127.0.0.1:1/app'])
def test_the_migrator_accepts_these_databases(url: str, tmp_path: Path) -> None:
    """No longer NotSupportedError: the dialect has its lock (nothing connects until a verb runs)."""
    with Migrator(url, tmp_path) as migrator:
        assert migrator.backend.dialect.migration_lock_sql is not None
