"""This project's ORM, measured through its public API only."""

import contextlib
import functools
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Iterator

from ..common import WorkData
from ..tables import eager_setup_statements, setup_statements
from .base import Implementation


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


@functools.cache
def activerecord_eager_models() -> tuple[type, type, type]:
    """e2's users, posts and comments, related through HasMany."""
    from activerecord import ActiveRecord
    from activerecord.relation import HasMany

    class BenchUser(ActiveRecord):
        __table_name__ = 'bench_users'
        id: int
        username: str
        posts: ClassVar[HasMany['BenchPost']] = HasMany(foreign_key='user_id')

    class BenchPost(ActiveRecord):
        __table_name__ = 'bench_posts'
        id: int
        user_id: int
        title: str
        comments: ClassVar[HasMany['BenchComment']] = HasMany(foreign_key='post_id')

    class BenchComment(ActiveRecord):
        __table_name__ = 'bench_comments'
        id: int
        post_id: int
        body: str

    return BenchUser, BenchPost, BenchComment


class ActiveRecordImpl(Implementation):
    """This project's ORM, through its public API only."""

    name = 'activerecord'

    def open(self) -> None:
        from activerecord import func
        self.func = func
        self.Item, self.Category = activerecord_models()
        separator = '&' if '?' in self.url else '?'
        url = f'{self.url}{separator}pool_size={self.sizes.pool_size}&max_overflow=0'
        self.User, *eager_models = activerecord_eager_models()
        for model in (self.Item, self.Category, self.User, *eager_models):
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

    def bulk_load(self, rows: list[dict]) -> int:
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

    def reset_eager(self) -> None:
        for sql, params in eager_setup_statements(self.backend, '?', self.sizes):
            self.db.execute(sql, params)

    def eager_load(self) -> int:
        walked = 0
        for user in self.User.query().with_('posts.comments').all():
            for post in user.posts():
                walked += post.user_id == user.id and sum(
                    comment.post_id == post.id for comment in post.comments())
        return walked

    def pooled_query(self) -> None:
        if self.Item.backend().fetch_one('SELECT 1') is None:
            raise AssertionError('SELECT 1 returned no row')

    def pool_checkout(self) -> contextlib.AbstractContextManager:
        return _checked_out(self.Item.backend().pool)


@contextlib.contextmanager
def _checked_out(pool: Any) -> Iterator[Any]:
    """One checkout and release of the pool itself, nothing else around it."""
    pooled = pool.checkout()
    try:
        yield pooled
    finally:
        pool.release(pooled)
