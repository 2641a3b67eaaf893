"""Every statement sent is one DEBUG record on `activerecord.sql`: the SQL as sent, params, duration."""
from __future__ import annotations

import logging
import re

import pytest

from activerecord.backend.placeholders import translate
from activerecord.errors import DatabaseError

RECORD = re.compile(r'^(?P<sql>.*) -- (?P<count>\d+) params, (?P<ms>\d+\.\d{3}) ms(?P<failed> -- failed: \w+)?$', re.S)


def sent(caplog) -> list[re.Match]:
    matches = []
    for record in caplog.records:
        assert record.name == 'activerecord.sql' and record.levelno == logging.DEBUG
        match = RECORD.match(record.getMessage())
        assert match, record.getMessage()
        matches.append(match)
    return matches


def test_each_statement_is_one_record_with_the_sql_as_sent(live, caplog):
    backend, table = live.backend, live.table()
    insert = f'INSERT INTO {table} (id, name) VALUES (?, ?)'
    select = f'SELECT name FROM {table} WHERE id = ?'
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
        backend.execute(insert, (1, 'a'))
        backend.fetch_one(select, (1,))
        backend.executemany(insert, [(2, 'b'), (3, 'c')])
        with pytest.raises(DatabaseError):
            backend.execute(insert, (1, 'duplicate'))
    records = sent(caplog)
    as_sent = lambda sql: translate(sql, backend.paramstyle, backend.features.question_mark_operators).sql
    assert [match['sql'] for match in records] == [as_sent(insert), as_sent(select), as_sent(insert), as_sent(insert)]
    assert [int(match['count']) for match in records] == [2, 1, 2, 2]
    assert [bool(match['failed']) for match in records] == [False, False, False, True]
    assert all(float(match['ms']) >= 0 for match in records)


def test_transaction_control_statements_are_logged_too(live, caplog):
    backend = live.backend
    with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
        with backend.transaction():
            with backend.transaction():
                pass
    statements = [match['sql'] for match in sent(caplog)]
    assert len(statements) >= 4
    assert any('SAVEPOINT' in statement.upper() for statement in statements)


def test_parameter_values_are_never_logged(live, caplog):
    backend, table = live.backend, live.table()
    with caplog.at_level(logging.DEBUG, logger='activerecord'):
        backend.execute(f'INSERT INTO {table} (id, name) VALUES (?, ?)', (1, 'card-4111-1111'))
    assert 'card-4111-1111' not in caplog.text
    assert len(caplog.records) == 1


def test_nothing_is_formatted_when_debug_is_off(live, caplog):
    backend = live.backend
    with caplog.at_level(logging.INFO, logger='activerecord.sql'):
        backend.fetch_one(backend.dialect.ping_sql)
    assert caplog.records == []
