"""Lifecycle hooks: methods and Model.on() listeners, their order, and aborting writes."""
from __future__ import annotations

from typing import ClassVar

import pytest

from activerecord import ActiveRecord
from activerecord.errors import ConfigurationError


class Traced(ActiveRecord):
    __table_name__ = 'mdl_traced'
    id: int
    name: str
    calls: ClassVar[list[str]] = []
    fail_on: ClassVar[str | None] = None

    def _trace(self, event: str) -> None:
        type(self).calls.append(event)
        if type(self).fail_on == event:
            raise RuntimeError(f'{event} refused')

    def before_validate(self): self._trace('before_validate')
    def after_validate(self): self._trace('after_validate')
    def before_save(self): self._trace('before_save')
    def after_save(self): self._trace('after_save')
    def before_create(self): self._trace('before_create')
    def after_create(self): self._trace('after_create')
    def before_update(self): self._trace('before_update')
    def after_update(self): self._trace('after_update')
    def before_delete(self): self._trace('before_delete')
    def after_delete(self): self._trace('after_delete')


@pytest.fixture(autouse=True)
def _reset():
    Traced.calls.clear()
    Traced.fail_on = None
    yield
    Traced.fail_on = None


def test_the_documented_order_for_create_update_and_delete(db):
    db.use(Traced)
    record = Traced(name='a')
    record.save()
    assert Traced.calls == ['before_validate', 'after_validate', 'before_save', 'before_create',
                            'after_create', 'after_save']
    Traced.calls.clear()
    record.name = 'b'
    record.save()
    assert Traced.calls == ['before_validate', 'after_validate', 'before_save', 'before_update',
                            'after_update', 'after_save']
    Traced.calls.clear()
    record.delete()
    assert Traced.calls == ['before_delete', 'after_delete']


def test_hooks_run_on_a_save_that_sends_nothing(db, sent_sql):
    db.use(Traced)
    record = Traced.create(name='same')
    Traced.calls.clear()
    sent_sql.clear()
    record.save()
    assert 'before_save' in Traced.calls and 'after_save' in Traced.calls
    assert sent_sql.writes() == []


def test_a_before_hook_can_change_what_is_written(db):
    class Slugged(ActiveRecord):
        __table_name__ = 'mdl_slugged'
        id: int
        title: str
        slug: str = ''

        def before_save(self):
            self.slug = self.title.lower().replace(' ', '-')

    db.use(Slugged)
    record = Slugged.create(title='Hello World')
    assert Slugged.find_one(record.id).slug == 'hello-world'


@pytest.mark.parametrize('event', ['before_validate', 'before_save', 'before_create'])
def test_an_exception_in_a_before_hook_aborts_the_insert(db, sent_sql, event):
    db.use(Traced)
    Traced.fail_on = event
    record = Traced(name='x')
    sent_sql.clear()
    with pytest.raises(RuntimeError, match=f'{event} refused'):
        record.save()
    assert not [sql for sql in sent_sql.writes() if sql.startswith('INSERT')]
    assert record.is_new_record and record.id is None and Traced.find_all() == []
    Traced.fail_on = None
    record.save()
    assert Traced.find_one(record.id).name == 'x'


def test_an_exception_in_an_after_hook_undoes_the_write(db):
    db.use(Traced)
    Traced.fail_on = 'after_create'
    record = Traced(name='x')
    with pytest.raises(RuntimeError):
        record.save()
    assert Traced.find_all() == [] and record.is_new_record and record.id is None
    Traced.fail_on = None
    existing = Traced.create(name='kept')
    Traced.fail_on = 'after_update'
    existing.name = 'changed'
    with pytest.raises(RuntimeError):
        existing.save()
    assert Traced.find_one(existing.id).name == 'kept'
    assert existing.changes == {'name': ('kept', 'changed')}   # still unsaved, still savable
    Traced.fail_on = 'after_delete'
    with pytest.raises(RuntimeError):
        existing.delete()
    assert Traced.find_one(existing.id) is not None and not existing.is_deleted


def test_inside_a_transaction_a_failing_hook_rolls_the_transaction_back(db):
    db.use(Traced)
    Traced.fail_on = 'before_update'
    with pytest.raises(RuntimeError):
        with Traced.transaction():
            Traced.create(name='first')
            second = Traced.create(name='second')
            second.name = 'boom'
            second.save()
    assert Traced.find_all() == []


def test_listeners_run_after_the_method_and_inherit(db):
    class Base(ActiveRecord):
        __abstract__ = True

    class Listened(Base):
        __table_name__ = 'mdl_listened'
        id: int
        name: str
        seen: ClassVar[list[str]] = []

        def after_create(self):
            Listened.seen.append('method')

    def from_base(record):
        Listened.seen.append(f'base:{record.name}')

    def own(record):
        Listened.seen.append('own')

    assert Listened.on('after_create', own) is own
    Base.on('after_create', from_base)
    try:
        db.use(Listened)
        Listened.create(name='n')
        assert Listened.seen == ['method', 'base:n', 'own']
        Listened.off('after_create', own)
        Listened.seen.clear()
        Listened.create(name='m')
        assert Listened.seen == ['method', 'base:m']
    finally:
        Base.off('after_create', from_base)


def test_on_refuses_unknown_events_and_non_callables():
    with pytest.raises(ConfigurationError, match='unknown event'):
        Traced.on('before_lunch', print)
    with pytest.raises(ConfigurationError, match='callable'):
        Traced.on('after_save', 42)


def test_an_unchanged_save_sends_no_statement_at_all_even_with_after_hooks_and_listeners(db, sent_sql):
    db.use(Traced)
    heard: list[str] = []

    def listener(record):
        heard.append(record.name)

    Traced.on('after_save', listener)
    Traced.on('before_delete', listener)      # as a relation's dependent= registers
    try:
        record = Traced.create(name='same')
        loaded = Traced.find_one(record.id)
        Traced.calls.clear()
        heard.clear()
        sent_sql.clear()
        record.save()
        loaded.save()
        loaded.name = 'same'                  # the same value: no change
        loaded.save()
        assert sent_sql.records == []         # one log record per statement: not even BEGIN/COMMIT
        assert Traced.calls.count('after_save') == 3 and heard == ['same'] * 3
        with Traced.transaction():            # inside the caller's transaction: only its BEGIN/COMMIT
            sent_sql.clear()
            record.save()
            assert sent_sql.records == []
    finally:
        Traced.off('after_save', listener)
        Traced.off('before_delete', listener)


def test_a_before_hook_that_changes_an_unchanged_record_writes_in_one_transaction(db, sent_sql):
    class Suffixed(ActiveRecord):
        __table_name__ = 'mdl_suffixed'
        id: int
        title: str
        slug: str = ''
        suffix: ClassVar[str] = ''
        fail: ClassVar[bool] = False

        def before_save(self):
            self.slug = self.title.lower() + type(self).suffix

        def after_save(self):
            if type(self).fail:
                raise RuntimeError('after_save refused')

    db.use(Suffixed)
    record = Suffixed.create(title='A')
    sent_sql.clear()
    record.save()
    assert sent_sql.records == []             # before_save set the same slug: nothing to write
    Suffixed.suffix = '-2'
    record.save()                             # the hook changed a value: BEGIN, UPDATE, COMMIT
    assert len(sent_sql.writes()) == 1 and len(sent_sql.records) > 1
    assert Suffixed.find_one(record.id).slug == 'a-2'
    Suffixed.suffix, Suffixed.fail = '-3', True
    with pytest.raises(RuntimeError, match='after_save refused'):
        record.save()                         # the UPDATE ran in the transaction and is undone
    assert Suffixed.find_one(record.id).slug == 'a-2' and record.slug == 'a-2' and not record.is_dirty
