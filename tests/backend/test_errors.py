"""Driver exceptions become activerecord.errors at one chokepoint, with the driver's error as __cause__."""
from __future__ import annotations

import pytest

from activerecord import errors
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig

from . import fake_driver
from .fake_driver import FakeServer, make_backend


# -- on every backend of the matrix ---------------------------------------------------------

def test_constraint_violations_are_integrity_errors(live):
    backend = live.backend
    table = live.table('id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE')
    backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'a'))
    for params in ((1, 'b'), (2, 'a'), (3, None)):
        with pytest.raises(errors.IntegrityError) as caught:
            backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', params)
        assert caught.value.__cause__ is not None
        assert not isinstance(caught.value.__cause__, errors.ActiveRecordError)
    assert backend.pool.status()['checked_out'] == 0
    assert backend.fetch_all(f'SELECT id FROM {table}') == [{'id': 1}]


def test_wrong_sql_is_a_programming_error(live):
    backend = live.backend
    table = live.table()
    for sql in ('SELEC 1', 'SELECT * FROM ar_core_no_such_table', f'SELECT no_such_column FROM {table}'):
        with pytest.raises(errors.ProgrammingError) as caught:
            backend.fetch_all(sql)
        assert caught.value.__cause__ is not None


def test_an_error_inside_a_transaction_is_translated_and_the_block_rolls_back(live):
    backend = live.backend
    table = live.table('id INTEGER PRIMARY KEY, name VARCHAR(50)')
    with pytest.raises(errors.IntegrityError):
        with backend.transaction():
            backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'a'))
            backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'b'))
    assert backend.fetch_all(f'SELECT id FROM {table}') == []
    assert backend.pool.status()['checked_out'] == 0


# -- SQLite's codes -------------------------------------------------------------------------

def test_sqlite_errors_carry_the_extended_code():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:'))
    backend.execute('CREATE TABLE p (id INTEGER PRIMARY KEY, k INTEGER CHECK (k > 0))')
    backend.execute('CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id))')
    cases = [
        ('INSERT INTO p (id, k) VALUES (?, ?)', (1, 0), errors.IntegrityError, 'SQLITE_CONSTRAINT_CHECK'),
        ('INSERT INTO c (p_id) VALUES (?)', (9,), errors.IntegrityError, 'SQLITE_CONSTRAINT_FOREIGNKEY'),
        ('INSERT INTO p (id) VALUES (?)', ('not a number',), errors.DataError, 'SQLITE_MISMATCH'),
        ('SELECT * FROM nowhere', (), errors.ProgrammingError, 'SQLITE_ERROR'),
    ]
    for sql, params, error_class, code in cases:
        with pytest.raises(error_class) as caught:
            backend.execute(sql, params)
        assert caught.value.code == code
    backend.close()


def test_a_database_that_cannot_be_opened_names_the_file():
    backend = SQLiteBackend(ConnectionConfig(database='/no/such/directory/app.db'))
    with pytest.raises(errors.OperationalError) as caught:
        backend.ping()
    assert str(caught.value).startswith('cannot connect to sqlite at /no/such/directory/app.db: ')


# -- the translation table, driven through the scripted driver -------------------------------

@pytest.mark.parametrize('driver_error, ours', [
    (fake_driver.IntegrityError('dup'), errors.IntegrityError),
    (fake_driver.DataError('too long'), errors.DataError),
    (fake_driver.ProgrammingError('syntax'), errors.ProgrammingError),
    (fake_driver.OperationalError('timeout'), errors.OperationalError),
    (fake_driver.InternalError('bad'), errors.InternalError),
    (fake_driver.NotSupportedError('no'), errors.NotSupportedError),
    (fake_driver.InterfaceError('cursor closed'), errors.InterfaceError),
    (fake_driver.DatabaseError('something'), errors.DatabaseError),
    # A vendor code in the backend's table wins over the driver's class...
    (fake_driver.ServerError('deadlock found', code=1213), errors.OperationalError),
    # ...and the SQLSTATE class over a vague driver class.
    (fake_driver.ServerError('duplicate key', sqlstate='23505'), errors.IntegrityError),
    (fake_driver.ServerError('division by zero', sqlstate='22012'), errors.DataError),
    (fake_driver.ServerError('relation does not exist', sqlstate='42P01'), errors.ProgrammingError),
    (fake_driver.ServerError('feature not supported', sqlstate='0A000'), errors.NotSupportedError),
    (ConnectionResetError('reset by peer'), errors.OperationalError),
    (ValueError('driver could not convert'), errors.DatabaseError),
])
def test_the_chokepoint_maps_driver_errors(driver_error, ours):
    server = FakeServer()
    backend = make_backend(server)
    server.errors['UPDATE t SET n = 1'] = driver_error
    with pytest.raises(ours) as caught:
        backend.execute('UPDATE t SET n = 1')
    assert type(caught.value) is ours
    assert caught.value.__cause__ is driver_error
    assert str(caught.value) == str(driver_error)
    assert caught.value.code == getattr(driver_error, 'code', None)
    assert caught.value.sqlstate == getattr(driver_error, 'sqlstate', None)


def test_errors_from_fetching_are_translated_too():
    server = FakeServer()
    backend = make_backend(server, pool_size=1)

    class Cursorless(fake_driver.FakeCursor):
        def fetchall(self):
            raise fake_driver.OperationalError(fake_driver.GONE)

    with backend.connection() as pooled:
        pooled.raw.cursor = lambda: Cursorless(pooled.raw)
    with pytest.raises(errors.OperationalError) as caught:
        backend.fetch_all('SELECT 1')
    assert isinstance(caught.value.__cause__, fake_driver.OperationalError)
    assert backend.pool.status()['open'] == 0  # a lost connection is not given out again


def test_our_own_errors_pass_through_unchanged():
    backend = make_backend(FakeServer())
    error = errors.ProgrammingError('already ours')
    assert backend.translate_error(error) is error
