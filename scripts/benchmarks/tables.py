"""The benchmark's tables and the raw driver connections that set them up and tear them down."""

import sqlite3
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

from .common import Sizes, WorkData, describe, log

DRIVER_PLACEHOLDER = {'sqlite': '?', 'postgresql': '%s', 'mysql': '%s'}
ID_COLUMN = {
    'sqlite': 'id INTEGER PRIMARY KEY',
    'postgresql': 'id SERIAL PRIMARY KEY',
    'mysql': 'id INTEGER AUTO_INCREMENT PRIMARY KEY',
}
TABLE_SUFFIX = {'mysql': ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4'}
# A leftover lock from a misbehaving implementation must fail the next DROP TABLE, not hang it.
SESSION_SETUP = {
    'postgresql': ["SET lock_timeout = '30s'"],
    'mysql': ['SET SESSION lock_wait_timeout = 30'],
}
COLUMNS = ('name', 'qty', 'price', 'category_id')
#: e2's tables, children first (the order they are dropped in), with their columns
EAGER_TABLES = {
    'bench_comments': ('id', 'post_id', 'body'),
    'bench_posts': ('id', 'user_id', 'title'),
    'bench_users': ('id', 'username'),
}
SEED_CHUNK = 500          # rows per multi-row INSERT when filling tables outside the timings


def url_parts(url: str) -> dict:
    """host, port, user, password and database of a server URL."""
    parts = urlsplit(url)
    return {'host': parts.hostname or '127.0.0.1', 'port': parts.port,
            'user': unquote(parts.username or ''), 'password': unquote(parts.password or ''),
            'database': parts.path.lstrip('/')}


def chunks(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def create_table_sql(backend: str) -> list[str]:
    """DDL for the two benchmark tables, the same shape on every backend."""
    suffix = TABLE_SUFFIX.get(backend, '')
    return [
        f'CREATE TABLE bench_categories (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL)'
        f'{suffix}',
        f'CREATE TABLE bench_items ({ID_COLUMN[backend]}, name VARCHAR(100) NOT NULL, '
        f'qty INTEGER NOT NULL, price NUMERIC(10,2) NOT NULL, category_id INTEGER NOT NULL)'
        f'{suffix}',
    ]


def seed_statements(data: WorkData, mark: str) -> list[tuple[str, tuple]]:
    """Multi-row INSERTs that fill both tables, with `mark` as the placeholder."""
    categories = [(i, f'category {i:02d}') for i in range(1, data.sizes.categories + 1)]
    values = ', '.join([f'({mark}, {mark})'] * len(categories))
    statements = [(f'INSERT INTO bench_categories (id, title) VALUES {values}',
                   tuple(v for pair in categories for v in pair))]
    row_marks = '(' + ', '.join([mark] * len(COLUMNS)) + ')'
    for chunk in chunks(data.rows, SEED_CHUNK):
        sql = (f'INSERT INTO bench_items ({", ".join(COLUMNS)}) VALUES '
               + ', '.join([row_marks] * len(chunk)))
        statements.append((sql, tuple(row[c] for row in chunk for c in COLUMNS)))
    return statements


def setup_statements(backend: str, mark: str, seed: WorkData | None) -> list[tuple[str, tuple]]:
    """Everything that gives a run fresh tables: drop, create, and optionally fill."""
    statements = [(sql, ()) for sql in SESSION_SETUP.get(backend, [])]
    statements += [(f'DROP TABLE IF EXISTS {table}', ())
                   for table in ('bench_items', 'bench_categories')]
    statements += [(sql, ()) for sql in create_table_sql(backend)]
    if seed is not None:
        statements += seed_statements(seed, mark)
    return statements


def eager_rows(sizes: Sizes) -> dict[str, list[tuple]]:
    """e2's rows by table: each user has posts, each post comments, spread over the key range
    (a user's posts are not neighbours) so the IN lists match rows all over the table."""
    users = sizes.eager_users
    posts = users * sizes.eager_posts_per_user
    comments = posts * sizes.eager_comments_per_post
    return {
        'bench_users': [(i, f'user {i:05d}') for i in range(1, users + 1)],
        'bench_posts': [(i, (i - 1) % users + 1, f'post {i:06d}') for i in range(1, posts + 1)],
        'bench_comments': [(i, (i - 1) % posts + 1, f'comment {i:06d} on a post')
                           for i in range(1, comments + 1)],
    }


def eager_setup_statements(backend: str, mark: str, sizes: Sizes) -> list[tuple[str, tuple]]:
    """Fresh, filled tables for e2: users, posts(user_id), comments(post_id), keys indexed."""
    suffix = TABLE_SUFFIX.get(backend, '')
    statements = [(sql, ()) for sql in SESSION_SETUP.get(backend, [])]
    statements += [(f'DROP TABLE IF EXISTS {table}', ()) for table in EAGER_TABLES]
    statements += [(sql, ()) for sql in (
        f'CREATE TABLE bench_users (id INTEGER PRIMARY KEY, username VARCHAR(100) NOT NULL)'
        f'{suffix}',
        f'CREATE TABLE bench_posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, '
        f'title VARCHAR(100) NOT NULL){suffix}',
        'CREATE INDEX bench_posts_user_id ON bench_posts (user_id)',
        f'CREATE TABLE bench_comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, '
        f'body VARCHAR(200) NOT NULL){suffix}',
        'CREATE INDEX bench_comments_post_id ON bench_comments (post_id)',
    )]
    rows = eager_rows(sizes)
    for table in reversed(EAGER_TABLES):
        columns = EAGER_TABLES[table]
        row_marks = '(' + ', '.join([mark] * len(columns)) + ')'
        for chunk in chunks(rows[table], SEED_CHUNK):
            sql = (f'INSERT INTO {table} ({", ".join(columns)}) VALUES '
                   + ', '.join([row_marks] * len(chunk)))
            statements.append((sql, tuple(value for row in chunk for value in row)))
    return statements


def run_dbapi_statements(conn: Any, statements: list[tuple[str, tuple]]) -> None:
    """Execute statements on a DB-API connection and commit."""
    cursor = conn.cursor()
    for sql, params in statements:
        if params:
            cursor.execute(sql, params)
        else:
            cursor.execute(sql)
    conn.commit()
    cursor.close()


def connect_raw(backend: str, url: str, autocommit: bool = False, timeout: int = 120) -> Any:
    """A plain driver connection (sqlite3, pg8000 or pymysql)."""
    if backend == 'sqlite':
        return sqlite3.connect(':memory:', check_same_thread=False)
    parts = url_parts(url)
    if backend == 'postgresql':
        import pg8000.dbapi
        conn = pg8000.dbapi.connect(user=parts['user'], password=parts['password'] or None,
                                    host=parts['host'], port=parts['port'] or 5432,
                                    database=parts['database'], timeout=timeout)
        conn.autocommit = autocommit
        return conn
    import pymysql
    return pymysql.connect(host=parts['host'], port=parts['port'] or 3306, user=parts['user'],
                           password=parts['password'], database=parts['database'],
                           charset='utf8mb4', connect_timeout=min(timeout, 10),
                           autocommit=autocommit)


def raw_in_transaction(backend: str, conn: Any) -> bool:
    """Whether a raw connection has a transaction open (so a pool must roll it back)."""
    if backend == 'sqlite':
        return conn.in_transaction
    if backend == 'postgresql':
        return conn._in_transaction   # pg8000 tracks it but has no public name for it
    return bool(conn.server_status & 1)   # SERVER_STATUS_IN_TRANS


def unreachable_reason(backend: str, url: str) -> str | None:
    """None when the backend's server answers, else why it does not."""
    try:
        connect_raw(backend, url, timeout=5).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip this backend"
        return f'{type(exc).__name__}: {exc}'
    return None


def drop_bench_tables(backend: str, url: str) -> None:
    """Leave the server's database as it was found (a :memory: database just goes away)."""
    if backend == 'sqlite':
        return
    try:
        conn = connect_raw(backend, url, timeout=30)
        try:
            run_dbapi_statements(conn, [(sql, ()) for sql in SESSION_SETUP[backend]] + [
                (f'DROP TABLE IF EXISTS {table}', ())
                for table in ('bench_items', 'bench_categories', *EAGER_TABLES)])
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the results
        log(f'  [{backend}] could not drop the benchmark tables: {describe(exc)}')
