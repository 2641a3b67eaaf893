"""CRUD through the public API on every backend: save, create, find_*, refresh, delete, bulk writes."""
from __future__ import annotations

from typing import Annotated, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column
from activerecord.errors import ActiveRecordError, IntegrityError, NotSupportedError, RecordNotFound


class User(ActiveRecord):
    __table_name__ = 'mdl_users'
    id: int
    username: Annotated[str, Field(max_length=40)]
    email: Annotated[str, Field(max_length=120), Column(unique=True)]
    age: Optional[int] = None
    meta: dict = Field(default_factory=dict)


class Pair(ActiveRecord):
    __table_name__ = 'mdl_pairs'
    __primary_key__ = ('left', 'right')
    left: int
    right: Annotated[str, Field(max_length=10)]
    weight: int = 0


def test_save_inserts_then_updates_only_changed_columns(db, sent_sql):
    db.use(User)
    sent_sql.clear()
    user = User(username='alice', email='a@example.com')
    assert user.is_new_record and user.is_dirty and user.id is None
    user.save()
    assert isinstance(user.id, int) and not user.is_new_record and not user.is_dirty
    assert [sql.split(' ', 1)[0] for sql in sent_sql.writes()] == ['INSERT']

    sent_sql.clear()
    user.email = 'alice@example.com'
    assert user.is_dirty and user.changes == {'email': ('a@example.com', 'alice@example.com')}
    user.save()
    (update,) = sent_sql.writes()
    quote = db.backend.dialect.quote
    assert update.startswith('UPDATE') and quote('email') in update
    assert quote('username') not in update and quote('age') not in update
    assert not user.is_dirty and user.changes == {}
    assert User.find_one(user.id).email == 'alice@example.com'


def test_save_of_an_unchanged_record_sends_nothing(db, sent_sql):
    db.use(User)
    user = User.create(username='bob', email='b@x')
    loaded = User.find_one(user.id)
    sent_sql.clear()
    user.save()
    loaded.save()
    loaded.username = 'bob'     # the same value is not a change
    loaded.save()
    assert sent_sql.statements == []


def test_in_place_change_of_a_dict_field_is_seen(db):
    db.use(User)
    user = User.create(username='c', email='c@x', meta={'a': 1})
    user.meta['b'] = 2
    assert user.changes == {'meta': ({'a': 1}, {'a': 1, 'b': 2})}
    user.save()
    assert User.find_one(user.id).meta == {'a': 1, 'b': 2}


def test_create_and_explicit_keys(db):
    db.use(User)
    bob = User.create(username='bob', email='b@example.com')
    assert bob.id is not None and not bob.is_new_record
    explicit = User.create(id=1000, username='k', email='k@x')
    assert explicit.id == 1000 and User.find_one(1000).username == 'k'


def test_find_one_by_key_by_dict_and_none_when_absent(db):
    db.use(User)
    alice = User.create(username='alice', email='a@x', age=30)
    User.create(username='bob', email='b@x', age=None)
    found = User.find_one(alice.id)
    assert found == alice and not found.is_new_record and not found.is_dirty
    assert User.find_one({'email': 'b@x'}).username == 'bob'
    assert User.find_one({'age': None}).username == 'bob'
    assert User.find_one(99_999) is None
    assert User.find_one({'email': 'nobody'}) is None
    with pytest.raises(ActiveRecordError, match="no field 'nope'"):
        User.find_one({'nope': 1})


def test_find_one_or_fail(db):
    db.use(User)
    user = User.create(username='x', email='x@x')
    assert User.find_one_or_fail(user.id) == user
    with pytest.raises(RecordNotFound, match='User not found.*id=99'):
        User.find_one_or_fail(99)


def test_find_all_forms(db):
    db.use(User)
    users = [User.create(username=name, email=f'{name}@x', age=age)
             for name, age in (('a', 10), ('b', 20), ('c', 20))]
    assert [user.username for user in User.find_all()] == ['a', 'b', 'c']
    assert [user.username for user in User.find_all([users[2].id, users[0].id, 12345])] == ['a', 'c']
    assert [user.username for user in User.find_all({'age': 20})] == ['b', 'c']
    assert [user.username for user in User.find_all({'age': [10, 99]})] == ['a']
    assert User.find_all({'age': []}) == []
    assert User.find_all([]) == []


def test_find_all_with_many_keys_is_chunked(db):
    db.use(User)
    User.insert_many([{'username': f'u{i}', 'email': f'u{i}@x'} for i in range(300)])
    ids = [user.id for user in User.find_all()]
    assert len(ids) == 300
    features = db.backend.features
    object.__setattr__(db.backend.dialect, 'features', features.with_(max_in_list=7))
    try:
        assert [user.id for user in User.find_all(ids)] == sorted(ids)
    finally:
        object.__setattr__(db.backend.dialect, 'features', features)


def test_refresh_reads_the_row_again(db):
    db.use(User)
    user = User.create(username='r', email='r@x')
    table, quote = db.backend.dialect.quote('mdl_users'), db.backend.dialect.quote
    db.backend.execute(f'UPDATE {table} SET {quote("username")} = ? WHERE {quote("id")} = ?', ('changed', user.id))
    user.age = 5
    assert user.refresh() is user
    assert user.username == 'changed' and user.age is None and not user.is_dirty
    user.delete()
    with pytest.raises(ActiveRecordError):
        user.refresh()
    other = User.create(username='gone', email='g@x')
    db.backend.execute(f'DELETE FROM {table} WHERE {quote("id")} = ?', (other.id,))
    with pytest.raises(RecordNotFound):
        other.refresh()
    with pytest.raises(ActiveRecordError, match='never saved'):
        User(username='n', email='n@x').refresh()


def test_delete_removes_the_row_and_a_deleted_record_cannot_be_saved(db):
    db.use(User)
    user = User.create(username='d', email='d@x')
    user.delete()
    assert User.find_one(user.id) is None
    assert user.is_deleted and not user.is_new_record and not user.is_dirty
    user.username = 'again'
    with pytest.raises(ActiveRecordError, match='it was deleted'):
        user.save()
    with pytest.raises(ActiveRecordError, match='already deleted'):
        user.delete()
    with pytest.raises(ActiveRecordError, match='never saved'):
        User(username='n', email='n@x').delete()


def test_composite_keys(db):
    db.use(Pair)
    Pair.create(left=1, right='a', weight=5)
    Pair.create(left=1, right='b')
    assert Pair.find_one((1, 'a')).weight == 5
    assert Pair.find_one({'left': 1, 'right': 'b'}).weight == 0
    pair = Pair.find_one((1, 'a'))
    pair.weight = 6
    pair.save()
    assert Pair.find_one((1, 'a')).weight == 6 and Pair.find_one((1, 'b')).weight == 0
    assert [(p.left, p.right) for p in Pair.find_all([(1, 'b'), (1, 'a'), (2, 'z')])] == [(1, 'a'), (1, 'b')]
    pair.delete()
    assert Pair.find_one((1, 'a')) is None and Pair.find_one((1, 'b')) is not None
    with pytest.raises(ActiveRecordError, match='tuple of 2 values'):
        Pair.find_one(1)
    with pytest.raises(IntegrityError):
        Pair.create(left=1, right='b')


def test_insert_many_one_statement_per_batch(db, sent_sql):
    db.use(User)
    rows = [{'username': f'user{i}', 'email': f'user{i}@x', 'age': i} for i in range(250)]
    sent_sql.clear()
    assert User.insert_many(rows) == 250
    inserts = [sql for sql in sent_sql.writes() if sql.startswith('INSERT')]
    assert len(inserts) <= 1 if db.backend.features.multi_row_insert else len(inserts) >= 1
    assert len(User.find_all()) == 250
    # defaults are applied and the rows are validated like records
    assert User.find_one({'username': 'user7'}).meta == {}


def test_insert_many_respects_the_parameter_limit(db, sent_sql):
    db.use(User)
    features = db.backend.features
    # five columns per row: 10 parameters fit two rows per statement
    object.__setattr__(db.backend.dialect, 'features', features.with_(max_parameters=10))
    try:
        sent_sql.clear()
        assert User.insert_many([{'username': f'u{i}', 'email': f'u{i}@x'} for i in range(5)]) == 5
    finally:
        object.__setattr__(db.backend.dialect, 'features', features)
    inserts = [sql for sql in sent_sql.writes() if sql.startswith('INSERT')]
    if features.multi_row_insert:
        assert len(inserts) == 3   # 2 + 2 + 1 rows
    assert sorted(user.username for user in User.find_all()) == [f'u{i}' for i in range(5)]


def test_insert_many_is_all_or_nothing_and_takes_records_and_explicit_keys(db):
    db.use(User)
    User.insert_many([User(username='r', email='r@x'), {'id': 500, 'username': 'k', 'email': 'k@x'}])
    assert User.find_one(500).username == 'k'
    with pytest.raises(IntegrityError):
        User.insert_many([{'username': 'ok', 'email': 'new@x'}, {'username': 'dup', 'email': 'r@x'}],
                         batch_size=1)
    assert User.find_one({'email': 'new@x'}) is None
    assert User.insert_many([]) == 0


def test_insert_many_returns_keys_where_the_database_can(db):
    db.use(User)
    rows = [{'username': f'k{i}', 'email': f'k{i}@x'} for i in range(3)]
    if not db.backend.features.returning:
        with pytest.raises(NotSupportedError):
            User.insert_many(rows, return_keys=True)
        return
    keys = User.insert_many(rows, return_keys=True)
    assert [User.find_one(key).username for key in keys] == ['k0', 'k1', 'k2']


def test_insert_many_returns_keys_in_row_order_when_rows_mix_explicit_and_generated_keys(db):
    db.use(User)
    rows = [{'username': 'g0', 'email': 'g0@x'}, {'id': 900, 'username': 'e0', 'email': 'e0@x'},
            {'username': 'g1', 'email': 'g1@x'}, {'id': 901, 'username': 'e1', 'email': 'e1@x'},
            User(username='g2', email='g2@x'), {'id': 902, 'username': 'e2', 'email': 'e2@x'}]
    if not db.backend.features.returning:
        with pytest.raises(NotSupportedError, match=db.backend.name):
            User.insert_many(rows, return_keys=True)
        return
    keys = User.insert_many(rows, return_keys=True, batch_size=2)   # several batches per group too
    assert len(keys) == 6 and (keys[1], keys[3], keys[5]) == (900, 901, 902)
    assert [User.find_one(key).username for key in keys] == ['g0', 'e0', 'g1', 'e1', 'g2', 'e2']


def test_upsert_inserts_and_updates_with_the_dialects_form(db, sent_sql):
    db.use(User)
    User.create(username='old', email='same@x', age=1)
    sent_sql.clear()
    written = User.upsert([{'username': 'new', 'email': 'same@x', 'age': 2},
                           {'username': 'fresh', 'email': 'fresh@x', 'age': 3}],
                          conflict=['email'], update=['username'])
    assert written == 2
    assert len([sql for sql in sent_sql.writes()]) == 1
    same = User.find_one({'email': 'same@x'})
    assert (same.username, same.age) == ('new', 1)          # only `update` columns change
    assert User.find_one({'email': 'fresh@x'}).age == 3
    User.upsert([{'username': 'ignored', 'email': 'same@x'}], conflict=['email'], update=[])
    assert User.find_one({'email': 'same@x'}).username == 'new'
    with pytest.raises(ActiveRecordError, match="'nope' is not a field"):
        User.upsert([{'username': 'x', 'email': 'y'}], conflict=['nope'])


def test_insert_many_validates_every_row_first_and_names_the_row(db):
    from activerecord.errors import ValidationError
    db.use(User)
    rows = [{'username': 'ok', 'email': 'ok@x'}, {'username': 'x' * 41, 'email': 'bad@x'}]
    with pytest.raises(ValidationError) as caught:
        User.insert_many(rows)
    assert caught.value.errors()[0]['loc'] == (1, 'username')
    with pytest.raises(ValidationError, match='email'):
        User.insert_many([User(username='ok', email='ok@x'), {'username': 'no email'}])
    with pytest.raises(ActiveRecordError, match='expected a list of rows'):
        User.insert_many({'username': 'a', 'email': 'b'})
    assert User.find_all() == []


def _only_adults(query):
    return query.where(query.model.c.age >= 18)


class Adult(ActiveRecord):
    __table_name__ = 'mdl_adults'
    __default_scopes__ = {'adults': _only_adults}
    id: int
    age: int


def test_finders_apply_default_scopes(db):
    db.use(Adult)
    Adult.insert_many([{'age': 10}, {'age': 20}, {'age': 30}])
    assert [a.age for a in Adult.find_all()] == [20, 30]
    child = Adult.query().unscoped().where(Adult.c.age == 10).first()
    assert Adult.find_one(child.id) is None
    assert Adult.find_one({'age': 30}).age == 30
    assert [a.age for a in Adult.find_all([child.id, child.id + 1])] == [20]
    assert len(Adult.query().unscoped('adults').all()) == 3
