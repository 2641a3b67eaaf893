"""Validation on construction and before each save; database errors leave records savable."""
from __future__ import annotations

import decimal
from typing import Annotated, Optional

import pytest
from pydantic import Field, field_validator

from activerecord import ActiveRecord, Column
from activerecord.errors import IntegrityError, ValidationError


class Author(ActiveRecord):
    __table_name__ = 'mdl_authors'
    id: int
    name: Annotated[str, Field(max_length=10)]
    email: Annotated[str, Field(max_length=50), Column(unique=True)]
    age: Optional[int] = None
    rating: Annotated[decimal.Decimal, Field(max_digits=4, decimal_places=1)] = decimal.Decimal('0')

    @field_validator('email')
    @classmethod
    def needs_at(cls, value: str) -> str:
        if '@' not in value:
            raise ValueError('an e-mail address needs an @')
        return value


class Book(ActiveRecord):
    __table_name__ = 'mdl_books'
    id: int
    author_id: Annotated[int, Column(references=Author)]
    title: str


def test_construction_validates_and_names_the_field():
    with pytest.raises(ValidationError) as caught:
        Author(name='x' * 11, email='a@x')
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.errors()[0]['loc'] == ('name',) and 'at most 10' in error.errors()[0]['msg']
    assert 'name' in str(error) and 'Author' in str(error)
    with pytest.raises(ValidationError, match='age'):
        Author(name='n', email='a@x', age='not a number')
    with pytest.raises(ValidationError, match='email'):
        Author(name='n')          # missing required field
    with pytest.raises(ValidationError, match='rating'):
        Author(name='n', email='a@x', rating=decimal.Decimal('123.45'))
    with pytest.raises(ValidationError, match='needs an @'):
        Author(name='n', email='nope')
    with pytest.raises(ValidationError):
        Author.model_validate({'name': 5})


def test_save_validates_changed_values_and_writes_nothing_on_failure(db, sent_sql):
    db.use(Author)
    author = Author(name='ok', email='ok@x')
    author.name = 'much too long for the column'
    sent_sql.clear()
    with pytest.raises(ValidationError, match='name'):
        author.save()
    assert sent_sql.writes() == [] and author.is_new_record and author.id is None
    author.name = 'fine'
    author.save()
    author.age = 'forty'           # a wrong type assigned after loading
    with pytest.raises(ValidationError, match='age'):
        author.save()
    assert Author.find_one(author.id).age is None
    author.age = '41'              # coerced like pydantic does on construction
    author.save()
    assert author.age == 41 and Author.find_one(author.id).age == 41


def test_a_unique_violation_is_an_integrity_error_and_the_record_stays_savable(db):
    db.use(Author)
    Author.create(name='first', email='same@x')
    second = Author(name='second', email='same@x')
    with pytest.raises(IntegrityError):
        second.save()
    assert second.is_new_record and second.id is None and second.email == 'same@x'
    second.email = 'other@x'
    second.save()
    assert Author.find_one(second.id).name == 'second'

    second.email = 'same@x'        # an UPDATE that collides
    with pytest.raises(IntegrityError):
        second.save()
    assert second.changes == {'email': ('other@x', 'same@x')}
    second.email = 'third@x'
    second.save()
    assert Author.find_one(second.id).email == 'third@x'


def test_a_foreign_key_violation_is_an_integrity_error(db):
    db.use(Author, Book)
    author = Author.create(name='a', email='a@x')
    Book.create(author_id=author.id, title='fine')
    orphan = Book(author_id=author.id + 1000, title='orphan')
    with pytest.raises(IntegrityError):
        orphan.save()
    assert orphan.is_new_record
    orphan.author_id = author.id
    orphan.save()
    assert len(Book.find_all({'author_id': author.id})) == 2


class Loose(ActiveRecord):
    __table_name__ = 'mdl_loose'
    id: int
    label: Optional[str] = None


def test_a_not_null_violation_from_the_database_is_an_integrity_error(db):
    Loose.configure(db.url)
    db.models.append(Loose)
    db._backend = Loose.backend()
    Loose.drop_table()
    quote = db.backend.dialect.quote
    # a table stricter than the model: label is NOT NULL there
    db.backend.execute(db.backend.dialect.create_table_sql(
        'mdl_loose', [db.backend.dialect.column_definition('id', 'INTEGER', nullable=False, primary_key=True,
                                                           inline_primary_key=True),
                      f'{quote("label")} VARCHAR(20) NOT NULL'], []))
    record = Loose(id=1)
    with pytest.raises(IntegrityError):
        record.save()
    assert record.is_new_record
    record.label = 'now set'
    record.save()
    assert Loose.find_one(1).label == 'now set'


def test_an_unknown_field_name_is_an_error_not_silently_dropped(db):
    db.use(Author)
    with pytest.raises(ValidationError) as caught:
        Author(name='Ann', email='a@example.com', nickname='A')
    assert [error['loc'] for error in caught.value.errors()] == [('nickname',)]
    assert 'nickname' in str(caught.value)
    with pytest.raises(ValidationError):
        Author.insert_many([{'name': 'Bob', 'email': 'b@example.com', 'nmae': 'typo'}])
    assert Author.query().count() == 0
