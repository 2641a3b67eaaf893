"""Mixins: timestamps, soft delete, optimistic locking, UUID primary keys, on every backend."""
from __future__ import annotations

import datetime
import time
import uuid
from typing import Annotated

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column
from activerecord.errors import ActiveRecordError, StaleObjectError
from activerecord.mixins import OptimisticLockMixin, SoftDeleteMixin, TimestampMixin, UUIDPrimaryKeyMixin


class Note(TimestampMixin, ActiveRecord):
    __table_name__ = 'mdl_notes'
    id: int
    body: str


class Memo(SoftDeleteMixin, ActiveRecord):
    __table_name__ = 'mdl_memos'
    id: int
    body: str


class Ledger(OptimisticLockMixin, ActiveRecord):
    __table_name__ = 'mdl_ledgers'
    id: int
    balance: int = 0


class Token(UUIDPrimaryKeyMixin, ActiveRecord):
    __table_name__ = 'mdl_tokens'
    label: str


class Everything(TimestampMixin, SoftDeleteMixin, OptimisticLockMixin, ActiveRecord):
    __table_name__ = 'mdl_everything'
    id: int
    name: str


def test_timestamps_are_set_on_insert_and_bumped_only_by_a_real_update(db, sent_sql):
    db.use(Note)
    before = datetime.datetime.now(datetime.timezone.utc)
    note = Note.create(body='x')
    assert note.created_at is not None and note.created_at == note.updated_at
    assert note.created_at.tzinfo is not None and note.created_at >= before - datetime.timedelta(seconds=1)
    created = note.created_at
    sent_sql.clear()
    note.save()
    assert sent_sql.writes() == [] and note.updated_at == created
    time.sleep(0.01)
    note.body = 'y'
    note.save()
    assert note.created_at == created and note.updated_at > created
    loaded = Note.find_one(note.id)
    assert abs(loaded.updated_at - note.updated_at) < datetime.timedelta(milliseconds=1)
    assert abs(loaded.created_at - created) < datetime.timedelta(milliseconds=1)
    assert Note.__meta__.table_name == 'mdl_notes' and list(Note.__meta__.fields)[:2] == ['id', 'body']


def test_insert_many_fills_timestamps(db):
    db.use(Note)
    Note.insert_many([{'body': 'a'}, {'body': 'b'}])
    assert all(note.created_at is not None and note.updated_at is not None for note in Note.find_all())


def test_soft_delete_marks_hides_shows_and_restores(db):
    db.use(Memo)
    kept = Memo.create(body='kept')
    gone = Memo.create(body='gone')
    gone.delete()
    assert gone.deleted_at is not None and gone.is_soft_deleted and not gone.is_deleted
    assert Memo.find_one(gone.id) is None
    assert Memo.find_all() == [kept]
    assert Memo.find_all([kept.id, gone.id]) == [kept]
    assert [memo.body for memo in Memo.query().all()] == ['kept']
    assert sorted(memo.body for memo in Memo.with_deleted().all()) == ['gone', 'kept']
    assert sorted(memo.body for memo in Memo.query().with_deleted().all()) == ['gone', 'kept']
    gone.restore()
    assert gone.deleted_at is None and Memo.find_one(gone.id).body == 'gone'


def test_soft_delete_writes_only_the_mark_and_force_delete_removes_the_row(db):
    db.use(Memo)
    memo = Memo.create(body='original')
    memo.body = 'unsaved edit'
    memo.delete()
    row = Memo.with_deleted().where(Memo.c.id == memo.id).first()
    assert row.body == 'original' and row.deleted_at is not None
    assert memo.changes == {'body': ('original', 'unsaved edit')}
    memo.force_delete()
    assert Memo.with_deleted().all() == [] and memo.is_deleted
    with pytest.raises(ActiveRecordError):
        memo.restore()


def test_a_stale_update_raises_and_changes_nothing(db):
    db.use(Ledger)
    mine = Ledger.create(balance=10)
    assert mine.version == 1
    theirs = Ledger.find_one(mine.id)
    theirs.balance = 20
    theirs.save()
    assert theirs.version == 2
    mine.balance = 30
    with pytest.raises(StaleObjectError, match=r'Ledger\(id=.*version 1'):
        mine.save()
    assert mine.version == 1 and mine.balance == 30     # as before the save: still savable
    assert Ledger.find_one(mine.id).balance == 20
    mine.refresh()
    mine.balance = 30
    mine.save()
    assert (mine.version, Ledger.find_one(mine.id).balance) == (3, 30)


def test_a_stale_delete_raises_and_deletes_nothing(db):
    db.use(Ledger)
    mine = Ledger.create()
    theirs = Ledger.find_one(mine.id)
    theirs.balance = 5
    theirs.save()
    with pytest.raises(StaleObjectError):
        mine.delete()
    assert Ledger.find_one(mine.id) is not None and not mine.is_deleted
    theirs.delete()
    assert Ledger.find_one(mine.id) is None


def test_uuid_primary_keys_are_generated_and_round_trip(db):
    db.use(Token)
    token = Token(label='a')
    assert isinstance(token.id, uuid.UUID) and token.is_new_record
    token.save()
    assert Token.find_one(token.id).label == 'a'
    explicit = uuid.UUID('00000000-0000-4000-8000-000000000001')
    Token.create(id=explicit, label='b')
    assert Token.find_one(explicit).label == 'b'
    assert Token.insert_many([{'label': 'c'}, {'label': 'd'}]) == 2
    assert sorted(t.label for t in Token.find_all()) == ['a', 'b', 'c', 'd']


def test_mixins_combine(db):
    db.use(Everything)
    record = Everything.create(name='all')
    record.name = 'changed'
    record.save()
    assert record.version == 2 and record.updated_at >= record.created_at
    record.delete()
    assert Everything.find_one(record.id) is None
    assert Everything.with_deleted().first().version == 3


class Stock(TimestampMixin, SoftDeleteMixin, OptimisticLockMixin, ActiveRecord):
    __table_name__ = 'mdl_stock'
    id: int
    code: Annotated[str, Field(max_length=20), Column(unique=True)]
    quantity: int = 0


def test_upsert_by_default_keeps_what_the_mixins_manage(db, sent_sql):
    db.use(Stock)
    kept = Stock.create(code='kept', quantity=1)
    gone = Stock.create(code='gone', quantity=1)
    gone.delete()                                      # soft-deleted: version 2
    stale = Stock.find_one(kept.id)
    time.sleep(0.01)
    sent_sql.clear()
    assert Stock.upsert([{'code': 'kept', 'quantity': 5}, {'code': 'gone', 'quantity': 6},
                         {'code': 'new', 'quantity': 7}], conflict=['code']) == 3
    assert len(sent_sql.writes()) == 1
    rows = {row.code: row for row in Stock.with_deleted().all()}
    assert Stock.find_one({'code': 'gone'}) is None    # still soft-deleted, not resurrected
    assert rows['gone'].deleted_at is not None and rows['gone'].quantity == 6
    for code, before in (('kept', kept), ('gone', gone)):
        row = rows[code]
        assert abs(row.created_at - before.created_at) < datetime.timedelta(milliseconds=1), code
        assert row.updated_at > before.updated_at, code     # the upsert's time
        assert row.version == before.version + 1, code       # incremented in SQL
    assert rows['kept'].quantity == 5 and rows['kept'].version == 2
    new = rows['new']
    assert new.version == 1 and new.deleted_at is None and new.created_at == new.updated_at
    stale.quantity = 9                                  # read before the upsert: its version is old
    with pytest.raises(StaleObjectError):
        stale.save()


def test_upsert_with_an_explicit_update_list_writes_exactly_those_fields(db):
    db.use(Stock)
    gone = Stock.create(code='gone', quantity=1)
    gone.delete()
    Stock.upsert([{'code': 'gone', 'quantity': 2, 'deleted_at': None}], conflict=['code'],
                 update=['quantity', 'deleted_at'])    # resurrect, as asked
    row = Stock.find_one({'code': 'gone'})
    assert row is not None and row.quantity == 2 and row.version == 2   # version not in the list
    Stock.upsert([{'code': 'gone', 'quantity': 3}], conflict=['code'], update=[])
    assert Stock.find_one({'code': 'gone'}).quantity == 2
    with pytest.raises(ActiveRecordError, match=r"Stock\.upsert\(update=\.\.\.\): 'qty' is not a field"):
        Stock.upsert([{'code': 'x', 'quantity': 1}], conflict=['code'], update=['quantity', 'qty'])
    with pytest.raises(ActiveRecordError, match=r"Stock\.upsert\(update=\.\.\.\): 'qty' is not a field"):
        Stock.upsert([], conflict=['code'], update=['qty'])
    assert Stock.find_one({'code': 'x'}) is None
