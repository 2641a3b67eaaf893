"""No silent lost writes: a save() whose UPDATE matches no row raises, delete() says whether it deleted."""
from __future__ import annotations

from typing import Annotated, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord
from activerecord.errors import RecordNotFound, StaleObjectError
from activerecord.mixins import OptimisticLockMixin, SoftDeleteMixin


class Note(ActiveRecord):
    __table_name__ = 'lw_notes'
    id: int
    title: Annotated[str, Field(max_length=40)]
    body: Optional[str] = None


class Memo(SoftDeleteMixin, ActiveRecord):
    __table_name__ = 'lw_memos'
    id: int
    title: Annotated[str, Field(max_length=40)]


class Ticket(OptimisticLockMixin, ActiveRecord):
    __table_name__ = 'lw_tickets'
    id: int
    title: Annotated[str, Field(max_length=40)]


def _count(model: type) -> int:
    backend = model.backend()
    return backend.fetch_value(f'SELECT COUNT(*) FROM {backend.dialect.quote(model.__meta__.table_name)}')


def _delete_elsewhere(model: type, key: int) -> None:
    backend = model.backend()
    quote = backend.dialect.quote
    assert backend.execute(f'DELETE FROM {quote(model.__meta__.table_name)} WHERE {quote("id")} = ?', (key,)) == 1


def test_save_of_a_row_deleted_elsewhere_raises_and_keeps_the_record_dirty(db):
    db.use(Note)
    note = Note.create(title='first')
    _delete_elsewhere(Note, note.id)
    note.title = 'changed'
    with pytest.raises(RecordNotFound) as caught:
        note.save()
    assert 'Note' in str(caught.value) and f'id={note.id!r}' in str(caught.value)
    assert note.is_dirty and not note.is_new_record
    assert note.changes == {'title': ('first', 'changed')}
    assert _count(Note) == 0


def test_save_works_again_once_the_row_is_back(db):
    db.use(Note)
    note = Note.create(title='first')
    _delete_elsewhere(Note, note.id)
    note.title = 'changed'
    with pytest.raises(RecordNotFound):
        note.save()
    Note.insert_many([{'id': note.id, 'title': 'first'}])
    note.save()
    assert not note.is_dirty
    assert Note.find_one(note.id).title == 'changed'


def test_save_of_the_value_already_stored_counts_as_a_match(db):
    # MySQL reports changed rows unless CLIENT_FOUND_ROWS is set: an UPDATE to the value the row
    # already holds must still count as found, not as a lost write.
    db.use(Note)
    note = Note.create(title='first')
    backend = Note.backend()
    quote = backend.dialect.quote
    backend.execute(f'UPDATE {quote("lw_notes")} SET {quote("title")} = ? WHERE {quote("id")} = ?', ('same', note.id))
    note.title = 'same'
    note.save()
    assert not note.is_dirty
    assert Note.find_one(note.id).title == 'same'


def test_save_after_hooks_do_not_run_when_the_row_is_gone(db):
    db.use(Note)
    seen: list[str] = []
    listener = Note.on('after_save', lambda record: seen.append(record.title))
    try:
        note = Note.create(title='first')
        _delete_elsewhere(Note, note.id)
        note.title = 'changed'
        with pytest.raises(RecordNotFound):
            note.save()
    finally:
        Note.off('after_save', listener)
    assert seen == ['first']
    assert note.is_dirty and _count(Note) == 0


def test_delete_returns_true_then_false_for_a_row_already_gone(db):
    db.use(Note)
    first, second = Note.create(title='a'), Note.create(title='b')
    assert first.delete() is True
    assert first.is_deleted
    _delete_elsewhere(Note, second.id)
    assert second.delete() is False
    assert second.is_deleted


def test_soft_delete_and_force_delete_report_a_missing_row(db):
    db.use(Memo)
    kept, gone = Memo.create(title='kept'), Memo.create(title='gone')
    forced, vanished = Memo.create(title='forced'), Memo.create(title='vanished')
    assert kept.delete() is True and kept.is_soft_deleted
    _delete_elsewhere(Memo, gone.id)
    assert gone.delete() is False
    assert gone.deleted_at is None          # nothing was marked
    assert forced.force_delete() is True
    _delete_elsewhere(Memo, vanished.id)
    assert vanished.force_delete() is False
    assert Memo.with_deleted().count() == 1


def test_optimistic_lock_still_raises_stale_object_error(db):
    db.use(Ticket)
    ticket = Ticket.create(title='t')
    _delete_elsewhere(Ticket, ticket.id)
    ticket.title = 'u'
    with pytest.raises(StaleObjectError):
        ticket.save()
    assert ticket.is_dirty


def test_soft_delete_of_a_row_already_soft_deleted_returns_false(db):
    db.use(Memo)
    memo = Memo.create(title='a')
    assert memo.delete() is True
    first_mark = memo.deleted_at
    assert memo.delete() is False                     # the row was already marked
    assert memo.deleted_at == first_mark and memo.is_soft_deleted and not memo.is_deleted
    other = Memo.create(title='b')
    copy = Memo.find_one(other.id)
    assert copy.delete() is True                      # marked through another copy
    assert other.delete() is False and other.deleted_at is None
    assert not other.is_deleted
    memo.restore()                                    # restore and force_delete keep working
    assert memo.deleted_at is None and Memo.find_one(memo.id) is not None
    assert memo.delete() is True
    assert memo.force_delete() is True and Memo.with_deleted().count() == 1
