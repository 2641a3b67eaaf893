"""Hostile and bad input, on every live backend.

Values that carry SQL, quotes, backslashes, NUL bytes, 1 MB strings, emoji and lone surrogates
go through every write path (create, save as an update, insert_many, upsert, update_all, raw
execute) and every filter path (find_one/find_all, where by keyword, by expression, by raw
fragment, in_, raw fetch, count, delete_all). Each is stored and read back exactly, or refused
with a DataError that says what is wrong; none is ever executed as SQL (a sentinel table and
its row survive everything). Identifiers from users (order_by/select/group_by strings, keyword
filters) must be known names: anything else is refused before any SQL is sent.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Annotated, Any, Iterator, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column
from activerecord.errors import ActiveRecordError, DataError, ProgrammingError

from .conftest import record

SENTINEL_TABLE = 'ar_rel_users'
DROP = f'; DROP TABLE {SENTINEL_TABLE}; --'

#: name -> a hostile text value
TEXTS: dict[str, str] = {
    'drop_table': f"'{DROP}",
    'or_true': "x' OR '1'='1",
    'double_quotes': f'say "hi"{DROP.replace(SENTINEL_TABLE, chr(34) + SENTINEL_TABLE + chr(34))}',
    'backticks': f'`{SENTINEL_TABLE}`; DROP TABLE `{SENTINEL_TABLE}`',
    'backslash_quote': f"\\'{DROP}",          # defeats escaping that doubles quotes only
    'trailing_backslash': 'C:\\path\\to\\',
    'backslash_zoo': '\\\\ \\n \\0 \\x00 \\Z \\% \\_',
    'format_markers': '100% %s %d %(name)s {0} {name} $1 :name ?',
    'comments': "/* */ -- # ';/*",
    'semicolons': ';;;',
    'unicode_quotes': f'\u02bc{DROP} \uff07{DROP} \u2019',
    'gbk_escape': "\u00bf'" + DROP,                # the multi-byte escape trick
    'control_chars': 'line1\nline2\r\n\ttab\x1b[31m\x7f\x08',
    'emoji': '🙂👩\u200d👩\u200d👧 ñ 漢字 \U0001f4a9',
    'right_to_left': '\u202eevil\u202c',
    'empty': '',
    'spaces': '   ',
    'one_megabyte': 'x' * 1_000_000,
    'one_megabyte_of_quotes': "'\"\\;" * 250_000,
    'nul_byte': 'a\x00b',
    'lone_surrogate': 'a\ud800b',
}
#: (backend, value name) pairs a database may refuse, and what its error must mention
REFUSED: dict[tuple[str, str], str] = {
    ('postgresql', 'nul_byte'): '0x00',            # PostgreSQL text cannot hold NUL
    ('sqlite', 'nul_byte'): 'NUL',                  # refused everywhere, as PostgreSQL must
    ('mysql', 'nul_byte'): 'NUL',
    ('sqlite', 'lone_surrogate'): 'surrogate',      # no database stores invalid Unicode
    ('postgresql', 'lone_surrogate'): 'surrogate',
    ('mysql', 'lone_surrogate'): 'surrogate',
}
BLOBS: dict[str, bytes] = {
    'sql_bytes': DROP.encode(),
    'every_byte': bytes(range(256)),
    'nul_and_quotes': b"\x00'\"\\\x00",
    'megabyte': bytes(range(256)) * 4096,
}


class Sentinel(ActiveRecord):
    __table_name__ = SENTINEL_TABLE
    id: int
    name: str


class Account(ActiveRecord):
    __table_name__ = 'ar_rel_accounts'
    id: int
    code: Annotated[str, Field(max_length=40), Column(unique=True)]
    name: str = ''
    data: Optional[bytes] = None


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """The statements the ORM sends inside the block (from the activerecord.sql log)."""
    sent: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            sent.append(record.getMessage())

    logger = logging.getLogger('activerecord.sql')
    handler, level = Collect(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield sent
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def accounts(db, bind) -> Any:
    backend = bind(Sentinel, Account)
    Sentinel.create(name='must survive')
    yield backend
    # Nothing that was sent dropped or emptied the sentinel table.
    assert [row.name for row in Sentinel.query().all()] == ['must survive']


def write_everywhere(backend: Any, value: str) -> list[str]:
    """Store `value` as `name` through each write path; the codes of the rows written."""
    table, name, code = (backend.dialect.quote(part) for part in (Account.__table_name__, 'name', 'code'))
    Account.create(code='create', name=value)
    updated = Account.create(code='save', name='plain')
    updated.name = value
    updated.save()
    assert Account.insert_many([{'code': 'insert_many', 'name': value}]) == 1
    Account.upsert([{'code': 'upsert', 'name': 'plain'}], conflict=['code'])
    Account.upsert([{'code': 'upsert', 'name': value}], conflict=['code'], update=['name'])
    Account.create(code='update_all', name='plain')
    assert Account.query().where(Account.c.code == 'update_all').update_all(name=value) == 1
    Account.create(code='raw', name='plain')
    assert backend.execute(f'UPDATE {table} SET {name} = ? WHERE {code} = ?', (value, 'raw')) == 1
    return ['create', 'save', 'insert_many', 'upsert', 'update_all', 'raw']


def filter_everywhere(backend: Any, value: str) -> dict[str, set[int]]:
    """The ids each filter path finds for name == value."""
    table, name = (backend.dialect.quote(part) for part in (Account.__table_name__, 'name'))
    found_one = Account.find_one({'name': value})
    return {
        'find_one': {found_one.id} if found_one is not None else set(),
        'find_all': {row.id for row in Account.find_all({'name': value})},
        'where_keyword': {row.id for row in Account.query().where(name=value).all()},
        'where_expression': {row.id for row in Account.query().where(Account.c.name == value).all()},
        'where_raw': {row.id for row in Account.query().where(f'{name} = ?', (value,)).all()},
        'in_': {row.id for row in Account.query().where(Account.c.name.in_([value, 'no such name'])).all()},
        'fetch_all': {row['id'] for row in backend.fetch_all(f'SELECT id FROM {table} WHERE {name} = ?', (value,))},
        'not_equal': {row.id for row in Account.query().where(Account.c.name != value).all()},
    }


def test_hostile_text_is_stored_exactly_or_refused_clearly_and_never_executed(db, accounts) -> None:
    backend = accounts
    problems: list[str] = []
    tried = 0
    for label, value in TEXTS.items():
        Account.query().delete_all()
        control = Account.create(code='control', name='control row')
        refusal = REFUSED.get((db.name, label))
        if refusal is not None:
            problems += check_refused(backend, label, value, refusal)
        else:
            problems += check_round_trip(backend, label, value, control.id)
        tried += 1
        assert backend.pool.status()['checked_out'] == 0
    assert not problems, '\n'.join(problems)
    record('inputs', tried)


def check_round_trip(backend: Any, label: str, value: str, control_id: int) -> list[str]:
    problems = []
    codes = write_everywhere(backend, value)
    rows = {row.code: row for row in Account.query().where(Account.c.code != 'control').all()}
    for code in codes:
        stored = rows[code].name
        if type(stored) is not str or stored != value:
            problems.append(f'{label}: written by {code}, read back {stored[:60]!r} ({len(stored)} chars), '
                            f'not the {len(value)} chars written')
    expected = {row.id for row in rows.values()}
    for path, ids in filter_everywhere(backend, value).items():
        want = {control_id} if path == 'not_equal' else (expected if path != 'find_one' else ids & expected or {-1})
        if ids != want:
            problems.append(f'{label}: filter {path} found ids {sorted(ids)}, expected {sorted(want)}')
    deleted = Account.query().where(name=value).delete_all()
    if deleted != len(codes) or Account.query().count() != 1:
        problems.append(f'{label}: delete_all removed {deleted} rows, expected {len(codes)}')
    return problems


def check_refused(backend: Any, label: str, value: str, mention: str) -> list[str]:
    """Every path raises DataError mentioning the problem; nothing is written."""
    problems = []
    paths = {
        'create': lambda: Account.create(code='create', name=value),
        'insert_many': lambda: Account.insert_many([{'code': 'insert_many', 'name': value}]),
        'upsert': lambda: Account.upsert([{'code': 'upsert', 'name': value}], conflict=['code']),
        'update_all': lambda: Account.query().update_all(name=value),
        'find_one': lambda: Account.find_one({'name': value}),
        'where': lambda: Account.query().where(Account.c.name == value).all(),
        'raw': lambda: backend.fetch_all('SELECT ? AS v', (value,)),
    }
    saved = Account.find_one({'code': 'control'})
    saved.name = value
    paths['save'] = saved.save
    for path, action in paths.items():
        try:
            action()
        except DataError as error:
            if mention not in str(error):
                problems.append(f'{label}: {path} refused it, but the message does not say why: {error}')
        except Exception as error:
            problems.append(f'{label}: {path} raised {type(error).__name__}, not DataError: {error}')
        else:
            problems.append(f'{label}: {path} was expected to refuse it on {backend.name}, and accepted it')
    if [row.name for row in Account.query().all()] != ['control row']:
        problems.append(f'{label}: a refused value changed the table')
    if saved.name != value or not saved.is_dirty:
        problems.append(f'{label}: the failed save() did not leave the record as it was')
    return problems


def test_hostile_bytes_round_trip_exactly(db, accounts) -> None:
    for label, blob in BLOBS.items():
        saved = Account.create(code=label, data=blob)
        loaded = Account.find_one(saved.id)
        assert type(loaded.data) is bytes and loaded.data == blob, label
        assert {row.id for row in Account.query().where(Account.c.data == blob).all()} == {saved.id}, label
    record('inputs', len(BLOBS))


# -- identifiers from users ---------------------------------------------------------------

HOSTILE_NAMES = ['name; DROP TABLE ar_rel_users', 'nope', '"name"', '`name`', 'name DESC, (SELECT 1)',
                 'name) --', 'name FROM ar_rel_users --', '1', '*', 'name ASC; --', 'NAME\x00', 'id/**/']

IDENTIFIER_PATHS = {
    'order_by': lambda name: Account.query().order_by(name).all(),
    'select': lambda name: Account.query().select(name).all(),
    'group_by': lambda name: Account.query().select('name').group_by(name).all(),
    'pluck': lambda name: Account.query().pluck(name),
    'where_keyword': lambda name: Account.query().where(**{name: 'x'}).all(),
    'find_one': lambda name: Account.find_one({name: 'x'}),
    'find_all': lambda name: Account.find_all({name: 'x'}),
    'update_all': lambda name: Account.query().update_all(**{name: 'x'}),
    'upsert_conflict': lambda name: Account.upsert([{'code': 'c'}], conflict=[name]),
    'upsert_update': lambda name: Account.upsert([{'code': 'c'}], conflict=['code'], update=[name]),
}


def test_unknown_or_hostile_identifiers_are_refused_before_any_sql(db, accounts) -> None:
    Account.create(code='a', name='x')
    tried = 0
    for name in HOSTILE_NAMES:
        for path, action in IDENTIFIER_PATHS.items():
            with statements_sent() as sent:
                with pytest.raises(ActiveRecordError) as raised:
                    action(name)
            assert not sent, f'{path}({name!r}) sent SQL: {sent}'
            message = str(raised.value)
            assert repr(name)[1:-1][:20] in message or name in message, f'{path}({name!r}): {message}'
            tried += 1
        with pytest.raises(AttributeError, match='has no field'):
            getattr(Account.c, name)
    assert Account.query().count() == 1
    record('inputs', tried)


def test_known_identifiers_reach_the_sql_quoted(db, accounts) -> None:
    quote = accounts.dialect.quote
    sql, params = Account.query().select('code', 'name').where(name='x').order_by('name DESC').to_sql()
    for column in ('code', 'name'):
        assert quote(column) in sql
    assert f'{quote("name")} DESC' in sql
    assert params == ('x',) or list(params) == ['x']


class Keywords(ActiveRecord):
    """Columns named like SQL keywords and with characters that need quoting."""
    __table_name__ = 'ar_rel select'
    id: int
    order_: Annotated[str, Column(name='order')] = ''
    group_: Annotated[str, Column(name='group by')] = ''
    quote_: Annotated[str, Column(name='it"s')] = ''


def test_columns_named_like_keywords_work_everywhere(db, bind) -> None:
    bind(Keywords)
    row = Keywords.create(order_='1', group_='2', quote_=DROP)
    row.order_ = 'changed'
    row.save()
    found = Keywords.query().where(order_='changed').order_by('group_ DESC').select('id', 'quote_').all()
    assert [(item.id, item.quote_) for item in found] == [(row.id, DROP)]
    assert Keywords.query().where(Keywords.c.group_ == '2').update_all(quote_='ok') == 1
    assert Keywords.find_one(row.id).quote_ == 'ok'
    record('inputs')


# -- raw fragments with the wrong number of parameters ------------------------------------

RAW_MISMATCHES = [
    ('name = ? AND code = ?', ('x',), '2 `?` placeholder(s) but 1 parameter(s)'),
    ('name = ?', ('x', 'y'), '1 `?` placeholder(s) but 2 parameter(s)'),
    ('name = ?', (), '1 `?` placeholder(s) but 0 parameter(s)'),
]


def test_raw_fragments_with_the_wrong_number_of_parameters_fail_before_sending(db, accounts) -> None:
    backend = accounts
    for fragment, params, expected in RAW_MISMATCHES:
        with statements_sent() as sent:
            with pytest.raises(ProgrammingError, match=expected.replace('?', r'\?').replace('(', r'\(')
                               .replace(')', r'\)')):
                Account.query().where(fragment, params).all()
            with pytest.raises(ProgrammingError, match='placeholder'):
                backend.fetch_all(f'SELECT id FROM {backend.dialect.quote(Account.__table_name__)} WHERE {fragment}',
                                  params)
            with pytest.raises(ProgrammingError, match='placeholder'):
                backend.execute(f'DELETE FROM {backend.dialect.quote(Account.__table_name__)} WHERE {fragment}',
                                params)
        assert not sent, sent
        assert backend.pool.status()['checked_out'] == 0
    # A ? inside a string literal or a comment is not a placeholder.
    Account.create(code='q', name='?')
    assert Account.query().where("name = '?' AND code = ? -- ?", ('q',)).count() == 1
    record('inputs', 3 * len(RAW_MISMATCHES) + 1)
