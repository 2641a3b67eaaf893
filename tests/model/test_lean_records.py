"""Lean records: loaded and just-saved records keep no snapshot of their own until something
changes them, and records of one query share their fields set; dirty tracking, copies, pickling
and failed writes behave as with a snapshot taken up front."""
from __future__ import annotations

import copy
import gc
import pickle
import tracemalloc

import pytest

from activerecord import ActiveRecord
from activerecord.errors import ActiveRecordError
from activerecord.mixins import SoftDeleteMixin


class LeanItem(ActiveRecord):
    __table_name__ = 'lean_items'
    id: int | None = None
    name: str
    qty: int = 0


class LeanNote(SoftDeleteMixin, ActiveRecord):
    __table_name__ = 'lean_notes'
    id: int | None = None
    body: str


class LeanBag(ActiveRecord):
    __table_name__ = 'lean_bags'
    id: int | None = None
    name: str
    tags: list[str] = []


def _load(db, count: int = 3) -> list[LeanItem]:
    db.use(LeanItem)
    LeanItem.insert_many([{'name': f'n{i}', 'qty': i} for i in range(count)])
    return LeanItem.query().order_by('id').all()


def test_a_loaded_record_tracks_its_changes_alone(db, sent_sql):
    first, second, third = _load(db)
    assert not first.is_dirty and first.changes == {}
    first.name = 'changed'
    assert first.is_dirty and first.changes == {'name': ('n0', 'changed')}
    assert not second.is_dirty and second.name == 'n1' and second.changes == {}
    sent_sql.clear()
    first.save()
    assert [sql.split(' SET ')[1].split(' = ')[0] for sql in sent_sql.writes()] == \
        [LeanItem.backend().dialect.quote('name')]
    assert not first.is_dirty
    first.qty = 7
    assert first.changes == {'qty': (0, 7)}   # the snapshot after the save holds the written name
    first.save()
    assert [(r.name, r.qty) for r in LeanItem.query().order_by('id').all()] == \
        [('changed', 7), ('n1', 1), ('n2', 2)]
    third.qty = 2   # the value it already has: nothing to write
    assert not third.is_dirty


def test_a_saved_record_is_clean_and_tracks_later_changes(db, sent_sql):
    db.use(LeanItem)
    record = LeanItem(name='a', qty=1)
    record.save()
    assert not record.is_new_record and not record.is_dirty and record.changes == {}
    record.qty = 5
    assert record.changes == {'qty': (1, 5)}
    sent_sql.clear()
    record.save()
    assert len(sent_sql.writes()) == 1 and LeanItem.find_one(record.id).qty == 5


def test_the_fields_set_of_loaded_records_is_shared_and_guarded(db):
    first, second, _ = _load(db)
    assert first.model_fields_set == second.model_fields_set == {'id', 'name', 'qty'}
    first.name = 'x'            # pydantic's assignment adds a name already in it: allowed
    assert first.model_fields_set == {'id', 'name', 'qty'}
    with pytest.raises(TypeError):
        first.model_fields_set.discard('name')   # would change every record of the query
    assert second.model_fields_set == {'id', 'name', 'qty'}
    assert first.model_dump(exclude_unset=True) == {'id': first.id, 'name': 'x', 'qty': 0}
    partial = LeanItem.query().select('id', 'name').order_by('id').first()
    assert partial is not None and partial.model_fields_set == {'id', 'name'}
    partial.qty = 3             # a partly loaded record has a set of its own
    assert partial.model_fields_set == {'id', 'name', 'qty'}
    assert LeanItem.query().select('id', 'name').first().model_fields_set == {'id', 'name'}


def test_copies_and_pickles_are_records_of_their_own(db, sent_sql):
    first, second, _ = _load(db)
    changed = first.model_copy(update={'name': 'copied'})
    assert changed.is_dirty and changed.changes == {'name': ('n0', 'copied')}
    assert not first.is_dirty and first.name == 'n0'
    sent_sql.clear()
    changed.save()
    assert len(sent_sql.writes()) == 1 and LeanItem.find_one(first.id).name == 'copied'
    deep = copy.deepcopy(second)
    deep.qty = 9
    assert deep.changes == {'qty': (1, 9)} and not second.is_dirty
    deep.model_fields_set.add('not a field')   # a copy's fields set is its own, a plain set
    assert 'not a field' not in second.model_fields_set
    restored = pickle.loads(pickle.dumps(second))
    assert not restored.is_new_record and not restored.is_dirty
    restored.name = 'pickled'
    assert restored.changes == {'name': ('n1', 'pickled')} and not second.is_dirty
    restored.save()
    assert LeanItem.find_one(second.id).name == 'pickled'


def test_writes_on_clean_records_and_failures_leave_them_consistent(db):
    first, second, third = _load(db)
    first.qty = 40
    LeanItem.query().where(id=first.id).update_all(qty=41)
    first.refresh()
    assert not first.is_dirty and first.qty == 41
    second.refresh()
    assert not second.is_dirty and second.qty == 1
    assert third.delete() is True and third.is_deleted
    with pytest.raises(ActiveRecordError):
        third.save()
    second.name = None   # type: ignore[assignment]  # not a str: the save's validation refuses it
    with pytest.raises(Exception):
        second.save()
    assert second.changes == {'name': ('n1', None)}   # the failed save left the change pending
    second.name = 'fine'
    second.save()
    assert not second.is_dirty and LeanItem.find_one(second.id).name == 'fine'


def test_soft_delete_and_restore_of_loaded_records(db):
    db.use(LeanNote)
    LeanNote.insert_many([{'body': 'a'}, {'body': 'b'}])
    first, second = LeanNote.query().order_by('id').all()
    assert first.delete() is True and first.is_soft_deleted and not first.is_dirty
    assert not second.is_soft_deleted and not second.is_dirty
    assert [note.body for note in LeanNote.query().all()] == ['b']
    first.restore()
    assert not first.is_soft_deleted and [note.body for note in LeanNote.query().order_by('id').all()] == ['a', 'b']


def test_records_with_list_fields_see_changes_made_in_place(db):
    db.use(LeanBag)
    LeanBag.create(name='a', tags=['x'])
    bag = LeanBag.query().first()
    assert bag is not None and not bag.is_dirty
    bag.tags.append('y')
    assert bag.is_dirty and bag.changes == {'tags': (['x'], ['x', 'y'])}
    bag.save()
    assert LeanBag.find_one(bag.id).tags == ['x', 'y']


def test_loaded_records_keep_little_memory(db):
    rows = 2000
    db.use(LeanItem)
    LeanItem.insert_many([{'name': f'n{i}', 'qty': i} for i in range(rows)])
    LeanItem.query().all()   # builders compiled, caches warm
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        records = LeanItem.query().all()
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(records) == rows
    # the object and its __dict__ (about 300 bytes on CPython 3.11) plus the values (a short
    # string, small ints, the row's tuple dropped); a snapshot and a fields set of its own per
    # record used to add about 650
    assert kept / rows < 600, f'{kept / rows:.0f} bytes per record'
