"""What a type checker sees of the public API; tests/typing/test_typing.py runs mypy over this file.

Never executed: the calls only have to type-check (assert_type is checked statically).
"""
from __future__ import annotations

from typing import Iterator

from typing_extensions import assert_type

from activerecord import ActiveRecord
from activerecord.query import Query


class Author(ActiveRecord):
    __tablename__ = 'typing_authors'

    id: int | None = None
    name: str


def check_finders() -> None:
    assert_type(Author.find_one(1), 'Author | None')
    assert_type(Author.find_one_or_fail(1), Author)
    assert_type(Author.find_all(), 'list[Author]')
    assert_type(Author.find_all({'name': 'ann'}), 'list[Author]')


def check_create_and_save() -> None:
    author = Author.create(name='ann')
    assert_type(author, Author)
    assert_type(author.save(), Author)


def check_query() -> None:
    query = Author.query()
    assert_type(query, 'Query[Author]')
    assert_type(query.where(Author.c.name == 'ann'), 'Query[Author]')
    assert_type(query.where(name='ann').order_by('name').limit(3), 'Query[Author]')
    assert_type(query.offset(1), 'Query[Author]')
    assert_type(query.all(), 'list[Author]')
    assert_type(query.first(), 'Author | None')
    assert_type(query.one(), Author)
    assert_type(query.iter(batch_size=10), 'Iterator[Author]')
    for author in query.where(name='ann'):
        assert_type(author, Author)
