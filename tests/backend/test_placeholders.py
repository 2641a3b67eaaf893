"""`?` placeholders become the driver's paramstyle once, by tokenizing: literals and comments are left alone."""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.placeholders import count_placeholders, translate
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ProgrammingError

SQL = 'SELECT * FROM t WHERE a = ? AND b IN (?, ?)'


@pytest.mark.parametrize('style, expected, bound', [
    ('qmark', 'SELECT * FROM t WHERE a = ? AND b IN (?, ?)', (1, 2, 3)),
    ('format', 'SELECT * FROM t WHERE a = %s AND b IN (%s, %s)', (1, 2, 3)),
    ('pyformat', 'SELECT * FROM t WHERE a = %(p1)s AND b IN (%(p2)s, %(p3)s)', {'p1': 1, 'p2': 2, 'p3': 3}),
    ('named', 'SELECT * FROM t WHERE a = :p1 AND b IN (:p2, :p3)', {'p1': 1, 'p2': 2, 'p3': 3}),
    ('numeric', 'SELECT * FROM t WHERE a = :1 AND b IN (:2, :3)', (1, 2, 3)),
])
def test_each_paramstyle(style, expected, bound):
    translated = translate(SQL, style)
    assert translated.sql == expected
    assert translated.placeholder_count == 3
    assert translated.bind((1, 2, 3)) == bound


@pytest.mark.parametrize('sql, count', [
    ("SELECT '?' , ?", 1),                            # in a string literal
    ("SELECT 'it''s ?', ?", 1),                       # doubled quote inside the literal
    ('SELECT "col?" FROM t WHERE x = ?', 1),          # in a quoted identifier
    ('SELECT ? -- what?\n, 2', 1),                    # in a line comment
    ('SELECT /* ? ? */ ?', 1),                        # in a block comment
    ("SELECT ?, '?', ?", 2),
    ('SELECT 1', 0),
])
def test_question_marks_outside_sql_code_are_not_placeholders(sql, count):
    assert count_placeholders(sql) == count
    named = translate(sql, 'named').sql
    assert named.count(':p') == count
    # The literal, identifier and comment text is kept as it was.
    assert translate(sql, 'qmark').sql == sql


def test_literal_question_marks_survive_a_round_trip_through_sqlite():
    backend = SQLiteBackend(ConnectionConfig(database=':memory:'))
    row = backend.fetch_one("SELECT '?' AS literal, ? AS bound /* ? */", ('value',))
    assert row == {'literal': '?', 'bound': 'value'}
    backend.close()


def test_percent_signs_are_escaped_for_format_styles_only():
    sql = "SELECT * FROM t WHERE name LIKE 'a%' AND n = ?"
    assert translate(sql, 'format').sql == "SELECT * FROM t WHERE name LIKE 'a%%' AND n = %s"
    assert translate(sql, 'pyformat').sql == "SELECT * FROM t WHERE name LIKE 'a%%' AND n = %(p1)s"
    assert translate(sql, 'named').sql == "SELECT * FROM t WHERE name LIKE 'a%' AND n = :p1"
    assert translate("SELECT 5 % 2", 'format').sql == 'SELECT 5 %% 2'


def test_jsonb_question_mark_operators_are_kept_where_the_database_has_them():
    sql = "SELECT * FROM t WHERE meta ? 'k' AND tags ?| ARRAY['a'] AND meta ?& ? AND id = ?"
    translated = translate(sql, 'format', True)
    assert translated.sql == "SELECT * FROM t WHERE meta ? 'k' AND tags ?| ARRAY['a'] AND meta ?& %s AND id = %s"
    assert translated.placeholder_count == 2
    # Without the feature, a `?` after a name is an ordinary placeholder.
    assert translate('SELECT ? , ?', 'format', True).placeholder_count == 2


def test_a_wrong_parameter_count_is_a_programming_error_naming_both_counts():
    with pytest.raises(ProgrammingError, match=r'has 3 `\?` placeholder\(s\) but 2 parameter'):
        translate(SQL, 'qmark').bind((1, 2))
    backend = SQLiteBackend(ConnectionConfig(database=':memory:'))
    with pytest.raises(ProgrammingError, match='1 `\\?` placeholder'):
        backend.fetch_one('SELECT ?', (1, 2))
    with pytest.raises(ProgrammingError, match='tuple or list'):
        backend.fetch_one('SELECT ?', 5)
    backend.close()


def test_an_unknown_paramstyle_is_refused():
    with pytest.raises(ProgrammingError, match="unknown paramstyle 'dotted'"):
        translate('SELECT 1', 'dotted')


def test_each_sql_text_is_tokenized_once():
    translate.cache_clear()
    sql = 'SELECT ? /* cached */'
    for _ in range(5):
        translate(sql, 'numeric')
    info = translate.cache_info()
    assert (info.misses, info.hits) == (1, 4)


# Select-list items that SQLite accepts, mixing real placeholders with `?` in other places.
_items = st.sampled_from([
    '?', "'?'", "'x''?'", '? /* ? */', '? -- ?\n', "'%'", '5 % 2', '"q?"', '? || \'?\'', '1'])


@settings(max_examples=150, deadline=None)
@given(st.lists(_items, min_size=1, max_size=10))
def test_translation_agrees_with_sqlite_about_what_is_a_placeholder(items):
    sql = 'SELECT ' + ', '.join(items)
    expected = _sqlite_parameter_count(sql)
    assert expected is not None, sql
    assert count_placeholders(sql) == expected
    for style in ('named', 'numeric', 'format'):
        assert translate(sql, style).placeholder_count == expected


def _sqlite_parameter_count(sql: str) -> int | None:
    """SQLite's own count of the placeholders of `sql` (it reports it in its binding error)."""
    connection = sqlite3.connect(':memory:')
    try:
        connection.execute(sql, (None,) * 50)
    except sqlite3.ProgrammingError as error:
        text = str(error)
        if 'uses' in text:
            return int(text.split('uses ')[1].split(',')[0])
        return None
    finally:
        connection.close()
    return 50
