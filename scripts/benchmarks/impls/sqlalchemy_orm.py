"""SQLAlchemy 2, both its ORM and its Core (an optional benchmark dependency)."""

import contextlib
import functools
import warnings
from decimal import Decimal
from typing import Any, Iterator

from ..common import POOL_TIMEOUT, NotApplicable, WorkData
from ..tables import DRIVER_PLACEHOLDER, eager_setup_statements, setup_statements
from .base import Implementation

# Decimal round-trips through TEXT on SQLite, exactly as the raw driver's adapter does it.
warnings.filterwarnings('ignore', message=r'Dialect sqlite\+pysqlite does \*not\* support Decimal')


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


@functools.cache
def sqlalchemy_eager_models() -> tuple[type, type]:
    """e2's users, posts and comments with one-to-many relationships; (user, post) classes."""
    from sqlalchemy import ForeignKey, String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = 'bench_users'
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        username: Mapped[str] = mapped_column(String(100))
        posts: Mapped[list['Post']] = relationship(order_by='Post.id')

    class Post(Base):
        __tablename__ = 'bench_posts'
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        user_id: Mapped[int] = mapped_column(ForeignKey('bench_users.id'))
        title: Mapped[str] = mapped_column(String(100))
        comments: Mapped[list['Comment']] = relationship(order_by='Comment.id')

    class Comment(Base):
        __tablename__ = 'bench_comments'
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        post_id: Mapped[int] = mapped_column(ForeignKey('bench_posts.id'))
        body: Mapped[str] = mapped_column(String(200))

    return User, Post


class SQLAlchemyBase(Implementation):
    """Engine and setup shared by SQLAlchemy's ORM and Core."""

    #: whether the library has relation loading of its own (the ORM) or not (Core)
    relations = False

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

    def reset_eager(self) -> None:
        if not self.relations:
            raise NotApplicable('no relation loading')
        with self.engine.begin() as conn:
            for sql, params in eager_setup_statements(self.backend,
                                                      DRIVER_PLACEHOLDER[self.backend], self.sizes):
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
    relations = True

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

    def eager_load(self) -> int:
        from sqlalchemy.orm import selectinload
        user, post = sqlalchemy_eager_models()
        statement = self.sa.select(user).options(
            selectinload(user.posts).selectinload(post.comments))
        walked = 0
        with self._session() as session:
            for each in session.scalars(statement).all():
                for one_post in each.posts:
                    walked += one_post.user_id == each.id and sum(
                        comment.post_id == one_post.id for comment in one_post.comments)
        return walked

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
