"""API.md, "Fields, types and schema": annotations, Model.c, Column(...), keys, DDL, round trips, custom types."""
from __future__ import annotations

import datetime
import enum
import uuid
from decimal import Decimal
from typing import Annotated, Optional

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column
from activerecord.errors import ActiveRecordError, IntegrityError
from activerecord.types import register_type


class Mood(enum.Enum):
    HAPPY = 'happy'
    GRUMPY = 'grumpy'


class Typed(ActiveRecord):
    __table_name__ = 'apic_typed'
    id: int
    i: int
    s: str
    b: bool
    f: float
    d: Decimal
    at: datetime.datetime
    day: datetime.date
    t: datetime.time
    span: datetime.timedelta
    blob: bytes
    token: uuid.UUID
    mood: Mood
    doc: dict
    items: list
    maybe: Optional[str] = None


class Account(ActiveRecord):
    __table_name__ = 'apic_accounts'
    id: int
    email: Annotated[str, Field(max_length=120), Column(unique=True)]
    login: Annotated[str, Field(max_length=40), Column(name='login_name', index=True)]
    status: Annotated[str, Field(max_length=10), Column(default='active')]
    price: Annotated[Decimal, Field(max_digits=10, decimal_places=2)] = Decimal('0')


class Country(ActiveRecord):
    __table_name__ = 'apic_countries'
    __primary_key__ = 'code'
    code: Annotated[str, Field(max_length=2)]
    name: str


class Tagged(ActiveRecord):
    __table_name__ = 'apic_tagged'
    sku: Annotated[str, Field(max_length=20), Column(primary_key=True)]
    label: str


class Stock(ActiveRecord):
    __table_name__ = 'apic_stock'
    __primary_key__ = ('shop', 'sku')
    shop: Annotated[str, Field(max_length=10)]
    sku: Annotated[str, Field(max_length=10)]
    qty: int


class Wide(ActiveRecord):
    __table_name__ = 'apic_wide'
    id: int
    amount: Decimal


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents


register_type(Money, 'BIGINT', to_db=lambda money: money.cents, from_db=lambda value: Money(int(value)))


class Invoice(ActiveRecord):
    __table_name__ = 'apic_invoices'
    id: int
    total: Money
    discount: Optional[Money] = None


def test_the_primary_key_is_none_until_saved_and_an_explicit_value_is_kept(db) -> None:
    db.use(Account)
    account = Account(email='a@x', login='a')
    assert account.id is None
    account.save()
    assert isinstance(account.id, int)
    explicit = Account.create(id=4242, email='b@x', login='b')
    assert explicit.id == 4242 and Account.find_one(4242).email == 'b@x'


def test_model_c_is_a_column_expression_and_unknown_names_raise_attribute_error(db) -> None:
    db.use(Account)
    Account.create(email='a@x', login='a')
    assert [row.email for row in Account.query().where(Account.c.login == 'a').all()] == ['a@x']
    with pytest.raises(AttributeError):
        Account.c.no_such_field  # noqa: B018
    assert not hasattr(Account.c, 'login_name')     # fields, not column names


def test_c_is_reserved() -> None:
    with pytest.raises(ActiveRecordError, match="'c'"):
        class Bad(ActiveRecord):
            id: int
            c: int


def test_every_built_in_type_round_trips_with_its_python_type(db) -> None:
    db.use(Typed)
    aware = datetime.datetime(2024, 3, 31, 23, 30, 15, 123456,
                              tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
    values = dict(i=-(2 ** 40), s='héllo ☃ "quoted" \'single\'', b=False, f=0.1 + 0.2, d=Decimal('-12345.6789'),
                  at=aware, day=datetime.date(1999, 12, 31), t=datetime.time(23, 59, 58, 654321),
                  span=datetime.timedelta(days=3, seconds=7, microseconds=11), blob=bytes(range(256)),
                  token=uuid.uuid4(), mood=Mood.GRUMPY, doc={'a': [1, 2, {'b': None}], 'c': 'x'},
                  items=[1, 'two', 3.5, True, None])
    saved = Typed.create(**values)
    loaded = Typed.find_one(saved.id)
    for name, value in values.items():
        got = getattr(loaded, name)
        assert got == value and type(got) is type(value), (name, got, value)
    assert loaded.at.utcoffset() is not None and loaded.at - aware == datetime.timedelta(0)
    assert loaded.b is False and loaded.maybe is None
    assert Typed.query().where(Typed.c.b == False).count() == 1   # noqa: E712 - a column expression


def test_decimals_are_exact_and_compare_numerically(db) -> None:
    db.use(Account, Wide)
    for price in (Decimal('10.00'), Decimal('9.75'), Decimal('100.50')):
        Account.create(email=f'{price}@x', login=str(price), price=price)
    assert sorted(a.price for a in Account.query().where(Account.c.price > Decimal('9.8')).all()) == \
        [Decimal('10.00'), Decimal('100.50')]
    fifteen = Decimal('1234567.12345678')
    assert Wide.find_one(Wide.create(amount=fifteen).id).amount == fifteen
    assert [w.amount for w in Wide.query().where(Wide.c.amount > Decimal('999')).all()] == [fifteen]


@pytest.mark.backends('postgresql', 'mysql')
def test_a_decimal_without_max_digits_is_the_widest_exact_decimal(db) -> None:
    db.use(Wide)
    wide = Decimal('12345678901234567890123456789012345.123456789012345678901234567891')
    assert Wide.find_one(Wide.create(amount=wide).id).amount == wide


def test_sqlite_decimal_limits_are_documented() -> None:
    from pathlib import Path
    text = (Path(__file__).parents[2] / 'docs' / 'types.md').read_text()
    assert '15 significant digits' in text


def _column_types(db, table: str) -> dict[str, tuple[str, int | None]]:
    if db.name == 'sqlite':
        rows = db.backend.fetch_all(f'PRAGMA table_info({table})')
        return {row['name']: (row['type'].upper(), None) for row in rows}
    rows = db.backend.fetch_all(
        'SELECT column_name AS name, data_type AS kind, character_maximum_length AS size '
        'FROM information_schema.columns WHERE table_name = ?', (table,))
    return {row['name']: (row['kind'].upper(), row['size']) for row in rows}


def _indexed_columns(db, table: str) -> set[str]:
    if db.name == 'sqlite':
        names = [row['name'] for row in db.backend.fetch_all(f'PRAGMA index_list({table})')]
        return {row['name'] for name in names for row in db.backend.fetch_all(f'PRAGMA index_info({name})')}
    if db.name == 'postgresql':
        rows = db.backend.fetch_all('SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a '
                                    'ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) '
                                    'WHERE i.indrelid = CAST(? AS regclass)', (table,))
    else:
        rows = db.backend.fetch_all('SELECT column_name AS name FROM information_schema.statistics '
                                    'WHERE table_schema = DATABASE() AND table_name = ?', (table,))
    return {row['name'] for row in rows}


def test_ddl_sizes_columns_and_applies_column_details(db) -> None:
    db.use(Account)
    assert {'email', 'login_name'} <= _indexed_columns(db, 'apic_accounts')   # unique, index
    types = _column_types(db, 'apic_accounts')
    assert set(types) == {'id', 'email', 'login_name', 'status', 'price'}
    for name, size in (('email', 120), ('login_name', 40)):
        kind, reported = types[name]
        assert '(' in kind and str(size) in kind if db.name == 'sqlite' else reported == size
    # Column(default=...) is the database's default; Column(unique=True) is a constraint
    db.backend.execute('INSERT INTO apic_accounts (email, login_name, price) VALUES (?, ?, ?)', ('r@x', 'r', 1))
    assert Account.find_one({'email': 'r@x'}).status == 'active'
    assert Account(email='n@x', login='n').status == 'active'
    with pytest.raises(IntegrityError):
        Account.create(email='r@x', login='other')


def test_unbounded_text_holds_long_values(db) -> None:
    db.use(Typed)
    long_text = 'x' * 100_000 + '☃'
    record = Typed.create(i=1, s=long_text, b=True, f=1.0, d=Decimal('1'),
                          at=datetime.datetime.now(datetime.timezone.utc), day=datetime.date.today(),
                          t=datetime.time(1), span=datetime.timedelta(0), blob=b'', token=uuid.uuid4(),
                          mood=Mood.HAPPY, doc={}, items=[])
    assert Typed.find_one(record.id).s == long_text


def test_primary_key_by_name_by_column_and_composite(db) -> None:
    db.use(Country, Tagged, Stock)
    Country.create(code='NL', name='Netherlands')
    assert Country.find_one('NL').name == 'Netherlands'
    Tagged.create(sku='A-1', label='first')
    assert Tagged.find_one('A-1').label == 'first'
    Stock.create(shop='s1', sku='x', qty=1)
    Stock.create(shop='s1', sku='y', qty=2)
    Stock.create(shop='s2', sku='x', qty=3)
    with pytest.raises(IntegrityError):
        Stock.create(shop='s1', sku='x', qty=9)
    second = Stock.find_one({'shop': 's1', 'sku': 'y'})
    second.qty = 20
    second.save()
    second.delete()
    rows = sorted((s.shop, s.sku, s.qty) for s in Stock.find_all())
    assert rows == [('s1', 'x', 1), ('s2', 'x', 3)]


def test_create_and_drop_table_are_idempotent_with_their_flags(db) -> None:
    db.use(Country)
    Country.create_table(if_not_exists=True)
    Country.create(code='DE', name='Germany')
    Country.create_table(if_not_exists=True)
    assert Country.find_one('DE').name == 'Germany'
    Country.drop_table(if_exists=True)
    Country.drop_table(if_exists=True)
    Country.create_table()
    assert Country.find_all() == []


def test_a_registered_custom_type_round_trips(db) -> None:
    db.use(Invoice)
    saved = Invoice.create(total=Money(1999))
    loaded = Invoice.find_one(saved.id)
    assert isinstance(loaded.total, Money) and loaded.total.cents == 1999 and loaded.discount is None
    Invoice.create(total=Money(5))
    assert [i.total.cents for i in Invoice.query().where(Invoice.c.total > Money(100)).all()] == [1999]
