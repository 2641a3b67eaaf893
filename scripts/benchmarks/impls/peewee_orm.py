"""peewee, on pg8000 for PostgreSQL like every other implementation (an optional dependency)."""

import contextlib
import functools
from typing import Any

from ..common import POOL_TIMEOUT, WorkData
from ..tables import chunks, eager_setup_statements, setup_statements, url_parts
from .base import Implementation

PEEWEE_BATCH = 1000       # peewee's insert_many sends one statement; SQLite caps its parameters


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


def peewee_eager_models(db: Any) -> tuple[type, type, type]:
    """e2's users, posts and comments bound to `db`, posts and comments as back-references."""
    import peewee as pw

    class User(pw.Model):
        id = pw.IntegerField(primary_key=True)
        username = pw.CharField(max_length=100)

        class Meta:
            database = db
            table_name = 'bench_users'

    class Post(pw.Model):
        id = pw.IntegerField(primary_key=True)
        user = pw.ForeignKeyField(User, backref='posts', column_name='user_id')
        title = pw.CharField(max_length=100)

        class Meta:
            database = db
            table_name = 'bench_posts'

    class Comment(pw.Model):
        id = pw.IntegerField(primary_key=True)
        post = pw.ForeignKeyField(Post, backref='comments', column_name='post_id')
        body = pw.CharField(max_length=200)

        class Meta:
            database = db
            table_name = 'bench_comments'

    return User, Post, Comment


class Peewee(Implementation):
    """peewee: Model.create / insert_many / select, autocommit outside atomic()."""

    name = 'peewee'

    def open(self) -> None:
        import peewee
        self.pw = peewee
        self.db = peewee_database(self.backend, self.url)
        self.db.connect()
        self.Item, self.Category = peewee_models(self.db)
        self.eager_models = peewee_eager_models(self.db)
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

    def reset_eager(self) -> None:
        with self.db.atomic():
            for sql, params in eager_setup_statements(self.backend, self.db.param, self.sizes):
                self.db.execute_sql(sql, params or None)

    def eager_load(self) -> int:
        users, posts, comments = self.eager_models
        walked = 0
        # prefetch: one query per model, each child level filtered by a subquery of the one above
        for each in self.pw.prefetch(users.select(), posts.select().order_by(posts.id),
                                     comments.select().order_by(comments.id)):
            for one_post in each.posts:
                walked += one_post.user_id == each.id and sum(
                    comment.post_id == one_post.id for comment in one_post.comments)
        return walked

    def prepare_pool(self) -> None:
        if self.pool_db is None:
            self.pool_db = peewee_database(self.backend, self.url, self.sizes.pool_size)

    def pooled_query(self) -> None:
        with self.pool_db.connection_context():
            self.pool_db.execute_sql('SELECT 1').fetchone()

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        return self.pool_db.connection_context()
