"""SQL Server-only tests against a live server: they run when AR_TEST_MSSQL_URL names one.

    AR_TEST_MSSQL_URL=mssql://sa:password@host:1433/test python -m pytest tests -q

Without the variable every test here is reported as skipped with that reason (no SQL Server can
run on the development machines). The shared matrix tests of the model, query and relation
layers also run on SQL Server when the variable is set (tests/conftest.py adds it to the matrix).
The SNAPSHOT test turns ALLOW_SNAPSHOT_ISOLATION on for the test database (it needs ALTER
DATABASE permission there).
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from activerecord import errors
from activerecord.backend.transaction import IsolationLevel
from tests.backends.live_models import (LiveType, Named, check_every_type_round_trips,
                                        check_generated_and_explicit_keys_and_upsert, every_value,
                                        live_suite_marks, transaction_beside_a_concurrent_insert)

pytestmark = live_suite_marks('mssql', 'AR_TEST_MSSQL_URL', 'SQL Server')

SESSION_LEVEL = 'SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID'


#: an unbounded Decimal is DECIMAL(38, 10)
AMOUNT = Decimal('1234567890123456789.1234567891')


def test_every_type_round_trips(db) -> None:
    db.use(LiveType)
    check_every_type_round_trips(every_value(AMOUNT))
    with pytest.raises(errors.IntegrityError) as raised:
        LiveType.create(**{**every_value(AMOUNT), 'meta': {'k': 1}, 'code': 'c-1'})
    assert raised.value.code in (2627, 2601)


def test_output_keys_identity_insert_and_merge(db) -> None:
    db.use(Named)
    check_generated_and_explicit_keys_and_upsert()        # the explicit key goes in through IDENTITY_INSERT
    assert [row.name for row in Named.query().order_by('id').limit(2).all()] == ['ann', 'bob']          # TOP
    assert [row.name for row in Named.query().order_by('id').offset(1).limit(2).all()] == ['bob', 'cyd']


def test_more_than_a_thousand_rows_in_one_batch(db) -> None:
    db.use(Named)
    assert Named.insert_many([{'name': f'n{index}'} for index in range(1500)]) == 1500
    assert Named.query().count() == 1500


def test_errors_carry_their_numbers(db) -> None:
    db.use(Named)
    with pytest.raises(errors.ProgrammingError) as missing:
        db.backend.fetch_all('SELECT * FROM [ar_live_no_such_table]')
    assert missing.value.code == 208
    assert db.backend.fetch_one('SELECT 1 AS n, 2 AS [Mixed]') == {'n': 1, 'Mixed': 2}
    assert db.backend.server_version()[0] >= 13
    assert db.backend.tls_in_use() == bool(db.backend.config.ssl_ca)


@pytest.mark.parametrize(('level', 'sees_new_rows'), [
    (IsolationLevel.READ_COMMITTED, True),
    (IsolationLevel.SNAPSHOT, False),
])
def test_snapshot_reads_one_version_and_the_level_is_reset_after(db, level: IsolationLevel, sees_new_rows: bool) -> None:
    db.use(Named)
    db.backend.execute('ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON')
    with transaction_beside_a_concurrent_insert(level, sees_new_rows):
        assert db.backend.fetch_value(SESSION_LEVEL) == (2 if level is IsolationLevel.READ_COMMITTED else 5)
    # The commit batch put the session back to READ COMMITTED (2); the pool hands out the most
    # recently returned connection first, which is the one the transaction used.
    assert db.backend.fetch_value(SESSION_LEVEL) == 2


def test_read_only_is_refused_before_anything_is_sent(db) -> None:
    db.use(Named)
    with pytest.raises(errors.NotSupportedError, match='read-only'):
        with Named.transaction(read_only=True):
            pass


def test_savepoints_roll_back_a_nested_block(db) -> None:
    db.use(Named)
    with Named.transaction():
        Named.create(name='kept')
        with pytest.raises(errors.IntegrityError):
            with Named.transaction():
                Named.create(name='undone')
                Named.create(name='kept')            # duplicate: the block rolls back to its savepoint
        Named.create(name='also kept')
    assert sorted(row.name for row in Named.query().all()) == ['also kept', 'kept']


def test_window_functions_with_frames(db) -> None:
    from activerecord import func
    from activerecord.query import Frame
    db.use(Named)
    Named.insert_many([{'name': f'n{index}'} for index in range(1, 6)])
    rows = (Named.query().select(Named.c.name, func.sum(Named.c.id).over(
        order_by=Named.c.id, frame=Frame('rows', -1, 0)).as_('pair')).order_by('id').as_dicts().all())
    ids = [row.id for row in Named.query().order_by('id').all()]
    assert [row['pair'] for row in rows] == [ids[0]] + [ids[index - 1] + ids[index] for index in range(1, 5)]
