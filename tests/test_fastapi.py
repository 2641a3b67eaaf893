"""Request schemas (create_schema/update_schema, Column(read_only=True)) and
activerecord.contrib.fastapi (error mapping, a transaction per request), on every live backend."""

from typing import Annotated, Any, Optional

import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from activerecord import ActiveRecord, Column
from activerecord.contrib.fastapi import install, transaction_dependency
from activerecord.errors import ConfigurationError
from activerecord.mixins import OptimisticLockMixin, SoftDeleteMixin, TimestampMixin, UUIDPrimaryKeyMixin


class Author(TimestampMixin, ActiveRecord):
    __table_name__ = 'fa_authors'
    id: int
    username: Annotated[str, Field(max_length=30), Column(unique=True)]
    karma: Annotated[int, Column(read_only=True)] = 0
    bio: Optional[str] = None


class Note(SoftDeleteMixin, OptimisticLockMixin, ActiveRecord):
    __table_name__ = 'fa_notes'
    id: int
    title: str


class Tag(UUIDPrimaryKeyMixin, ActiveRecord):
    __table_name__ = 'fa_tags'
    name: str


class Country(ActiveRecord):
    __table_name__ = 'fa_countries'
    __primary_key__ = 'code'
    code: Annotated[str, Field(max_length=2)]
    name: str


# -- schemas (no database needed) -------------------------------------------------------------

def test_create_schema_leaves_out_what_the_database_and_the_orm_fill_in():
    assert list(Author.create_schema().model_fields) == ['username', 'bio']
    assert list(Note.create_schema().model_fields) == ['title']
    assert list(Tag.create_schema().model_fields) == ['name']
    # a natural key is the client's to give
    assert list(Country.create_schema().model_fields) == ['code', 'name']


def test_create_schema_keeps_types_requiredness_and_constraints():
    schema = Author.create_schema()
    assert schema.__name__ == 'AuthorCreate'
    assert schema(username='ann').model_dump(exclude_unset=True) == {'username': 'ann'}
    assert schema(username='ann').bio is None
    with pytest.raises(Exception, match='username'):
        schema()
    with pytest.raises(Exception, match='at most 30 characters'):
        schema(username='x' * 31)


@pytest.mark.parametrize('managed', ['id', 'created_at', 'updated_at', 'karma'])
def test_create_schema_refuses_a_managed_field(managed):
    with pytest.raises(Exception, match=f'{managed}\n.*Extra inputs are not permitted'):
        Author.create_schema()(username='ann', **{managed: 1})


@pytest.mark.parametrize('managed', ['deleted_at', 'version', 'id'])
def test_mixin_fields_are_refused_in_both_schemas(managed):
    for schema in (Note.create_schema(), Note.update_schema()):
        with pytest.raises(Exception, match='Extra inputs are not permitted'):
            schema(title='t', **{managed: None})


def test_update_schema_makes_every_field_optional():
    schema = Author.update_schema()
    assert schema.__name__ == 'AuthorUpdate'
    assert list(schema.model_fields) == ['username', 'bio']
    assert all(not info.is_required() for info in schema.model_fields.values())
    assert schema().model_dump(exclude_unset=True) == {}
    assert schema(bio=None).model_dump(exclude_unset=True) == {'bio': None}
    # optional means "may be left out": a null for a NOT NULL field is still refused
    with pytest.raises(Exception, match='username'):
        schema(username=None)
    with pytest.raises(Exception, match='at most 30 characters'):
        schema(username='x' * 31)


def test_schemas_are_built_once_and_are_plain_pydantic_models():
    assert Author.create_schema() is Author.create_schema()
    assert Author.update_schema() is Author.update_schema()
    assert issubclass(Author.create_schema(), BaseModel)
    assert not issubclass(Author.create_schema(), ActiveRecord)


def test_read_only_flag_is_checked():
    assert Column(read_only=True).read_only is True
    assert 'read_only=True' in repr(Column(read_only=True))
    assert Column().read_only is False
    with pytest.raises(ConfigurationError, match=r"Column\(read_only='yes'\): expected True or False"):
        Column(read_only='yes')


def test_abstract_model_has_no_request_schema():
    with pytest.raises(TypeError, match='TimestampMixin is abstract'):
        TimestampMixin.create_schema()


def test_bad_arguments_to_the_integration_are_named():
    with pytest.raises(TypeError, match='expected a fastapi.FastAPI application, got str'):
        install('app')
    with pytest.raises(TypeError, match='expected an ActiveRecord model class'):
        transaction_dependency(object())


# -- over HTTP, on every live backend ---------------------------------------------------------

def make_app() -> FastAPI:
    app = FastAPI()
    install(app)
    create_body = Author.create_schema()
    update_body = Author.update_schema()
    in_transaction = Depends(transaction_dependency(Author))

    @app.post('/authors', status_code=201)
    def create(body: create_body, _: Any = in_transaction) -> dict:   # type: ignore[valid-type]
        return Author.create(**body.model_dump(exclude_unset=True)).model_dump(mode='json')

    @app.get('/authors/{author_id}')
    def read(author_id: int) -> dict:
        return Author.find_one_or_fail(author_id).model_dump(mode='json')

    @app.patch('/authors/{author_id}')
    def update(author_id: int, body: update_body, _: Any = in_transaction) -> dict:   # type: ignore[valid-type]
        author = Author.find_one_or_fail(author_id)
        for name, value in body.model_dump(exclude_unset=True).items():
            setattr(author, name, value)
        return author.save().model_dump(mode='json')

    @app.delete('/authors/{author_id}', status_code=204)
    def delete(author_id: int, _: Any = in_transaction) -> None:
        Author.find_one_or_fail(author_id).delete()

    @app.post('/raw')
    def raw(body: dict) -> dict:   # the ORM's own validation, not the request schema's
        return Author(**body).model_dump(mode='json')

    @app.post('/two')
    def two(names: list[str], fail: bool = False, _: Any = in_transaction) -> int:
        for name in names:
            Author.create(username=name)
        if fail:
            raise HTTPException(status_code=400, detail='refused after the inserts')
        return len(names)

    @app.post('/two-async')
    async def two_async(names: list[str], fail: bool = False, _: Any = in_transaction) -> int:
        for name in names:
            Author.create(username=name)
        if fail:
            raise HTTPException(status_code=400, detail='refused after the inserts')
        return len(names)

    return app


def usernames() -> list[str]:
    return sorted(author.username for author in Author.query().all())


def test_crud_over_http(db):
    db.use(Author)
    client = TestClient(make_app())
    created = client.post('/authors', json={'username': 'ann', 'bio': 'hi'})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body['username'] == 'ann' and body['karma'] == 0 and body['created_at'] is not None
    author_id = body['id']
    assert client.get(f'/authors/{author_id}').json()['bio'] == 'hi'
    updated = client.patch(f'/authors/{author_id}', json={'bio': 'new'})
    assert updated.status_code == 200, updated.text
    assert updated.json()['username'] == 'ann' and updated.json()['bio'] == 'new'
    assert Author.find_one(author_id).bio == 'new'
    assert client.delete(f'/authors/{author_id}').status_code == 204
    assert Author.find_one(author_id) is None


def test_errors_over_http(db):
    db.use(Author)
    client = TestClient(make_app())
    assert client.post('/authors', json={'username': 'ann'}).status_code == 201
    duplicate = client.post('/authors', json={'username': 'ann'})
    assert duplicate.status_code == 409, duplicate.text
    assert usernames() == ['ann']
    missing = client.get('/authors/999999')
    assert missing.status_code == 404 and missing.json()['detail']
    assert client.patch('/authors/999999', json={'bio': 'x'}).status_code == 404
    assert client.delete('/authors/999999').status_code == 404
    bad = client.post('/authors', json={'username': 'x' * 31})
    assert bad.status_code == 422 and bad.json()['detail'][0]['loc'] == ['body', 'username']
    invalid = client.post('/raw', json={'username': 7, 'karma': 'many'})
    assert invalid.status_code == 422, invalid.text
    assert sorted(tuple(item['loc']) for item in invalid.json()['detail']) == [('karma',), ('username',)]
    assert usernames() == ['ann']


@pytest.mark.parametrize('managed', [{'id': 77}, {'created_at': '2000-01-01T00:00:00Z'}, {'karma': 5}])
def test_a_body_cannot_set_managed_fields(db, managed):
    db.use(Author)
    client = TestClient(make_app())
    refused = client.post('/authors', json={'username': 'ann', **managed})
    assert refused.status_code == 422, refused.text
    assert refused.json()['detail'][0]['loc'] == ['body', next(iter(managed))]
    assert usernames() == []
    author_id = client.post('/authors', json={'username': 'ann'}).json()['id']
    assert client.patch(f'/authors/{author_id}', json=managed).status_code == 422
    stored = Author.find_one(author_id)
    assert stored.id == author_id and stored.karma == 0 and stored.created_at.year > 2000


@pytest.mark.parametrize('path', ['/two', '/two-async'])
def test_request_runs_in_one_transaction(db, path):
    db.use(Author)
    client = TestClient(make_app())
    assert client.post(path, json=['a', 'b']).json() == 2
    assert usernames() == ['a', 'b']
    # the handler raised after two inserts: neither is kept
    assert client.post(path, json=['c', 'd'], params={'fail': True}).status_code == 400
    assert usernames() == ['a', 'b']
    # the second insert is a duplicate: 409, and the first insert of the request is rolled back too
    assert client.post(path, json=['e', 'a']).status_code == 409
    assert usernames() == ['a', 'b']
