"""The mistakes table (API.md, "Lifecycle, mixins, errors"): one mistake, one error class, every backend.

Each mistake is made through the public API on SQLite, PostgreSQL and MariaDB and must raise the
same class; a DataError from a model's write names the model and field (`Note.n: ...`), and the
driver's exception stays reachable as `__cause__` where the database raised one.
"""
from __future__ import annotations

import threading
from typing import Annotated, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column
from activerecord.backend.registry import backend_class_for
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import DataError, IntegrityError, OperationalError, ValidationError


class Owner(ActiveRecord):
    __table_name__ = 'ar_mis_owners'
    id: Optional[int] = None
    email: Annotated[str, Column(unique=True)]


class Note(ActiveRecord):
    __table_name__ = 'ar_mis_notes'
    id: Optional[int] = None
    owner_id: Annotated[int, Column(references=Owner)]
    code: Annotated[str, Field(max_length=5)] = 'c'
    n: int = 0
    body: str = ''
    score: Optional[float] = None


def _owner() -> Owner:
    return Owner.create(email='a@x')


# -- IntegrityError ---------------------------------------------------------------------------

def test_duplicate_key_is_integrity_error(db):
    db.use(Owner, Note)
    _owner()
    with pytest.raises(IntegrityError) as caught:
        Owner.create(email='a@x')
    assert caught.value.__cause__ is not None
    with pytest.raises(IntegrityError):
        Owner.insert_many([Owner(email='b@x'), Owner(email='b@x')])


def test_missing_parent_row_is_integrity_error(db):
    db.use(Owner, Note)
    with pytest.raises(IntegrityError):
        Note.create(owner_id=12345)
    assert Note.query().count() == 0


def test_null_in_a_not_null_column_is_integrity_error(db):
    db.use(Owner, Note)
    Note.create(owner_id=_owner().id)
    with pytest.raises(IntegrityError):
        Note.query().update_all(body=None)
    table = db.backend.dialect.quote('ar_mis_owners')
    with pytest.raises(IntegrityError):
        db.backend.execute(f'INSERT INTO {table} (email) VALUES (?)', (None,))


# -- DataError, naming the field -------------------------------------------------------------

def _writes(owner_id: int, field: str, value):
    """Every model write path, each writing `value` into `field`."""
    def save_update():
        note = Note.query().first()
        setattr(note, field, value)
        note.save()
    return {
        'create': lambda: Note.create(owner_id=owner_id, **{field: value}),
        'save_update': save_update,
        'insert_many': lambda: Note.insert_many([Note(owner_id=owner_id), Note(owner_id=owner_id, **{field: value})]),
        'upsert': lambda: Note.upsert([Note(id=999, owner_id=owner_id, **{field: value})], conflict=['id']),
        'update_all': lambda: Note.query().update_all(**{field: value}),
    }


@pytest.mark.parametrize('field, value, why', [
    ('n', 2 ** 70, 'integer beyond 64 bits'),
    ('n', -2 ** 64, 'integer beyond 64 bits'),
    ('body', 'a\x00b', 'NUL character'),
    ('body', 'a\ud800b', 'lone surrogate'),
])
def test_a_value_the_column_cannot_hold_is_data_error_naming_the_field(db, field, value, why):
    db.use(Owner, Note)
    owner_id = _owner().id
    Note.create(owner_id=owner_id)
    for path, write in _writes(owner_id, field, value).items():
        with pytest.raises(DataError) as caught:
            write()
        assert str(caught.value).startswith(f'Note.{field}: '), (path, str(caught.value))
    # Nothing of it was stored, and the connection is still fine.
    assert Note.query().count() == 1
    assert Note.query().where(Note.c.n == 0).count() == 1


def test_raw_statements_refuse_the_same_values(db):
    db.use(Owner, Note)
    table = db.backend.dialect.quote('ar_mis_owners')
    for value in ('a\x00b', 'a\ud800b'):
        with pytest.raises(DataError):
            db.backend.execute(f'INSERT INTO {table} (email) VALUES (?)', (value,))
    assert Owner.query().count() == 0
    Note.create(owner_id=_owner().id)
    notes = db.backend.dialect.quote('ar_mis_notes')
    with pytest.raises(DataError):
        db.backend.execute(f'UPDATE {notes} SET n = ?', (2 ** 70,))
    assert Note.query().pluck(Note.c.n) == [0]


# NaN and ±inf where the database cannot keep them: SQLite stores NaN as NULL (inf it keeps),
# MySQL/MariaDB's DOUBLE has neither; PostgreSQL stores all three.
_NON_FINITE = {'sqlite': [float('nan')], 'mysql': [float('nan'), float('inf'), float('-inf')]}


@pytest.mark.backends('sqlite', 'mysql')
def test_a_float_the_database_cannot_keep_is_data_error_naming_the_field(db):
    db.use(Owner, Note)
    owner_id = _owner().id
    Note.create(owner_id=owner_id)
    for value in _NON_FINITE[db.name]:
        for path, write in _writes(owner_id, 'score', value).items():
            with pytest.raises(DataError) as caught:
                write()
            assert str(caught.value).startswith('Note.score: '), (path, value, str(caught.value))
    assert Note.query().pluck(Note.c.score) == [None]


@pytest.mark.backends('sqlite', 'mysql')
def test_raw_statements_refuse_a_float_the_database_cannot_keep(db):
    db.use(Owner, Note)
    Note.create(owner_id=_owner().id)
    notes = db.backend.dialect.quote('ar_mis_notes')
    for value in _NON_FINITE[db.name]:
        with pytest.raises(DataError):
            db.backend.execute(f'UPDATE {notes} SET score = ?', (value,))
        # a statement with many parameters is checked the bulk way: the same answer
        ids = ', '.join('?' * 20)
        with pytest.raises(DataError):
            db.backend.execute(f'UPDATE {notes} SET score = ? WHERE id IN ({ids})', (value, *range(20)))
    assert Note.query().pluck(Note.c.score) == [None]


def test_text_too_long_for_its_column(db):
    db.use(Owner, Note)
    owner_id = _owner().id
    Note.create(owner_id=owner_id)
    with pytest.raises(ValidationError):          # the model refuses it when it is built
        Note(owner_id=owner_id, code='toolong')
    with pytest.raises(DataError) as caught:      # update_all's values never pass pydantic
        Note.query().update_all(code='toolong')
    assert str(caught.value).startswith('Note.code: ')
    assert Note.query().pluck(Note.c.code) == ['c']


# -- OperationalError ------------------------------------------------------------------------

def _second_backend(db):
    config = ConnectionConfig.from_url(db.url)
    return backend_class_for(config.scheme)(config)


@pytest.mark.backends('sqlite', 'postgresql')
def test_serialization_failure_is_operational_error(db, tmp_path):
    """Two transactions read a row, one commits a change to it, the other then writes it."""
    if db.name == 'sqlite':
        db.url = f'sqlite:///{tmp_path}/mistakes.db?journal_mode=WAL'
    db.use(Owner, Note)
    owner = _owner()
    other = _second_backend(db)
    table = db.backend.dialect.quote('ar_mis_owners')
    level = IsolationLevel.REPEATABLE_READ if db.name == 'postgresql' else None
    try:
        with pytest.raises(OperationalError) as caught:
            with db.backend.transaction(level):
                db.backend.fetch_all(f'SELECT * FROM {table}')
                other.execute(f'UPDATE {table} SET email = ? WHERE id = ?', ('b@x', owner.id))
                db.backend.execute(f'UPDATE {table} SET email = ? WHERE id = ?', ('c@x', owner.id))
        assert caught.value.retryable
    finally:
        other.close()
    assert Owner.query().pluck(Owner.c.email) == ['b@x']


@pytest.mark.backends('mysql')
def test_deadlock_is_operational_error(db):
    """Each of two transactions holds a row the other one then asks for: InnoDB ends one of them."""
    db.use(Owner, Note)
    first_id, second_id = _owner().id, Owner.create(email='b@x').id
    other = _second_backend(db)
    table = db.backend.dialect.quote('ar_mis_owners')
    update = f'UPDATE {table} SET email = CONCAT(email, ?) WHERE id = ?'
    holds_first, holds_second = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    # Each transaction locks its own row before either asks for the other's: whichever request
    # comes second closes the cycle, and InnoDB ends one of the two at once (no wait to time).
    def take_first_then_second() -> None:
        try:
            with db.backend.transaction():
                db.backend.execute(update, ('1', first_id))
                holds_first.set()
                assert holds_second.wait(30)
                db.backend.execute(update, ('1', second_id))
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=take_first_then_second)
    thread.start()
    try:
        assert holds_first.wait(30)
        try:
            with other.transaction():
                other.execute(update, ('2', second_id))
                holds_second.set()
                other.execute(update, ('2', first_id))
        except BaseException as error:
            failures.append(error)
    finally:
        holds_second.set()
        thread.join(60)
        other.close()
    assert len(failures) == 1, failures
    assert isinstance(failures[0], OperationalError) and failures[0].retryable
    assert failures[0].code == 1213
