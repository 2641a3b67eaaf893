"""Field types: DDL from annotations, and values that round-trip with their type on every backend."""
from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import Field, NaiveDatetime

from activerecord import ActiveRecord, Column, raw
from activerecord.errors import DataError, IntegrityError
from activerecord.types import register_type

UTC = datetime.timezone.utc


class Color(enum.Enum):
    RED = 'red'
    GREEN = 'green'


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Sample(ActiveRecord):
    __table_name__ = 'mdl_samples'
    id: int
    number: int = 0
    text: str = ''
    short: Annotated[str, Field(max_length=10)] = ''
    flag: bool = False
    ratio: float = 0.0
    price: Annotated[decimal.Decimal, Field(max_digits=12, decimal_places=2)] = decimal.Decimal('0')
    amount: decimal.Decimal = decimal.Decimal('0')
    moment: Optional[datetime.datetime] = None
    wall: Optional[NaiveDatetime] = None
    day: Optional[datetime.date] = None
    clock: Optional[datetime.time] = None
    span: Optional[datetime.timedelta] = None
    data: Optional[bytes] = None
    token: Optional[uuid.UUID] = None
    color: Color = Color.RED
    level: Level = Level.LOW
    meta: dict = Field(default_factory=dict)
    tags: list = Field(default_factory=list)
    kind: Literal['a', 'bb'] = 'a'
    note: Optional[str] = None


VALUES: dict[str, Any] = {
    'number': -9_007_199_254_740_993,
    'text': 'ünïcødé ✓ ' + 'x' * 5000,
    'short': 'ten chars!',
    'flag': True,
    'ratio': 0.1 + 0.2,
    'price': decimal.Decimal('1234567890.12'),
    'amount': decimal.Decimal('-0.000123456789'),
    'moment': datetime.datetime(2024, 3, 31, 23, 30, 15, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
    'wall': datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    'day': datetime.date(1999, 12, 31),
    'clock': datetime.time(23, 59, 58, 999999),
    'span': datetime.timedelta(days=-2, seconds=5, microseconds=7),
    'data': bytes(range(256)),
    'token': uuid.UUID('12345678-1234-5678-1234-567812345678'),
    'color': Color.GREEN,
    'level': Level.HIGH,
    'meta': {'nested': {'list': [1, 'two', None, True]}, 'ünï': 1.5},
    'tags': ['a', 'b', 3],
    'kind': 'bb',
    'note': None,
}


def test_every_type_round_trips_with_its_type(db):
    db.use(Sample)
    saved = Sample(**VALUES).save()
    loaded = Sample.find_one(saved.id)
    for name, value in VALUES.items():
        got = getattr(loaded, name)
        assert got == value, name
        assert type(got) is type(value), (name, type(got))
    # an aware datetime keeps its instant and comes back in UTC
    assert loaded.moment.utcoffset() == datetime.timedelta(0)
    assert loaded.moment == VALUES['moment']
    assert loaded.wall.tzinfo is None
    # a Decimal with decimal_places keeps them
    assert str(loaded.price) == '1234567890.12'
    assert loaded == Sample.find_all([saved.id])[0]


def test_defaults_and_nulls_round_trip(db):
    db.use(Sample)
    saved = Sample().save()
    loaded = Sample.find_one(saved.id)
    assert loaded.moment is None and loaded.data is None and loaded.note is None
    assert loaded.meta == {} and loaded.tags == [] and loaded.flag is False
    assert loaded.price == decimal.Decimal('0.00') and loaded.color is Color.RED


def test_naive_datetime_in_an_instant_column_is_taken_as_utc(db):
    db.use(Sample)
    saved = Sample(moment=datetime.datetime(2024, 6, 1, 12, 0)).save()
    assert Sample.find_one(saved.id).moment == datetime.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_decimal_compares_numerically_in_sql(db):
    db.use(Sample)
    for price in ('9.50', '10.00', '100.25'):
        Sample(price=decimal.Decimal(price)).save()
    table = db.backend.dialect.quote('mdl_samples')
    column = db.backend.dialect.quote('price')
    rows = db.backend.fetch_all(f'SELECT {column} FROM {table} WHERE {column} > ? ORDER BY {column}',
                                (decimal.Decimal('9.75'),))
    assert [decimal.Decimal(str(row['price'])) for row in rows] == [decimal.Decimal('10'), decimal.Decimal('100.25')]


class Bag(ActiveRecord):
    __table_name__ = 'mdl_bags'
    id: int
    pair: tuple[int, str]                       # mixed item types: JSON everywhere
    numbers: tuple[int, ...]                    # one item type: a native array on PostgreSQL
    tags: set[str]
    frozen: frozenset[int] = frozenset()
    points: set[tuple[int, int]] = Field(default_factory=set)
    maybe: Optional[tuple[str, ...]] = None


def test_tuple_and_set_fields_read_back_as_tuples_and_sets(db, sent_sql):
    db.use(Bag)
    saved = Bag.create(pair=(1, 'one'), numbers=(3, 1, 2), tags={'b', 'a', 'c'}, frozen=frozenset({5, 1}),
                       points={(1, 2), (0, 0)}, maybe=('x',))
    loaded = Bag.find_one(saved.id)
    assert loaded == saved
    assert (type(loaded.pair), type(loaded.numbers), type(loaded.tags), type(loaded.frozen),
            type(loaded.points), type(loaded.maybe)) == (tuple, tuple, set, frozenset, set, tuple)
    assert loaded.numbers == (3, 1, 2) and loaded.points == {(0, 0), (1, 2)}
    sent_sql.clear()
    loaded.save()                               # loaded values compare equal: nothing to write
    assert sent_sql.records == []
    loaded.tags.add('d')                        # a set changed in place is a change
    assert loaded.changes == {'tags': ({'a', 'b', 'c'}, {'a', 'b', 'c', 'd'})}
    loaded.save()
    assert Bag.find_one(saved.id).tags == {'a', 'b', 'c', 'd'}
    Bag.insert_many([{'pair': (2, 'two'), 'numbers': (), 'tags': set()}])
    empty = max(Bag.find_all(), key=lambda bag: bag.id)
    assert empty.pair == (2, 'two')
    assert (empty.numbers, empty.tags, empty.frozen, empty.maybe) == ((), set(), frozenset(), None)


@pytest.mark.backends('postgresql')
def test_postgresql_stores_tuples_and_sets_as_the_same_list_would_be(db, sent_sql):
    db.use(Bag)
    ddl = next(sql for sql in sent_sql.statements if sql.startswith('CREATE TABLE'))
    for fragment in ('"pair" JSONB NOT NULL', '"numbers" BIGINT[] NOT NULL', '"tags" TEXT[] NOT NULL',
                     '"frozen" BIGINT[] NOT NULL', '"points" JSONB NOT NULL', '"maybe" TEXT[]\n'):
        assert fragment in ddl, fragment
    Bag.create(pair=(1, 'one'), numbers=(1, 2), tags={'b', 'a'})
    assert Bag.query().where(Bag.c.tags.contains(['a'])).count() == 1   # array operators still apply
    assert db.backend.fetch_value('SELECT "tags" FROM "mdl_bags"') == ['a', 'b']   # a set is stored sorted


@pytest.mark.backends('sqlite')
def test_sqlite_refuses_a_decimal_it_cannot_keep_exactly(db):
    db.use(Sample)
    fine = Sample(amount=decimal.Decimal('123456789.012345')).save()   # 15 digits
    assert Sample.find_one(fine.id).amount == decimal.Decimal('123456789.012345')
    record = Sample(amount=decimal.Decimal('1234567890.1234567'))
    with pytest.raises(DataError, match=r'Sample\.amount.*17 significant digits'):
        record.save()
    assert record.is_new_record and record.id is None
    assert len(Sample.find_all()) == 1


@pytest.mark.backends('sqlite')
def test_sqlite_column_types_in_the_ddl(db, sent_sql):
    db.use(Sample)
    ddl = next(sql for sql in sent_sql.statements if sql.startswith('CREATE TABLE'))
    assert '"id" INTEGER PRIMARY KEY AUTOINCREMENT' in ddl
    for fragment in ('"short" VARCHAR(10) NOT NULL', '"text" TEXT NOT NULL', '"price" NUMERIC(12, 2) NOT NULL',
                     '"amount" NUMERIC NOT NULL', '"moment" TIMESTAMP,', '"flag" BOOLEAN NOT NULL',
                     '"token" CHAR(36),', '"meta" TEXT NOT NULL', '"kind" VARCHAR(2) NOT NULL',
                     '"level" INTEGER NOT NULL', '"color" VARCHAR(50) NOT NULL', '"span" BIGINT,'):
        assert fragment in ddl, fragment


class Account(ActiveRecord):
    __table_name__ = 'mdl_accounts'
    id: int
    email: Annotated[str, Field(max_length=120), Column(unique=True)]
    login: Annotated[str, Field(max_length=40), Column(name='login_name', index=True)]
    status: Annotated[str, Field(max_length=10), Column(default='active')]
    score: Annotated[int, Column(default=0)]
    nickname: Optional[str] = None


def test_ddl_constraints_unique_index_not_null_defaults_and_column_names(db, sent_sql):
    db.use(Account)
    statements = sent_sql.statements
    assert any(sql.startswith('CREATE TABLE') for sql in statements)
    index = [sql for sql in statements if 'INDEX' in sql.upper()]
    assert index and db.backend.dialect.quote('login_name') in index[0]
    Account(email='a@x', login='a').save()
    with pytest.raises(IntegrityError):
        Account(email='a@x', login='b').save()
    table, quote = db.backend.dialect.quote('mdl_accounts'), db.backend.dialect.quote
    # the database defaults apply to rows written without those columns
    db.backend.execute(f'INSERT INTO {table} ({quote("email")}, {quote("login_name")}) VALUES (?, ?)',
                       ('raw@x', 'raw'))
    raw = Account.find_one({'email': 'raw@x'})
    assert raw.status == 'active' and raw.score == 0 and raw.login == 'raw'
    # NOT NULL comes from the annotation: only Optional fields accept NULL
    with pytest.raises(IntegrityError):
        db.backend.execute(f'INSERT INTO {table} ({quote("email")}, {quote("login_name")}) VALUES (?, ?)',
                           ('null@x', None))
    db.backend.execute(f'INSERT INTO {table} ({quote("email")}, {quote("login_name")}, {quote("nickname")}) '
                       'VALUES (?, ?, ?)', ('nick@x', 'n', None))
    # a database default also becomes the field's default
    assert Account(email='b@x', login='b').status == 'active'


def test_create_and_drop_table_if_exists(db):
    db.use(Account)
    Account.create_table()            # if_not_exists=True by default: no error
    Account.drop_table()
    Account.drop_table()              # if_exists=True by default
    with pytest.raises(Exception):
        Account.drop_table(if_exists=False)
    Account.create_table(if_not_exists=False)
    with pytest.raises(Exception):
        Account.create_table(if_not_exists=False)


class Money:
    """A custom value type: whole cents."""

    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents

    def __repr__(self) -> str:
        return f'Money({self.cents})'


register_type(Money, 'BIGINT', to_db=lambda money: money.cents, from_db=lambda value: Money(int(value)))


class Invoice(ActiveRecord):
    __table_name__ = 'mdl_invoices'
    id: int
    total: Money
    refund: Optional[Money] = None


def test_a_registered_custom_type_round_trips(db, sent_sql):
    db.use(Invoice)
    assert any('BIGINT' in sql for sql in sent_sql.statements if sql.startswith('CREATE TABLE'))
    invoice = Invoice(total=Money(1999)).save()
    loaded = Invoice.find_one(invoice.id)
    assert loaded.total == Money(1999) and loaded.refund is None
    assert Invoice.find_one({'total': Money(1999)}).id == invoice.id


def test_an_unmapped_type_names_the_type_and_how_to_register_it(db):
    class Opaque:
        pass

    class Holder(ActiveRecord):
        __table_name__ = 'mdl_holders'
        id: int
        thing: Opaque

    Holder.configure(db.url)
    with pytest.raises(Exception, match=r"Opaque.*register_type"):
        Holder.create_table()


class Stamp(ActiveRecord):
    __table_name__ = 'mdl_stamps'
    __indexes__ = [('a', 'b'), {'fields': ('b',), 'unique': True}]
    id: int
    a: int = 0
    b: int = 0
    made: Annotated[Optional[datetime.datetime], Column(default=raw('CURRENT_TIMESTAMP'))]
    n: Annotated[int, Column(default=raw('42'))]


def test_sql_expression_defaults_are_read_back_and_multi_column_indexes(db, sent_sql):
    db.use(Stamp)
    assert sum('INDEX' in sql.upper() for sql in sent_sql.statements) >= 1
    stamp = Stamp(b=1)
    assert stamp.made is None and stamp.n is None       # filled in by the database
    stamp.save()
    assert stamp.n == 42 and isinstance(stamp.made, datetime.datetime) and stamp.made.tzinfo is not None
    assert Stamp.find_one(stamp.id) == stamp
    with pytest.raises(IntegrityError):                  # the unique index on b
        Stamp(b=1).save()
    assert Stamp.insert_many([{'b': 2}, {'b': 3, 'n': 5}]) == 2
    assert [s.n for s in Stamp.find_all()] == [42, 42, 5]


class Parent(ActiveRecord):
    __table_name__ = 'mdl_parents'
    id: int


class Child(ActiveRecord):
    __table_name__ = 'mdl_children'
    id: int
    parent_id: Annotated[int, Column(references=Parent, on_delete='CASCADE')]
    other_id: Annotated[Optional[int], Column(references='mdl_parents.id', on_delete='set null')] = None


def test_foreign_keys_with_on_delete(db):
    db.use(Parent, Child)
    parent, other = Parent.create(), Parent.create()
    child = Child.create(parent_id=parent.id, other_id=other.id)
    other.delete()
    assert Child.find_one(child.id).other_id is None
    parent.delete()
    assert Child.find_all() == []
