"""A private PostgreSQL and MariaDB database for each test run.

Tests create tables with fixed names; two runs against the shared `test` databases (two
developers, or a developer and a CI job) would drop each other's tables. Each run therefore
works in its own database, named after the run's process id, created at the start and dropped
at the end; databases of runs that died (their process is gone) are dropped too.
"""
from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

PREFIX = 'ar_test_'


def private_url(base_url: str, run_id: str) -> str:
    """`base_url` with its database replaced by this run's private one."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path='/' + PREFIX + run_id))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(names: list[str], keep: str) -> list[str]:
    stale = []
    for name in names:
        match = re.fullmatch(PREFIX + r'(\d+)', name)
        if match and name != keep and not _pid_alive(int(match.group(1))):
            stale.append(name)
    return stale


def _pg_connect(url: str, database: str):
    import pg8000.dbapi
    parts = urlsplit(url)
    connection = pg8000.dbapi.connect(user=parts.username or 'postgres', password=parts.password,
                                      host=parts.hostname, port=parts.port or 5432, database=database,
                                      timeout=10)
    connection.autocommit = True
    return connection


def _mysql_connect(url: str):
    import pymysql
    parts = urlsplit(url)
    return pymysql.connect(user=parts.username or 'root', password=parts.password or '',
                           host=parts.hostname, port=parts.port or 3306, autocommit=True,
                           connect_timeout=10)


def create_postgresql(base_url: str, name: str) -> None:
    """Create database `name` (and drop databases of dead runs) next to `base_url`'s."""
    connection = _pg_connect(base_url, urlsplit(base_url).path.lstrip('/') or 'postgres')
    try:
        cursor = connection.cursor()
        cursor.execute('SELECT datname FROM pg_database WHERE datname LIKE %s', (PREFIX + '%',))
        existing = [row[0] for row in cursor.fetchall()]
        for stale in _stale(existing, name):
            cursor.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
        if name not in existing:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def drop_postgresql(base_url: str, name: str) -> None:
    """Drop database `name`, closing sessions left in it."""
    connection = _pg_connect(base_url, urlsplit(base_url).path.lstrip('/') or 'postgres')
    try:
        connection.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


def create_mysql(base_url: str, name: str) -> None:
    """Create database `name` (and drop databases of dead runs) on `base_url`'s server."""
    connection = _mysql_connect(base_url)
    try:
        cursor = connection.cursor()
        cursor.execute('SHOW DATABASES LIKE %s', (PREFIX + '%',))
        for stale in _stale([row[0] for row in cursor.fetchall()], name):
            cursor.execute(f'DROP DATABASE IF EXISTS `{stale}`')
        cursor.execute(f'CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4')
    finally:
        connection.close()


def drop_mysql(base_url: str, name: str) -> None:
    """Drop database `name`."""
    connection = _mysql_connect(base_url)
    try:
        connection.cursor().execute(f'DROP DATABASE IF EXISTS `{name}`')
    finally:
        connection.close()
