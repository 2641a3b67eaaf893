"""The placeholder translator reads literals and comments as each server does.

A `?` the server reads as code is a parameter; one inside a string literal, a quoted identifier or
a comment is text. Where the translator and the server disagree (MySQL's backslash escapes), a
bound value can escape its literal: the golden cases below pin each dialect's reading, and the
live ones check it against the servers.
"""
from __future__ import annotations

from typing import Optional

import pytest

from activerecord import ActiveRecord
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from activerecord.backend.placeholders import translate
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ProgrammingError


PAYLOAD = "' OR 1=1 -- "


def _mysql(sql_mode: str | None = None) -> MySQLDialect:
    dialect = MySQLDialect()
    if sql_mode is not None:
        dialect.adopt_sql_mode(sql_mode)
    return dialect


def _translate(dialect, sql: str, style: str):
    return translate(sql, style, dialect.features.question_mark_operators, dialect.lexical_rules)


# (dialect factory, paramstyle, sql, translated sql)
GOLDEN = [
    # MySQL/MariaDB: # and `-- ` comments; a literal every sql_mode reads alike (a doubled
    # backslash ends the same with or without NO_BACKSLASH_ESCAPES; a backslash before no quote)
    (_mysql, 'format', "SELECT 'C:\\\\' , ?", "SELECT 'C:\\\\' , %s"),
    (_mysql, 'format', "SELECT 'a\\b?' , \"it''s\" , ?", "SELECT 'a\\b?' , \"it''s\" , %s"),
    (lambda: _mysql('STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES'), 'format',
     "SELECT 'C:\\\\' , ?", "SELECT 'C:\\\\' , %s"),
    (lambda: _mysql('ANSI_QUOTES'), 'format', 'SELECT "a?" , ?', 'SELECT "a?" , %s'),
    (_mysql, 'format', 'SELECT ? # what?\n, ?', 'SELECT %s # what?\n, %s'),
    (_mysql, 'format', 'SELECT ? -- what?\n, ?', 'SELECT %s -- what?\n, %s'),
    (_mysql, 'format', 'SELECT 5--?', 'SELECT 5--%s'),                 # `--` without a space: minus minus
    (_mysql, 'format', 'SELECT `a?b` FROM t WHERE n = ?', 'SELECT `a?b` FROM t WHERE n = %s'),
    (_mysql, 'format', 'SELECT 1 /*!50100 + ? */ /* ? */', 'SELECT 1 /*!50100 + %s */ /* ? */'),
    (_mysql, 'format', "SELECT 'x%' , ?", "SELECT 'x%%' , %s"),
    # PostgreSQL: nested comments, E'...' with backslash escapes, dollar quotes, standard strings
    (PostgreSQLDialect, 'dollar', 'SELECT /* a /* ? */ ? */ ?', 'SELECT /* a /* ? */ ? */ $1'),
    (PostgreSQLDialect, 'dollar', "SELECT E'it\\'s ?', ?", "SELECT E'it\\'s ?', $1"),
    (PostgreSQLDialect, 'dollar', "SELECT $$it's ?$$, ?", "SELECT $$it's ?$$, $1"),
    (PostgreSQLDialect, 'dollar', "SELECT $fn$ ? $$ ? $fn$, ?", "SELECT $fn$ ? $$ ? $fn$, $1"),
    (PostgreSQLDialect, 'dollar', "SELECT 'C:\\', ?", "SELECT 'C:\\', $1"),
    (PostgreSQLDialect, 'dollar', "SELECT meta ? 'k', ? FROM t", "SELECT meta ? 'k', $1 FROM t"),
    # SQLite: standard strings; "x", `x` and [x] identifiers
    (SQLiteDialect, 'qmark', "SELECT 'C:\\', [a?], `b?`, ?", "SELECT 'C:\\', [a?], `b?`, ?"),
    # Oracle: q'[...]' strings
    (OracleDialect, 'named', "SELECT q'[it's ?]', 'C:\\', ? FROM dual", "SELECT q'[it's ?]', 'C:\\', :p1 FROM dual"),
    (OracleDialect, 'named', "SELECT Q'!a?!', ? FROM dual", "SELECT Q'!a?!', :p1 FROM dual"),
    (OracleDialect, 'named', "SELECT nq'{it's ?}', ? FROM dual", "SELECT nq'{it's ?}', :p1 FROM dual"),
    # SQL Server: [bracket]] identifiers]
    (SQLServerDialect, 'format', "SELECT [a]]?], 'C:\\', ?", "SELECT [a]]?], 'C:\\', %s"),
]


@pytest.mark.parametrize('make_dialect, style, sql, expected', GOLDEN)
def test_golden_translation_per_dialect(make_dialect, style, sql, expected):
    translated = _translate(make_dialect(), sql, style)
    assert translated.sql == expected
    # Two cases bind two values; every other one binds exactly one.
    assert translated.placeholder_count == (2 if sql.startswith('SELECT ? ') else 1)


@pytest.mark.parametrize('make_dialect, sql', [
    (_mysql, "note = 'C:\\' OR name = ?"),          # the backslash escapes the closing quote
    (PostgreSQLDialect, "note = E'C:\\' OR name = ?"),
    (PostgreSQLDialect, 'SELECT /* /* */ ?'),            # the outer comment never closes
    (PostgreSQLDialect, 'SELECT $a$ ?'),
    (SQLiteDialect, "SELECT 'open ?"),
    (OracleDialect, "SELECT q'[open ?"),
])
def test_a_literal_or_comment_that_never_ends_is_refused_before_sending(make_dialect, sql):
    with pytest.raises(ProgrammingError, match='unterminated'):
        _translate(make_dialect(), sql, 'qmark')


_NO_BACKSLASH = 'STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES'


@pytest.mark.parametrize('sql', [
    "note = 'a\\'' OR name = ?",      # escaped quote, or a literal that ends before the `'`
    "SELECT 'a\\'?' , ?",
    'SELECT "a\\"?" , ?',
    "SELECT '\\'?\\''",              # both readings end: one finds no `?`, the other one
    "'\\''?'?\\''",                  # both find one `?`, at different places
    'SELECT "a\\" , ?',               # an identifier with ANSI_QUOTES, unterminated without
])
@pytest.mark.parametrize('sql_mode', [None, _NO_BACKSLASH, 'ANSI_QUOTES'])
def test_mysql_sql_read_differently_by_some_sql_mode_is_refused(sql, sql_mode):
    # Issue 16: init_command or a raw SET SESSION can change sql_mode behind the backend, so
    # whichever mode it was told, it must not bind a value where some mode reads code.
    with pytest.raises(ProgrammingError, match='sql_mode'):
        _translate(_mysql(sql_mode), sql, 'format')


def test_the_same_text_is_read_per_dialect():
    sql = "SELECT 'C:\\' , ? , '?'"
    assert _translate(PostgreSQLDialect(), sql, 'dollar').placeholder_count == 1
    assert _translate(SQLiteDialect(), sql, 'qmark').placeholder_count == 1
    # On MySQL the first literal runs on to `, ? , '` and the second one never ends.
    with pytest.raises(ProgrammingError, match='unterminated'):
        _translate(_mysql(), sql, 'format')


class Note(ActiveRecord):
    __table_name__ = 'ar_lex_notes'
    id: Optional[int] = None
    note: str
    name: str


def _seed() -> None:
    Note.insert_many([Note(note='C:\\', name='windows'), Note(note='/usr', name='unix'),
                      Note(note='x', name=PAYLOAD)])


@pytest.mark.backends('mysql')
def test_mysql_backslash_literal_cannot_let_a_bound_value_out(db):
    db.use(Note)
    _seed()
    # Issue 16 item 7: this used to return every row. The server reads the literal as running
    # on past the `?`, so the fragment has no placeholder: it is refused before sending.
    with pytest.raises(ProgrammingError, match='unterminated|placeholder'):
        Note.query().where("note = 'C:\\' OR name = ?", (PAYLOAD,)).all()
    # Written as MySQL reads it, the same filter finds exactly the right rows.
    rows = Note.query().where("note = 'C:\\\\' OR name = ?", (PAYLOAD,)).order_by('id').all()
    assert [row.name for row in rows] == ['windows', PAYLOAD]


@pytest.mark.parametrize('options', [{'sql_mode': _NO_BACKSLASH},
                                     {'init_command': f"SET SESSION sql_mode = '{_NO_BACKSLASH}'"}])
@pytest.mark.backends('mysql')
def test_mysql_without_backslash_escapes_cannot_let_a_bound_value_out(db, options):
    db.use(Note)
    _seed()
    config = ConnectionConfig.from_url(db.url, options=options)
    backend = backend_class_for(config.scheme)(config)
    try:
        assert 'NO_BACKSLASH_ESCAPES' in backend.fetch_value('SELECT @@SESSION.sql_mode')
        table = backend.dialect.quote('ar_lex_notes')
        # The session reads 'a\' as a whole literal; a default-mode one would not: refused.
        with pytest.raises(ProgrammingError, match='sql_mode'):
            backend.fetch_all(f"SELECT name FROM {table} WHERE note = 'a\\'' OR name = ?", (PAYLOAD,))
        with pytest.raises(ProgrammingError, match='sql_mode'):
            backend.fetch_all(f"SELECT name FROM {table} WHERE note = 'C:\\' OR name = ?", (PAYLOAD,))
        # A literal both modes read alike binds as usual, and the session's reading holds.
        rows = backend.fetch_all(f"SELECT name FROM {table} WHERE note = '/usr' OR name = ? ORDER BY id",
                                 (PAYLOAD,))
        assert [row['name'] for row in rows] == ['unix', PAYLOAD]
        assert backend.fetch_value("SELECT 'a\\b'") == 'a\\b'
    finally:
        backend.close()


@pytest.mark.backends('mysql')
def test_mysql_raw_set_session_inside_a_transaction_cannot_let_a_bound_value_out(db):
    db.use(Note)
    _seed()
    with Note.transaction():
        backend = Note.backend()
        before = backend.fetch_value('SELECT @@SESSION.sql_mode')
        backend.execute(f"SET SESSION sql_mode = '{_NO_BACKSLASH}'")
        try:
            with pytest.raises(ProgrammingError, match='sql_mode'):
                Note.query().where("note = 'a\\'' OR name = ?", (PAYLOAD,)).count()
            assert Note.query().where("note = 'x' AND name = ?", (PAYLOAD,)).count() == 1
        finally:
            backend.execute(f"SET SESSION sql_mode = '{before}'")  # the connection goes back to the pool


@pytest.mark.backends('mysql')
def test_mysql_comments_and_quotes_live(db):
    db.use(Note)
    row = db.backend.fetch_one("SELECT ? AS a, 'x''?' AS b, `c?` AS c # ?\n FROM (SELECT 1 AS `c?`) t -- ?",
                               ('bound',))
    assert row == {'a': 'bound', 'b': "x'?", 'c': 1}


@pytest.mark.backends('postgresql')
def test_postgresql_literals_and_nested_comments_live(db):
    db.use(Note)
    row = db.backend.fetch_one(
        "SELECT E'it\\'s ?' AS a, $$b's ?$$ AS b, $t$ ? $t$ AS c, 'C:\\' AS d, ?::text AS e /* /* ? */ ? */",
        ('bound',))
    assert row == {'a': "it's ?", 'b': "b's ?", 'c': ' ? ', 'd': 'C:\\', 'e': 'bound'}


@pytest.mark.backends('sqlite')
def test_sqlite_standard_literals_live(db):
    db.use(Note)
    _seed()
    rows = Note.query().where("note = 'C:\\' OR name = ?", (PAYLOAD,)).order_by('id').all()
    assert [row.name for row in rows] == ['windows', PAYLOAD]
    row = db.backend.fetch_one("SELECT [a?] AS a, ? AS b FROM (SELECT 1 AS [a?])", ('bound',))
    assert row == {'a': 1, 'b': 'bound'}
