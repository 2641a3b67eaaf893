"""insert_many through COPY ... FROM STDIN on PostgreSQL (features.copy_min_rows rows or more).

Every column type round-trips through COPY exactly as through the multi-row INSERT: the same
values go in by both paths and the stored rows are compared as the server prints them
(`column::text`), so a difference in escaping, time zones or number formats shows. Errors,
transactions and the statement count are checked through the public API and the
activerecord.sql log.
"""
from __future__ import annotations

import asyncio
import datetime
import enum
import uuid
from decimal import Decimal
from typing import Annotated, Any, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, errors
from activerecord.mixins import TimestampMixin

pytestmark = pytest.mark.backends('postgresql')

NASTY_TEXT = ['', 'plain', 'tab\there', 'new\nline', 'cr\rlf\r\n', 'back\\slash', '\\N', '\\.', 'a\\tb',
              'ünïcödé ✓ 漢字 🙂', ' leading and trailing ', '"quoted" \'single\'', '{braces},[x]', 'end\\']
UTC_PLUS_2 = datetime.timezone(datetime.timedelta(hours=2))


class Colour(enum.Enum):
    RED = 'red'
    TAB = 'ta\tb'


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 7


class Everything(ActiveRecord):
    __table_name__ = 'ar_pg_copy_everything'
    id: Optional[int] = None
    batch: int
    flag: Optional[bool] = None
    number: Optional[int] = None
    ratio: Optional[float] = None
    amount: Optional[Decimal] = Field(default=None, max_digits=12, decimal_places=3)
    exact: Optional[Decimal] = None
    short: Optional[str] = Field(default=None, max_length=40)
    body: Optional[str] = None
    blob: Optional[bytes] = None
    moment: Optional[datetime.datetime] = None
    naive: Annotated[Optional[datetime.datetime], Field(default=None)] = None
    day: Optional[datetime.date] = None
    clock: Optional[datetime.time] = None
    span: Optional[datetime.timedelta] = None
    key: Optional[uuid.UUID] = None
    doc: Optional[dict[str, Any]] = None
    numbers: Optional[list[int]] = None
    words: Optional[list[str]] = None
    items: Optional[list[dict[str, Any]]] = None
    colour: Optional[Colour] = None
    level: Optional[Level] = None


class Item(ActiveRecord):
    __table_name__ = 'ar_pg_copy_items'
    id: Optional[int] = None
    name: str = Field(max_length=50)
    qty: int


class Stamped(TimestampMixin, ActiveRecord):
    __table_name__ = 'ar_pg_copy_stamped'
    id: Optional[int] = None
    name: str


def everything_rows(batch: int, count: int) -> list[dict[str, Any]]:
    """`count` rows cycling through awkward values of every type, a NULL now and then."""
    rows = []
    for i in range(count):
        text = NASTY_TEXT[i % len(NASTY_TEXT)]
        null = i % 11 == 5
        rows.append({
            'batch': batch,
            'flag': None if null else i % 2 == 0,
            'number': None if null else (-1) ** i * (i * 2_147_483_647 if i % 3 else i),
            'ratio': None if null else [0.1, -2.5e-300, 1e300, float('inf'), float('-inf'), 1 / 3][i % 6],
            'amount': None if null else [Decimal('0.001'), Decimal('-123456789.125'), Decimal('1E+3'),
                                         Decimal('7.5')][i % 4],
            'exact': None if null else [Decimal('3.14159265358979323846264338327950288'), Decimal('-0.0'),
                                        Decimal('1e-20'), Decimal('-98765432109876543210.5')][i % 4],
            'short': None if null else text,
            'body': None if null else text * 3,
            'blob': None if null else bytes(range(i % 256)) + b'\\\t\n\x00',
            'moment': None if null else datetime.datetime(2024, 2, 29, 23, 59, 59, i, tzinfo=UTC_PLUS_2),
            'naive': None if null else datetime.datetime(1999, 12, 31, 12, 0, 0, i),
            'day': None if null else datetime.date(1, 1, 1) + datetime.timedelta(days=i * 997),
            'clock': None if null else datetime.time(i % 24, 30, 15, 250),
            'span': None if null else datetime.timedelta(days=-i, seconds=i * 37, microseconds=i),
            'key': None if null else uuid.UUID(int=i * 7919),
            'doc': None if null else {'text': text, 'n': i, 'nested': {'list': [1, None, text]}},
            'numbers': None if null else [i, -i, 0],
            'words': None if null else [text, 'x y', '', 'NULL', 'a"b', 'c\\d'],
            'items': None if null else [{'k': text}],
            'colour': None if null else list(Colour)[i % 2],
            'level': None if null else list(Level)[i % 2],
        })
    return rows


def statements_sent(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage().split(' -- ')[0] for record in caplog.records
            if record.name == 'activerecord.sql']


def stored_as_text(db: Any, batch: int) -> list[tuple[Any, ...]]:
    """The rows of one batch as the server prints each value (the key left out)."""
    columns = [name for name in Everything.model_fields if name not in ('id', 'batch')]
    select = ', '.join(f'{name}::text' for name in columns)
    _, rows = db.backend.query_rows(f'SELECT {select} FROM ar_pg_copy_everything WHERE batch = ? ORDER BY id',
                                    (batch,))
    return rows


def test_every_type_is_stored_by_copy_exactly_as_by_insert(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(Everything)
    count = max(200, db.backend.features.copy_min_rows)
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert Everything.insert_many(everything_rows(1, count), batch_size=count) == count   # INSERT
        inserted = statements_sent(caplog)
        caplog.clear()
        assert Everything.insert_many(everything_rows(2, count)) == count                     # COPY
        copied = statements_sent(caplog)
    assert any(sql.startswith('INSERT INTO') for sql in inserted)
    assert not any(sql.startswith('COPY') for sql in inserted)
    assert [sql for sql in copied if sql.startswith(('COPY', 'INSERT'))] == [
        sql for sql in copied if sql.startswith('COPY ') and sql.endswith('FROM STDIN')]
    by_insert, by_copy = stored_as_text(db, 1), stored_as_text(db, 2)
    assert len(by_copy) == count
    for index, (expected, got) in enumerate(zip(by_insert, by_copy)):
        assert got == expected, f'row {index} differs'
    # and the records read back are the values given (not only equal to each other)
    loaded = Everything.query().where(batch=2).order_by('id').all()
    given = everything_rows(2, count)
    assert [row.short for row in loaded] == [row['short'] for row in given]
    assert [row.blob for row in loaded] == [row['blob'] for row in given]
    assert [row.words for row in loaded] == [row['words'] for row in given]
    assert [row.moment for row in loaded] == [row['moment'] for row in given]


def test_ten_thousand_rows_are_one_copy_statement(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(Item)
    rows = [{'name': f'item {i}', 'qty': i} for i in range(10_000)]
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert Item.insert_many(rows) == 10_000
    sent = statements_sent(caplog)
    assert [sql for sql in sent if sql.startswith('COPY')] == ['COPY "ar_pg_copy_items" ("name", "qty") FROM STDIN']
    assert not [sql for sql in sent if sql.startswith('INSERT')]
    assert Item.query().count() == 10_000
    assert Item.query().sum(Item.c.qty) == sum(range(10_000))
    assert Item.find_one(Item.query().max(Item.c.id)).name == 'item 9999'   # input order kept


def test_records_and_generators_are_copied_too(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(Item)
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert Item.insert_many([Item(name=f'r{i}', qty=i) for i in range(150)]) == 150
        assert Item.insert_many({'name': f'g{i}', 'qty': i} for i in range(150)) == 150
    assert len([sql for sql in statements_sent(caplog) if sql.startswith('COPY')]) == 2
    assert Item.query().where(Item.c.name.like('r%')).count() == 150
    assert Item.query().where(Item.c.name.like('g%')).sum(Item.c.qty) == sum(range(150))


def test_small_batches_stay_multi_row_inserts(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(Item)
    fewer = db.backend.features.copy_min_rows - 1
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert Item.insert_many([{'name': f'n{i}', 'qty': i} for i in range(fewer)]) == fewer
        assert Item.insert_many([{'name': f'k{i}', 'qty': i} for i in range(500)], return_keys=True) == list(
            range(fewer + 1, fewer + 501))
    sent = statements_sent(caplog)
    assert not [sql for sql in sent if sql.startswith('COPY')]
    assert len([sql for sql in sent if sql.startswith('INSERT')]) == 2


def test_a_unique_violation_names_the_line_and_writes_nothing(db) -> None:
    db.use(Item)
    db.backend.execute('CREATE UNIQUE INDEX ar_pg_copy_items_name ON ar_pg_copy_items (name)')
    rows = [{'name': f'n{i}', 'qty': i} for i in range(300)]
    rows[250]['name'] = 'n7'
    with pytest.raises(errors.IntegrityError) as caught:
        Item.insert_many(rows)
    assert caught.value.sqlstate == '23505'
    assert 'line 251' in str(caught.value) and 'ar_pg_copy_items' in str(caught.value)
    assert Item.query().count() == 0
    assert Item.insert_many(rows[:250]) == 250   # the connection is fine afterwards


def test_a_bad_value_is_a_data_error_naming_the_field(db) -> None:
    db.use(Item)
    rows = [{'name': f'n{i}', 'qty': i} for i in range(300)]
    rows[120]['name'] = 'nul\x00here'
    with pytest.raises(errors.DataError) as caught:
        Item.insert_many(rows)
    assert str(caught.value).startswith('Item.name')
    rows[120]['name'] = 'lone \udc80 surrogate'
    with pytest.raises(errors.ValidationError):   # pydantic refuses it before anything is sent
        Item.insert_many(rows)
    assert Item.query().count() == 0
    db.backend.execute('ALTER TABLE ar_pg_copy_items ADD CONSTRAINT qty_small CHECK (qty < 200)')
    rows[120]['name'] = 'fine'
    with pytest.raises(errors.IntegrityError) as caught:
        Item.insert_many(rows)
    assert 'qty_small' in str(caught.value) and 'line 201' in str(caught.value)
    assert Item.query().count() == 0


def test_a_row_failing_validation_stops_the_copy_and_keeps_the_transaction(db) -> None:
    db.use(Item)
    rows = [{'name': f'n{i}', 'qty': i} for i in range(12_000)]
    rows[9_000]['qty'] = 'not a number'
    rows[11_000]['name'] = 'x' * 51
    with Item.transaction():
        Item.insert_many([{'name': 'before', 'qty': 1}])
        with pytest.raises(errors.ValidationError) as caught:
            Item.insert_many(rows)
        # every bad row is reported, as when validation runs before anything is sent
        assert sorted(problem['loc'][:2] for problem in caught.value.errors()) == [(9_000, 'qty'), (11_000, 'name')]
        assert Item.query().count() == 1         # the transaction is still usable
        Item.insert_many([{'name': 'after', 'qty': 2}])
    assert sorted(item.name for item in Item.query().all()) == ['after', 'before']
    with pytest.raises(errors.ValidationError):
        Item.insert_many(rows)                   # outside a transaction too
    assert Item.query().count() == 2


def test_copy_inside_a_transaction_rolls_back_with_it(db) -> None:
    db.use(Item)
    with pytest.raises(RuntimeError):
        with Item.transaction():
            assert Item.insert_many([{'name': f'n{i}', 'qty': i} for i in range(5_000)]) == 5_000
            assert Item.query().count() == 5_000
            raise RuntimeError('changed my mind')
    assert Item.query().count() == 0


def test_rows_giving_their_key_follow_the_copy_and_the_sequence_moves_past_them(db) -> None:
    db.use(Item)
    rows: list[dict[str, Any]] = [{'name': f'n{i}', 'qty': i} for i in range(9_000)]
    rows[8_500] = {'id': 50_000, 'name': 'explicit', 'qty': -1}
    assert Item.insert_many(rows) == 9_000
    assert Item.find_one(50_000).name == 'explicit'
    assert Item.query().count() == 9_000
    later = Item(name='later', qty=0)
    later.save()
    assert later.id is not None and later.id > 50_000


def test_timestamps_are_one_instant_for_all_rows(db) -> None:
    db.use(Stamped)
    assert Stamped.insert_many([{'name': f'n{i}'} for i in range(9_000)]) == 9_000
    stamps = {(row.created_at, row.updated_at) for row in Stamped.query().all()}
    assert len(stamps) == 1 and None not in next(iter(stamps))


def test_ainsert_many_copies_too(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(Item)

    async def load() -> int:
        return await Item.ainsert_many([{'name': f'n{i}', 'qty': i} for i in range(1_000)])
    with caplog.at_level('DEBUG', logger='activerecord.sql'):
        assert asyncio.run(load()) == 1_000
    assert [sql for sql in statements_sent(caplog) if sql.startswith('COPY')]
    assert Item.query().count() == 1_000


class Visible(ActiveRecord):
    """Writes through an updatable view: COPY refuses views (42809), INSERT goes through."""
    __table_name__ = 'ar_pg_copy_visible'
    id: Optional[int] = None
    name: str


class Ruled(ActiveRecord):
    """A table with an ON INSERT DO ALSO rule: COPY would skip it, INSERT fires it."""
    __table_name__ = 'ar_pg_copy_ruled'
    id: Optional[int] = None
    name: str


def test_an_updatable_view_takes_many_rows_by_insert(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(Item)
    backend = db.backend
    backend.execute('DROP VIEW IF EXISTS ar_pg_copy_visible')
    backend.execute('DROP TABLE IF EXISTS ar_pg_copy_hidden')
    backend.execute('CREATE TABLE ar_pg_copy_hidden (id SERIAL PRIMARY KEY, name TEXT, hidden INT DEFAULT 0)')
    backend.execute('CREATE VIEW ar_pg_copy_visible AS SELECT id, name FROM ar_pg_copy_hidden WHERE hidden = 0')
    try:
        Visible.configure(db.url)
        with caplog.at_level('DEBUG', logger='activerecord.sql'):
            assert Visible.insert_many([{'name': f'n{i}'} for i in range(150)]) == 150
        assert not [sql for sql in statements_sent(caplog) if sql.startswith('COPY')]
        assert backend.fetch_value('SELECT count(*) FROM ar_pg_copy_hidden') == 150
        assert sorted(row.name for row in Visible.query().all()) == sorted(f'n{i}' for i in range(150))
    finally:
        backend.execute('DROP VIEW IF EXISTS ar_pg_copy_visible')
        backend.execute('DROP TABLE IF EXISTS ar_pg_copy_hidden')


def test_a_table_with_an_insert_rule_fires_it_for_every_row(db) -> None:
    db.use(Item)
    backend = db.backend
    backend.execute('DROP TABLE IF EXISTS ar_pg_copy_ruled CASCADE')
    backend.execute('DROP TABLE IF EXISTS ar_pg_copy_audit')
    backend.execute('CREATE TABLE ar_pg_copy_ruled (id SERIAL PRIMARY KEY, name TEXT)')
    backend.execute('CREATE TABLE ar_pg_copy_audit (name TEXT)')
    backend.execute('CREATE RULE ar_pg_copy_also AS ON INSERT TO ar_pg_copy_ruled '
                    'DO ALSO INSERT INTO ar_pg_copy_audit VALUES (NEW.name)')
    try:
        Ruled.configure(db.url)
        assert Ruled.insert_many([{'name': f'n{i}'} for i in range(150)]) == 150
        assert Ruled.query().count() == 150
        _, audit = backend.query_rows('SELECT name FROM ar_pg_copy_audit ORDER BY name')
        assert [row[0] for row in audit] == sorted(f'n{i}' for i in range(150))
    finally:
        backend.execute('DROP TABLE IF EXISTS ar_pg_copy_ruled CASCADE')
        backend.execute('DROP TABLE IF EXISTS ar_pg_copy_audit')


def test_a_table_dropped_and_made_a_view_is_asked_about_again(db, caplog: pytest.LogCaptureFixture) -> None:
    db.use(Item)
    backend = db.backend
    assert Item.insert_many([{'name': f'n{i}', 'qty': i} for i in range(150)]) == 150   # by COPY
    Item.drop_table()
    backend.execute('CREATE TABLE ar_pg_copy_under (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL, '
                    'qty INT NOT NULL)')
    backend.execute('CREATE VIEW ar_pg_copy_items AS SELECT id, name, qty FROM ar_pg_copy_under')
    try:
        with caplog.at_level('DEBUG', logger='activerecord.sql'):
            assert Item.insert_many([{'name': f'v{i}', 'qty': i} for i in range(150)]) == 150
        assert not [sql for sql in statements_sent(caplog) if sql.startswith('COPY')]
        assert backend.fetch_value('SELECT count(*) FROM ar_pg_copy_under') == 150
    finally:
        backend.execute('DROP VIEW IF EXISTS ar_pg_copy_items')
        backend.execute('DROP TABLE IF EXISTS ar_pg_copy_under')
