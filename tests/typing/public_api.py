"""What a type checker sees of the public API; tests/typing/test_typing.py runs mypy over this file.

Never executed: the calls only have to type-check (assert_type is checked statically).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterator

from typing_extensions import assert_type

from activerecord import ActiveRecord
from activerecord.query import Query
from activerecord.relation import BelongsTo, HasMany, HasOne


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


def check_as_dicts() -> None:
    query = Author.query().as_dicts()
    assert_type(query, 'Query[dict[str, Any]]')
    assert_type(query.where(name='ann').all(), 'list[dict[str, Any]]')
    assert_type(query.first(), 'dict[str, Any] | None')


class Writer(ActiveRecord):
    __tablename__ = 'typing_writers'

    id: int | None = None
    name: str
    books: ClassVar[HasMany['Book']] = HasMany(foreign_key='writer_id', inverse_of='writer')
    bio: ClassVar[HasOne['Bio']] = HasOne(foreign_key='writer_id')
    memberships: ClassVar[HasMany['Membership']] = HasMany(foreign_key='writer_id')
    clubs: ClassVar[HasMany['Club']] = HasMany(through='memberships')


class Book(ActiveRecord):
    __tablename__ = 'typing_books'

    id: int | None = None
    writer_id: int
    writer: ClassVar[BelongsTo[Writer]] = BelongsTo(inverse_of='books')


class Bio(ActiveRecord):
    __tablename__ = 'typing_bios'

    id: int | None = None
    writer_id: int


def check_relations(writer: Writer, book: Book) -> None:
    assert_type(writer.books(), 'list[Book]')
    assert_type(writer.books(reload=True), 'list[Book]')
    assert_type(writer.bio(), 'Bio | None')
    assert_type(book.writer(), 'Writer | None')
    for each in writer.books():
        assert_type(each, Book)


class Club(ActiveRecord):
    __tablename__ = 'typing_clubs'

    id: int | None = None
    name: str


class Membership(ActiveRecord):
    __tablename__ = 'typing_memberships'

    id: int | None = None
    writer_id: int
    club_id: int
    writer: ClassVar[BelongsTo[Writer]] = BelongsTo()
    club: ClassVar[BelongsTo[Club]] = BelongsTo()


def check_relation_accessors(writer: Writer, book: Book) -> None:
    assert_type(writer.books.query(), 'Query[Book]')
    assert_type(writer.books.query().where(Book.c.writer_id == 1).all(), 'list[Book]')
    assert_type(writer.books.build(), Book)
    assert_type(writer.books.create(), Book)
    assert_type(writer.bio.build(), Bio)
    assert_type(writer.bio.create(), Bio)
    assert_type(writer.bio.query().first(), 'Bio | None')
    assert_type(book.writer.query(), 'Query[Writer]')
    assert_type(writer.books.loaded, bool)
    assert_type(Writer.books, 'HasMany[Book]')
    assert_type(Writer.books.load([writer]), 'list[Book]')
    assert_type(Book.writer.load([book]), 'list[Writer]')
    assert_type(Writer.books.target, 'type[Book]')
    book.writer.set(writer)
    book.writer.set(None)


def check_many_to_many(writer: Writer, club: Club) -> None:
    assert_type(writer.clubs(), 'list[Club]')
    assert_type(writer.clubs.query(), 'Query[Club]')
    assert_type(writer.clubs.add(club), ActiveRecord)
    assert_type(writer.clubs.add(club, writer_id=1), ActiveRecord)
    assert_type(writer.clubs.remove(club, club), int)
    writer.clubs.set([club])
    writer.clubs.set((club for _ in range(2)))
