"""The baseline: the DB-API driver with hand-written SQL and a minimal queue pool."""

import contextlib
import functools
import queue
import sqlite3
from decimal import Decimal
from typing import Any, Callable, Iterator

from ..common import POOL_TIMEOUT, WorkData
from ..tables import (COLUMNS, DRIVER_PLACEHOLDER, connect_raw, eager_setup_statements,
                      raw_in_transaction, run_dbapi_statements, setup_statements)
from .base import Implementation

SELECT_ITEMS = 'SELECT id, name, qty, price, category_id FROM bench_items'
AGGREGATE_SQL = (
    'SELECT c.title, COUNT(*) AS n, SUM(i.qty) AS total_qty, AVG(i.price) AS avg_price '
    'FROM bench_items i JOIN bench_categories c ON i.category_id = c.id '
    'GROUP BY c.title ORDER BY c.title'
)


def _copy_escape(text: str) -> str:
    return text.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r')


class QueuePool:
    """The smallest correct pool, the raw baseline for (f): fixed connections in a queue,
    rolled back on return when a transaction is open."""

    def __init__(self, connect: Callable[[], Any], size: int,
                 in_transaction: Callable[[Any], bool]) -> None:
        self._idle: queue.Queue = queue.Queue()
        self._in_transaction = in_transaction
        self._all = [connect() for _ in range(size)]
        for conn in self._all:
            self._idle.put(conn)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """Check a connection out for the length of the with-block."""
        conn = self._idle.get(timeout=POOL_TIMEOUT)
        try:
            yield conn
        finally:
            if self._in_transaction(conn):
                conn.rollback()
            self._idle.put(conn)

    def close(self) -> None:
        """Close every connection."""
        for conn in self._all:
            conn.close()


class RawDriver(Implementation):
    """The DB-API driver itself: hand-written SQL, tuples out."""

    name = 'raw'

    def open(self) -> None:
        if self.backend == 'sqlite':
            sqlite3.register_adapter(Decimal, str)   # what every sqlite3 user of Decimal does
        self.conn = connect_raw(self.backend, self.url)
        self.pool: QueuePool | None = None
        mark = DRIVER_PLACEHOLDER[self.backend]
        self.insert_sql = (f'INSERT INTO bench_items ({", ".join(COLUMNS)}) '
                           f'VALUES ({", ".join([mark] * len(COLUMNS))})')
        returning = ' RETURNING id' if self.backend == 'postgresql' else ''
        self.insert_returning_sql = self.insert_sql + returning
        self.find_sql = f'{SELECT_ITEMS} WHERE id = {mark}'

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.conn.close()

    def recover(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()

    def reset(self, seed: WorkData | None) -> None:
        run_dbapi_statements(self.conn, setup_statements(
            self.backend, DRIVER_PLACEHOLDER[self.backend], seed))

    def _new_id(self, cursor: Any) -> Any:
        if self.backend == 'postgresql':
            return cursor.fetchone()[0]
        return cursor.lastrowid

    def save_each(self, rows: list[dict]) -> int:
        cursor = self.conn.cursor()
        ids = []
        for row in rows:
            cursor.execute(self.insert_returning_sql,
                           (row['name'], row['qty'], row['price'], row['category_id']))
            ids.append(self._new_id(cursor))
        self.conn.commit()
        return sum(1 for id_ in ids if id_ is not None)

    def insert_many(self, rows: list[dict]) -> int:
        cursor = self.conn.cursor()
        cursor.executemany(self.insert_sql, [
            (row['name'], row['qty'], row['price'], row['category_id']) for row in rows])
        self.conn.commit()
        return len(rows)

    def bulk_load(self, rows: list[dict]) -> int:
        if self.backend != 'postgresql':
            return self.insert_many(rows)
        # COPY's text format as a careful pg8000 user writes it: the text column escaped
        # (backslash, tab, newline, carriage return), NULLs never occur in these rows
        lines = [f'{_copy_escape(row["name"])}\t{row["qty"]}\t{row["price"]}\t{row["category_id"]}\n'
                 for row in rows]
        cursor = self.conn.cursor()
        cursor.execute(f'COPY bench_items ({", ".join(COLUMNS)}) FROM STDIN',
                       stream=[''.join(lines).encode()])
        self.conn.commit()
        return cursor.rowcount

    def load_objects(self) -> list:
        cursor = self.conn.cursor()
        cursor.execute(SELECT_ITEMS)
        rows = cursor.fetchall()
        self.conn.commit()
        return rows

    def query_dicts(self) -> int:
        cursor = self.conn.cursor()
        cursor.execute(SELECT_ITEMS)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        self.conn.commit()
        return len(rows)

    def find_by_pk(self, keys: list[int]) -> int:
        cursor = self.conn.cursor()
        found = 0
        for key in keys:
            cursor.execute(self.find_sql, (key,))
            if cursor.fetchone() is not None:
                found += 1
        self.conn.commit()
        return found

    def aggregate(self, reps: int) -> int:
        cursor = self.conn.cursor()
        rows: list = []
        for _ in range(reps):
            cursor.execute(AGGREGATE_SQL)
            rows = cursor.fetchall()
        self.conn.commit()
        return len(rows)

    def reset_eager(self) -> None:
        run_dbapi_statements(self.conn, eager_setup_statements(
            self.backend, DRIVER_PLACEHOLDER[self.backend], self.sizes))

    def eager_load(self) -> int:
        # the three statements activerecord sends for with_('posts.comments'), the children
        # grouped by their parent's key as it groups them, then the same walk
        cursor = self.conn.cursor()
        cursor.execute('SELECT id, username FROM bench_users')
        users = cursor.fetchall()
        posts, posts_of = self._children(cursor, 'SELECT id, user_id, title FROM bench_posts '
                                                 'WHERE user_id IN ({}) ORDER BY id', users)
        _, comments_of = self._children(cursor, 'SELECT id, post_id, body FROM bench_comments '
                                                'WHERE post_id IN ({}) ORDER BY id', posts)
        self.conn.commit()
        walked = 0
        for user in users:
            for post in posts_of.get(user[0], ()):
                walked += post[1] == user[0] and sum(
                    comment[1] == post[0] for comment in comments_of.get(post[0], ()))
        return walked

    def _children(self, cursor: Any, sql: str,
                  parents: list[tuple]) -> tuple[list[tuple], dict[Any, list[tuple]]]:
        """Rows of `sql` for the parents' keys (first column), and the same rows grouped by
        their second column."""
        keys = [parent[0] for parent in parents]
        if not keys:
            return [], {}
        mark = DRIVER_PLACEHOLDER[self.backend]
        cursor.execute(sql.format(', '.join([mark] * len(keys))), keys)
        rows = cursor.fetchall()
        groups: dict[Any, list[tuple]] = {}
        for row in rows:
            group = groups.get(row[1])
            if group is None:
                groups[row[1]] = [row]
            else:
                group.append(row)
        return rows, groups

    def prepare_pool(self) -> None:
        if self.pool is None:
            self.pool = QueuePool(lambda: connect_raw(self.backend, self.url, autocommit=True),
                                  self.sizes.pool_size,
                                  functools.partial(raw_in_transaction, self.backend))

    def pooled_query(self) -> None:
        with self.pool.connection() as conn:
            cursor = conn.cursor()
            cursor.execute('SELECT 1')
            cursor.fetchone()

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        return self.pool.connection()
