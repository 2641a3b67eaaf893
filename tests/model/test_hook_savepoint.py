"""An after-hook that fails inside the caller's own transaction undoes its own write (a savepoint)."""
from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from activerecord import ActiveRecord


class HookFailed(Exception):
    pass


class Entry(ActiveRecord):
    __table_name__ = 'hs_entries'
    id: int
    title: Annotated[str, Field(max_length=40)]


def _fail_once(event: str) -> list[bool]:
    armed = [True]

    def listener(record: Entry) -> None:
        if armed[0]:
            armed[0] = False
            raise HookFailed(event)
    Entry.on(event, listener)
    return armed, listener


def _rows() -> list[str]:
    quote = Entry.backend().dialect.quote
    return [row['title'] for row in Entry.backend().fetch_all(
        f'SELECT {quote("title")} FROM {quote("hs_entries")} ORDER BY {quote("id")}')]


@pytest.mark.parametrize('event', ['after_save', 'after_create'])
def test_failed_after_create_hook_in_a_transaction_undoes_the_insert(db, event):
    db.use(Entry)
    armed, listener = _fail_once(event)
    try:
        with Entry.transaction():
            entry = Entry(title='one')
            with pytest.raises(HookFailed):
                entry.save()
            assert entry.is_new_record and entry.id is None
            entry.save()                      # the caller's transaction is still usable
    finally:
        Entry.off(event, listener)
    assert _rows() == ['one']                 # exactly one row, not a duplicate


@pytest.mark.parametrize('event', ['after_save', 'after_update'])
def test_failed_after_update_hook_in_a_transaction_undoes_the_update(db, event):
    db.use(Entry)
    entry = Entry.create(title='old')
    armed, listener = _fail_once(event)
    try:
        with Entry.transaction():
            entry.title = 'new'
            with pytest.raises(HookFailed):
                entry.save()
            assert entry.is_dirty and entry.changes == {'title': ('old', 'new')}
            assert _rows() == ['old']
            entry.save()
    finally:
        Entry.off(event, listener)
    assert _rows() == ['new'] and not entry.is_dirty


def test_failed_after_delete_hook_in_a_transaction_keeps_the_row(db):
    db.use(Entry)
    entry = Entry.create(title='kept')
    armed, listener = _fail_once('after_delete')
    try:
        with Entry.transaction():
            with pytest.raises(HookFailed):
                entry.delete()
            assert not entry.is_deleted
            assert _rows() == ['kept']
            Entry.create(title='later')       # the transaction goes on
    finally:
        Entry.off('after_delete', listener)
    assert _rows() == ['kept', 'later']
