"""Helpers of the relation tests: a statement log, seeded data and its expected shape."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from .models import Comment, Post, User

SQL_LOGGER = logging.getLogger('activerecord.sql')


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(record.getMessage())


@contextmanager
def statements() -> Iterator[list[str]]:
    """Collect every statement sent in the block (one `activerecord.sql` DEBUG record each)."""
    collector = _Collector()
    previous = SQL_LOGGER.level
    SQL_LOGGER.addHandler(collector)
    SQL_LOGGER.setLevel(logging.DEBUG)
    try:
        yield collector.sql
    finally:
        SQL_LOGGER.removeHandler(collector)
        SQL_LOGGER.setLevel(previous)


def param_count(logged: str) -> int:
    """The parameter count of one logged statement ('... -- 3 params, 0.1 ms')."""
    return int(logged.rsplit(' -- ', 1)[1].split(' params')[0])


def seed(users: int, posts_per_user: int = 2, comments_per_post: int = 2) -> list[User]:
    """users 'u1'.., posts 'u1-p1'.., comments 'u1-p1-c1'.. (3 bulk inserts + 2 reads)."""
    User.insert_many([{'username': f'u{index}'} for index in range(1, users + 1)])
    people = User.query().order_by(User.c.id).all()
    Post.insert_many([{'user_id': user.id, 'title': f'{user.username}-p{number}', 'score': number}
                      for user in people for number in range(1, posts_per_user + 1)])
    if comments_per_post:
        posts = Post.query().order_by(Post.c.id).all()
        Comment.insert_many([{'post_id': post.id, 'body': f'{post.title}-c{number}'}
                             for post in posts for number in range(1, comments_per_post + 1)])
    return people


def expected_tree(users: int, posts_per_user: int = 2, comments_per_post: int = 2) -> dict:
    """What seed() wrote: username -> [(title, [comment bodies])]."""
    return {f'u{u}': [(f'u{u}-p{p}', [f'u{u}-p{p}-c{c}' for c in range(1, comments_per_post + 1)])
                      for p in range(1, posts_per_user + 1)]
            for u in range(1, users + 1)}


def tree_of(users: list[User]) -> dict:
    """The same shape as expected_tree(), read through the relations."""
    return {user.username: [(post.title, [comment.body for comment in post.comments()]) for post in user.posts()]
            for user in users}
