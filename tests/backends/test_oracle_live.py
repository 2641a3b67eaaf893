"""Oracle-only tests against a live server: they run when AR_TEST_ORACLE_URL names one.

    AR_TEST_ORACLE_URL=oracle://user:password@host:1521/FREEPDB1 python -m pytest tests -q

Without the variable every test here is reported as skipped with that reason (no Oracle server
can run on the development machines). The shared matrix tests of the model, query and relation
layers also run on Oracle when the variable is set (tests/conftest.py adds it to the matrix).
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from activerecord import errors
from activerecord.backend.impl.oracle.backend import InOut, Out
from activerecord.backend.transaction import IsolationLevel
from tests.backends.live_models import (LiveType, Named, check_every_type_round_trips,
                                        check_generated_and_explicit_keys_and_upsert, every_value,
                                        live_suite_marks, transaction_beside_a_concurrent_insert)

pytestmark = live_suite_marks('oracle', 'AR_TEST_ORACLE_URL', 'Oracle')


#: NUMBER without precision keeps 38 significant digits
AMOUNT = Decimal('12345678901234567890.123456789')


def test_every_type_round_trips(db) -> None:
    db.use(LiveType)
    check_every_type_round_trips(every_value(AMOUNT))


def test_keys_insert_many_and_merge_upsert(db) -> None:
    db.use(Named)
    check_generated_and_explicit_keys_and_upsert()
    assert Named.query().order_by('id').offset(1).limit(2).all()[0].name == 'bob'


def test_the_empty_string_is_null(db) -> None:
    db.use(Named)
    record = Named.create(name='ann', nick='')
    record.refresh()
    assert record.nick is None
    with pytest.raises(errors.IntegrityError) as raised:
        Named.create(name='')
    assert raised.value.code == 'ORA-01400'


def test_errors_carry_their_ora_codes(db) -> None:
    db.use(Named)
    Named.create(name='ann')
    with pytest.raises(errors.IntegrityError) as raised:
        Named.create(name='ann')
    assert raised.value.code == 'ORA-00001'
    with pytest.raises(errors.ProgrammingError) as missing:
        db.backend.fetch_all('SELECT * FROM "ar_live_no_such_table"')
    assert missing.value.code == 'ORA-00942'


def test_labels_come_back_as_written(db) -> None:
    db.use(Named)
    assert db.backend.fetch_one('SELECT 1 AS n, 2 AS "Mixed" FROM DUAL') == {'n': 1, 'Mixed': 2}
    assert db.backend.fetch_value('SELECT COUNT(*) FROM "ar_live_named"') == 0
    assert db.backend.server_version()[0] >= 12
    assert db.backend.tls_in_use() == db.backend.uses_tls()


@pytest.mark.parametrize(('level', 'sees_new_rows'), [
    (IsolationLevel.READ_UNCOMMITTED, True),       # given as READ COMMITTED
    (IsolationLevel.READ_COMMITTED, True),
    (IsolationLevel.REPEATABLE_READ, False),       # given as SERIALIZABLE
    (IsolationLevel.SERIALIZABLE, False),
])
def test_isolation_levels_are_the_asked_or_stronger(db, level: IsolationLevel, sees_new_rows: bool) -> None:
    db.use(Named)
    with transaction_beside_a_concurrent_insert(level, sees_new_rows):
        pass
    with pytest.raises(errors.NotSupportedError, match='SNAPSHOT'):
        with Named.transaction(isolation_level=IsolationLevel.SNAPSHOT):
            pass


def test_read_only_transactions_refuse_writes(db) -> None:
    db.use(Named)
    with pytest.raises(errors.DatabaseError) as raised:
        with Named.transaction(read_only=True):
            Named.create(name='x')
    assert raised.value.code == 'ORA-01456'
    assert Named.query().count() == 0


def test_savepoints_without_release(db) -> None:
    db.use(Named)
    with Named.transaction():
        Named.create(name='kept')
        with pytest.raises(ZeroDivisionError):
            with Named.transaction():
                Named.create(name='undone')
                1 / 0
        Named.create(name='also kept')
    assert sorted(row.name for row in Named.query().all()) == ['also kept', 'kept']


def test_plsql_blocks_procedures_and_functions(db) -> None:
    db.use(Named)
    backend = db.backend
    backend.execute("CREATE OR REPLACE PROCEDURE ar_live_add(a IN NUMBER, b IN OUT NUMBER, msg OUT VARCHAR2) AS "
                    "BEGIN b := a + b; msg := 'sum ' || b; END;")
    backend.execute('CREATE OR REPLACE FUNCTION ar_live_twice(x IN NUMBER) RETURN NUMBER AS BEGIN RETURN x * 2; END;')
    try:
        assert backend.callproc('ar_live_add', [2, InOut(3, int), Out(str)]) == [2, 5, 'sum 5']
        assert backend.callfunc('ar_live_twice', int, [21]) == 42
        assert backend.execute_plsql('BEGIN ? := ? || ?; END;', [Out(str), 'a', 'b']) == ['ab', 'a', 'b']
        assert backend.execute_plsql('BEGIN :total := :x + 1; END;', {'x': 41, 'total': Out(int)}) == {'x': 41, 'total': 42}
        with pytest.raises(errors.ProgrammingError) as raised:
            backend.callproc('ar_live_no_such_procedure', [])
        assert raised.value.code == 'ORA-06550'
    finally:
        backend.execute('DROP PROCEDURE ar_live_add')
        backend.execute('DROP FUNCTION ar_live_twice')
