"""find_one/find_all by dict or key list: compiled once per condition shape, the values bound per call."""
from __future__ import annotations

import datetime

import pytest

from activerecord import ActiveRecord
from activerecord.errors import DataError
from activerecord.mixins import SoftDeleteMixin
from activerecord.model.statements import statements_for


class Shelf(ActiveRecord):
    __table_name__ = 'shape_shelves'
    id: int
    name: str
    qty: int = 0
    tags: list[str] = []
    when: datetime.date | None = None


class Slot(ActiveRecord):
    __table_name__ = 'shape_slots'
    __primary_key__ = ('a', 'b')
    a: int
    b: int
    v: int = 0


class Memo(SoftDeleteMixin, ActiveRecord):
    __table_name__ = 'shape_memos'
    id: int
    body: str


def _names(records: list) -> list[str]:
    return [record.name for record in records]


def test_each_shape_compiles_once_and_binds_later_values(db):
    db.use(Shelf)
    Shelf.insert_many([{'name': f'n{i}', 'qty': i % 3, 'tags': [f't{i}']} for i in range(9)])
    statements = statements_for(Shelf.__meta__, Shelf.backend().dialect)
    assert Shelf.find_one({'name': 'n4'}).qty == 1
    assert Shelf.find_one({'name': 'n7'}).qty == 1
    assert Shelf.find_one({'name': 'nope'}) is None
    assert _names(Shelf.find_all({'qty': [0, 2]})) == ['n0', 'n2', 'n3', 'n5', 'n6', 'n8']
    assert _names(Shelf.find_all({'qty': [1, 0]})) == ['n0', 'n1', 'n3', 'n4', 'n6', 'n7']
    assert _names(Shelf.find_all({'qty': [1]})) == ['n1', 'n4', 'n7']
    assert Shelf.find_all({'qty': []}) == []
    assert Shelf.find_all({'when': None, 'qty': 2}) == Shelf.find_all({'qty': 2})
    assert _names(Shelf.find_all({'tags': ['t3']})) == ['n3']           # a list field compares with =
    assert len(Shelf.find_all()) == len(Shelf.find_all()) == 9
    assert [record.id for record in Shelf.find_all([3, 1, 2])] == [1, 2, 3]
    assert [record.id for record in Shelf.find_all([5, 6, 4])] == [4, 5, 6]
    shapes = [shape for shape in statements.finds if 'name' in shape]
    assert len(shapes) == 1                                             # one SQL for every name


def test_an_expression_value_is_rendered_by_the_query_layer_every_time(db):
    db.use(Shelf)
    Shelf.insert_many([{'name': 'a', 'qty': 1}, {'name': 'b', 'qty': 2}])
    assert _names(Shelf.find_all({'qty': 1})) == ['a']
    assert _names(Shelf.find_all({'qty': Shelf.c.id})) == ['a', 'b']   # same shape, an expression


def test_a_value_that_cannot_bind_fails_as_the_query_layer_says(db):
    db.use(Shelf)
    Shelf.create(name='a', when=datetime.date(2024, 1, 2))
    assert Shelf.find_one({'when': datetime.date(2024, 1, 2)}).name == 'a'
    for field, value in (('when', 'nope'), ('qty', 'many'), ('when', 3.5)):   # the cached shapes bind these
        assert _outcome(lambda: Shelf.find_one({field: value})) == _outcome(
            lambda: Shelf.query().where(**{field: value}).limit(1).all())
    if db.name == 'sqlite':
        with pytest.raises(DataError, match='cannot bind'):
            Shelf.find_one({'when': 'nope'})


def _outcome(lookup) -> str:
    try:
        found = lookup()
    except Exception as error:   # the same class and message, or the same rows
        return f'{type(error).__name__}: {error}'
    return repr([record.id for record in (found if isinstance(found, list) else [found] if found else [])])


def test_repeated_values_and_composite_keys(db):
    db.use(Shelf, Slot)
    Shelf.insert_many([{'name': 'a', 'qty': 1}, {'name': 'b', 'qty': 2}])
    assert _names(Shelf.find_all({'qty': [1, 2]})) == ['a', 'b']
    assert _names(Shelf.find_all({'qty': [2, 2]})) == ['b']             # a placeholder may be shared
    assert _names(Shelf.find_all({'qty': [1, 1]})) == ['a']
    Slot.insert_many([{'a': i, 'b': i % 3, 'v': i} for i in range(12)])
    assert [slot.v for slot in Slot.find_all([(4, 1), (5, 2)])] == [4, 5]
    assert [slot.v for slot in Slot.find_all([(7, 1), (8, 2)])] == [7, 8]
    assert [slot.v for slot in Slot.find_all([(7, 1), (8, 1)])] == [7]


def test_the_soft_delete_scope_is_part_of_the_cached_shape(db):
    db.use(Memo)
    first, second = Memo.create(body='x'), Memo.create(body='x')
    assert [memo.id for memo in Memo.find_all({'body': 'x'})] == [first.id, second.id]
    first.delete()
    assert [memo.id for memo in Memo.find_all({'body': 'x'})] == [second.id]
    assert [memo.id for memo in Memo.find_all([first.id, second.id])] == [second.id]
