"""API.md, "CRUD": every line of the code block, record state, bulk writes, validation."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column
from activerecord.errors import RecordNotFound, ValidationError


class User(ActiveRecord):
    __table_name__ = 'apic_crud_users'
    id: int
    username: Annotated[str, Field(max_length=40)]
    email: Annotated[str, Field(max_length=80), Column(unique=True)]
    status: Annotated[str, Field(max_length=10)] = 'new'
    karma: int = 0

    calls: ClassVar[list[str]] = []

    def before_save(self) -> None:
        User.calls.append('before_save')

    def after_save(self) -> None:
        User.calls.append('after_save')


@pytest.fixture
def users(db: Any) -> Any:
    db.use(User)
    User.calls.clear()
    return db


def _set_clause(sql: str) -> str:
    upper = sql.upper()
    return upper[upper.index(' SET ') + 5:upper.index(' WHERE ')]


def test_the_code_block_runs_as_written(users: Any, sent: Any) -> None:
    u = User(username='alice', email='a@example.com'); u.save()   # noqa: E702 - as on the page
    assert isinstance(u.id, int) and len(sent.matching('INSERT')) == 1
    sent.clear()
    u.email = 'alice@example.com'; u.save()                       # noqa: E702
    [update] = sent.matching('UPDATE')
    assert 'EMAIL' in _set_clause(update) and 'USERNAME' not in _set_clause(update)
    bob = User.create(username='bob', email='b@example.com')
    assert not bob.is_new_record and User.find_one(bob.id).username == 'bob'
    assert User.find_one(u.id).email == 'alice@example.com'
    assert User.find_one({'email': 'b@example.com'}).id == bob.id
    assert User.find_one(999_999) is None and User.find_one({'email': 'nobody'}) is None
    with pytest.raises(RecordNotFound):
        User.find_one_or_fail(999_999)
    assert sorted(x.username for x in User.find_all()) == ['alice', 'bob']
    assert [x.id for x in sorted(User.find_all([u.id, bob.id]), key=lambda x: x.id)] == sorted([u.id, bob.id])
    assert [x.id for x in User.find_all({'username': 'bob'})] == [bob.id]
    users.backend.execute('UPDATE apic_crud_users SET karma = ? WHERE id = ?', (7, u.id))
    u.refresh()
    assert u.karma == 7 and not u.is_dirty
    u.delete()
    assert User.find_one(u.id) is None
    count = User.insert_many([{'username': 'c', 'email': 'c@x'}, {'username': 'd', 'email': 'd@x'}])
    assert count == 2
    written = User.upsert([{'username': 'bobby', 'email': 'b@example.com'}, {'username': 'e', 'email': 'e@x'}],
                          conflict=['email'], update=['username'])
    assert written == 2
    assert User.find_one(bob.id).username == 'bobby' and User.find_one({'email': 'e@x'}) is not None
    assert User.query().count() == 4


def test_record_state_is_new_record_is_dirty_changes(users: Any) -> None:
    u = User(username='alice', email='a@x')
    assert u.is_new_record and u.is_dirty
    u.save()
    assert not u.is_new_record and not u.is_dirty and u.changes == {}
    u.email = 'b@x'
    u.karma = 3
    assert u.is_dirty and u.changes == {'email': ('a@x', 'b@x'), 'karma': (0, 3)}
    u.save()
    assert not u.is_dirty and u.changes == {}
    loaded = User.find_one(u.id)
    assert not loaded.is_new_record and not loaded.is_dirty


def test_saving_an_unchanged_record_sends_nothing_but_runs_its_save_hooks(users: Any, sent: Any) -> None:
    u = User.create(username='alice', email='a@x')
    loaded = User.find_one(u.id)
    User.calls.clear()
    sent.clear()
    u.save()
    loaded.save()
    assert sent.statements() == []
    assert User.calls == ['before_save', 'after_save'] * 2


def test_insert_many_one_round_trip_defaults_explicit_keys_no_hooks(users: Any, sent: Any) -> None:
    rows = [{'username': f'u{index}', 'email': f'u{index}@x'} for index in range(5)]
    rows.append({'id': 5000, 'username': 'explicit', 'email': 'explicit@x', 'status': 'vip'})
    sent.clear()
    assert User.insert_many(rows) == 6
    assert len(sent.matching('INSERT')) <= 2     # one statement per batch (a batch per column set)
    assert User.calls == []
    stored = {x.email: x for x in User.find_all()}
    assert stored['explicit@x'].id == 5000 and stored['explicit@x'].status == 'vip'
    assert stored['u0@x'].status == 'new' and stored['u0@x'].karma == 0
    assert User.create(username='later', email='later@x').id != 5000


def test_insert_many_validates_every_row_and_writes_nothing_on_failure(users: Any, sent: Any) -> None:
    rows = [{'username': 'ok', 'email': 'ok@x'}, {'username': 42, 'email': 'bad@x'}]
    sent.clear()
    with pytest.raises(ValidationError):
        User.insert_many(rows)
    assert sent.matching('INSERT') == [] and User.query().count() == 0


def test_upsert_validates_applies_defaults_and_counts_rows(users: Any) -> None:
    User.create(username='alice', email='a@x', status='old', karma=9)
    written = User.upsert([{'username': 'alicia', 'email': 'a@x'}, {'username': 'new', 'email': 'n@x'}],
                          conflict=['email'], update=['username'])
    assert written == 2 and User.calls == ['before_save', 'after_save']
    alice, new = User.find_one({'email': 'a@x'}), User.find_one({'email': 'n@x'})
    assert (alice.username, alice.status, alice.karma) == ('alicia', 'old', 9)
    assert (new.status, new.karma) == ('new', 0)
    assert User.upsert([{'username': 'same', 'email': 'n@x'}], conflict=['email'], update=['username']) == 1
    assert User.upsert([{'id': 7001, 'username': 'keyed', 'email': 'k@x'}], conflict=['email']) == 1
    assert User.find_one(7001).username == 'keyed'
    with pytest.raises(ValidationError):
        User.upsert([{'username': None, 'email': 'z@x'}], conflict=['email'], update=['username'])
    assert User.query().count() == 3


def test_validation_error_is_a_value_error_with_pydantic_errors_and_writes_nothing(users: Any, sent: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        User(username=42, email='a@x')
    assert isinstance(caught.value, ValueError)
    [error] = caught.value.errors()
    assert error['loc'] == ('username',) and error['type'] == 'string_type'
    u = User.create(username='alice', email='a@x')
    u.username = 'x' * 41      # assignment is not validated; save() is
    sent.clear()
    with pytest.raises(ValidationError) as caught:
        u.save()
    assert caught.value.errors()[0]['loc'] == ('username',)
    fresh = User(username='bob', email='b@x')
    fresh.email = None
    with pytest.raises(ValueError):
        fresh.save()
    assert sent.matching('INSERT') == [] and sent.matching('UPDATE') == []
    assert User.find_one(u.id).username == 'alice' and User.query().count() == 1


class Optionals(ActiveRecord):
    __table_name__ = 'apic_crud_optionals'
    id: int
    note: Optional[str] = None


def test_optional_fields_are_nullable_columns(db: Any) -> None:
    db.use(Optionals)
    saved = Optionals.create()
    assert Optionals.find_one(saved.id).note is None
    assert Optionals.query().where(Optionals.c.note.is_null()).count() == 1
