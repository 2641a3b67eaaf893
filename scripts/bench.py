#!/usr/bin/env python3
"""Benchmark activerecord against the raw DB-API driver under it and against peer ORMs.

One command runs the same workloads on SQLite (:memory:), PostgreSQL (pg8000) and
MariaDB/MySQL (pymysql) for every implementation, and prints the median of each figure with
its ratio to the raw driver measured in the same run:

    python scripts/bench.py                          # everything: warm-up + 5 runs per figure
    python scripts/bench.py --quick                  # 1/10 of the work, 2 runs (CI smoke run)
    python scripts/bench.py --backends sqlite --impls activerecord --workloads a,c
    python scripts/bench.py --json bench.json        # also write every run as JSON

Workloads (sizes are divided by 10 with --quick):
  a  10,000 single-object saves in one transaction (each fetches the generated id)
  b  insert_many of 10,000 rows (raw: the driver's executemany)
  c  query 10,000 rows into objects and into dicts; peak memory of the objects (tracemalloc)
  d  1,000 find_one(pk) on distinct keys
  e  join + group by + aggregates over 10,000 rows, 200 times
  f  16 threads x 500 `SELECT 1` through a pool of 8: throughput, and the median cost of
     one checkout + return

A ratio is the implementation's cost divided by the raw driver's (for throughput, the raw
driver's rate divided by the implementation's), so 1.00x is as fast as raw and lower is better.
Every run gets fresh tables, and gc.collect() runs before each timed section. Runs are
interleaved (round r runs every implementation once, in rotating order), so a slow spell of a
shared machine is spread over all of them instead of skewing one ratio. When activerecord is
measured, a last table checks its ratios against the project's targets.

The peers are benchmark-only dependencies: pip install -e '.[bench]'. A server that cannot be
reached is reported as skipped; an implementation that raises has its error in the table cell
and the run goes on. Server URLs can be overridden with BENCH_POSTGRESQL_URL / BENCH_MYSQL_URL.
"""

import argparse
import contextlib
import functools
import gc
import json
import os
import platform
import queue
import random
import sqlite3
import statistics
import sys
import threading
import time
import tracemalloc
import traceback
import warnings
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from time import perf_counter, process_time
from typing import Annotated, Any, Callable, Iterator
from urllib.parse import unquote, urlsplit

# Benchmark the working tree's package, not whatever copy happens to be installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URLS = {
    'sqlite': 'sqlite://',
    'postgresql': os.environ.get('BENCH_POSTGRESQL_URL',
                                 'postgresql://postgres@127.0.0.1:5432/test'),
    'mysql': os.environ.get('BENCH_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
}
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
SELECT_ITEMS = 'SELECT id, name, qty, price, category_id FROM bench_items'
AGGREGATE_SQL = (
    'SELECT c.title, COUNT(*) AS n, SUM(i.qty) AS total_qty, AVG(i.price) AS avg_price '
    'FROM bench_items i JOIN bench_categories c ON i.category_id = c.id '
    'GROUP BY c.title ORDER BY c.title'
)
SEED_CHUNK = 500          # rows per multi-row INSERT when filling tables outside the timings
PEEWEE_BATCH = 1000       # peewee's insert_many sends one statement; SQLite caps its parameters
POOL_TIMEOUT = 30.0       # seconds a pooled checkout may wait
THREAD_TIMEOUT = 600.0    # a pool workload that takes longer than this is reported as hung
ALL_BACKENDS = ('sqlite', 'postgresql', 'mysql')
ALL_WORKLOADS = ('a', 'b', 'c', 'd', 'e', 'f')

warnings.filterwarnings('ignore', message=r'Dialect sqlite\+pysqlite does \*not\* support Decimal')


class NotApplicable(Exception):
    """The implementation has no way to do this measurement (reported as n/a, not an error)."""


# --------------------------------------------------------------------------- data and results

@dataclass(frozen=True)
class Sizes:
    """How much work each workload does."""
    rows: int = 10_000
    lookups: int = 1_000
    aggregate_reps: int = 200
    threads: int = 16
    queries_per_thread: int = 500
    pool_size: int = 8
    categories: int = 20

    def scaled(self, factor: int) -> 'Sizes':
        """The same shape with the counts divided by `factor` (threads and pool unchanged)."""
        return replace(self, rows=self.rows // factor, lookups=self.lookups // factor,
                       aggregate_reps=self.aggregate_reps // factor,
                       queries_per_thread=self.queries_per_thread // factor)


@dataclass
class WorkData:
    """The rows and keys every implementation is given, identical for all of them."""
    sizes: Sizes
    rows: list[dict]
    keys: list[int]

    @classmethod
    def generate(cls, sizes: Sizes) -> 'WorkData':
        """Build deterministic rows and a deterministic sample of distinct primary keys."""
        rows = [{'name': f'item {i:06d}', 'qty': i % 97,
                 'price': Decimal((i * 7919) % 100_000).scaleb(-2),
                 'category_id': i % sizes.categories + 1} for i in range(sizes.rows)]
        keys = random.Random(42).sample(range(1, sizes.rows + 1), sizes.lookups)
        return cls(sizes, rows, keys)

    def fresh_rows(self) -> list[dict]:
        """Copies of the rows, so no implementation can see another one's mutations."""
        return [dict(row) for row in self.rows]


@dataclass
class Result:
    """One figure: an implementation's runs of one metric on one backend."""
    backend: str
    impl: str
    metric: str
    unit: str
    runs: list[float] = field(default_factory=list)
    median: float | None = None
    ratio: float | None = None
    error: str | None = None
    not_applicable: str | None = None
    #: CPU seconds this process spent in each timed run, and their median: against a
    #: server, the wall time includes the server's work, this is the client's share alone
    client_cpu_runs: list[float] = field(default_factory=list)
    client_cpu_median: float | None = None


@dataclass(frozen=True)
class Sample:
    """What one timed run measured: wall-clock seconds and this process's CPU seconds."""
    wall: float
    client_cpu: float


# --------------------------------------------------------------------------- small helpers

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
                for table in ('bench_items', 'bench_categories')])
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the results
        log(f'  [{backend}] could not drop the benchmark tables: {describe(exc)}')


def run_in_threads(count: int, target: Callable[[], None]) -> float:
    """Run target() in `count` threads started together; wall time until all are done."""
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def body() -> None:
        barrier.wait()
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=body, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = perf_counter()
    deadline = time.monotonic() + THREAD_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    elapsed = perf_counter() - start
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f'pool workload still running after {THREAD_TIMEOUT:.0f}s')
    if errors:
        raise errors[0]
    return elapsed


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


# --------------------------------------------------------------------------- implementations

class Implementation:
    """The workloads of one library on one backend. Each workload method returns a count
    that the harness checks, so a wrong answer is an error rather than a fast figure."""

    name = ''

    def __init__(self, backend: str, url: str, sizes: Sizes) -> None:
        self.backend = backend
        self.url = url
        self.sizes = sizes

    def open(self) -> None:
        """Connect and build models; called once before any workload."""

    def close(self) -> None:
        """Release every connection."""

    def recover(self) -> None:
        """Leave no transaction open after a workload raised, so the next one's DDL
        does not wait on this implementation's locks."""

    def reset(self, seed: WorkData | None) -> None:
        """Fresh tables, filled with `seed` when given."""
        raise NotImplementedError

    def save_each(self, rows: list[dict]) -> int:
        """(a) One save per row, all in one transaction; number of ids received."""
        raise NotImplementedError

    def insert_many(self, rows: list[dict]) -> int:
        """(b) All rows in the library's bulk insert, in one transaction; rows written."""
        raise NotImplementedError

    def load_objects(self) -> list:
        """(c) Every row as the library's row object."""
        raise NotImplementedError

    def query_objects(self) -> int:
        """(c) Every row as the library's row object; number of rows."""
        return len(self.load_objects())

    def query_dicts(self) -> int:
        """(c) Every row as a dict (or the library's mapping); number of rows."""
        raise NotImplementedError

    def find_by_pk(self, keys: list[int]) -> int:
        """(d) One lookup per key; number found."""
        raise NotImplementedError

    def aggregate(self, reps: int) -> int:
        """(e) The join + group by query `reps` times; rows of the last result."""
        raise NotImplementedError

    def prepare_pool(self) -> None:
        """Create the pool used by (f) if it does not exist yet."""

    def pooled_query(self) -> None:
        """(f) One `SELECT 1` through the pool."""
        raise NotImplementedError

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        """(f) A context manager that checks a connection out and returns it."""
        raise NotImplementedError


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


@functools.cache
def activerecord_models() -> tuple[type, type]:
    """The benchmark models, written against the public API in /work/shared/API.md."""
    from pydantic import Field
    from activerecord import ActiveRecord

    class BenchCategory(ActiveRecord):
        __table_name__ = 'bench_categories'
        id: int
        title: Annotated[str, Field(max_length=100)]

    class BenchItem(ActiveRecord):
        __table_name__ = 'bench_items'
        id: int
        name: Annotated[str, Field(max_length=100)]
        qty: int
        price: Annotated[Decimal, Field(max_digits=10, decimal_places=2)]
        category_id: int

    return BenchItem, BenchCategory


class ActiveRecordImpl(Implementation):
    """This project's ORM, through its public API only."""

    name = 'activerecord'

    def open(self) -> None:
        from activerecord import func
        self.func = func
        self.Item, self.Category = activerecord_models()
        separator = '&' if '?' in self.url else '?'
        url = f'{self.url}{separator}pool_size={self.sizes.pool_size}&max_overflow=0'
        for model in (self.Item, self.Category):
            model.configure(url)
        self.db = self.Item.backend()

    def close(self) -> None:
        db = getattr(self, 'db', None)
        if db is not None:
            db.close()

    def reset(self, seed: WorkData | None) -> None:
        # The same hand-written tables as every other implementation: tables made
        # from the models would use BIGINT keys, and the join in workload e is
        # measurably slower on those, which would not compare like with like.
        for sql, params in setup_statements(self.backend, '?', seed):
            self.db.execute(sql, params)

    def save_each(self, rows: list[dict]) -> int:
        saved = 0
        with self.Item.transaction():
            for row in rows:
                item = self.Item(**row)
                item.save()
                saved += item.id is not None
        return saved

    def insert_many(self, rows: list[dict]) -> int:
        with self.Item.transaction():
            return self.Item.insert_many(rows)

    def load_objects(self) -> list:
        return self.Item.query().all()

    def query_dicts(self) -> int:
        return len(self.Item.query().as_dicts().all())

    def find_by_pk(self, keys: list[int]) -> int:
        return sum(1 for key in keys if self.Item.find_one(key) is not None)

    def aggregate(self, reps: int) -> int:
        item, category, func = self.Item, self.Category, self.func
        rows: list = []
        for _ in range(reps):
            rows = (item.query()
                    .join(category, item.c.category_id == category.c.id)
                    .select(category.c.title, func.count().as_('n'),
                            func.sum(item.c.qty).as_('total_qty'),
                            func.avg(item.c.price).as_('avg_price'))
                    .group_by(category.c.title)
                    .order_by(category.c.title)
                    .as_dicts().all())
        return len(rows)

    def pooled_query(self) -> None:
        if self.Item.backend().fetch_one('SELECT 1') is None:
            raise AssertionError('SELECT 1 returned no row')

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        pool = self.Item.backend().pool
        if not hasattr(pool, 'connection'):
            raise NotApplicable('backend.pool has no connection() context manager')
        return pool.connection()


@functools.cache
def sqlalchemy_models() -> tuple[type, type]:
    """Declarative models for SQLAlchemy's ORM; their tables serve SQLAlchemy Core."""
    from sqlalchemy import Numeric, String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    class Category(Base):
        __tablename__ = 'bench_categories'
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        title: Mapped[str] = mapped_column(String(100))

    class Item(Base):
        __tablename__ = 'bench_items'
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(100))
        qty: Mapped[int]
        price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
        category_id: Mapped[int]

    return Item, Category


class SQLAlchemyBase(Implementation):
    """Engine and setup shared by SQLAlchemy's ORM and Core."""

    def open(self) -> None:
        import sqlalchemy
        self.sa = sqlalchemy
        self.Item, self.Category = sqlalchemy_models()
        self.items, self.categories = self.Item.__table__, self.Category.__table__
        self.engine = sqlalchemy.create_engine(self._engine_url(), **self._pool_options())
        self.pool_engine = None

    def _engine_url(self) -> str:
        if self.backend == 'sqlite':
            return 'sqlite://'
        if self.backend == 'postgresql':
            return self.url.replace('postgresql://', 'postgresql+pg8000://', 1)
        url = self.url.replace('mysql://', 'mysql+pymysql://', 1)
        return url + ('&' if '?' in url else '?') + 'charset=utf8mb4'

    def _pool_options(self) -> dict:
        if self.backend == 'sqlite':   # the default for :memory: keeps one database per thread
            return {}
        return {'pool_size': self.sizes.pool_size, 'max_overflow': 0,
                'pool_timeout': POOL_TIMEOUT}

    def close(self) -> None:
        for engine in (getattr(self, 'engine', None), getattr(self, 'pool_engine', None)):
            if engine is not None:
                engine.dispose()

    def reset(self, seed: WorkData | None) -> None:
        with self.engine.begin() as conn:
            for sql, params in setup_statements(self.backend,
                                                DRIVER_PLACEHOLDER[self.backend], seed):
                if params:
                    conn.exec_driver_sql(sql, params)
                else:
                    conn.exec_driver_sql(sql)

    def prepare_pool(self) -> None:
        if self.pool_engine is not None:
            return
        if self.backend == 'sqlite':   # a real QueuePool of 8, each its own :memory: database
            from sqlalchemy.pool import QueuePool
            self.pool_engine = self.sa.create_engine(
                'sqlite://', poolclass=QueuePool, pool_size=self.sizes.pool_size,
                max_overflow=0, pool_timeout=POOL_TIMEOUT,
                connect_args={'check_same_thread': False})
        else:
            self.pool_engine = self.engine

    def _aggregate_statement(self, item: Any, category: Any, item_cols: Any,
                             category_cols: Any) -> Any:
        """(e)'s query; `item`/`category` are mapped classes or tables, `*_cols` their columns."""
        sa = self.sa
        return (sa.select(category_cols.title, sa.func.count().label('n'),
                          sa.func.sum(item_cols.qty).label('total_qty'),
                          sa.func.avg(item_cols.price).label('avg_price'))
                .select_from(item)
                .join(category, item_cols.category_id == category_cols.id)
                .group_by(category_cols.title)
                .order_by(category_cols.title))


class SQLAlchemyORM(SQLAlchemyBase):
    """SQLAlchemy 2 ORM: a Session per workload, a flush per object for (a)."""

    name = 'sqlalchemy_orm'

    def _session(self, engine: Any = None) -> Any:
        from sqlalchemy.orm import Session
        return Session(engine or self.engine)

    def save_each(self, rows: list[dict]) -> int:
        saved = 0
        with self._session() as session, session.begin():
            for row in rows:
                item = self.Item(**row)
                session.add(item)
                session.flush()          # save() semantics: INSERT now, id filled in
                saved += item.id is not None
        return saved

    def insert_many(self, rows: list[dict]) -> int:
        with self._session() as session, session.begin():
            session.execute(self.sa.insert(self.Item), rows)
        return len(rows)

    def load_objects(self) -> list:
        with self._session() as session:
            return list(session.scalars(self.sa.select(self.Item)).all())

    def query_dicts(self) -> int:
        item = self.Item
        with self._session() as session:
            statement = self.sa.select(item.id, item.name, item.qty, item.price,
                                       item.category_id)
            return len(session.execute(statement).mappings().all())

    def find_by_pk(self, keys: list[int]) -> int:
        with self._session() as session:
            return sum(1 for key in keys if session.get(self.Item, key) is not None)

    def aggregate(self, reps: int) -> int:
        rows: list = []
        with self._session() as session:
            for _ in range(reps):
                statement = self._aggregate_statement(self.Item, self.Category,
                                                      self.Item, self.Category)
                rows = session.execute(statement).mappings().all()
        return len(rows)

    def pooled_query(self) -> None:
        with self._session(self.pool_engine) as session:
            session.execute(self.sa.text('SELECT 1')).scalar()

    @contextlib.contextmanager
    def pool_checkout(self) -> Iterator[None]:
        with self._session(self.pool_engine) as session:
            session.connection()
            yield


class SQLAlchemyCore(SQLAlchemyBase):
    """SQLAlchemy 2 Core: Table constructs on a Connection, Row objects out."""

    name = 'sqlalchemy_core'

    def save_each(self, rows: list[dict]) -> int:
        saved = 0
        with self.engine.begin() as conn:
            for row in rows:
                result = conn.execute(self.sa.insert(self.items), row)
                saved += result.inserted_primary_key[0] is not None
        return saved

    def insert_many(self, rows: list[dict]) -> int:
        with self.engine.begin() as conn:
            conn.execute(self.sa.insert(self.items), rows)
        return len(rows)

    def load_objects(self) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(self.sa.select(self.items)).all())

    def query_dicts(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(self.sa.select(self.items)).mappings().all())

    def find_by_pk(self, keys: list[int]) -> int:
        items = self.items
        found = 0
        with self.engine.connect() as conn:
            for key in keys:
                row = conn.execute(self.sa.select(items).where(items.c.id == key)).first()
                found += row is not None
        return found

    def aggregate(self, reps: int) -> int:
        rows: list = []
        with self.engine.connect() as conn:
            for _ in range(reps):
                statement = self._aggregate_statement(self.items, self.categories,
                                                      self.items.c, self.categories.c)
                rows = conn.execute(statement).mappings().all()
        return len(rows)

    def pooled_query(self) -> None:
        with self.pool_engine.connect() as conn:
            conn.exec_driver_sql('SELECT 1').scalar()

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        return self.pool_engine.connect()


@functools.cache
def peewee_pg8000_classes() -> tuple[type, type]:
    """peewee speaks psycopg only; this adapter lets its PostgreSQL database use pg8000, so
    that every implementation on PostgreSQL runs on the same driver."""
    import pg8000.dbapi
    import peewee
    from playhouse.pool import _PooledPostgresqlDatabase

    class Pg8000Adapter(peewee._BasePsycopgAdapter):
        isolation_levels = {1: 'READ COMMITTED', 2: 'REPEATABLE READ', 3: 'SERIALIZABLE',
                            4: 'READ UNCOMMITTED'}
        json_type = jsonb_type = dict
        cast_json_case = True

        def check_driver(self) -> None:
            pass

        def get_binary_type(self) -> type:
            return bytes

        def connect(self, db: Any, **params: Any) -> Any:
            return pg8000.dbapi.connect(database=db.database, **params)

        def get_server_version(self, conn: Any) -> int:
            major, minor = conn.parameter_statuses['server_version'].split()[0].split('.')[:2]
            return int(major) * 10_000 + int(minor)

        def txn_status(self, conn: Any) -> bytes:
            return conn._transaction_status

        def is_connection_usable(self, conn: Any) -> bool:
            return conn._transaction_status in (b'I', b'T')

        def is_connection_closed(self, conn: Any) -> bool:
            return conn._usock is None

        def is_connection_reusable(self, conn: Any) -> bool:
            if conn._usock is None:
                return False
            if conn._transaction_status != b'I':
                self.rollback(conn)
            return True

        def rollback(self, conn: Any) -> None:
            conn.cursor().execute('ROLLBACK')

    class Pg8000Database(peewee.PostgresqlDatabase):
        psycopg2_adapter = psycopg3_adapter = Pg8000Adapter

    class PooledPg8000Database(_PooledPostgresqlDatabase, Pg8000Database):
        def _is_closed(self, conn: Any) -> bool:
            return conn._usock is None

    return Pg8000Database, PooledPg8000Database


def peewee_database(backend: str, url: str, pool_size: int | None = None) -> Any:
    """A peewee database for the backend; pooled with `pool_size` connections when given."""
    import peewee
    from playhouse import pool
    pooled = {'max_connections': pool_size, 'timeout': POOL_TIMEOUT} if pool_size else {}
    if backend == 'sqlite':
        cls = pool.PooledSqliteDatabase if pool_size else peewee.SqliteDatabase
        return cls(':memory:', check_same_thread=False, **pooled)
    parts = url_parts(url)
    if backend == 'postgresql':
        plain, pooled_cls = peewee_pg8000_classes()
        cls = pooled_cls if pool_size else plain
        return cls(parts['database'], user=parts['user'], password=parts['password'] or None,
                   host=parts['host'], port=parts['port'] or 5432, **pooled)
    cls = pool.PooledMySQLDatabase if pool_size else peewee.MySQLDatabase
    return cls(parts['database'], user=parts['user'], password=parts['password'],
               host=parts['host'], port=parts['port'] or 3306, **pooled)


def peewee_models(db: Any) -> tuple[type, type]:
    """peewee models bound to `db`."""
    import peewee as pw

    class Category(pw.Model):
        id = pw.IntegerField(primary_key=True)
        title = pw.CharField(max_length=100)

        class Meta:
            database = db
            table_name = 'bench_categories'

    class Item(pw.Model):
        name = pw.CharField(max_length=100)
        qty = pw.IntegerField()
        price = pw.DecimalField(max_digits=10, decimal_places=2)
        category_id = pw.IntegerField()

        class Meta:
            database = db
            table_name = 'bench_items'

    return Item, Category


class Peewee(Implementation):
    """peewee: Model.create / insert_many / select, autocommit outside atomic()."""

    name = 'peewee'

    def open(self) -> None:
        import peewee
        self.pw = peewee
        self.db = peewee_database(self.backend, self.url)
        self.db.connect()
        self.Item, self.Category = peewee_models(self.db)
        self.pool_db = None

    def close(self) -> None:
        if getattr(self, 'pool_db', None) is not None:
            self.pool_db.close_all()
        if getattr(self, 'db', None) is not None:
            self.db.close()

    def reset(self, seed: WorkData | None) -> None:
        with self.db.atomic():
            for sql, params in setup_statements(self.backend, self.db.param, seed):
                self.db.execute_sql(sql, params or None)

    def save_each(self, rows: list[dict]) -> int:
        saved = 0
        with self.db.atomic():
            for row in rows:
                saved += self.Item.create(**row).id is not None
        return saved

    def insert_many(self, rows: list[dict]) -> int:
        with self.db.atomic():
            for batch in chunks(rows, PEEWEE_BATCH):
                self.Item.insert_many(batch).execute()
        return len(rows)

    def load_objects(self) -> list:
        return list(self.Item.select())

    def query_dicts(self) -> int:
        return len(list(self.Item.select().dicts()))

    def find_by_pk(self, keys: list[int]) -> int:
        item = self.Item
        return sum(1 for key in keys if item.get_or_none(item.id == key) is not None)

    def aggregate(self, reps: int) -> int:
        item, category, fn = self.Item, self.Category, self.pw.fn
        rows: list = []
        for _ in range(reps):
            rows = list(item.select(category.title, fn.COUNT(self.pw.SQL('*')).alias('n'),
                                    fn.SUM(item.qty).alias('total_qty'),
                                    fn.AVG(item.price).alias('avg_price'))
                        .join(category, on=(item.category_id == category.id))
                        .group_by(category.title)
                        .order_by(category.title)
                        .dicts())
        return len(rows)

    def prepare_pool(self) -> None:
        if self.pool_db is None:
            self.pool_db = peewee_database(self.backend, self.url, self.sizes.pool_size)

    def pooled_query(self) -> None:
        with self.pool_db.connection_context():
            self.pool_db.execute_sql('SELECT 1').fetchone()

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        return self.pool_db.connection_context()


IMPLEMENTATIONS: dict[str, type[Implementation]] = {
    impl.name: impl for impl in (RawDriver, ActiveRecordImpl, SQLAlchemyORM, SQLAlchemyCore,
                                 Peewee)
}


# --------------------------------------------------------------------------- metrics

def expect(what: str, got: int, wanted: int) -> None:
    """Fail the run when a workload did not do all of its work."""
    if got != wanted:
        raise AssertionError(f'{what}: got {got}, expected {wanted}')


def timed(method: str, args: Callable[[WorkData], tuple], wanted: Callable[[WorkData], int],
          seed: bool) -> Callable[[Implementation, WorkData], float]:
    """A run of one workload method on fresh tables, timed; seconds."""
    def run(impl: Implementation, data: WorkData) -> float:
        impl.reset(data if seed else None)
        call_args = args(data)
        gc.collect()
        cpu_start = process_time()
        start = perf_counter()
        count = getattr(impl, method)(*call_args)
        elapsed = perf_counter() - start
        cpu = process_time() - cpu_start
        expect(method, count, wanted(data))
        return Sample(elapsed, cpu)
    return run


def peak_memory_of_objects(impl: Implementation, data: WorkData) -> float:
    """(c) Peak traced memory while reading every row as objects; MiB."""
    impl.reset(data)
    gc.collect()
    tracemalloc.start()
    try:
        count = impl.query_objects()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expect('query_objects', count, data.sizes.rows)
    return peak / 2**20


def memory_kept_by_objects(impl: Implementation, data: WorkData) -> float:
    """(c) Traced memory the loaded objects still hold once the query is done; MiB. With the
    raw driver's tuples and activerecord's peak this gives the memory target's yardstick."""
    impl.reset(data)
    gc.collect()
    tracemalloc.start()
    try:
        objects = impl.load_objects()
        gc.collect()                   # what the query left behind is not the objects' own
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    expect('load_objects', len(objects), data.sizes.rows)
    del objects
    return kept / 2**20


def pool_throughput(impl: Implementation, data: WorkData) -> float:
    """(f) Queries per second from all threads together."""
    impl.prepare_pool()
    per_thread = data.sizes.queries_per_thread

    def work() -> None:
        for _ in range(per_thread):
            impl.pooled_query()

    elapsed = run_in_threads(data.sizes.threads, work)
    return data.sizes.threads * per_thread / elapsed


def pool_checkout_cost(impl: Implementation, data: WorkData) -> float:
    """(f) Median wall time of one checkout + return under the same threads; microseconds."""
    impl.prepare_pool()
    samples: list[float] = []
    per_thread = data.sizes.queries_per_thread

    def work() -> None:
        local = []
        for _ in range(per_thread):
            start = perf_counter()
            with impl.pool_checkout():
                pass
            local.append(perf_counter() - start)
        samples.extend(local)

    run_in_threads(data.sizes.threads, work)
    return statistics.median(samples) * 1e6


@dataclass(frozen=True)
class Metric:
    """One row of the results table."""
    key: str
    workload: str
    label: Callable[[Sizes], str]
    unit: str
    run: Callable[[Implementation, WorkData], float | Sample]
    higher_is_better: bool = False


def rows_of(data: WorkData) -> int:
    """The number of rows each run works on."""
    return data.sizes.rows


METRICS = [
    Metric('a', 'a', lambda s: f'a. {s.rows:,} × save(), one transaction', 's',
           timed('save_each', lambda d: (d.fresh_rows(),), rows_of, seed=False)),
    Metric('b', 'b', lambda s: f'b. insert_many, {s.rows:,} rows (raw: executemany)', 's',
           timed('insert_many', lambda d: (d.fresh_rows(),), rows_of, seed=False)),
    Metric('c_objects', 'c', lambda s: f'c. query {s.rows:,} rows → objects (raw: tuples)', 's',
           timed('query_objects', lambda d: (), rows_of, seed=True)),
    Metric('c_dicts', 'c', lambda s: f'c. query {s.rows:,} rows → dicts', 's',
           timed('query_dicts', lambda d: (), rows_of, seed=True)),
    Metric('c_memory', 'c', lambda s: f'c. peak memory, {s.rows:,} objects (raw: tuples)',
           'MiB', peak_memory_of_objects),
    Metric('c_kept', 'c', lambda s: f'c. memory the {s.rows:,} objects keep (raw: tuples)',
           'MiB', memory_kept_by_objects),
    Metric('d', 'd', lambda s: f'd. {s.lookups:,} × find_one(pk)', 's',
           timed('find_by_pk', lambda d: (d.keys,), lambda d: d.sizes.lookups, seed=True)),
    Metric('e', 'e', lambda s: f'e. join + group by + aggregates × {s.aggregate_reps}', 's',
           timed('aggregate', lambda d: (d.sizes.aggregate_reps,),
                 lambda d: d.sizes.categories, seed=True)),
    Metric('f_throughput', 'f',
           lambda s: f'f. pool of {s.pool_size}: {s.threads} threads × '
                     f'{s.queries_per_thread} SELECT 1', 'q/s', pool_throughput,
           higher_is_better=True),
    Metric('f_checkout', 'f', lambda s: f'f. median checkout + return ({s.threads} threads)',
           'µs', pool_checkout_cost),
]


@dataclass(frozen=True)
class Target:
    """A goal for activerecord's ratio to the raw driver."""
    backend: str
    metric: str
    max_ratio: float


#: activerecord's peak memory in (c) may be this many times the tuples plus the records
MEMORY_TARGET = 2.0
#: the ORMs activerecord is to be faster than, on every speed figure of every backend
PEERS = ('sqlalchemy_orm', 'peewee')
#: backends that run inside the benchmark's process: their CPU time is the wall time
EMBEDDED_BACKENDS = frozenset({'sqlite'})
#: the units of speed figures (peak memory is a size, not a speed)
SPEED_UNITS = ('s', 'q/s', 'µs')

TARGETS = [
    Target('sqlite', 'a', 10), Target('sqlite', 'b', 2), Target('sqlite', 'c_objects', 5),
    Target('sqlite', 'c_dicts', 1.5), Target('sqlite', 'd', 6),
    Target('postgresql', 'b', 0.1),   # at least 10x faster than pg8000's executemany
    *[Target(backend, metric, limit) for backend in ('postgresql', 'mysql')
      for metric, limit in (('a', 1.5), ('c_objects', 2), ('c_dicts', 2), ('d', 1.3))],
]


# --------------------------------------------------------------------------- the harness

def log(message: str) -> None:
    """Progress goes to stderr so stdout stays a clean report."""
    print(message, file=sys.stderr, flush=True)


def describe(exc: BaseException) -> str:
    """An exception as one line for a table cell."""
    return f'{type(exc).__name__}: {exc}'


def open_implementations(names: list[str], backend: str, url: str, metrics: list[Metric],
                         sizes: Sizes, verbose: bool) -> tuple[list[Implementation],
                                                               list[Result]]:
    """Open every implementation; one that cannot start gets its error in every cell."""
    opened, failed = [], []
    for name in names:
        impl = IMPLEMENTATIONS[name](backend, url, sizes)
        try:
            impl.open()
        except Exception as exc:  # noqa: BLE001 - reported in the table; the run goes on
            if verbose:
                traceback.print_exc()
            log(f'  [{backend}] {name}: cannot start: {describe(exc)}')
            with contextlib.suppress(Exception):
                impl.close()
            failed += [Result(backend, name, metric.key, metric.unit, error=describe(exc))
                       for metric in metrics]
        else:
            opened.append(impl)
    return opened, failed


def measure(impls: list[Implementation], metric: Metric, data: WorkData, runs: int,
            verbose: bool) -> list[Result]:
    """A warm-up round, then `runs` rounds of one metric. Each round runs every
    implementation once, in a rotating order, so that a slow spell of a shared machine
    lands on all of them rather than on whichever happened to be running."""
    results = {impl.name: Result(impl.backend, impl.name, metric.key, metric.unit)
               for impl in impls}
    for round_number in range(1 + runs):
        shift = round_number % len(impls)
        for impl in impls[shift:] + impls[:shift]:
            result = results[impl.name]
            if result.error or result.not_applicable:
                continue
            try:
                value = metric.run(impl, data)
            except NotApplicable as exc:
                result.not_applicable = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported in the table; the run goes on
                result.error = describe(exc)
                if verbose:
                    traceback.print_exc()
                impl.recover()
            else:
                if round_number > 0:      # round 0 is the warm-up
                    if isinstance(value, Sample):
                        result.runs.append(value.wall)
                        result.client_cpu_runs.append(value.client_cpu)
                    else:
                        result.runs.append(value)
    for result in results.values():
        if result.runs and not (result.error or result.not_applicable):
            result.median = statistics.median(result.runs)
            if result.client_cpu_runs:
                result.client_cpu_median = statistics.median(result.client_cpu_runs)
        log(f'  [{result.backend}] {result.impl:<16} {metric.key:<13} {format_cell(result)}')
    return list(results.values())


def bench_backend(backend: str, url: str, names: list[str], metrics: list[Metric],
                  data: WorkData, runs: int, verbose: bool) -> list[Result]:
    """Every metric of every implementation on one backend, with ratios to raw."""
    impls, results = open_implementations(names, backend, url, metrics, data.sizes, verbose)
    try:
        if impls:
            for metric in metrics:
                results += measure(impls, metric, data, runs, verbose)
    finally:
        for impl in impls:
            try:
                impl.close()
            except Exception as exc:  # noqa: BLE001
                log(f'  [{backend}] {impl.name}: close failed: {describe(exc)}')
        drop_bench_tables(backend, url)
    add_ratios(results, metrics)
    return results


def add_ratios(results: list[Result], metrics: list[Metric]) -> None:
    """Each figure divided by the raw driver's figure for the same backend and metric."""
    higher_is_better = {metric.key: metric.higher_is_better for metric in metrics}
    raw = {(r.backend, r.metric): r.median for r in results if r.impl == 'raw'}
    for result in results:
        baseline = raw.get((result.backend, result.metric))
        if not baseline or not result.median:
            continue
        if higher_is_better[result.metric]:
            result.ratio = baseline / result.median
        else:
            result.ratio = result.median / baseline


# --------------------------------------------------------------------------- reporting

def format_value(value: float, unit: str) -> str:
    """A measured value in a readable unit."""
    if unit == 's':
        return f'{value * 1e3:.2f} ms' if value < 0.1 else f'{value * 1e3:,.0f} ms'
    if unit == 'q/s':
        return f'{value:,.0f} q/s'
    if unit == 'µs':
        return f'{value:.1f} µs'
    return f'{value:.2f} {unit}'


def format_cell(result: Result) -> str:
    """A table cell: median and ratio, or n/a, or the error."""
    if result.error:
        text = result.error.replace('\n', ' ').replace('|', '/')
        return f'ERROR {text[:90]}{"…" if len(text) > 90 else ""}'
    if result.not_applicable:
        return f'n/a ({result.not_applicable})'
    text = format_value(result.median, result.unit)
    return f'{text} ({result.ratio:.2f}x)' if result.ratio is not None else text


def markdown_report(results: list[Result], skipped: dict[str, str], backends: list[str],
                    impls: list[str], metrics: list[Metric], sizes: Sizes, runs: int) -> str:
    """The whole report as markdown: one table per backend, then the targets."""
    lines = [f'# activerecord benchmark — median of {runs} runs after a warm-up', '',
             'Cells: median (ratio to the raw driver on the same backend; 1.00x = raw, '
             'lower is better).', '']
    cells = {(r.backend, r.impl, r.metric): r for r in results}
    for backend in backends:
        lines.append(f'## {backend}')
        lines.append('')
        if backend in skipped:
            lines += [f'Skipped: server unreachable ({skipped[backend].rstrip(".")}).', '']
            continue
        lines.append('| workload | ' + ' | '.join(impls) + ' |')
        lines.append('|---|' + '---|' * len(impls))
        for metric in metrics:
            row = [format_cell(cells[backend, impl, metric.key]) for impl in impls]
            lines.append(f'| {metric.label(sizes)} | ' + ' | '.join(row) + ' |')
        lines.append('')
    lines += client_cpu_report(results, skipped, backends, impls, metrics, sizes)
    if 'activerecord' in impls:
        lines += targets_report(results, skipped, backends)
        lines += peers_report(results, skipped, backends)
    return '\n'.join(lines)


def client_cpu_report(results: list[Result], skipped: dict[str, str], backends: list[str],
                      impls: list[str], metrics: list[Metric], sizes: Sizes) -> list[str]:
    """Markdown lines: the client process's CPU time per run against each server.

    Against a server, a wall-clock figure also holds the server's work and the waits for
    it, which are the same for every implementation and vary from run to run; the client's
    CPU time is the part an ORM adds, measured without that noise."""
    cells = {(r.backend, r.impl, r.metric): r for r in results}
    timed_metrics = [metric for metric in metrics if metric.unit == 's']
    lines: list[str] = []
    for backend in backends:
        if backend in EMBEDDED_BACKENDS or backend in skipped or not timed_metrics:
            continue
        lines += [f'## {backend}: client CPU time per run', '',
                  'Cells: median CPU seconds of the benchmark process (ratio to the raw '
                  "driver's); the server's own work is not in these figures.", '',
                  '| workload | ' + ' | '.join(impls) + ' |', '|---|' + '---|' * len(impls)]
        for metric in timed_metrics:
            baseline = cells.get((backend, 'raw', metric.key))
            row = []
            for impl in impls:
                result = cells.get((backend, impl, metric.key))
                cpu = result.client_cpu_median if result else None
                if cpu is None:
                    row.append('—')
                    continue
                text = format_value(cpu, 's')
                if baseline is not None and baseline.client_cpu_median:
                    text += f' ({cpu / baseline.client_cpu_median:.2f}x)'
                row.append(text)
            lines.append(f'| {metric.label(sizes)} | ' + ' | '.join(row) + ' |')
        lines.append('')
    return lines


def peer_rows(results: list[Result], backends: list[str]) -> list[dict]:
    """activerecord against each peer ORM on every speed figure both measured."""
    cells = {(r.backend, r.impl, r.metric): r for r in results}
    higher_is_better_metrics = {metric.key for metric in METRICS if metric.higher_is_better}
    rows = []
    for result in results:
        if (result.impl != 'activerecord' or result.backend not in backends
                or result.unit not in SPEED_UNITS or result.median is None):
            continue
        higher_is_better = result.metric in higher_is_better_metrics
        for peer in PEERS:
            other = cells.get((result.backend, peer, result.metric))
            if other is None or other.median is None:
                continue
            faster = (result.median > other.median if higher_is_better
                      else result.median < other.median)
            rows.append({'backend': result.backend, 'metric': result.metric, 'peer': peer,
                         'activerecord': result.median, 'peer_value': other.median,
                         'unit': result.unit, 'faster': faster})
    return rows


def peers_report(results: list[Result], skipped: dict[str, str],
                 backends: list[str]) -> list[str]:
    """Markdown lines: how many peer comparisons activerecord won, and the ones it lost."""
    rows = peer_rows(results, [backend for backend in backends if backend not in skipped])
    if not rows:
        return []
    lost = [row for row in rows if not row['faster']]
    lines = ['## activerecord against its peers', '',
             f'activerecord was faster in {len(rows) - len(lost)} of {len(rows)} comparisons, '
             f'each against one of {", ".join(PEERS)} on one speed figure of one backend.', '']
    if lost:
        lines += ['| backend | figure | activerecord | peer | peer figure |', '|---|---|---|---|---|']
        lines += [f'| {row["backend"]} | {row["metric"]} | '
                  f'{format_value(row["activerecord"], row["unit"])} | {row["peer"]} | '
                  f'{format_value(row["peer_value"], row["unit"])} |' for row in lost]
        lines.append('')
    return lines


def target_rows(results: list[Result], backends: list[str]) -> list[dict]:
    """activerecord's ratios against the targets, for every measured backend and metric."""
    cells = {(r.backend, r.metric): r for r in results if r.impl == 'activerecord'}
    rows = []
    for target in TARGETS:
        result = cells.get((target.backend, target.metric))
        if target.backend not in backends or result is None:
            continue
        status = 'not measured'
        if result.ratio is not None:
            status = 'met' if result.ratio <= target.max_ratio else 'MISSED'
        rows.append({'backend': target.backend, 'metric': target.metric,
                     'max_ratio': target.max_ratio, 'ratio': result.ratio, 'status': status})
    return rows + memory_target_rows(results, backends)


def memory_target_rows(results: list[Result], backends: list[str]) -> list[dict]:
    """activerecord's peak memory in (c) against the raw driver's tuples plus the records
    themselves: the objects must cost no more than twice what they hold."""
    cells = {(r.backend, r.impl, r.metric): r.median for r in results}
    rows = []
    for backend in backends:
        peak = cells.get((backend, 'activerecord', 'c_memory'))
        tuples = cells.get((backend, 'raw', 'c_memory'))
        records = cells.get((backend, 'activerecord', 'c_kept'))
        if peak is None and tuples is None and records is None:
            continue
        ratio = peak / (tuples + records) if peak and tuples and records else None
        status = 'not measured' if ratio is None else (
            'met' if ratio <= MEMORY_TARGET else 'MISSED')
        # the tuples and the records share the row's values, so the yardstick counts them
        # twice; peak ÷ records kept is the stricter view, reported beside it
        rows.append({'backend': backend, 'metric': 'c_memory ÷ (raw tuples + records kept)',
                     'max_ratio': MEMORY_TARGET, 'ratio': ratio, 'status': status,
                     'peak_over_records_kept': peak / records if peak and records else None})
    return rows


def targets_report(results: list[Result], skipped: dict[str, str],
                   backends: list[str]) -> list[str]:
    """Markdown lines for the targets table and the PostgreSQL bulk-insert comparison."""
    measured = [backend for backend in backends if backend not in skipped]
    lines = ['## activerecord targets (ratio to the raw driver)', '',
             '| backend | figure | target | measured | status |', '|---|---|---|---|---|']
    for row in target_rows(results, measured):
        measured_ratio = f'{row["ratio"]:.2f}x' if row['ratio'] is not None else '—'
        limit = row['max_ratio']
        goal = f'≤ {limit:g}x' if limit >= 1 else f'≤ {limit:g}x (≥ {1 / limit:g}× faster)'
        lines.append(f'| {row["backend"]} | {row["metric"]} | {goal} '
                     f'| {measured_ratio} | {row["status"]} |')
    lines.append('')
    lines += postgresql_bulk_insert_report(results)
    return lines


def postgresql_bulk_insert_report(results: list[Result]) -> list[str]:
    """The explicit comparison the issue asks for: pg8000 executemany vs insert_many."""
    cells = {(r.impl, r.metric): r for r in results if r.backend == 'postgresql'}
    raw, orm = cells.get(('raw', 'b')), cells.get(('activerecord', 'b'))
    if raw is None or orm is None or raw.median is None:
        return []
    line = (f'PostgreSQL bulk insert (b): pg8000 executemany {format_value(raw.median, "s")}; '
            'activerecord insert_many ')
    if orm.median is None:
        return [line + format_cell(orm) + '.', '']
    return [line + f'{format_value(orm.median, "s")}, {raw.median / orm.median:.1f}× faster '
                   '(target ≥ 10×).', '']


def environment(sizes: Sizes, runs: int, quick: bool) -> dict:
    """What the figures were measured on."""
    versions = {}
    for module in ('pg8000', 'pymysql', 'sqlalchemy', 'peewee', 'pydantic'):
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            versions[module] = None
    versions['sqlite'] = sqlite3.sqlite_version
    return {'python': platform.python_version(), 'platform': platform.platform(),
            'cpus': os.cpu_count(), 'time': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
            'quick': quick, 'runs': runs, 'warmup_runs': 1, 'sizes': asdict(sizes),
            'versions': versions}


# --------------------------------------------------------------------------- command line

def name_list(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    """An argparse type for a comma-separated subset of `allowed`, kept in `allowed` order."""
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(',') if name.strip()]
        unknown = sorted(set(names) - set(allowed))
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f'unknown {", ".join(unknown) or "(empty)"}; choose from {", ".join(allowed)}')
        return [name for name in allowed if name in names]
    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description='Benchmark activerecord against its raw drivers and peer ORMs.')
    parser.add_argument('--backends', type=name_list(ALL_BACKENDS), default=list(ALL_BACKENDS),
                        help='comma-separated: sqlite,postgresql,mysql (default: all)')
    parser.add_argument('--impls', type=name_list(tuple(IMPLEMENTATIONS)),
                        default=list(IMPLEMENTATIONS),
                        help=f'comma-separated: {",".join(IMPLEMENTATIONS)} (default: all; '
                             'raw is always measured, every ratio needs it)')
    parser.add_argument('--workloads', type=name_list(ALL_WORKLOADS),
                        default=list(ALL_WORKLOADS), help='comma-separated: a,b,c,d,e,f')
    parser.add_argument('--runs', type=int, help='measured runs per figure (default 5, '
                                                 '2 with --quick)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 1/10 of the work, 2 runs, every implementation')
    parser.add_argument('--json', metavar='FILE', help='also write all results to FILE')
    parser.add_argument('--verbose', action='store_true', help='print tracebacks of errors')
    args = parser.parse_args(argv)
    if 'raw' not in args.impls:
        args.impls = ['raw', *args.impls]
    if args.runs is None:
        args.runs = 2 if args.quick else 5
    if args.runs < 1:
        parser.error('--runs must be at least 1')
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, print the markdown report, optionally write JSON."""
    args = parse_args(argv)
    sizes = Sizes().scaled(10) if args.quick else Sizes()
    data = WorkData.generate(sizes)
    metrics = [metric for metric in METRICS if metric.workload in args.workloads]
    results: list[Result] = []
    skipped: dict[str, str] = {}
    for backend in args.backends:
        url = DEFAULT_URLS[backend]
        reason = unreachable_reason(backend, url)
        if reason:
            skipped[backend] = reason
            log(f'[{backend}] skipped: {reason}')
            continue
        log(f'[{backend}] {url}')
        results += bench_backend(backend, url, args.impls, metrics, data, args.runs,
                                 args.verbose)
    print(markdown_report(results, skipped, args.backends, args.impls, metrics, sizes,
                          args.runs))
    if args.json:
        measured = [backend for backend in args.backends if backend not in skipped]
        document = {
            'environment': environment(sizes, args.runs, args.quick),
            'backends': {backend: {'status': 'skipped', 'reason': skipped[backend]}
                         if backend in skipped else {'status': 'measured'}
                         for backend in args.backends},
            'metrics': {metric.key: {'label': metric.label(sizes), 'unit': metric.unit,
                                     'higher_is_better': metric.higher_is_better}
                        for metric in metrics},
            'results': [asdict(result) for result in results],
            'targets': target_rows(results, measured) if 'activerecord' in args.impls else [],
            'peers': peer_rows(results, measured) if 'activerecord' in args.impls else [],
        }
        Path(args.json).write_text(json.dumps(document, indent=2, ensure_ascii=False) + '\n')
        log(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
